//! The header row (line 1): the columns must be exactly the pool's
//! (`GetCSVHeader`), in any order, each once. What it says is kept as a
//! `Layout` (`layout.rs`) for the rules of the data rows.

use super::layout::{Layout, PASSWORD_HASH};
use super::lines::{split_fields, Field, Line};
use super::problems::{clip, column_order, Problems, ABSENT, ROW};
use super::text::{row_text, Text, DANGLING, NOT_UTF8};
use super::MAX_ROW_CHARS;

/// Checks the header `line` against the `expected` columns; its layout, or
/// `None` when it is too long to read (data rows then get only the line
/// checks). `fields` and `scratch` are buffers to reuse.
pub(super) fn read_header(
    line: Line<'_>,
    expected: &[String],
    fields: &mut Vec<Field>,
    scratch: &mut Vec<u8>,
    problems: &mut Problems,
) -> Option<Layout> {
    let row = line.bytes;
    let text = row_text(line);
    if let Text::TooLong = text {
        problems.push(
            1,
            ROW,
            None,
            format_args!(
                "the header row is longer than {MAX_ROW_CHARS} characters; it must hold only the pool's column names"
            ),
        );
        return None;
    }
    if let Text::Invalid { .. } = text {
        problems.push(1, ROW, None, format_args!("the header row is {NOT_UTF8}"));
    }
    if split_fields(row, fields, usize::MAX).dangling_backslash {
        problems.push(1, ROW, None, format_args!("{DANGLING}"));
    }
    let names: Vec<String> = fields
        .iter()
        .map(|f| String::from_utf8_lossy(f.value(row, scratch)).into_owned())
        .collect();

    for (i, name) in names.iter().enumerate() {
        let at = column_order(i);
        if names[..i].contains(name) {
            problems.push(
                1,
                at,
                Some(name),
                format_args!("the column is in the header more than once; keep one"),
            );
        } else if !expected.contains(name) && name != PASSWORD_HASH {
            if name.is_empty() {
                problems.push(
                    1,
                    at,
                    Some(name),
                    format_args!("empty column name in the header; remove the extra comma"),
                );
            } else {
                problems.push(
                    1,
                    at,
                    Some(name),
                    format_args!(
                        "not a column of this user pool (GetCSVHeader); remove it or correct its name"
                    ),
                );
            }
        }
    }
    for name in expected {
        if !names.contains(name) {
            problems.push(
                1,
                ABSENT,
                Some(name),
                format_args!("missing column {}; add it to the header row", clip(name)),
            );
        }
    }

    Some(Layout::new(names))
}

#[cfg(test)]
mod tests {
    use super::super::problems::ECHO_CHARS;
    use super::super::test_support::*;
    use super::super::Report;

    /// A file of `header` and one good row for it.
    fn check_header(header: &[&str]) -> Report {
        check(&format!(
            "{}\n{}\n",
            header.join(","),
            row_in(header, 1, &[])
        ))
    }

    #[test]
    fn header_in_another_order() {
        let mut header = HEADER.to_vec();
        header.reverse();
        header.swap(0, 7);
        let text = format!(
            "{}\n{}\n{}\n",
            header.join(","),
            row_in(&header, 1, &[]),
            row_in(&header, 2, &[("updated_at", "x")])
        );
        let report = check(&text);
        assert_eq!(report.problem_count, 1, "{report:#?}");
        assert_eq!(places(&report), [(3, Some("updated_at"))]);
    }

    #[test]
    fn missing_column() {
        let header: Vec<&str> = HEADER.iter().copied().filter(|&c| c != "locale").collect();
        let report = check_header(&header);
        assert_eq!(report.problem_count, 1, "{report:#?}");
        assert_eq!(places(&report), [(1, Some("locale"))]);
        assert!(report.problems[0].problem.contains("missing column locale"));
    }

    #[test]
    fn unexpected_column() {
        let mut header = HEADER.to_vec();
        header.insert(3, "custom:tier");
        let report = check_header(&header);
        assert_eq!(report.problem_count, 1, "{report:#?}");
        assert_eq!(places(&report), [(1, Some("custom:tier"))]);
        // A long name is cut in the report.
        let long = "x".repeat(100);
        let report = check_with(&strings(&["a"]), format!("a,{long}\n1,2\n").as_bytes());
        let column = report.problems[0].column.as_deref().unwrap();
        assert_eq!(column.chars().count(), ECHO_CHARS + 1);
    }

    #[test]
    fn duplicate_column() {
        let mut header = HEADER.to_vec();
        header.push("email");
        let report = check_header(&header);
        assert_eq!(report.problem_count, 1, "{report:#?}");
        assert_eq!(places(&report), [(1, Some("email"))]);
        assert!(report.problems[0].problem.contains("more than once"));
    }

    #[test]
    fn rules_of_an_absent_column_are_skipped() {
        let header: Vec<&str> = HEADER
            .iter()
            .copied()
            .filter(|&c| c != "birthdate" && c != "cognito:username")
            .collect();
        let report = check_header(&header);
        assert_eq!(report.problem_count, 2, "{report:#?}");
        assert_eq!(
            places(&report),
            [(1, Some("birthdate")), (1, Some(USERNAME))]
        );
    }
}
