//! The header row (line 1): the columns must be exactly the pool's
//! (`GetCSVHeader`), in any order, each once. What it says is kept as a
//! `Layout` (`layout.rs`) for the rules of the data rows.

use super::groups::GroupsMode;
use super::layout::{Layout, GROUPS, PASSWORD_HASH};
use super::lines::{split_fields, Field, Line};
use super::problems::{clip, column_order, Problems, ABSENT, ROW};
use super::text::{row_text, Text, DANGLING, NOT_UTF8};
use super::MAX_ROW_CHARS;

/// Checks the header `line` against the `expected` columns (and
/// `password_hash`, and `cognito:groups` when `groups` allows it); its
/// layout, or `None` when it is too long to read (data rows then get only
/// the line checks). `fields` and `scratch` are buffers to reuse.
pub(super) fn read_header(
    line: Line<'_>,
    expected: &[String],
    groups: GroupsMode,
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
        let problem = if names[..i].contains(name) {
            Some("the column is in the header more than once; keep one")
        } else if expected.contains(name) {
            None
        } else {
            extra_column(name, groups)
        };
        if let Some(problem) = problem {
            problems.push(1, column_order(i), Some(name), format_args!("{problem}"));
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

/// What is wrong with column `name`, which is not the pool's: nothing for
/// `password_hash` (SPEC section 15) and, when allowed, `cognito:groups`
/// (SPEC section 17).
fn extra_column(name: &str, groups: GroupsMode) -> Option<&'static str> {
    match name {
        PASSWORD_HASH => None,
        GROUPS if groups == GroupsMode::Allowed => None,
        GROUPS => Some(
            "groups are added only in create mode (an object that names the pool and no job): a \
             job named by the object's metadata gets the file as it is, and Cognito refuses this \
             column; remove it",
        ),
        "" => Some("empty column name in the header; remove the extra comma"),
        _ => Some("not a column of this user pool (GetCSVHeader); remove it or correct its name"),
    }
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
