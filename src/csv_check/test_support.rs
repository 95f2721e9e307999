//! Helpers of the checker's unit tests: a valid file of the standard header,
//! rows with changes, and the problems as (line, column).

pub(super) use super::layout::{BIRTHDATE, MFA_ENABLED, UPDATED_AT, USERNAME};
use super::{CsvChecker, Problem, Report, STANDARD_HEADER};

pub(super) const HEADER: &[&str] = STANDARD_HEADER;

pub(super) fn columns() -> Vec<String> {
    HEADER.iter().map(|c| c.to_string()).collect()
}

pub(super) fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|c| c.to_string()).collect()
}

/// A valid row for user `n` in the order of `header`, `changes`
/// (column, raw value) applied.
pub(super) fn row_in(header: &[&str], n: u32, changes: &[(&str, &str)]) -> String {
    header
        .iter()
        .map(|&column| {
            if let Some((_, v)) = changes.iter().find(|(c, _)| *c == column) {
                return v.to_string();
            }
            match column {
                "cognito:username" => format!("user{n}"),
                "email" => format!("user{n}@example.com"),
                "email_verified" => "true".into(),
                "phone_number_verified" => "false".into(),
                "cognito:mfa_enabled" => "false".into(),
                "given_name" => "Zoë".into(),
                "birthdate" => "07/31/1990".into(),
                "updated_at" => "1700000000".into(),
                "address" => "1 Main St\\, Springfield".into(),
                _ => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn row(n: u32, changes: &[(&str, &str)]) -> String {
    row_in(HEADER, n, changes)
}

pub(super) fn file(rows: &[String]) -> String {
    let mut text = HEADER.join(",");
    text.push('\n');
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

pub(super) fn check_with(expected: &[String], data: &[u8]) -> Report {
    let mut checker = CsvChecker::new(expected);
    checker.feed(data).unwrap();
    checker.finish().unwrap()
}

pub(super) fn check(data: &str) -> Report {
    check_with(&columns(), data.as_bytes())
}

/// The problems as (line, column).
pub(super) fn places(report: &Report) -> Vec<(u64, Option<&str>)> {
    report
        .problems
        .iter()
        .map(|p| (p.line, p.column.as_deref()))
        .collect()
}

/// The only problem of a file whose row 2 has `changes`.
pub(super) fn one_problem(changes: &[(&str, &str)]) -> Problem {
    let report = check(&file(&[row(1, &[]), row(2, changes), row(3, &[])]));
    assert_eq!(report.problem_count, 1, "{report:#?}");
    assert_eq!(report.problems.len(), 1);
    report.problems[0].clone()
}

pub(super) fn assert_one(changes: &[(&str, &str)], line: u64, column: Option<&str>) -> Problem {
    let problem = one_problem(changes);
    assert_eq!(
        (problem.line, problem.column.as_deref()),
        (line, column),
        "{problem:?}"
    );
    problem
}

pub(super) fn assert_fine(changes: &[(&str, &str)]) {
    let report = check(&file(&[row(1, changes)]));
    assert!(report.is_valid(), "{changes:?}: {report:#?}");
}
