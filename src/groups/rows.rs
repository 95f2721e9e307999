//! The source's rows, read as S3 hands over its bytes (chunks cut anywhere),
//! each with its line number and where it begins, so that a call can stop
//! before any row and the next one start there with a ranged read. Only a
//! chunk and the row it cuts are ever held.

use crate::csv_check::lines::fields;

pub const USERNAME: &[u8] = b"cognito:username";
pub const GROUPS: &[u8] = b"cognito:groups";

/// One row: its number (the job's), where it begins in the source, and its
/// bytes with the line ending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub offset: u64,
    pub bytes: Vec<u8>,
}

/// Splits the bytes from `offset` on into rows, numbered from `line`.
#[derive(Debug)]
pub struct RowWalk {
    held: Vec<u8>,
    /// Where the next row begins in `held`.
    start: usize,
    line: u64,
    offset: u64,
}

impl RowWalk {
    pub fn new(line: u64, offset: u64) -> RowWalk {
        RowWalk {
            held: Vec::new(),
            start: 0,
            line,
            offset,
        }
    }

    /// Takes the next chunk (the rows handed over before are dropped).
    pub fn feed(&mut self, chunk: &[u8]) {
        self.held.drain(..self.start);
        self.start = 0;
        self.held.extend_from_slice(chunk);
    }

    /// The next complete row, if the bytes fed hold one.
    pub fn next_row(&mut self) -> Option<Row> {
        let end = self.held[self.start..].iter().position(|&b| b == b'\n')? + self.start + 1;
        Some(self.take(end))
    }

    /// At the end of the bytes: the last row, when it has no line ending.
    pub fn last_row(&mut self) -> Option<Row> {
        (self.start < self.held.len()).then(|| self.take(self.held.len()))
    }

    fn take(&mut self, end: usize) -> Row {
        let row = Row {
            line: self.line,
            offset: self.offset,
            bytes: self.held[self.start..end].to_vec(),
        };
        self.line += 1;
        self.offset += (end - self.start) as u64;
        self.start = end;
        row
    }
}

/// A row without its line ending (`\n` or `\r\n`).
pub fn trim_line_end(row: &[u8]) -> &[u8] {
    let row = row.strip_suffix(b"\n").unwrap_or(row);
    row.strip_suffix(b"\r").unwrap_or(row)
}

/// The header's `cognito:username` and `cognito:groups` columns.
pub fn columns(header: &[u8]) -> Option<[u64; 2]> {
    let find =
        |name: &[u8]| fields(trim_line_end(header)).position(|value| value.trim_ascii() == name);
    Some([find(USERNAME)? as u64, find(GROUPS)? as u64])
}

/// A row's username and group names (escapes undone; lossy UTF-8 for a
/// value that is not: Cognito refuses such a user anyway).
pub fn user_and_groups(row: &[u8], columns: [u64; 2]) -> (String, Vec<String>) {
    let values: Vec<_> = fields(trim_line_end(row)).collect();
    let value = |column: u64| {
        usize::try_from(column)
            .ok()
            .and_then(|i| values.get(i))
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    let username = value(columns[0]).trim().to_string();
    (username, group_names(&value(columns[1])))
}

/// SPEC section 17: a `cognito:groups` value split on runs of white space,
/// a name given twice counting once, in the order given. (The preflight's
/// own reading of the column is the same rule; this copy serves the groups
/// stage until both share one.)
pub fn group_names(value: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in value.split_whitespace() {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(bytes: &[u8], chunk: usize, line: u64, offset: u64) -> Vec<Row> {
        let mut walk = RowWalk::new(line, offset);
        let mut rows = Vec::new();
        for piece in bytes.chunks(chunk) {
            walk.feed(piece);
            while let Some(row) = walk.next_row() {
                rows.push(row);
            }
        }
        rows.extend(walk.last_row());
        rows
    }

    #[test]
    fn rows_are_the_same_wherever_the_chunks_are_cut() {
        let file = b"ana,admins editors\r\nbo,\nc\\,d,x\\,y\r\nlast,z";
        let whole = walk(file, file.len(), 1, 100);
        assert_eq!(
            whole,
            [
                Row {
                    line: 1,
                    offset: 100,
                    bytes: b"ana,admins editors\r\n".to_vec()
                },
                Row {
                    line: 2,
                    offset: 120,
                    bytes: b"bo,\n".to_vec()
                },
                Row {
                    line: 3,
                    offset: 124,
                    bytes: b"c\\,d,x\\,y\r\n".to_vec()
                },
                Row {
                    line: 4,
                    offset: 135,
                    bytes: b"last,z".to_vec()
                },
            ]
        );
        for chunk in 1..file.len() {
            assert_eq!(walk(file, chunk, 1, 100), whole, "chunks of {chunk}");
        }
        // A row resumed from its offset is the same row.
        assert_eq!(walk(&file[35..], 3, 4, 135), whole[3..]);
    }

    #[test]
    fn only_the_row_a_chunk_cuts_is_held() {
        let file = "name,groups\n".repeat(10_000);
        let mut walk = RowWalk::new(1, 0);
        for piece in file.as_bytes().chunks(4096) {
            walk.feed(piece);
            while walk.next_row().is_some() {}
            assert!(walk.held.len() <= 4096 + 12, "{}", walk.held.len());
        }
    }

    #[test]
    fn columns_by_name_values_unescaped() {
        let header = b"name,cognito:groups,email, cognito:username\r\n";
        assert_eq!(columns(header), Some([3, 1]));
        assert_eq!(columns(b"name,cognito:username\n"), None);
        let (user, groups) = user_and_groups(
            b"Ana,  admins\\,x   editors admins ,a@b.c,ana\\,1\r\n",
            [3, 1],
        );
        assert_eq!(user, "ana,1");
        assert_eq!(groups, ["admins,x", "editors", "admins"]);
        // A short row: no user, no groups.
        assert_eq!(user_and_groups(b"Ana\n", [3, 1]), (String::new(), vec![]));
    }

    #[test]
    fn names_split_on_white_space_each_once() {
        assert_eq!(group_names(" a  b\ta a "), ["a", "b"]);
        assert!(group_names("   ").is_empty());
    }
}
