//! Preflight check of a user-import CSV before Cognito sees it (SPEC.md,
//! section 10, step 1): streaming and pure (no AWS, no async), fed chunks of
//! any size split anywhere, even inside a UTF-8 character or a `\r\n`.
//!
//! The pieces, in the order a file meets them:
//! - [`CsvChecker`] (here): the limits (bytes, rows), the byte order mark,
//!   and each line sent to the checks below;
//! - [`lines`]: bytes into lines, a line into fields (backslash escapes), for
//!   any module that reads such a file;
//! - `text.rs`: any line's length in characters and UTF-8;
//! - `header.rs`: line 1 against the pool's columns, read into a `Layout`
//!   (`layout.rs`: where each column the rules read is);
//! - `row.rs`: a data row's shape (field count), then its values to
//! - `rules.rs`: Cognito's rules per column (username, MFA, verified
//!   attributes, birthdate, updated_at);
//! - [`password`]: the `password_hash` column (SPEC section 15);
//! - [`groups`]: the `cognito:groups` column (SPEC section 17), its counts
//!   and the upload without it ([`groups::ColumnDrop`]);
//! - [`parts`]: the cut of a file into parts (SPEC section 14);
//! - `problems.rs`: [`Problem`] and `Problems`, the collector every check
//!   writes to, which counts them all and keeps the first;
//! - `report.rs`: [`Report`] and [`TooLarge`], what the checker answers.
//!
//! Memory: one row at most is buffered, and only up to `MAX_ROW_CHARS * 4`
//! bytes of it (a longer row is too long whatever it holds), plus 16 bytes
//! per username for the uniqueness check.

use std::fmt;

pub mod groups;
mod header;
mod layout;
pub mod lines;
pub mod parts;
pub mod password;
mod problems;
mod report;
mod row;
mod rules;
#[cfg(test)]
mod test_support;
mod text;

pub use problems::Problem;
pub use report::{Report, TooLarge};

use groups::{GroupCheck, GroupsMode};
use header::read_header;
use layout::Layout;
use lines::{Field, Line, LineSplitter};
use parts::{Cutter, PartLimits, Step};
use password::{PasswordCheck, PasswordMode};
use problems::{order, Problems, ROW};
use row::check_row;
use rules::Usernames;

/// The largest file Cognito imports, in bytes.
pub const MAX_BYTES: u64 = 104_857_600;
/// The most data rows (users) of one import, the header excluded.
pub const MAX_ROWS: u64 = 500_000;
/// The most characters of one row, its line ending excluded.
pub const MAX_ROW_CHARS: usize = 16_000;
/// How many problems a [`Report`] lists (it counts them all).
pub const MAX_REPORTED: usize = 20;

/// Cognito's user import CSV header for a pool without custom attributes:
/// what `GetCSVHeader` returns (the emulator serves it too).
pub const STANDARD_HEADER: &[&str] = &[
    "profile",
    "address",
    "birthdate",
    "gender",
    "preferred_username",
    "updated_at",
    "website",
    "picture",
    "phone_number",
    "phone_number_verified",
    "zoneinfo",
    "locale",
    "email",
    "email_verified",
    "given_name",
    "family_name",
    "middle_name",
    "name",
    "nickname",
    "cognito:mfa_enabled",
    "cognito:username",
];

/// A row over `MAX_ROW_CHARS` characters is at most this long once its
/// `\r` is gone; anything longer is too long (a character is at most 4 bytes).
const ROW_BYTES_CAP: usize = MAX_ROW_CHARS * 4;
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The streaming checker: [`CsvChecker::feed`] the object's bytes as they
/// come, then [`CsvChecker::finish`].
pub struct CsvChecker {
    max_bytes: u64,
    max_rows: u64,
    bytes: u64,
    too_large: Option<TooLarge>,
    /// While the first bytes may still be a byte order mark: how many of
    /// its bytes matched so far.
    bom_settled: bool,
    bom_matched: usize,
    lines: LineSplitter,
    checks: Checks,
    /// `Some` for a checker that cuts parts: over its byte bound, the file
    /// is too large as parts, not as one file.
    parts_limits: Option<PartLimits>,
}

/// What the checks of the lines share: the pool's columns, what the header
/// said, buffers reused from row to row, the usernames seen, the problems.
struct Checks {
    expected: Vec<String>,
    /// Lines read so far (the header is line 1).
    lines: u64,
    /// `None` before the header, or when the header could not be read.
    layout: Option<Layout>,
    fields: Vec<Field>,
    scratch: Vec<u8>,
    usernames: Usernames,
    problems: Problems,
    /// Cutting into parts (SPEC section 14): usernames are unique within
    /// each part.
    cutter: Option<Cutter>,
    /// Set when the cut went over its limits: checking stops.
    over: Option<TooLarge>,
    passwords: PasswordCheck,
    groups: GroupCheck,
}

impl Checks {
    fn line(&mut self, line: Line<'_>) {
        self.lines = line.number;
        if let Some(cutter) = &mut self.cutter {
            match cutter.line(line.number, line.input_len, line.bytes) {
                Ok(Step::Same) => {}
                Ok(Step::NewPart) => {
                    self.end_part();
                    self.passwords.new_part();
                    self.groups.new_part();
                }
                Err(too_large) => {
                    self.over.get_or_insert(too_large);
                }
            }
        }
        if line.number == 1 {
            self.header(line);
        } else {
            self.row(line);
        }
    }

    fn header(&mut self, line: Line<'_>) {
        self.layout = read_header(
            line,
            &self.expected,
            self.groups.mode(),
            &mut self.fields,
            &mut self.scratch,
            &mut self.problems,
        );
        let layout = self.layout.as_ref();
        if let Some(layout) = layout {
            self.passwords
                .header(layout.password_hash, &mut self.problems);
        }
        self.groups.header(line, layout.and_then(|l| l.groups));
    }

    fn row(&mut self, line: Line<'_>) {
        let whole = check_row(
            line,
            self.layout.as_ref(),
            &mut self.fields,
            &mut self.scratch,
            &mut self.usernames,
            &mut self.passwords,
            &mut self.problems,
        );
        self.groups.row(line);
        let column = self.layout.as_ref().and_then(|l| l.groups);
        if let (true, Some(i)) = (whole, column) {
            let value = self.fields[i].value(line.bytes, &mut self.scratch);
            self.groups.value(line.number, value, &mut self.problems);
        }
    }

    /// A part is done: its usernames' duplicates are reported, and the next
    /// part's are counted afresh.
    fn end_part(&mut self) {
        let order = order(self.layout.as_ref().and_then(|l| l.username));
        std::mem::take(&mut self.usernames).report_duplicates(order, &mut self.problems);
    }

    /// Data rows read so far, the header excluded.
    fn rows(&self) -> u64 {
        self.lines.saturating_sub(1)
    }
}

impl fmt::Debug for CsvChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvChecker")
            .field("bytes", &self.bytes)
            .field("line", &self.lines.line_number())
            .field("rows", &self.checks.rows())
            .field("problem_count", &self.checks.problems.count())
            .field("too_large", &self.too_large)
            .finish_non_exhaustive()
    }
}

impl CsvChecker {
    /// `expected_columns`: the columns `GetCSVHeader` returned for the pool.
    pub fn new(expected_columns: &[String]) -> CsvChecker {
        CsvChecker::with_limits(expected_columns, MAX_BYTES, MAX_ROWS)
    }

    /// A checker that also cuts the file into parts within `limits` (SPEC
    /// section 14): usernames unique within each part, [`Report::cut`] the
    /// parts, and [`TooLarge::Parts`] past `limits.max_parts`.
    pub fn parted(expected_columns: &[String], limits: PartLimits) -> CsvChecker {
        // The cutter decides; these only bound a file that never ends a line.
        let max_bytes = limits.max_parts.saturating_mul(limits.max_bytes);
        let mut checker = CsvChecker::with_limits(expected_columns, max_bytes, u64::MAX - 1);
        checker.checks.cutter = Some(Cutter::new(limits));
        checker.parts_limits = Some(limits);
        checker
    }

    /// How the `password_hash` column is checked (SPEC section 15); by
    /// default a job without an algorithm ([`PasswordMode::Without`]).
    pub fn with_passwords(mut self, mode: PasswordMode) -> CsvChecker {
        self.checks.passwords = PasswordCheck::new(mode);
        self
    }

    /// Whether a `cognito:groups` column is taken (SPEC section 17); by
    /// default it is a problem ([`GroupsMode::Refused`]).
    pub fn with_groups(mut self, mode: GroupsMode) -> CsvChecker {
        self.checks.groups = GroupCheck::new(mode);
        self
    }

    fn with_limits(expected_columns: &[String], max_bytes: u64, max_rows: u64) -> CsvChecker {
        let mut expected: Vec<String> = Vec::with_capacity(expected_columns.len());
        for column in expected_columns {
            if !expected.contains(column) {
                expected.push(column.clone());
            }
        }
        CsvChecker {
            max_bytes,
            max_rows,
            bytes: 0,
            too_large: None,
            bom_settled: false,
            bom_matched: 0,
            // The header and `max_rows` data rows.
            lines: LineSplitter::new(ROW_BYTES_CAP).with_max_lines(max_rows.saturating_add(1)),
            checks: Checks {
                expected,
                lines: 0,
                layout: None,
                fields: Vec::new(),
                scratch: Vec::new(),
                usernames: Usernames::default(),
                problems: Problems::default(),
                cutter: None,
                over: None,
                passwords: PasswordCheck::new(PasswordMode::Without),
                groups: GroupCheck::new(GroupsMode::Refused),
            },
            parts_limits: None,
        }
    }

    /// The next bytes of the file. After an error the file is over a limit
    /// and every later call fails the same way.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), TooLarge> {
        if let Some(too_large) = &self.too_large {
            return Err(too_large.clone());
        }
        self.bytes += chunk.len() as u64;
        if self.bytes > self.max_bytes {
            let too_large = match self.parts_limits {
                Some(limits) => TooLarge::Parts(limits),
                None => TooLarge::Bytes(self.bytes),
            };
            return self.refuse(too_large);
        }
        let mut chunk = chunk;
        if !self.bom_settled {
            while let Some((&byte, rest)) = chunk.split_first() {
                if byte != BOM[self.bom_matched] {
                    self.settle_bom()?;
                    break;
                }
                self.bom_matched += 1;
                chunk = rest;
                if self.bom_matched == BOM.len() {
                    self.bom_settled = true;
                    self.checks.problems.push(
                        1,
                        ROW,
                        None,
                        format_args!(
                            "starts with a UTF-8 byte order mark; save the file as UTF-8 without BOM"
                        ),
                    );
                    break;
                }
            }
        }
        self.consume(chunk)
    }

    /// The end of the file.
    pub fn finish(mut self) -> Result<Report, TooLarge> {
        if let Some(too_large) = self.too_large.take() {
            return Err(too_large);
        }
        if !self.bom_settled {
            self.settle_bom()?;
        }
        let CsvChecker {
            lines,
            mut checks,
            bytes,
            ..
        } = self;
        lines.finish(|line| checks.line(line));
        if let Some(too_large) = checks.over.take() {
            return Err(too_large);
        }
        let rows = checks.rows();
        if checks.lines == 0 {
            checks.problems.push(
                1,
                ROW,
                None,
                format_args!(
                    "the file is empty; it needs a header row with the pool's columns and one row per user"
                ),
            );
        } else if rows == 0 {
            checks.problems.push(
                2,
                ROW,
                None,
                format_args!("the file has no user rows; add one row per user under the header"),
            );
        }
        checks.end_part();
        let cut = checks.cutter.take().map(Cutter::finish).unwrap_or_default();
        let passwords = checks.passwords.finish(&mut checks.problems);
        let groups = checks.groups.finish();
        let (problems, problem_count) = checks.problems.finish();
        Ok(Report {
            rows,
            bytes,
            problems,
            problem_count,
            cut,
            passwords,
            groups,
        })
    }

    fn refuse(&mut self, too_large: TooLarge) -> Result<(), TooLarge> {
        self.too_large = Some(too_large.clone());
        Err(too_large)
    }

    /// The file does not start with a byte order mark: the bytes that
    /// matched one so far are data.
    fn settle_bom(&mut self) -> Result<(), TooLarge> {
        self.bom_settled = true;
        let matched = std::mem::take(&mut self.bom_matched);
        self.consume(&BOM[..matched])
    }

    /// Lines to the checks; a byte of one row too many is refused.
    fn consume(&mut self, data: &[u8]) -> Result<(), TooLarge> {
        let CsvChecker { lines, checks, .. } = self;
        match lines.feed(data, |line| checks.line(line)) {
            Ok(()) => match checks.over.take() {
                Some(too_large) => self.refuse(too_large),
                None => Ok(()),
            },
            Err(lines::TooManyLines { .. }) => self.refuse(TooLarge::Rows(self.max_rows)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn a_valid_file_has_no_problem() {
        let rows: Vec<String> = (1..=50).map(|n| row(n, &[])).collect();
        let text = file(&rows);
        let report = check(&text);
        assert_eq!(
            report,
            Report {
                rows: 50,
                bytes: text.len() as u64,
                problems: vec![],
                problem_count: 0,
                cut: parts::Cut::default(),
                passwords: None,
                groups: None,
            }
        );
        assert!(report.is_valid());
        // Without a final line ending too.
        let report = check(text.strip_suffix('\n').unwrap());
        assert!(report.is_valid() && report.rows == 50, "{report:#?}");
    }

    #[test]
    fn crlf_line_endings() {
        let text = file(&[row(1, &[]), row(2, &[])]).replace('\n', "\r\n");
        let report = check(&text);
        assert!(report.is_valid() && report.rows == 2, "{report:#?}");
        // Mixed, and without a final one.
        let text = format!("{}\r\n{}\n{}", HEADER.join(","), row(1, &[]), row(2, &[]));
        assert!(check(&text).is_valid());
    }

    #[test]
    fn byte_order_mark() {
        let text = format!("\u{feff}{}", file(&[row(1, &[])]));
        let report = check(&text);
        assert_eq!(report.problem_count, 1, "{report:#?}");
        assert_eq!(places(&report), [(1, None)]);
        assert!(report.problems[0].problem.contains("byte order mark"));
        assert_eq!(report.bytes, text.len() as u64);
        // Only the mark: the file is empty besides.
        let report = check("\u{feff}");
        assert_eq!(places(&report), [(1, None), (1, None)]);
        // A start like a mark's is data.
        let expected = strings(&["\u{fe00}x", "email_verified", "email"]);
        let text = "\u{fe00}x,email_verified,email\na,true,e\n";
        let report = check_with(&expected, text.as_bytes());
        assert!(report.is_valid(), "{report:#?}");
        let report = check_with(&strings(&["a"]), b"\xef\xbb");
        assert!(report.problems[0].problem.contains("UTF-8"), "{report:#?}");
        assert!(!report
            .problems
            .iter()
            .any(|p| p.problem.contains("byte order")));
    }

    #[test]
    fn an_empty_file_and_a_header_alone() {
        let report = check("");
        assert_eq!(places(&report), [(1, None)]);
        assert_eq!(report.problem_count, 1);
        let report = check(&file(&[]));
        assert_eq!(places(&report), [(2, None)]);
        assert_eq!((report.problem_count, report.rows), (1, 0));
    }

    #[test]
    fn any_chunking_gives_the_same_report() {
        let mut data = Vec::new();
        data.extend_from_slice(&BOM);
        data.extend_from_slice(HEADER.join(",").as_bytes());
        data.extend_from_slice(b"\r\n");
        for line in [
            row(1, &[("name", "Zoë 😀 \\, x"), ("nickname", "\\\\")]),
            row(2, &[("birthdate", "02/30/2000")]),
            String::new(),
            row(1, &[("cognito:mfa_enabled", "TRUE")]),
            row(3, &[("given_name", "~")]),
            row(4, &[("name", "a,b")]),
        ] {
            data.extend_from_slice(line.as_bytes());
            data.extend_from_slice(b"\r\n");
        }
        let at = data.iter().position(|&b| b == b'~').unwrap();
        data[at] = 0xC3; // cut short
        data.extend_from_slice(row(5, &[("updated_at", "1.5")]).as_bytes());

        let whole = check_with(&columns(), &data);
        assert_eq!(whole.problem_count, 7, "{whole:#?}");
        assert_eq!(
            places(&whole),
            [
                (1, None),
                (3, Some(BIRTHDATE)),
                (4, None),
                (5, Some(USERNAME)),
                (6, Some("given_name")),
                (7, None),
                (8, Some(UPDATED_AT)),
            ],
            "{whole:#?}"
        );
        assert_eq!(whole.rows, 7);
        for size in 1..=7 {
            for split in 0..=data.len() {
                let mut checker = CsvChecker::new(&columns());
                checker.feed(&data[..split]).unwrap();
                checker.feed(&[]).unwrap();
                for chunk in data[split..].chunks(size) {
                    checker.feed(chunk).unwrap();
                }
                assert_eq!(
                    checker.finish().unwrap(),
                    whole,
                    "size {size}, split {split}"
                );
            }
        }
    }

    #[test]
    fn rows_cap() {
        // The real limit with a real input: 500,000 rows are fed without
        // error, and the first byte of one more is refused (one pass, about
        // 0.4 s in a debug build).
        let expected = strings(&["email_verified", "email"]);
        let mut data = b"email_verified,email\n".to_vec();
        data.extend(b"true,e\n".repeat(MAX_ROWS as usize));
        let mut checker = CsvChecker::new(&expected);
        checker.feed(&data).unwrap();
        assert_eq!(checker.feed(b"t"), Err(TooLarge::Rows(MAX_ROWS)));
        assert_eq!(checker.feed(b"more"), Err(TooLarge::Rows(MAX_ROWS)));
        assert_eq!(checker.finish(), Err(TooLarge::Rows(MAX_ROWS)));
        assert_eq!(
            TooLarge::Rows(MAX_ROWS).to_string(),
            "the file has more than 500000 data rows: split it into files of at most 500000 users"
        );

        // The edges, with a small limit: the last row without a line ending
        // is fine; a row begins with any byte, even of an empty line.
        let data = b"email_verified,email\ntrue,e\ntrue,e\r\ntrue,e\n";
        let small = |data: &[u8]| {
            let mut checker = CsvChecker::with_limits(&expected, MAX_BYTES, 3);
            let fed = data.iter().try_for_each(|b| checker.feed(&[*b]));
            fed.and_then(|()| checker.finish())
        };
        assert_eq!(small(data).map(|r| r.rows), Ok(3));
        assert_eq!(small(&data[..data.len() - 1]).map(|r| r.rows), Ok(3));
        for next in [&b"t"[..], b"\n", b"\r"] {
            assert_eq!(small(&[&data[..], next].concat()), Err(TooLarge::Rows(3)));
        }
    }

    fn parted(
        data: &[u8],
        max_rows: u64,
        max_bytes: u64,
        chunk: usize,
    ) -> Result<Report, TooLarge> {
        let limits = parts::PartLimits {
            max_rows,
            max_bytes,
            max_parts: 3,
        };
        let mut checker = CsvChecker::parted(&columns(), limits);
        for piece in data.chunks(chunk) {
            checker.feed(piece)?;
        }
        checker.finish()
    }

    #[test]
    fn a_parted_file_is_cut_and_its_usernames_are_unique_within_each_part() {
        // Rows 1-2, 3-4, 5: user1 again in part 3 is Cognito's to skip;
        // user3 twice within part 2 is a problem, on its source line.
        let rows: Vec<String> = [1, 2, 3, 3, 1].iter().map(|&n| row(n, &[])).collect();
        let text = file(&rows).replace('\n', "\r\n");
        for chunk in [1, 7, 100, text.len()] {
            let report = parted(text.as_bytes(), 2, MAX_BYTES, chunk).unwrap();
            assert_eq!(places(&report), [(5, Some(USERNAME))], "chunk {chunk}");
            assert_eq!(report.problem_count, 1);
            let cut = &report.cut;
            let header = HEADER.join(",").len() as u64 + 2;
            assert_eq!(cut.header_bytes, header);
            let rows: Vec<(u64, u64)> = cut
                .parts
                .iter()
                .map(|p| (p.first_row, p.last_row))
                .collect();
            assert_eq!(rows, [(1, 2), (3, 4), (5, 5)]);
            // The byte ranges tile the file after the header.
            assert_eq!(cut.parts[0].first_byte, header);
            assert_eq!(cut.parts[0].end_byte, cut.parts[1].first_byte);
            assert_eq!(cut.parts[2].end_byte, text.len() as u64);
            let second =
                &text.as_bytes()[cut.parts[1].first_byte as usize..cut.parts[1].end_byte as usize];
            assert_eq!(
                second,
                format!("{}\r\n{}\r\n", row(3, &[]), row(3, &[])).as_bytes()
            );
        }
        // Without cutting, the same file has two duplicates.
        assert_eq!(check(&text).problem_count, 2);
    }

    #[test]
    fn a_parted_file_of_too_many_parts_is_too_large() {
        let rows: Vec<String> = (1..=7).map(|n| row(n, &[])).collect();
        let text = file(&rows);
        let error = parted(text.as_bytes(), 2, MAX_BYTES, 5).unwrap_err();
        assert!(matches!(error, TooLarge::Parts(_)), "{error:?}");
        assert!(error.to_string().contains("more than 3 parts"), "{error}");
        // A file within one part's limits is one part.
        let report = parted(file(&rows[..2]).as_bytes(), 2, MAX_BYTES, 3).unwrap();
        assert_eq!(report.cut.parts.len(), 1);
        assert!(report.is_valid());
    }

    #[test]
    fn bytes_cap() {
        let mut checker = CsvChecker::new(&columns());
        checker.feed(HEADER.join(",").as_bytes()).unwrap();
        let sent = HEADER.join(",").len() as u64;
        // Zeroed pages never touched: the cap is checked before any byte of
        // the chunk is read.
        let rest = vec![0u8; (MAX_BYTES - sent + 1) as usize];
        assert_eq!(checker.feed(&rest), Err(TooLarge::Bytes(MAX_BYTES + 1)));
        drop(rest);
        assert_eq!(checker.feed(b""), Err(TooLarge::Bytes(MAX_BYTES + 1)));
        assert_eq!(checker.finish(), Err(TooLarge::Bytes(MAX_BYTES + 1)));

        // Up to the cap is fine.
        let mut checker = CsvChecker::with_limits(&columns(), 10, MAX_ROWS);
        checker.feed(b"01234").unwrap();
        checker.feed(b"56789").unwrap();
        assert_eq!(checker.feed(b"x"), Err(TooLarge::Bytes(11)));
        assert_eq!(
            TooLarge::Bytes(104_857_601).to_string(),
            "the file is 104857601 bytes; Cognito accepts at most 104857600: split it"
        );
    }
}
