//! The shape of a row: its length in characters, UTF-8, a backslash that
//! escapes nothing, and (for a data row) as many fields as the header. Only a
//! data row of the right shape goes on to the column rules (`rules.rs`).

use super::layout::Layout;
use super::lines::{split_fields, Field, Line};
use super::password::PasswordCheck;
use super::problems::{column_order, Problems, ROW};
use super::rules::{check_values, Row, Usernames};
use super::text::{row_text, Text, DANGLING, NOT_UTF8};
use super::MAX_ROW_CHARS;

/// Checks data row `line`: its shape, then, when it has the header's
/// fields, the column rules. Without a `layout` (the header could not be
/// read) only the line checks apply. `fields` and `scratch` are buffers to
/// reuse; `fields` holds the row's fields after it. Whether the row has the
/// header's fields (then its values were checked).
pub(super) fn check_row(
    line: Line<'_>,
    layout: Option<&Layout>,
    fields: &mut Vec<Field>,
    scratch: &mut Vec<u8>,
    usernames: &mut Usernames,
    passwords: &mut PasswordCheck,
    problems: &mut Problems,
) -> bool {
    let text = row_text(line);
    let Line {
        number: line,
        bytes: row,
        ..
    } = line;
    if let Text::TooLong = text {
        problems.push(
            line,
            ROW,
            None,
            format_args!("the row is longer than {MAX_ROW_CHARS} characters; shorten it"),
        );
        return false;
    }
    let invalid_at = match text {
        Text::Invalid { at } => Some(at),
        _ => None,
    };
    let width = layout.map_or(0, |l| l.names.len());
    let split = split_fields(row, fields, width.saturating_add(1));
    let (count, dangling) = (split.count, split.dangling_backslash);
    let Some(layout) = layout else {
        if invalid_at.is_some() {
            problems.push(line, ROW, None, format_args!("the row is {NOT_UTF8}"));
        }
        if dangling {
            problems.push(line, ROW, None, format_args!("{DANGLING}"));
        }
        return false;
    };
    if count != width {
        if row.is_empty() {
            problems.push(
                line,
                ROW,
                None,
                format_args!("the line is empty; remove it (every row needs {width} fields)"),
            );
        } else {
            problems.push(
                line,
                ROW,
                None,
                format_args!(
                    "the row has {count} fields but the header has {width}; write a comma inside a value as \\,"
                ),
            );
        }
    }
    if dangling {
        problems.push(line, ROW, None, format_args!("{DANGLING}"));
    }
    if let Some(at) = invalid_at {
        if count == width {
            let k = fields.iter().rposition(|f| f.start <= at).unwrap_or(0);
            problems.push(
                line,
                column_order(k),
                Some(&layout.names[k]),
                format_args!("{NOT_UTF8}"),
            );
        } else {
            problems.push(line, ROW, None, format_args!("the row is {NOT_UTF8}"));
        }
    }
    if count != width {
        return false;
    }
    let row = Row {
        line,
        bytes: row,
        fields,
        layout,
    };
    check_values(&row, scratch, usernames, problems);
    if let Some(i) = layout.password_hash {
        passwords.value(line, i, row.value(i, scratch), problems);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{CsvChecker, ROW_BYTES_CAP};
    use super::*;

    #[test]
    fn escaped_comma_and_backslash_keep_the_field_count() {
        assert_fine(&[
            ("name", "Doe\\, Jane"),
            ("nickname", "back\\\\slash"),
            ("website", "\\\\"),
            ("profile", "a\\,b\\,c\\\\"),
        ]);
        // An escaped backslash before a comma: the comma separates.
        let p = assert_one(&[("nickname", "x\\\\,y")], 3, None);
        assert!(
            p.problem.contains("22 fields") && p.problem.contains("21"),
            "{p:?}"
        );
        // Values are compared unescaped.
        assert_fine(&[("cognito:mfa_enabled", "tr\\ue")]);
        let report = check(&file(&[
            row(1, &[("cognito:username", "a\\,b")]),
            row(2, &[("cognito:username", "a\\,b")]),
            row(3, &[("cognito:username", "a\\\\,b")]),
        ]));
        assert_eq!(report.problem_count, 2, "{report:#?}");
        assert_eq!(places(&report), [(3, Some(USERNAME)), (4, None)]);
    }

    #[test]
    fn a_row_ending_with_a_lone_backslash() {
        let report = check(&file(&[
            row(1, &[]),
            row(2, &[("cognito:username", "u2\\")]),
        ]));
        assert_eq!(report.problem_count, 1, "{report:#?}");
        assert_eq!(places(&report), [(3, None)]);
        assert!(report.problems[0].problem.contains("backslash"));
    }

    #[test]
    fn invalid_utf8() {
        let mut data = file(&[row(1, &[]), row(2, &[("given_name", "~")])]).into_bytes();
        let at = data.iter().position(|&b| b == b'~').unwrap();
        data[at] = 0xFF;
        let report = check_with(&columns(), &data);
        assert_eq!(report.problem_count, 1, "{report:#?}");
        assert_eq!(places(&report), [(3, Some("given_name"))]);
        assert!(report.problems[0].problem.contains("UTF-8"));
        // A character cut short at the end of the row.
        let expected = strings(&["a", "b", "email_verified", "email"]);
        let report = check_with(&expected, b"a,b,email_verified,email\nx,\xc3,true,e\n");
        assert_eq!(places(&report), [(2, Some("b"))]);
        // In a row with the wrong count, no column is known.
        let report = check_with(&expected, b"a,b,email_verified,email\n\xff\n");
        assert_eq!(report.problem_count, 2, "{report:#?}");
        assert_eq!(places(&report), [(2, None), (2, None)]);
        // In the header.
        let report = check_with(&expected, b"a,b\xff,email_verified,email\n1,2,true,e\n");
        assert_eq!(report.problem_count, 3, "{report:#?}");
        assert_eq!(
            places(&report),
            [(1, None), (1, Some("b\u{fffd}")), (1, Some("b"))]
        );
    }

    #[test]
    fn field_count() {
        let p = assert_one(&[("name", "Doe, Jane")], 3, None);
        assert!(
            p.problem.contains("22 fields")
                && p.problem.contains("header has 21")
                && p.problem.contains("\\,"),
            "{p:?}"
        );
        // The row's field rules are skipped.
        assert_one(&[("name", "a,b"), ("birthdate", "13/01/1990")], 3, None);
    }

    #[test]
    fn an_empty_line_in_the_middle() {
        let text = file(&[row(1, &[]), String::new(), row(2, &[])]);
        let report = check(&text);
        assert_eq!(report.problem_count, 1, "{report:#?}");
        assert_eq!(places(&report), [(3, None)]);
        assert_eq!(report.rows, 3);
        assert!(report.problems[0].problem.contains("empty"));
    }

    #[test]
    fn row_over_16000_characters() {
        let expected = strings(&["email_verified", "email", "profile"]);
        let header = "email_verified,email,profile\n";
        // 7 characters before the profile.
        let longest = "é".repeat(MAX_ROW_CHARS - 7);
        let report = check_with(&expected, format!("{header}true,e,{longest}\n").as_bytes());
        assert!(report.is_valid(), "{report:#?}");
        let data = format!("{header}true,e,{longest}é\ntrue,e,ok\n");
        let report = check_with(&expected, data.as_bytes());
        assert_eq!(report.problem_count, 1, "{report:#?}");
        assert_eq!(places(&report), [(2, None)]);
        assert!(report.problems[0].problem.contains("16000"));
        // 4-byte characters, fed in pieces, with CRLF: at most, one more,
        // and over MAX_ROW_CHARS * 4 bytes (no longer buffered).
        let widest = "😀".repeat(MAX_ROW_CHARS - 7);
        let wider = "😀".repeat(MAX_ROW_CHARS);
        let header = header.replace('\n', "\r\n");
        let data = format!(
            "{header}true,e,{widest}\r\ntrue,e,{widest}😀\r\ntrue,e,{wider}\r\ntrue,e,ok\r\n"
        );
        let mut checker = CsvChecker::new(&expected);
        for chunk in data.as_bytes().chunks(1000) {
            checker.feed(chunk).unwrap();
        }
        let report = checker.finish().unwrap();
        assert_eq!(places(&report), [(3, None), (4, None)]);
        assert_eq!(report.rows, 4);
        // A huge row is not buffered.
        let mut checker = CsvChecker::new(&columns());
        checker.feed(HEADER.join(",").as_bytes()).unwrap();
        checker.feed(b"\n").unwrap();
        for _ in 0..1000 {
            checker.feed(&[b'a'; 1000]).unwrap();
            assert!(checker.lines.buffer_capacity() <= ROW_BYTES_CAP + 1);
        }
        checker
            .feed(format!("\n{}", row(1, &[])).as_bytes())
            .unwrap();
        let report = checker.finish().unwrap();
        assert_eq!(places(&report), [(2, None)]);
        assert_eq!(report.rows, 2);
    }
}
