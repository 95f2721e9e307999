//! The problem collector of the checks: [`Problem`], and [`Problems`], which
//! counts every problem but keeps only the first [`MAX_REPORTED`], in file
//! order (the row first, then the columns in header order).

use std::fmt;

use serde::Serialize;

use super::MAX_REPORTED;

/// One rule the file breaks, where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// 1-based; the header is line 1.
    #[serde(rename = "Line")]
    pub line: u64,
    /// The header name of the column; `None` for a problem of the whole row
    /// or file.
    #[serde(rename = "Column", skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Plain English: what is wrong and what to do. Never echoes a value.
    #[serde(rename = "Problem")]
    pub problem: String,
}

/// Header names echoed in a problem are cut to this many characters.
pub(super) const ECHO_CHARS: usize = 40;
/// More problems than any one data row can have (at most 10): see `Problems`.
const ROW_SLACK: usize = 16;

/// Order within a line: the row as a whole first, then the columns in header
/// order (`1 + position`, [`column_order`]), then columns the header lacks.
pub(super) const ROW: u32 = 0;
pub(super) const ABSENT: u32 = u32::MAX;

/// The order of a column that may be absent from the header.
pub(super) fn order(index: Option<usize>) -> u32 {
    index.map_or(ABSENT, column_order)
}

/// The order of the column at `index` in the header.
pub(super) fn column_order(index: usize) -> u32 {
    u32::try_from(index).map_or(ABSENT - 1, |i| i.saturating_add(1).min(ABSENT - 1))
}

/// A kept problem with its order within its line.
pub(super) struct Placed {
    pub(super) order: u32,
    pub(super) problem: Problem,
}

/// Counts every problem and keeps the first ones. Problems arrive in line
/// order but, within a data row, not always in column order: the line that
/// holds the `MAX_REPORTED`-th is kept whole so that [`Problems::finish`] can
/// sort it. (The header's problems do arrive in order.)
#[derive(Default)]
pub(super) struct Problems {
    kept: Vec<Placed>,
    count: u64,
}

impl Problems {
    /// A problem of `line`, at `order` within it ([`ROW`], [`column_order`],
    /// [`ABSENT`]); `column` is cut to [`ECHO_CHARS`] characters.
    pub(super) fn push(
        &mut self,
        line: u64,
        order: u32,
        column: Option<&str>,
        problem: fmt::Arguments<'_>,
    ) {
        self.count += 1;
        let keep = self.kept.len() < MAX_REPORTED
            || (self.kept.len() < MAX_REPORTED + ROW_SLACK
                && self.kept.last().is_some_and(|p| p.problem.line == line));
        if keep {
            self.kept.push(Placed {
                order,
                problem: Problem {
                    line,
                    column: column.map(clip),
                    problem: problem.to_string(),
                },
            });
        }
    }

    /// Problems found only once every line is read, in no line order:
    /// `count` more problems, of which `first` are the first
    /// [`MAX_REPORTED`] by line (or all of them).
    pub(super) fn push_late(&mut self, count: u64, first: impl IntoIterator<Item = Placed>) {
        self.count += count;
        self.kept.extend(first);
    }

    /// How many problems so far.
    pub(super) fn count(&self) -> u64 {
        self.count
    }

    /// The first [`MAX_REPORTED`] problems in file order, and how many
    /// there are in all.
    pub(super) fn finish(self) -> (Vec<Problem>, u64) {
        let Problems { mut kept, count } = self;
        kept.sort_by_key(|p| (p.problem.line, p.order));
        kept.truncate(MAX_REPORTED);
        (kept.into_iter().map(|p| p.problem).collect(), count)
    }
}

/// `name`, cut to [`ECHO_CHARS`] characters and an ellipsis when longer.
pub(super) fn clip(name: &str) -> String {
    match name.char_indices().nth(ECHO_CHARS) {
        Some((at, _)) => format!("{}…", &name[..at]),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn twenty_problems_kept_all_counted() {
        let rows: Vec<String> = (1..=30)
            .map(|n| {
                row(
                    n,
                    &[
                        ("birthdate", "bad"),
                        ("updated_at", "bad"),
                        ("cognito:username", "same"),
                        ("cognito:mfa_enabled", "maybe"),
                    ],
                )
            })
            .collect();
        let report = check(&file(&rows));
        // 4 a row, but the first row's username is no duplicate.
        assert_eq!(report.problem_count, 30 * 4 - 1);
        assert_eq!(report.problems.len(), MAX_REPORTED);
        let mut expected = vec![
            (2, Some(BIRTHDATE)),
            (2, Some(UPDATED_AT)),
            (2, Some(MFA_ENABLED)),
        ];
        for line in 3..=7 {
            for column in [BIRTHDATE, UPDATED_AT, MFA_ENABLED, USERNAME] {
                expected.push((line, Some(column)));
            }
        }
        expected.truncate(MAX_REPORTED);
        assert_eq!(places(&report), expected);
        // Lines in file order, columns in header order within a line.
        let mut rows: Vec<String> = (1..=5).map(|n| row(n, &[("updated_at", "x")])).collect();
        rows.extend((6..=30).map(|n| row(n, &[("birthdate", "x"), ("cognito:username", "")])));
        rows.push(row(5, &[]));
        let report = check(&file(&rows));
        assert_eq!(report.problem_count, 5 + 50 + 1);
        let mut expected: Vec<(u64, Option<&str>)> =
            (2..=6).map(|l| (l, Some(UPDATED_AT))).collect();
        for line in 7..=14 {
            expected.extend([(line, Some(BIRTHDATE)), (line, Some(USERNAME))]);
        }
        expected.truncate(MAX_REPORTED);
        assert_eq!(places(&report), expected);
    }

    #[test]
    fn the_cut_keeps_file_order_within_the_last_line() {
        // 19 problems, then a line whose problems are found out of column
        // order: email (checked before birthdate, but after it in the
        // header), and a duplicate username found only at the end.
        let header = ["cognito:username", "birthdate", "email_verified", "email"];
        let expected = strings(&header);
        let mut text = format!("{}\n", header.join(","));
        for n in 0..19 {
            text.push_str(&format!("u{n},bad,true,a@b.c\n"));
        }
        for (last, first) in [("u19", BIRTHDATE), ("u0", USERNAME)] {
            let text = format!("{text}{last},bad,true,\n");
            let report = check_with(&expected, text.as_bytes());
            assert_eq!(report.problem_count, 21 + u64::from(last == "u0"));
            assert_eq!(report.problems.len(), MAX_REPORTED);
            assert_eq!(report.problems[19].line, 21);
            assert_eq!(
                report.problems[19].column.as_deref(),
                Some(first),
                "{report:#?}"
            );
        }
    }

    #[test]
    fn problems_serialize_as_the_spec_shows() {
        let report = check(&file(&[row(1, &[("email", "")]), String::new()]));
        let json = serde_json::to_value(&report.problems).unwrap();
        assert_eq!(json[0]["Line"], 2);
        assert_eq!(json[0]["Column"], "email");
        assert!(json[0]["Problem"].is_string());
        assert_eq!(json[1].as_object().unwrap().len(), 2); // no Column
        assert_eq!(json[1]["Line"], 3);
    }
}
