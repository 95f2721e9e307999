//! Preflight check of a user-import CSV before Cognito sees it (SPEC.md,
//! section 10, step 1): streaming and pure (no AWS, no async), fed chunks of
//! any size split anywhere, even inside a UTF-8 character or a `\r\n`.
//!
//! Why a small byte splitter and not the `csv` crate: Cognito documents
//! backslash escaping only (`\,` is a comma inside a value, `\\` a
//! backslash) and no quoting, while the `csv` crate applies its `escape`
//! byte only inside quoted fields, so it cannot read an unquoted `\,`.
//! Line ends are found with `memchr`, fields with a byte loop.
//!
//! Memory: one row at most is buffered, and only up to `MAX_ROW_CHARS * 4`
//! bytes of it (a longer row is too long whatever it holds), plus 16 bytes
//! per username for the uniqueness check.

use std::fmt;
use std::hash::{BuildHasher, RandomState};

use serde::Serialize;

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

/// The file is over a Cognito limit: checking stops there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TooLarge {
    /// The size in bytes (as far as it was read, when found while streaming).
    Bytes(u64),
    /// The file has more data rows than this limit.
    Rows(u64),
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TooLarge::Bytes(bytes) => write!(
                f,
                "the file is {bytes} bytes; Cognito accepts at most {MAX_BYTES}: split it"
            ),
            TooLarge::Rows(limit) => write!(
                f,
                "the file has more than {limit} data rows: split it into files of at most {limit} users"
            ),
        }
    }
}

impl std::error::Error for TooLarge {}

/// The outcome of a whole file within the limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Data rows, the header excluded.
    pub rows: u64,
    /// Bytes fed, a byte order mark included.
    pub bytes: u64,
    /// The first [`MAX_REPORTED`] problems, in file order.
    pub problems: Vec<Problem>,
    /// All of them.
    pub problem_count: u64,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.problem_count == 0
    }
}

/// A row over `MAX_ROW_CHARS` characters is at most this long once its
/// `\r` is gone; anything longer is too long (a character is at most 4 bytes).
const ROW_BYTES_CAP: usize = MAX_ROW_CHARS * 4;
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// Header names echoed in a problem are cut to this many characters.
const ECHO_CHARS: usize = 40;
/// More problems than any one data row can have (at most 10): see `Sink`.
const ROW_SLACK: usize = 16;

const USERNAME: &str = "cognito:username";
const MFA_ENABLED: &str = "cognito:mfa_enabled";
const EMAIL: &str = "email";
const EMAIL_VERIFIED: &str = "email_verified";
const PHONE_NUMBER: &str = "phone_number";
const PHONE_NUMBER_VERIFIED: &str = "phone_number_verified";
const BIRTHDATE: &str = "birthdate";
const UPDATED_AT: &str = "updated_at";

const DANGLING: &str =
    "the row ends with a backslash that escapes nothing; write \\\\ for a backslash at the end of a value";
const NOT_UTF8: &str = "not valid UTF-8; save the file as UTF-8";

/// Order within a line: the row as a whole first, then the columns in header
/// order (`1 + position`), then columns the header lacks.
const ROW: u32 = 0;
const ABSENT: u32 = u32::MAX;

fn order(index: Option<usize>) -> u32 {
    index.map_or(ABSENT, column_order)
}

fn column_order(index: usize) -> u32 {
    u32::try_from(index).map_or(ABSENT - 1, |i| i.saturating_add(1).min(ABSENT - 1))
}

struct Placed {
    order: u32,
    problem: Problem,
}

/// Counts every problem and keeps the first ones. Problems arrive in line
/// order but, within a data row, not always in column order: the line that
/// holds the `MAX_REPORTED`-th is kept whole so that `finish` can sort it.
/// (The header's problems do arrive in order.)
#[derive(Default)]
struct Sink {
    kept: Vec<Placed>,
    count: u64,
}

impl Sink {
    fn push(&mut self, line: u64, order: u32, column: Option<&str>, problem: fmt::Arguments<'_>) {
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
}

fn clip(name: &str) -> String {
    match name.char_indices().nth(ECHO_CHARS) {
        Some((at, _)) => format!("{}…", &name[..at]),
        None => name.to_owned(),
    }
}

/// One field of the current row: `row[start..end]`, raw (`escaped` says
/// whether it holds a backslash to undo).
#[derive(Clone, Copy, Debug)]
struct Field {
    start: usize,
    end: usize,
    escaped: bool,
}

/// What the header row says, computed once: the rules look columns up by
/// index.
struct Layout {
    names: Vec<String>,
    username: Option<usize>,
    mfa_enabled: Option<usize>,
    email: Option<usize>,
    email_verified: Option<usize>,
    phone_number: Option<usize>,
    phone_number_verified: Option<usize>,
    birthdate: Option<usize>,
    updated_at: Option<usize>,
}

/// The streaming checker: [`CsvChecker::feed`] the object's bytes as they
/// come, then [`CsvChecker::finish`].
pub struct CsvChecker {
    expected: Vec<String>,
    max_bytes: u64,
    max_rows: u64,
    bytes: u64,
    too_large: Option<TooLarge>,
    /// While the first bytes may still be a byte order mark: how many of
    /// its bytes matched so far.
    bom_settled: bool,
    bom_matched: usize,
    /// The line number of the row being read (1: the header).
    line: u64,
    /// Whether a byte of that row was seen.
    in_row: bool,
    /// The row went over `ROW_BYTES_CAP`: its bytes are dropped to its end.
    overlong: bool,
    /// The start of a row split between chunks.
    buf: Vec<u8>,
    rows: u64,
    /// `None` before the header, or when the header could not be read.
    layout: Option<Layout>,
    fields: Vec<Field>,
    scratch: Vec<u8>,
    /// Usernames are not kept: a 64-bit hash of each (SipHash, keys random
    /// per process) with its line, sorted in `finish`, 16 bytes a user
    /// (8 MB for 500,000, about half a hash map's). Two different names
    /// sharing a hash would be reported as a duplicate: with random keys the
    /// odds are about n²/2^65, some 7e-9 for 500,000 names, far below any
    /// other cause of a failed import, and the file can simply be checked
    /// again (with new keys).
    hasher: RandomState,
    names: Vec<(u64, u32)>,
    sink: Sink,
}

impl fmt::Debug for CsvChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvChecker")
            .field("bytes", &self.bytes)
            .field("line", &self.line)
            .field("rows", &self.rows)
            .field("problem_count", &self.sink.count)
            .field("too_large", &self.too_large)
            .finish_non_exhaustive()
    }
}

impl CsvChecker {
    /// `expected_columns`: the columns `GetCSVHeader` returned for the pool.
    pub fn new(expected_columns: &[String]) -> CsvChecker {
        CsvChecker::with_limits(expected_columns, MAX_BYTES, MAX_ROWS)
    }

    fn with_limits(expected_columns: &[String], max_bytes: u64, max_rows: u64) -> CsvChecker {
        let mut expected: Vec<String> = Vec::with_capacity(expected_columns.len());
        for column in expected_columns {
            if !expected.contains(column) {
                expected.push(column.clone());
            }
        }
        CsvChecker {
            expected,
            max_bytes,
            max_rows,
            bytes: 0,
            too_large: None,
            bom_settled: false,
            bom_matched: 0,
            line: 1,
            in_row: false,
            overlong: false,
            buf: Vec::with_capacity(ROW_BYTES_CAP + 1),
            rows: 0,
            layout: None,
            fields: Vec::new(),
            scratch: Vec::new(),
            hasher: RandomState::new(),
            names: Vec::new(),
            sink: Sink::default(),
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
            return self.refuse(TooLarge::Bytes(self.bytes));
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
                    self.sink.push(
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
        if self.in_row {
            self.end_buffered_row();
        }
        if self.line == 1 {
            self.sink.push(
                1,
                ROW,
                None,
                format_args!(
                    "the file is empty; it needs a header row with the pool's columns and one row per user"
                ),
            );
        } else if self.rows == 0 {
            self.sink.push(
                2,
                ROW,
                None,
                format_args!("the file has no user rows; add one row per user under the header"),
            );
        }

        let Sink {
            mut kept,
            mut count,
        } = self.sink;
        let username_order = order(self.layout.as_ref().and_then(|l| l.username));
        let mut names = self.names;
        names.sort_unstable();
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
        kept.extend(duplicates.into_iter().map(|(line, first)| Placed {
            order: username_order,
            problem: Problem {
                line: line.into(),
                column: Some(USERNAME.to_owned()),
                problem: format!(
                    "duplicate username: line {first} has the same one; every username must be unique"
                ),
            },
        }));
        kept.sort_by_key(|p| (p.problem.line, p.order));
        kept.truncate(MAX_REPORTED);
        Ok(Report {
            rows: self.rows,
            bytes: self.bytes,
            problems: kept.into_iter().map(|p| p.problem).collect(),
            problem_count: count,
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

    fn consume(&mut self, mut data: &[u8]) -> Result<(), TooLarge> {
        while !data.is_empty() {
            if !self.in_row {
                if self.line > 1 && self.line - 1 > self.max_rows {
                    return self.refuse(TooLarge::Rows(self.max_rows));
                }
                self.in_row = true;
            }
            match memchr::memchr(b'\n', data) {
                Some(end) => {
                    if self.buf.is_empty() && !self.overlong {
                        // The whole row is in this chunk: no copy.
                        self.end_row(&data[..end]);
                    } else {
                        self.append(&data[..end]);
                        self.end_buffered_row();
                    }
                    data = &data[end + 1..];
                }
                None => {
                    self.append(data);
                    break;
                }
            }
        }
        Ok(())
    }

    fn append(&mut self, part: &[u8]) {
        if self.overlong {
            return;
        }
        // + 1: the row's `\r` may be in it.
        if self.buf.len() + part.len() > ROW_BYTES_CAP + 1 {
            self.overlong = true;
            self.buf.clear();
        } else {
            self.buf.extend_from_slice(part);
        }
    }

    fn end_buffered_row(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        self.end_row(&buf);
        self.buf = buf;
        self.buf.clear();
    }

    fn end_row(&mut self, row: &[u8]) {
        let row = row.strip_suffix(b"\r").unwrap_or(row);
        let overlong = std::mem::take(&mut self.overlong) || row.len() > ROW_BYTES_CAP;
        let line = self.line;
        self.line += 1;
        self.in_row = false;
        if line == 1 {
            self.read_header(row, overlong);
        } else {
            self.rows += 1;
            self.check_row(line, row, overlong);
        }
    }

    fn read_header(&mut self, row: &[u8], overlong: bool) {
        let sink = &mut self.sink;
        let text = row_text(row, overlong);
        if let Text::TooLong = text {
            // The columns stay unknown: data rows get only the line checks.
            sink.push(
                1,
                ROW,
                None,
                format_args!(
                    "the header row is longer than {MAX_ROW_CHARS} characters; it must hold only the pool's column names"
                ),
            );
            return;
        }
        if let Text::Invalid { .. } = text {
            sink.push(1, ROW, None, format_args!("the header row is {NOT_UTF8}"));
        }
        let (_, dangling) = split(row, &mut self.fields, usize::MAX);
        if dangling {
            sink.push(1, ROW, None, format_args!("{DANGLING}"));
        }
        let names: Vec<String> = self
            .fields
            .iter()
            .map(|&f| String::from_utf8_lossy(value(row, f, &mut self.scratch)).into_owned())
            .collect();

        for (i, name) in names.iter().enumerate() {
            let at = column_order(i);
            if names[..i].contains(name) {
                sink.push(
                    1,
                    at,
                    Some(name),
                    format_args!("the column is in the header more than once; keep one"),
                );
            } else if !self.expected.contains(name) {
                if name.is_empty() {
                    sink.push(
                        1,
                        at,
                        Some(name),
                        format_args!("empty column name in the header; remove the extra comma"),
                    );
                } else {
                    sink.push(
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
        for name in &self.expected {
            if !names.contains(name) {
                sink.push(
                    1,
                    ABSENT,
                    Some(name),
                    format_args!("missing column {}; add it to the header row", clip(name)),
                );
            }
        }

        let find = |column: &str| names.iter().position(|n| n == column);
        self.layout = Some(Layout {
            username: find(USERNAME),
            mfa_enabled: find(MFA_ENABLED),
            email: find(EMAIL),
            email_verified: find(EMAIL_VERIFIED),
            phone_number: find(PHONE_NUMBER),
            phone_number_verified: find(PHONE_NUMBER_VERIFIED),
            birthdate: find(BIRTHDATE),
            updated_at: find(UPDATED_AT),
            names,
        });
    }

    fn check_row(&mut self, line: u64, row: &[u8], overlong: bool) {
        let CsvChecker {
            layout,
            fields,
            scratch,
            hasher,
            names,
            sink,
            ..
        } = self;
        let text = row_text(row, overlong);
        if let Text::TooLong = text {
            sink.push(
                line,
                ROW,
                None,
                format_args!("the row is longer than {MAX_ROW_CHARS} characters; shorten it"),
            );
            return;
        }
        let invalid_at = match text {
            Text::Invalid { at } => Some(at),
            _ => None,
        };
        let width = layout.as_ref().map_or(0, |l| l.names.len());
        let (count, dangling) = split(row, fields, width.saturating_add(1));
        let Some(layout) = layout else {
            if invalid_at.is_some() {
                sink.push(line, ROW, None, format_args!("the row is {NOT_UTF8}"));
            }
            if dangling {
                sink.push(line, ROW, None, format_args!("{DANGLING}"));
            }
            return;
        };
        if count != width {
            if row.is_empty() {
                sink.push(
                    line,
                    ROW,
                    None,
                    format_args!("the line is empty; remove it (every row needs {width} fields)"),
                );
            } else {
                sink.push(
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
            sink.push(line, ROW, None, format_args!("{DANGLING}"));
        }
        if let Some(at) = invalid_at {
            if count == width {
                let k = fields.iter().rposition(|f| f.start <= at).unwrap_or(0);
                sink.push(
                    line,
                    column_order(k),
                    Some(&layout.names[k]),
                    format_args!("{NOT_UTF8}"),
                );
            } else {
                sink.push(line, ROW, None, format_args!("the row is {NOT_UTF8}"));
            }
        }
        if count != width {
            return;
        }

        if let Some(i) = layout.username {
            let name = value(row, fields[i], scratch);
            if name.is_empty() {
                sink.push(
                    line,
                    column_order(i),
                    Some(USERNAME),
                    format_args!("the username is empty; every user needs one"),
                );
            } else {
                if name.iter().any(|&b| b == b' ' || b == b'\t') {
                    sink.push(
                        line,
                        column_order(i),
                        Some(USERNAME),
                        format_args!("the username has a space or tab; remove it"),
                    );
                }
                names.push((
                    hasher.hash_one(name),
                    u32::try_from(line).unwrap_or(u32::MAX),
                ));
            }
        }

        if let Some(i) = layout.mfa_enabled {
            let flag = value(row, fields[i], scratch);
            if parse_bool(flag).is_none() {
                let problem = if flag.is_empty() {
                    "empty; write true or false"
                } else {
                    "must be true or false"
                };
                sink.push(
                    line,
                    column_order(i),
                    Some(MFA_ENABLED),
                    format_args!("{problem}"),
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
            let flag = value(row, fields[i], scratch);
            match parse_bool(flag) {
                Some(flag) => *verified = flag,
                None if flag.is_empty() => {}
                None => {
                    flags_valid = false;
                    sink.push(
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
            sink.push(
                line,
                order(layout.email_verified),
                Some(EMAIL_VERIFIED),
                format_args!(
                    "neither email_verified nor phone_number_verified is true; set at least one to true"
                ),
            );
        }
        let filled = |index: Option<usize>| index.is_some_and(|i| fields[i].end > fields[i].start);
        if email_verified && !filled(layout.email) {
            sink.push(
                line,
                order(layout.email),
                Some(EMAIL),
                format_args!(
                    "email_verified is true but email is empty; add the email or set email_verified to false"
                ),
            );
        }
        if phone_number_verified && !filled(layout.phone_number) {
            sink.push(
                line,
                order(layout.phone_number),
                Some(PHONE_NUMBER),
                format_args!(
                    "phone_number_verified is true but phone_number is empty; add the number or set phone_number_verified to false"
                ),
            );
        }

        if let Some(i) = layout.birthdate {
            let date = value(row, fields[i], scratch);
            if !date.is_empty() {
                if let Err(problem) = check_date(date) {
                    sink.push(
                        line,
                        column_order(i),
                        Some(BIRTHDATE),
                        format_args!("{problem}"),
                    );
                }
            }
        }

        if let Some(i) = layout.updated_at {
            let time = value(row, fields[i], scratch);
            if !time.is_empty() && !is_epoch_seconds(time) {
                sink.push(
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
}

enum Text {
    TooLong,
    Valid,
    /// Not UTF-8 from this byte on.
    Invalid {
        at: usize,
    },
}

/// The checks of any line (its `\r\n` or `\n` gone): length in characters,
/// UTF-8.
fn row_text(row: &[u8], overlong: bool) -> Text {
    if overlong {
        return Text::TooLong;
    }
    // A row of at most MAX_ROW_CHARS bytes cannot have more characters.
    match std::str::from_utf8(row) {
        Ok(text) => {
            if row.len() > MAX_ROW_CHARS && text.chars().count() > MAX_ROW_CHARS {
                Text::TooLong
            } else {
                Text::Valid
            }
        }
        Err(error) => {
            // Not characters, strictly: count what is not a continuation byte.
            if row.len() > MAX_ROW_CHARS
                && row.iter().filter(|&&b| (b as i8) >= -0x40).count() > MAX_ROW_CHARS
            {
                Text::TooLong
            } else {
                Text::Invalid {
                    at: error.valid_up_to(),
                }
            }
        }
    }
}

/// Splits `row` at its unescaped commas into `fields`, keeping the first
/// `keep` of them. Returns the number of fields and whether the row ends with
/// a backslash that escapes nothing.
fn split(row: &[u8], fields: &mut Vec<Field>, keep: usize) -> (usize, bool) {
    fields.clear();
    let mut count = 0;
    let mut start = 0;
    let mut escaped = false;
    let mut i = 0;
    while i < row.len() {
        match row[i] {
            b',' => {
                if count < keep {
                    fields.push(Field {
                        start,
                        end: i,
                        escaped,
                    });
                }
                count += 1;
                start = i + 1;
                escaped = false;
                i += 1;
            }
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    if count < keep {
        fields.push(Field {
            start,
            end: row.len(),
            escaped,
        });
    }
    // i overshoots the end only when the last byte is an unescaped `\`.
    (count + 1, i > row.len())
}

/// The value of `field`, its escapes undone (in `scratch` when it has any).
/// A backslash that escapes nothing stays.
fn value<'a>(row: &'a [u8], field: Field, scratch: &'a mut Vec<u8>) -> &'a [u8] {
    let raw = &row[field.start..field.end];
    if !field.escaped {
        return raw;
    }
    scratch.clear();
    let mut bytes = raw.iter();
    while let Some(&byte) = bytes.next() {
        match bytes.as_slice().first() {
            Some(&next) if byte == b'\\' => {
                scratch.push(next);
                bytes.next();
            }
            _ => scratch.push(byte),
        }
    }
    scratch
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
    use super::*;

    const HEADER: &[&str] = STANDARD_HEADER;

    fn columns() -> Vec<String> {
        HEADER.iter().map(|c| c.to_string()).collect()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|c| c.to_string()).collect()
    }

    /// A valid row for user `n` in the order of `header`, `changes`
    /// (column, raw value) applied.
    fn row_in(header: &[&str], n: u32, changes: &[(&str, &str)]) -> String {
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

    fn row(n: u32, changes: &[(&str, &str)]) -> String {
        row_in(HEADER, n, changes)
    }

    fn file(rows: &[String]) -> String {
        let mut text = HEADER.join(",");
        text.push('\n');
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        text
    }

    fn check_with(expected: &[String], data: &[u8]) -> Report {
        let mut checker = CsvChecker::new(expected);
        checker.feed(data).unwrap();
        checker.finish().unwrap()
    }

    fn check(data: &str) -> Report {
        check_with(&columns(), data.as_bytes())
    }

    /// The problems as (line, column).
    fn places(report: &Report) -> Vec<(u64, Option<&str>)> {
        report
            .problems
            .iter()
            .map(|p| (p.line, p.column.as_deref()))
            .collect()
    }

    /// The only problem of a file whose row 2 has `changes`.
    fn one_problem(changes: &[(&str, &str)]) -> Problem {
        let report = check(&file(&[row(1, &[]), row(2, changes), row(3, &[])]));
        assert_eq!(report.problem_count, 1, "{report:#?}");
        assert_eq!(report.problems.len(), 1);
        report.problems[0].clone()
    }

    fn assert_one(changes: &[(&str, &str)], line: u64, column: Option<&str>) -> Problem {
        let problem = one_problem(changes);
        assert_eq!(
            (problem.line, problem.column.as_deref()),
            (line, column),
            "{problem:?}"
        );
        problem
    }

    fn assert_fine(changes: &[(&str, &str)]) {
        let report = check(&file(&[row(1, changes)]));
        assert!(report.is_valid(), "{changes:?}: {report:#?}");
    }

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
                problem_count: 0
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

    /// A file of `header` and one good row for it.
    fn check_header(header: &[&str]) -> Report {
        check(&format!(
            "{}\n{}\n",
            header.join(","),
            row_in(header, 1, &[])
        ))
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
            assert!(checker.buf.capacity() <= ROW_BYTES_CAP + 1);
        }
        checker
            .feed(format!("\n{}", row(1, &[])).as_bytes())
            .unwrap();
        let report = checker.finish().unwrap();
        assert_eq!(places(&report), [(2, None)]);
        assert_eq!(report.rows, 2);
    }

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
        for fine in ["true", "FALSE", "True", "fAlSe"] {
            assert_fine(&[("cognito:mfa_enabled", fine)]);
        }
        for bad in ["", "yes", "1", " true", "truee"] {
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
    fn twenty_problems_kept_all_counted() {
        let rows: Vec<String> = (1..=30)
            .map(|n| {
                row(
                    n,
                    &[
                        ("birthdate", "bad"),
                        ("updated_at", "bad"),
                        ("cognito:username", "same"),
                        ("cognito:mfa_enabled", ""),
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
