//! Cognito's rules for the values of a data row, column by column:
//! `cognito:username` (not empty, no space or tab, unique in the file),
//! `cognito:mfa_enabled`, `email_verified` and `phone_number_verified` (one
//! of them true, with its address), `birthdate` and `updated_at`. A rule of
//! a column the header lacks is skipped, except that a row needs a true
//! verified flag.

use std::hash::{BuildHasher, RandomState};

use super::layout::{
    Layout, BIRTHDATE, EMAIL, EMAIL_VERIFIED, MFA_ENABLED, PHONE_NUMBER, PHONE_NUMBER_VERIFIED,
    UPDATED_AT, USERNAME,
};
use super::lines::Field;
use super::problems::{column_order, order, Placed, Problem, Problems};
use super::MAX_REPORTED;

/// A data row with as many fields as the header.
pub(super) struct Row<'a> {
    pub(super) line: u64,
    pub(super) bytes: &'a [u8],
    pub(super) fields: &'a [Field],
    pub(super) layout: &'a Layout,
}

impl Row<'_> {
    /// The value of field `i`, its escapes undone.
    pub(super) fn value<'a>(&'a self, i: usize, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        self.fields[i].value(self.bytes, scratch)
    }
}

/// Checks the values of `row`; its username goes to `usernames`.
pub(super) fn check_values(
    row: &Row<'_>,
    scratch: &mut Vec<u8>,
    usernames: &mut Usernames,
    problems: &mut Problems,
) {
    let Row {
        line,
        fields,
        layout,
        ..
    } = *row;

    if let Some(i) = layout.username {
        let name = row.value(i, scratch);
        if name.is_empty() {
            problems.push(
                line,
                column_order(i),
                Some(USERNAME),
                format_args!("the username is empty; every user needs one"),
            );
        } else {
            if name.iter().any(|&b| b == b' ' || b == b'\t') {
                problems.push(
                    line,
                    column_order(i),
                    Some(USERNAME),
                    format_args!("the username has a space or tab; remove it"),
                );
            }
            usernames.add(name, line);
        }
    }

    if let Some(i) = layout.mfa_enabled {
        // Empty leaves it to the pool's MFA setting (SPEC section 15).
        let flag = row.value(i, scratch);
        if !flag.is_empty() && parse_bool(flag).is_none() {
            problems.push(
                line,
                column_order(i),
                Some(MFA_ENABLED),
                format_args!("must be true, false or empty (the pool's MFA setting then decides)"),
            );
        }
    }

    let mut email_verified = false;
    let mut phone_number_verified = false;
    let mut flags_valid = true;
    for (index, column, verified) in [
        (layout.email_verified, EMAIL_VERIFIED, &mut email_verified),
        (
            layout.phone_number_verified,
            PHONE_NUMBER_VERIFIED,
            &mut phone_number_verified,
        ),
    ] {
        let Some(i) = index else { continue };
        let flag = row.value(i, scratch);
        match parse_bool(flag) {
            Some(flag) => *verified = flag,
            None if flag.is_empty() => {}
            None => {
                flags_valid = false;
                problems.push(
                    line,
                    column_order(i),
                    Some(column),
                    format_args!("must be true, false or empty"),
                );
            }
        }
    }
    // An invalid flag is reported once, above, not again here.
    if flags_valid && !email_verified && !phone_number_verified {
        problems.push(
            line,
            order(layout.email_verified),
            Some(EMAIL_VERIFIED),
            format_args!(
                "neither email_verified nor phone_number_verified is true; set at least one to true"
            ),
        );
    }
    let filled = |index: Option<usize>| index.is_some_and(|i| !fields[i].is_empty());
    if email_verified && !filled(layout.email) {
        problems.push(
            line,
            order(layout.email),
            Some(EMAIL),
            format_args!(
                "email_verified is true but email is empty; add the email or set email_verified to false"
            ),
        );
    }
    if phone_number_verified && !filled(layout.phone_number) {
        problems.push(
            line,
            order(layout.phone_number),
            Some(PHONE_NUMBER),
            format_args!(
                "phone_number_verified is true but phone_number is empty; add the number or set phone_number_verified to false"
            ),
        );
    }

    if let Some(i) = layout.birthdate {
        let date = row.value(i, scratch);
        if !date.is_empty() {
            if let Err(problem) = check_date(date) {
                problems.push(
                    line,
                    column_order(i),
                    Some(BIRTHDATE),
                    format_args!("{problem}"),
                );
            }
        }
    }

    if let Some(i) = layout.updated_at {
        let time = row.value(i, scratch);
        if !time.is_empty() && !is_epoch_seconds(time) {
            problems.push(
                line,
                column_order(i),
                Some(UPDATED_AT),
                format_args!(
                    "must be a time in epoch seconds: digits only, for example 1700000000"
                ),
            );
        }
    }
}

/// The usernames seen, for the uniqueness rule, checked in
/// [`Usernames::report_duplicates`] once every row is read.
///
/// Usernames are not kept: a 64-bit hash of each (SipHash, keys random per
/// process) with its line, sorted at the end, 16 bytes a user (8 MB for
/// 500,000, about half a hash map's). Two different names sharing a hash
/// would be reported as a duplicate: with random keys the odds are about
/// n²/2^65, some 7e-9 for 500,000 names, far below any other cause of a
/// failed import, and the file can simply be checked again (with new keys).
#[derive(Default)]
pub(super) struct Usernames {
    hasher: RandomState,
    names: Vec<(u64, u32)>,
}

impl Usernames {
    fn add(&mut self, name: &[u8], line: u64) {
        self.names.push((
            self.hasher.hash_one(name),
            u32::try_from(line).unwrap_or(u32::MAX),
        ));
    }

    /// Every username used on an earlier line is a problem of the later
    /// one: all counted, the first [`MAX_REPORTED`] by line kept, at
    /// `order` (the username column's).
    pub(super) fn report_duplicates(self, order: u32, problems: &mut Problems) {
        let mut names = self.names;
        names.sort_unstable();
        let mut count = 0;
        // (line, line of the first one), the first MAX_REPORTED by line.
        let mut duplicates: Vec<(u32, u32)> = Vec::new();
        for run in names.chunk_by(|a, b| a.0 == b.0) {
            let first = run[0].1;
            for &(_, line) in &run[1..] {
                count += 1;
                duplicates.push((line, first));
                if duplicates.len() == 2 * MAX_REPORTED {
                    duplicates.sort_unstable();
                    duplicates.truncate(MAX_REPORTED);
                }
            }
        }
        drop(names);
        duplicates.sort_unstable();
        duplicates.truncate(MAX_REPORTED);
        problems.push_late(
            count,
            duplicates.into_iter().map(|(line, first)| Placed {
                order,
                problem: Problem {
                    line: line.into(),
                    column: Some(USERNAME.to_owned()),
                    problem: format!(
                        "duplicate username: line {first} has the same one; every username must be unique"
                    ),
                },
            }),
        );
    }
}

fn parse_bool(value: &[u8]) -> Option<bool> {
    if value.eq_ignore_ascii_case(b"true") {
        Some(true)
    } else if value.eq_ignore_ascii_case(b"false") {
        Some(false)
    } else {
        None
    }
}

/// `mm/dd/yyyy`, a real date of the proleptic Gregorian calendar. Year 0000
/// passes: OpenID Connect writes it for a birthdate without a year.
fn check_date(date: &[u8]) -> Result<(), &'static str> {
    const SHAPE: &str = "must be a date written mm/dd/yyyy, for example 07/31/1990";
    const REAL: &str = "not a real date; write it as mm/dd/yyyy, for example 07/31/1990";
    let [m1, m2, b'/', d1, d2, b'/', y1, y2, y3, y4] = *date else {
        return Err(SHAPE);
    };
    let digits = [m1, m2, d1, d2, y1, y2, y3, y4];
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(SHAPE);
    }
    let number = |digits: &[u8]| {
        digits
            .iter()
            .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'))
    };
    let (month, day, year) = (
        number(&[m1, m2]),
        number(&[d1, d2]),
        number(&[y1, y2, y3, y4]),
    );
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(REAL),
    };
    if (1..=days).contains(&day) {
        Ok(())
    } else {
        Err(REAL)
    }
}

/// ASCII digits only, within a u64.
fn is_epoch_seconds(time: &[u8]) -> bool {
    time.iter()
        .try_fold(0u64, |n, &b| {
            if b.is_ascii_digit() {
                n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
            } else {
                None
            }
        })
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn username_empty() {
        let p = assert_one(&[("cognito:username", "")], 3, Some(USERNAME));
        assert!(p.problem.contains("empty"));
    }

    #[test]
    fn username_with_space_or_tab() {
        assert_one(&[("cognito:username", "ana maria")], 3, Some(USERNAME));
        assert_one(&[("cognito:username", "ana\tmaria")], 3, Some(USERNAME));
        assert_fine(&[("cognito:username", "ana.maria+1@example.com")]);
    }

    #[test]
    fn username_unique() {
        let report = check(&file(&[
            row(1, &[]),
            row(2, &[]),
            row(1, &[]),
            row(3, &[]),
            row(1, &[]),
            row(2, &[]),
            row(4, &[("cognito:username", "User1")]),
        ]));
        assert_eq!(report.problem_count, 3, "{report:#?}");
        assert_eq!(
            places(&report),
            [
                (4, Some(USERNAME)),
                (6, Some(USERNAME)),
                (7, Some(USERNAME))
            ]
        );
        assert!(report.problems[0].problem.contains("line 2"));
        assert!(report.problems[1].problem.contains("line 2"));
        assert!(report.problems[2].problem.contains("line 3"));
    }

    #[test]
    fn mfa_enabled() {
        for fine in ["true", "FALSE", "True", "fAlSe", ""] {
            assert_fine(&[("cognito:mfa_enabled", fine)]);
        }
        for bad in ["yes", "1", " true", "truee"] {
            assert_one(&[("cognito:mfa_enabled", bad)], 3, Some(MFA_ENABLED));
        }
    }

    #[test]
    fn verified_flags_are_true_false_or_empty() {
        assert_fine(&[("phone_number_verified", ""), ("email_verified", "TRUE")]);
        assert_one(&[("email_verified", "yes")], 3, Some(EMAIL_VERIFIED));
        assert_one(
            &[("phone_number_verified", "no")],
            3,
            Some(PHONE_NUMBER_VERIFIED),
        );
    }

    #[test]
    fn one_verified_flag_is_true() {
        for (email, phone) in [("false", "false"), ("", ""), ("False", "")] {
            let p = assert_one(
                &[("email_verified", email), ("phone_number_verified", phone)],
                3,
                Some(EMAIL_VERIFIED),
            );
            assert!(p.problem.contains("phone_number_verified"), "{p:?}");
        }
        assert_fine(&[
            ("email_verified", "false"),
            ("phone_number_verified", "true"),
            ("phone_number", "+15555550100"),
        ]);
        // A pool without the columns: not true.
        let expected = strings(&["cognito:username", "email"]);
        let report = check_with(&expected, b"cognito:username,email\nu1,a@b.c\n");
        assert_eq!(report.problem_count, 1, "{report:#?}");
        assert_eq!(places(&report), [(2, Some(EMAIL_VERIFIED))]);
    }

    #[test]
    fn a_true_flag_needs_its_address() {
        assert_one(&[("email", "")], 3, Some(EMAIL));
        assert_one(
            &[("phone_number_verified", "true"), ("phone_number", "")],
            3,
            Some(PHONE_NUMBER),
        );
        // The header lacks phone_number.
        let expected = strings(&["cognito:username", "phone_number_verified"]);
        let report = check_with(
            &expected,
            b"cognito:username,phone_number_verified\nu1,true\n",
        );
        assert_eq!(places(&report), [(2, Some(PHONE_NUMBER))]);
    }

    #[test]
    fn birthdate() {
        for fine in [
            "",
            "01/01/2000",
            "12/31/1999",
            "02/29/2024",
            "02/29/2000",
            "04/30/1970",
            "07/04/0000",
        ] {
            assert_fine(&[("birthdate", fine)]);
        }
        for bad in [
            "1990-07-31",
            "7/31/1990",
            "07/31/90",
            "07-31-1990",
            "07/31/1990 ",
            "0a/31/1990",
            "00/10/1990",
            "13/10/1990",
            "02/29/2023",
            "02/29/1900",
            "04/31/1990",
            "01/00/1990",
            "01/32/1990",
        ] {
            let p = assert_one(&[("birthdate", bad)], 3, Some(BIRTHDATE));
            assert!(p.problem.contains("mm/dd/yyyy"), "{p:?}");
        }
    }

    #[test]
    fn updated_at() {
        for fine in ["", "0", "1700000000", "18446744073709551615"] {
            assert_fine(&[("updated_at", fine)]);
        }
        for bad in [
            "-1",
            "1.5",
            "1e9",
            "2024-01-01T00:00:00Z",
            " 1",
            "18446744073709551616",
        ] {
            assert_one(&[("updated_at", bad)], 3, Some(UPDATED_AT));
        }
    }
}
