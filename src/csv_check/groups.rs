//! SPEC section 17: the `cognito:groups` column, beside the pool's columns
//! in create mode. Its value is a user's groups separated by white space;
//! the memberships are added after the job, so Cognito never sees the
//! column: each job's CSV is the source without that field.
//!
//! - [`group_names`]: one value into its names, checked;
//! - `GroupCheck`: the checker's part, the counts of the file and of each
//!   part and the upload's length (the source's bytes without the field);
//! - [`ColumnDrop`]: the source's bytes, as they stream, without the field:
//!   exactly as many bytes as the preflight predicted.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use unicode_general_category::{get_general_category, GeneralCategory};

use super::lines::{split_fields, Field, Line};
use super::parts::Step;
use super::problems::{column_order, Problems};

/// The column of a user's groups: the name of the ID token's claim.
pub const GROUPS: &str = "cognito:groups";
/// The most groups one user may be in.
pub const MAX_GROUPS_PER_USER: usize = 100;
/// The longest group name, in characters.
pub const MAX_GROUP_NAME_CHARS: usize = 128;
/// The most different names one file may hold: a user pool holds at most
/// 10,000 groups (Cognito's quota), and the checker keeps every name.
pub const MAX_GROUP_NAMES: usize = 10_000;

/// The names of one value (its escapes already undone): trimmed, split on
/// runs of white space, a name given twice counted once (the first order
/// kept). Each name is 1 to 128 characters of Cognito's group name pattern
/// `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`, and a user has at most 100. An empty
/// value is no group. The error says what is wrong without echoing a name.
pub fn group_names(value: &str) -> Result<Vec<&str>, String> {
    let mut names: Vec<&str> = Vec::new();
    for name in value.split_whitespace() {
        check_name(name)?;
        if names.contains(&name) {
            continue;
        }
        if names.len() == MAX_GROUPS_PER_USER {
            return Err(format!(
                "the user is in more than {MAX_GROUPS_PER_USER} groups; Cognito allows at most \
                 {MAX_GROUPS_PER_USER} a user"
            ));
        }
        names.push(name);
    }
    Ok(names)
}

fn check_name(name: &str) -> Result<(), String> {
    if name.chars().count() > MAX_GROUP_NAME_CHARS {
        return Err(format!(
            "a group name is longer than {MAX_GROUP_NAME_CHARS} characters; Cognito allows 1 to \
             {MAX_GROUP_NAME_CHARS}"
        ));
    }
    if !name.chars().all(is_group_name_char) {
        return Err(
            "a group name has a character Cognito does not allow in one: only letters, marks, \
             symbols, numbers and punctuation (no control, format or private-use character); \
             separate names with spaces"
                .to_string(),
        );
    }
    Ok(())
}

/// Letters, marks, symbols, numbers and punctuation: the general categories
/// of `\p{L}\p{M}\p{S}\p{N}\p{P}`, from the Unicode tables of
/// `unicode-general-category`. Separators, controls, format and private-use
/// characters, surrogates and unassigned code points are not.
fn is_group_name_char(c: char) -> bool {
    use GeneralCategory::*;
    matches!(
        get_general_category(c),
        UppercaseLetter
            | LowercaseLetter
            | TitlecaseLetter
            | ModifierLetter
            | OtherLetter
            | NonspacingMark
            | SpacingMark
            | EnclosingMark
            | MathSymbol
            | CurrencySymbol
            | ModifierSymbol
            | OtherSymbol
            | DecimalNumber
            | LetterNumber
            | OtherNumber
            | ConnectorPunctuation
            | DashPunctuation
            | OpenPunctuation
            | ClosePunctuation
            | InitialPunctuation
            | FinalPunctuation
            | OtherPunctuation
    )
}

/// Whether a `cognito:groups` column is taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupsMode {
    /// SPEC section 4's path (the metadata names a job): the job's CSV is
    /// the file as it is, so the column is a problem.
    #[default]
    Refused,
    /// Create mode: the column is taken beside the pool's, and its
    /// memberships are added after the job.
    Allowed,
}

/// SPEC section 17: the groups of some rows (a job's, a part's, a file's): memberships (user and group pairs), users with
/// at least one group, different names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCounts {
    #[serde(rename = "Memberships")]
    pub memberships: u64,
    #[serde(rename = "Users")]
    pub users: u64,
    #[serde(rename = "Names")]
    pub names: u64,
}

/// One part's groups (the whole file's when it is not cut).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartGroups {
    pub counts: GroupCounts,
    /// The length of the part's CSV as Cognito gets it: its header line and
    /// rows without the column.
    pub upload_bytes: u64,
}

/// What a file's `cognito:groups` column held, when it has one and groups
/// are allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups {
    /// The column's place in the header (0 is the first column): what
    /// [`ColumnDrop::new`] takes.
    pub column: usize,
    pub total: GroupCounts,
    /// The length of the whole file's CSV as Cognito gets it.
    pub upload_bytes: u64,
    /// One entry a part, in order (one when the file is not cut).
    pub parts: Vec<PartGroups>,
    /// The different names of the file, in the order first met.
    pub names: Vec<GroupName>,
}

/// One name of the file: where it is first met, and how many rows name it
/// (what a problem of a group the pool does not have says).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupName {
    pub name: String,
    pub first_line: u64,
    pub rows: u64,
}

/// The column's checks and counts as the lines come.
#[derive(Debug)]
pub(super) struct GroupCheck {
    mode: GroupsMode,
    /// Where the column is, once the header is read and groups are allowed.
    column: Option<usize>,
    /// The header line's length without the column.
    header_bytes: u64,
    /// The file's names, each with the last part it was counted in and its
    /// place in `names`.
    seen: HashMap<String, (usize, usize)>,
    names: Vec<GroupName>,
    /// Counts, and the rows' bytes without the column, of each part.
    parts: Vec<PartGroups>,
    fields: Vec<Field>,
}

impl GroupCheck {
    pub(super) fn new(mode: GroupsMode) -> GroupCheck {
        GroupCheck {
            mode,
            column: None,
            header_bytes: 0,
            seen: HashMap::new(),
            names: Vec::new(),
            parts: vec![PartGroups::default()],
            fields: Vec::new(),
        }
    }

    pub(super) fn mode(&self) -> GroupsMode {
        self.mode
    }

    /// The header `line` is read: `column` is where `cognito:groups` is, if
    /// anywhere. Refused, the header check has told.
    pub(super) fn header(&mut self, line: Line<'_>, column: Option<usize>) {
        if self.mode == GroupsMode::Allowed {
            self.column = column;
        }
        self.header_bytes = self.upload_len(line);
    }

    /// The next data row begins a new part.
    pub(super) fn new_part(&mut self) {
        self.parts.push(PartGroups::default());
    }

    /// Any data row, whatever its shape: its length without the column.
    pub(super) fn row(&mut self, line: Line<'_>) {
        let len = self.upload_len(line);
        if let Some(part) = self.parts.last_mut() {
            part.upload_bytes += len;
        }
    }

    /// The column's value (unescaped) of row `line`, a row of the header's
    /// fields.
    pub(super) fn value(&mut self, line: u64, value: &[u8], problems: &mut Problems) {
        let Some(index) = self.column else { return };
        // Not UTF-8 is a problem of the row's already.
        let Ok(value) = std::str::from_utf8(value) else {
            return;
        };
        let at = column_order(index);
        let names = match group_names(value) {
            Ok(names) => names,
            Err(problem) => {
                return problems.push(line, at, Some(GROUPS), format_args!("{problem}"))
            }
        };
        if names.is_empty() {
            return;
        }
        let part_index = self.parts.len() - 1;
        let mut new_names = 0;
        let mut over = false;
        for name in &names {
            match self.seen.get_mut(*name) {
                Some((last, at)) => {
                    self.names[*at].rows += 1;
                    if *last != part_index {
                        *last = part_index;
                        new_names += 1;
                    }
                }
                None if self.names.len() < MAX_GROUP_NAMES => {
                    self.seen
                        .insert(name.to_string(), (part_index, self.names.len()));
                    self.names.push(GroupName {
                        name: name.to_string(),
                        first_line: line,
                        rows: 1,
                    });
                    new_names += 1;
                }
                None => over = true,
            }
        }
        if over {
            problems.push(
                line,
                at,
                Some(GROUPS),
                format_args!(
                    "the file names more than {MAX_GROUP_NAMES} different groups; a user pool \
                     holds at most {MAX_GROUP_NAMES}"
                ),
            );
        }
        if let Some(part) = self.parts.last_mut() {
            part.counts.memberships += names.len() as u64;
            part.counts.users += 1;
            part.counts.names += new_names;
        }
    }

    /// The line's input length without the column's field and its comma.
    /// A line too long to keep counts whole: it is a problem of the file,
    /// which is then never uploaded.
    fn upload_len(&mut self, line: Line<'_>) -> u64 {
        match self.column {
            Some(column) => line.input_len - dropped_len(line.bytes, column, &mut self.fields),
            None => line.input_len,
        }
    }

    /// The end of the file: what the column held, when there is one.
    pub(super) fn finish(self) -> Option<Groups> {
        let column = self.column?;
        let mut parts = self.parts;
        let rows: u64 = parts.iter().map(|p| p.upload_bytes).sum();
        for part in &mut parts {
            part.upload_bytes += self.header_bytes;
        }
        let total = GroupCounts {
            memberships: parts.iter().map(|p| p.counts.memberships).sum(),
            users: parts.iter().map(|p| p.counts.users).sum(),
            names: self.names.len() as u64,
        };
        Some(Groups {
            column,
            total,
            upload_bytes: self.header_bytes + rows,
            parts,
            names: self.names,
        })
    }
}

/// The groups of a file that passed the preflight before (its plan, or its
/// upload's length, is to be made again): the column found by its name in
/// the header, each row's names counted, nothing checked. Fed every line,
/// with the cut's step (whether a row begins a new part).
pub struct GroupTally {
    check: GroupCheck,
    /// Problems are the preflight's: here they are not kept.
    ignored: Problems,
}

impl Default for GroupTally {
    fn default() -> GroupTally {
        GroupTally {
            check: GroupCheck::new(GroupsMode::Allowed),
            ignored: Problems::default(),
        }
    }
}

impl GroupTally {
    pub fn line(&mut self, line: Line<'_>, step: Step) {
        if line.number == 1 {
            let column =
                super::lines::fields(line.bytes).position(|name| &*name == GROUPS.as_bytes());
            self.check.header(line, column);
            return;
        }
        if step == Step::NewPart {
            self.check.new_part();
        }
        self.check.row(line);
        let Some(column) = self.check.column else {
            return;
        };
        if let Some(value) = super::lines::fields(line.bytes).nth(column) {
            self.check.value(line.number, &value, &mut self.ignored);
        }
    }

    /// What the column held; `None` when the file has no such column.
    pub fn finish(self) -> Option<Groups> {
        self.check.finish()
    }
}

/// How many bytes of `line` (without its line ending) go with field
/// `column`: the field and its one separating comma (the one before it, or
/// after it for the first field); none when the line has no such field.
fn dropped_len(line: &[u8], column: usize, fields: &mut Vec<Field>) -> u64 {
    let count = split_fields(line, fields, column.saturating_add(2)).count;
    let Some(field) = fields.get(column) else {
        return 0;
    };
    let comma = usize::from(count > 1);
    (field.end - field.start + comma) as u64
}

/// Turns the source's bytes, in chunks cut anywhere, into the CSV Cognito
/// gets: each line without field `column` and its one separating comma
/// (the one before it, or after it for the first field), every other byte
/// as it is, line endings included. A line without that field is kept
/// whole. Fed the header line first, then whole lines (a part's byte
/// range): it starts at the start of a line. It keeps one byte at most
/// between chunks (a `\r` that may end the line).
///
/// Fields as `lines.rs` reads them: a backslash escapes the next byte (a
/// `\,` is no separator), a line ends at `\n`, and a `\r` before it (or at
/// the end of the input) is the line's ending, not data.
#[derive(Clone, Debug)]
pub struct ColumnDrop {
    column: usize,
    /// The field of the line being read (0 is the first).
    field: usize,
    /// The byte before was a backslash that escapes this one.
    escaped: bool,
    /// The bytes are those of the dropped field.
    dropping: bool,
    /// A `\r` of the dropped field, kept until the next byte says whether
    /// it ends the line.
    pending_cr: bool,
}

impl ColumnDrop {
    pub fn new(column: usize) -> ColumnDrop {
        ColumnDrop {
            column,
            field: 0,
            escaped: false,
            dropping: column == 0,
            pending_cr: false,
        }
    }

    /// The next source bytes; their output is appended to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        out.reserve(chunk.len());
        for &byte in chunk {
            self.byte(byte, out);
        }
    }

    /// The end of the source: a `\r` held back ends the last line.
    pub fn finish(self, out: &mut Vec<u8>) {
        if self.pending_cr {
            out.push(b'\r');
        }
    }

    fn byte(&mut self, byte: u8, out: &mut Vec<u8>) {
        // A `\r` held back and not followed by `\n` was the dropped
        // field's: gone with it.
        if std::mem::take(&mut self.pending_cr) && byte == b'\n' {
            out.extend_from_slice(b"\r\n");
            return self.new_line();
        }
        match byte {
            b'\n' => {
                out.push(b'\n');
                self.new_line();
            }
            _ if self.escaped => {
                self.escaped = false;
                self.keep(byte, out);
            }
            b'\\' => {
                self.escaped = true;
                self.keep(byte, out);
            }
            b',' => self.comma(out),
            _ => self.keep(byte, out),
        }
    }

    fn keep(&mut self, byte: u8, out: &mut Vec<u8>) {
        if !self.dropping {
            out.push(byte);
        } else if byte == b'\r' {
            self.pending_cr = true;
        }
    }

    /// An unescaped comma: it ends field `field`.
    fn comma(&mut self, out: &mut Vec<u8>) {
        self.field += 1;
        if self.dropping {
            self.dropping = false;
            // The first field goes with the comma after it; any other
            // went with the comma before it, and this one stays.
            if self.column != 0 {
                out.push(b',');
            }
        } else if self.field == self.column {
            self.dropping = true;
        } else {
            out.push(b',');
        }
    }

    fn new_line(&mut self) {
        self.field = 0;
        self.escaped = false;
        self.dropping = self.column == 0;
    }
}

#[cfg(test)]
mod tests {
    use super::super::parts::PartLimits;
    use super::super::test_support::*;
    use super::super::{CsvChecker, Report};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_value_is_split_on_runs_of_white_space_each_name_once() {
        assert_eq!(group_names(""), Ok(vec![]));
        assert_eq!(group_names(" \t "), Ok(vec![]));
        assert_eq!(
            group_names("  admins \t editors\u{a0}admins  support "),
            Ok(vec!["admins", "editors", "support"])
        );
        // Letters, marks, symbols, numbers and punctuation of any script;
        // the comma came as `\,` and is unescaped already.
        assert_eq!(
            group_names("Zoë e\u{301} €uro ٣ a,b:c/d 😀 [x]"),
            Ok(vec!["Zoë", "e\u{301}", "€uro", "٣", "a,b:c/d", "😀", "[x]"])
        );
    }

    #[test]
    fn a_name_is_1_to_128_characters() {
        let longest = "é".repeat(MAX_GROUP_NAME_CHARS);
        assert_eq!(group_names(&longest), Ok(vec![longest.as_str()]));
        let error = group_names(&format!("ok {longest}x")).unwrap_err();
        assert_eq!(
            error,
            "a group name is longer than 128 characters; Cognito allows 1 to 128"
        );
    }

    #[test]
    fn a_name_holds_no_control_format_private_or_unassigned_character() {
        for bad in [
            "a\u{1}b",
            "zero\u{200b}width",
            "private\u{e000}",
            "unassigned\u{378}",
        ] {
            let error = group_names(bad).unwrap_err();
            assert!(
                error.starts_with("a group name has a character Cognito does not allow"),
                "{bad:?}: {error}"
            );
            assert!(!error.contains(bad), "the value is not echoed");
        }
    }

    #[test]
    fn a_user_is_in_at_most_100_groups() {
        let names: Vec<String> = (1..=MAX_GROUPS_PER_USER).map(|n| format!("g{n}")).collect();
        let value = names.join(" ");
        assert_eq!(group_names(&value).map(|n| n.len()), Ok(100));
        // A name given twice counts once.
        assert_eq!(
            group_names(&format!("{value} g1")).map(|n| n.len()),
            Ok(100)
        );
        assert_eq!(
            group_names(&format!("{value} g101")),
            Err("the user is in more than 100 groups; Cognito allows at most 100 a user".into())
        );
    }

    /// The standard header with `cognito:groups` after `email`, and rows of
    /// (user, groups value as written).
    fn groups_file(rows: &[(u32, &str)]) -> (Vec<&'static str>, String) {
        let mut header = HEADER.to_vec();
        let at = header.iter().position(|&c| c == "email").unwrap() + 1;
        header.insert(at, GROUPS);
        let mut text = format!("{}\n", header.join(","));
        for &(n, groups) in rows {
            text.push_str(&row_in(&header, n, &[(GROUPS, groups)]));
            text.push('\n');
        }
        (header, text)
    }

    fn check_groups(data: &[u8], mode: GroupsMode) -> Report {
        let mut checker = CsvChecker::new(&columns()).with_groups(mode);
        checker.feed(data).unwrap();
        checker.finish().unwrap()
    }

    #[test]
    fn the_column_is_refused_outside_create_mode() {
        let (header, text) = groups_file(&[(1, "admins")]);
        for checker in [
            CsvChecker::new(&columns()),
            CsvChecker::new(&columns()).with_groups(GroupsMode::Refused),
        ] {
            let mut checker = checker;
            checker.feed(text.as_bytes()).unwrap();
            let report = checker.finish().unwrap();
            assert_eq!(places(&report), [(1, Some(GROUPS))], "{report:#?}");
            assert!(report.problems[0]
                .problem
                .starts_with("groups are added only in create mode"));
            assert_eq!(report.groups, None);
        }
        let position = header.iter().position(|&c| c == GROUPS).unwrap();
        assert_eq!(position, 13);
        let report = check_groups(text.as_bytes(), GroupsMode::Allowed);
        assert!(report.is_valid(), "{report:#?}");
    }

    #[test]
    fn problems_of_the_column_have_its_line_and_name() {
        let long = "x".repeat(129);
        let (_, text) = groups_file(&[
            (1, "admins"),
            (2, "bad\u{7}name"),
            (3, &long),
            (4, "a\\,b editors"),
        ]);
        let report = check_groups(text.as_bytes(), GroupsMode::Allowed);
        assert_eq!(
            places(&report),
            [(3, Some(GROUPS)), (4, Some(GROUPS))],
            "{report:#?}"
        );
        let groups = report.groups.unwrap();
        assert_eq!(names_of(&groups), ["admins", "a,b", "editors"]);
        // Without groups the column is only the pool's: its absence is fine.
        let report = check_groups(file(&[row(1, &[])]).as_bytes(), GroupsMode::Allowed);
        assert!(report.is_valid() && report.groups.is_none(), "{report:#?}");
    }

    #[test]
    fn counts_of_the_file_and_of_each_part() {
        let (_, text) = groups_file(&[
            (1, "admins editors"),
            (2, ""),
            (3, "editors admins editors"),
            (4, "support"),
            (5, "admins"),
        ]);
        let report = check_groups(text.as_bytes(), GroupsMode::Allowed);
        let groups = report.groups.unwrap();
        let counts = |memberships, users, names| GroupCounts {
            memberships,
            users,
            names,
        };
        assert_eq!(groups.total, counts(6, 4, 3));
        assert_eq!(names_of(&groups), ["admins", "editors", "support"]);
        assert_eq!(groups.parts.len(), 1);
        assert_eq!(groups.parts[0].counts, counts(6, 4, 3));

        let limits = PartLimits {
            max_rows: 2,
            max_bytes: 1 << 20,
            max_parts: 10,
        };
        let mut checker = CsvChecker::parted(&columns(), limits).with_groups(GroupsMode::Allowed);
        checker.feed(text.as_bytes()).unwrap();
        let report = checker.finish().unwrap();
        assert!(report.is_valid(), "{report:#?}");
        let groups = report.groups.unwrap();
        let parts: Vec<GroupCounts> = groups.parts.iter().map(|p| p.counts).collect();
        assert_eq!(parts, [counts(2, 1, 2), counts(3, 2, 3), counts(1, 1, 1)]);
        assert_eq!(groups.total, counts(6, 4, 3));
        assert_eq!(
            serde_json::to_value(groups.total).unwrap(),
            serde_json::json!({"Memberships": 6, "Users": 4, "Names": 3})
        );
    }

    fn names_of(groups: &Groups) -> Vec<&str> {
        groups.names.iter().map(|n| n.name.as_str()).collect()
    }

    #[test]
    fn each_name_keeps_its_first_line_and_its_rows() {
        let (_, text) = groups_file(&[(1, "editors"), (2, "admins editors"), (3, "admins")]);
        let groups = check_groups(text.as_bytes(), GroupsMode::Allowed)
            .groups
            .unwrap();
        let seen: Vec<(&str, u64, u64)> = groups
            .names
            .iter()
            .map(|n| (n.name.as_str(), n.first_line, n.rows))
            .collect();
        assert_eq!(seen, [("editors", 2, 2), ("admins", 3, 2)]);
    }

    #[test]
    fn a_tally_counts_as_the_checker_does_without_checking() {
        let (_, text) = groups_file(&[
            (1, "admins editors"),
            (2, ""),
            (3, "editors a\\,b"),
            (4, "support"),
            (5, "admins"),
        ]);
        let limits = PartLimits {
            max_rows: 2,
            max_bytes: 1 << 20,
            max_parts: 10,
        };
        let mut checker = CsvChecker::parted(&columns(), limits).with_groups(GroupsMode::Allowed);
        checker.feed(text.as_bytes()).unwrap();
        let checked = checker.finish().unwrap().groups.unwrap();
        let mut cutter = crate::csv_check::parts::Cutter::new(limits);
        let mut tally = GroupTally::default();
        let mut lines = crate::csv_check::lines::LineSplitter::new(1 << 16);
        let mut feed = |line: Line<'_>| {
            let step = cutter
                .line(line.number, line.input_len, line.bytes)
                .unwrap();
            tally.line(line, step);
        };
        lines.feed(text.as_bytes(), &mut feed).unwrap();
        lines.finish(&mut feed);
        assert_eq!(tally.finish(), Some(checked));
        // A file without the column has no groups.
        let mut tally = GroupTally::default();
        let mut lines = crate::csv_check::lines::LineSplitter::new(1 << 16);
        lines
            .feed(file(&[row(1, &[])]).as_bytes(), |line| {
                tally.line(line, Step::Same)
            })
            .unwrap();
        assert_eq!(tally.finish(), None);
    }

    #[test]
    fn more_than_10000_names_in_a_file_is_a_problem() {
        let rows: Vec<String> = (0..101)
            .map(|r| {
                let names: Vec<String> = (0..100).map(|n| format!("g{}", r * 100 + n)).collect();
                names.join(" ")
            })
            .collect();
        let rows: Vec<(u32, &str)> = rows
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u32 + 1, v.as_str()))
            .collect();
        let (_, text) = groups_file(&rows);
        let report = check_groups(text.as_bytes(), GroupsMode::Allowed);
        assert_eq!(places(&report), [(102, Some(GROUPS))], "{report:#?}");
        assert!(report.problems[0]
            .problem
            .contains("more than 10000 different groups"));
        assert_eq!(report.groups.unwrap().names.len(), MAX_GROUP_NAMES);
    }

    /// Each line of `data` without field `column` and its one separating
    /// comma, split as `lines.rs` splits: the plain way.
    fn naive(data: &[u8], column: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let (line, ending): (&[u8], &[u8]) = match rest.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    let line = &rest[..end];
                    rest = &rest[end + 1..];
                    (line, b"\n")
                }
                None => (std::mem::take(&mut rest), b""),
            };
            let (content, cr): (&[u8], &[u8]) = match line.strip_suffix(b"\r") {
                Some(content) => (content, b"\r"),
                None => (line, b""),
            };
            let mut fields = Vec::new();
            let count = split_fields(content, &mut fields, usize::MAX).count;
            match fields.get(column) {
                None => out.extend_from_slice(content),
                Some(_) if column == 0 && count > 1 => {
                    out.extend_from_slice(&content[fields[1].start..]);
                }
                Some(_) if column == 0 => {}
                Some(field) => {
                    out.extend_from_slice(&content[..field.start - 1]);
                    out.extend_from_slice(&content[field.end..]);
                }
            }
            out.extend_from_slice(cr);
            out.extend_from_slice(ending);
        }
        out
    }

    fn dropped(data: &[u8], column: usize, chunk: usize) -> Vec<u8> {
        let mut drop = ColumnDrop::new(column);
        let mut out = Vec::new();
        for piece in data.chunks(chunk.max(1)) {
            drop.feed(piece, &mut out);
        }
        drop.finish(&mut out);
        out
    }

    #[test]
    fn the_upload_is_the_file_without_the_column_byte_for_byte() {
        let (_, text) = groups_file(&[(1, "admins editors"), (2, ""), (3, "a\\,b")]);
        let text = text.replace('\n', "\r\n");
        let report = check_groups(text.as_bytes(), GroupsMode::Allowed);
        let groups = report.groups.unwrap();
        let expected = text
            .replace(",cognito:groups", "")
            .replace(",admins editors", "")
            .replace(",a\\,b", "")
            .replace("example.com,,", "example.com,");
        assert_eq!(
            String::from_utf8(dropped(text.as_bytes(), 13, 7)).unwrap(),
            expected
        );
        assert_eq!(groups.upload_bytes, expected.len() as u64);
        assert_eq!(groups.parts[0].upload_bytes, expected.len() as u64);
        // First and last columns, and a line without the field.
        assert_eq!(dropped(b"g,a,b\r\nx\\,y,1,2\nz", 0, 1), b"a,b\r\n1,2\n");
        assert_eq!(
            dropped(b"a,b,g\r\n1,2,x\\\r\n1\n", 2, 1),
            b"a,b\r\n1,2\r\n1\n"
        );
        assert_eq!(dropped(b"a,g\r", 1, 1), b"a\r");
    }

    /// Lines of bytes that matter to the split: commas, backslashes, `\r`,
    /// `\n`, a multi-byte character.
    fn source() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop::sample::select(vec![b'a', b',', b'\\', b'\r', b'\n', 0xC3, 0xA9]);
        prop::collection::vec(byte, 0..200)
    }

    proptest! {
        #[test]
        fn column_drop_is_the_naive_removal_for_any_chunking(
            data in source(),
            column in 0usize..4,
            chunk in 1usize..9,
        ) {
            prop_assert_eq!(dropped(&data, column, chunk), naive(&data, column));
        }

        #[test]
        fn the_predicted_lengths_are_the_upload_lengths(
            rows in source(),
            column in 0usize..4,
            crlf in any::<bool>(),
            max_rows in 1u64..4,
        ) {
            let mut header: Vec<String> = (0..4).map(|i| format!("h{i}")).collect();
            header.insert(column, GROUPS.to_string());
            let ending = if crlf { "\r\n" } else { "\n" };
            let mut data = format!("{}{ending}", header.join(",")).into_bytes();
            let header_len = data.len();
            data.extend_from_slice(&rows);
            let limits = PartLimits { max_rows, max_bytes: 1 << 20, max_parts: 1000 };
            let expected: Vec<String> = header.iter().filter(|&h| h != GROUPS).cloned().collect();
            let mut checker = CsvChecker::parted(&expected, limits).with_groups(GroupsMode::Allowed);
            checker.feed(&data).unwrap();
            let report = checker.finish().unwrap();
            let groups = report.groups.unwrap();
            prop_assert_eq!(groups.column, column);
            let whole = naive(&data, column);
            prop_assert_eq!(groups.upload_bytes, whole.len() as u64);
            prop_assert_eq!(groups.parts.len(), report.cut.parts.len().max(1));
            for (range, part) in report.cut.parts.iter().zip(&groups.parts) {
                let mut source = data[..header_len].to_vec();
                source.extend_from_slice(&data[range.first_byte as usize..range.end_byte as usize]);
                prop_assert_eq!(part.upload_bytes, naive(&source, column).len() as u64);
                prop_assert_eq!(dropped(&source, column, 3), naive(&source, column));
            }
        }
    }
}
