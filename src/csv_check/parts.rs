//! SPEC section 14: a file over Cognito's limits is imported in parts. The
//! [`Cutter`] decides them from the file alone, greedily, in file order: a
//! part ends before the data row that would take it past `max_rows` rows or,
//! counting the header line that every part repeats, past `max_bytes`
//! bytes. Each part is the header line followed by its rows, byte for byte,
//! so a part is known by its rows and their byte range in the source.
//! Pure: fed each line's number and input length, as the checker reads it.

use serde::{Deserialize, Serialize};

use super::TooLarge;

/// Cognito's limits on one job, and how many jobs a drop may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartLimits {
    pub max_rows: u64,
    pub max_bytes: u64,
    pub max_parts: u64,
}

/// The most parts a drop may be cut into.
pub const MAX_PARTS: u64 = 100;

/// One part of a file: its data rows (the first data row is 1) and where they
/// are in the source, `first_byte..end_byte`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRange {
    #[serde(rename = "Number")]
    pub number: u64,
    #[serde(rename = "FirstLine")]
    pub first_row: u64,
    #[serde(rename = "LastLine")]
    pub last_row: u64,
    #[serde(rename = "FirstByte")]
    pub first_byte: u64,
    /// One past the last byte.
    #[serde(rename = "EndByte")]
    pub end_byte: u64,
}

impl PartRange {
    pub fn rows(&self) -> u64 {
        self.last_row + 1 - self.first_row
    }

    pub fn bytes(&self) -> u64 {
        self.end_byte - self.first_byte
    }
}

/// What the lines of a file cut into.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cut {
    /// The header line's length, its line ending included.
    pub header_bytes: u64,
    /// The header line itself, its line ending included, when it is UTF-8
    /// (every part's file starts with it).
    pub header: Option<String>,
    pub parts: Vec<PartRange>,
}

/// Cuts a file into parts as its lines come.
#[derive(Debug)]
pub struct Cutter {
    limits: PartLimits,
    /// Input bytes of the lines seen so far: where the next line starts.
    offset: u64,
    cut: Cut,
}

/// What a line did to the cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The header, or a row of the current part.
    Same,
    /// The row begins a new part (not the first): the one before is done.
    NewPart,
}

impl Cutter {
    pub fn new(limits: PartLimits) -> Cutter {
        Cutter {
            limits,
            offset: 0,
            cut: Cut::default(),
        }
    }

    /// Line `number` (the header is 1) took `input_len` bytes of the input;
    /// `bytes` are its bytes without its line ending.
    pub fn line(&mut self, number: u64, input_len: u64, bytes: &[u8]) -> Result<Step, TooLarge> {
        let start = self.offset;
        self.offset += input_len;
        if number == 1 {
            self.cut.header_bytes = input_len;
            self.cut.header = header_line(bytes, input_len);
            return Ok(Step::Same);
        }
        let row = number - 1;
        let header = self.cut.header_bytes;
        if header + input_len > self.limits.max_bytes {
            return Err(TooLarge::Unsplittable(number));
        }
        if let Some(part) = self.cut.parts.last_mut() {
            let fits = part.rows() < self.limits.max_rows
                && header + part.bytes() + input_len <= self.limits.max_bytes;
            if fits {
                part.last_row = row;
                part.end_byte = self.offset;
                return Ok(Step::Same);
            }
        }
        let number = self.cut.parts.len() as u64 + 1;
        if number > self.limits.max_parts {
            return Err(TooLarge::Parts(self.limits));
        }
        self.cut.parts.push(PartRange {
            number,
            first_row: row,
            last_row: row,
            first_byte: start,
            end_byte: self.offset,
        });
        Ok(if number == 1 {
            Step::Same
        } else {
            Step::NewPart
        })
    }

    pub fn finish(self) -> Cut {
        self.cut
    }
}

/// The header line with its line ending, as the input had it: the bytes and
/// then `\n` or `\r\n` (or none, for a file of a header alone).
fn header_line(bytes: &[u8], input_len: u64) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let ending = match input_len.checked_sub(bytes.len() as u64)? {
        0 => "",
        1 => "\n",
        2 => "\r\n",
        _ => return None,
    };
    Some(format!("{text}{ending}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(lines: &[u64], limits: PartLimits) -> Result<Cut, TooLarge> {
        let mut cutter = Cutter::new(limits);
        for (i, &len) in lines.iter().enumerate() {
            let bytes = vec![b'x'; len.saturating_sub(1) as usize];
            cutter.line(i as u64 + 1, len, &bytes)?;
        }
        Ok(cutter.finish())
    }

    fn limits(max_rows: u64, max_bytes: u64) -> PartLimits {
        PartLimits {
            max_rows,
            max_bytes,
            max_parts: 3,
        }
    }

    #[test]
    fn parts_end_before_the_row_that_would_pass_a_limit() {
        // A header of 10 bytes, rows of 5: two rows a part by rows.
        let by_rows = cut(&[10, 5, 5, 5, 5, 5], limits(2, 1000)).unwrap();
        assert_eq!(by_rows.header_bytes, 10);
        assert_eq!(by_rows.header.as_deref(), Some("xxxxxxxxx\n"));
        let ranges: Vec<(u64, u64, u64, u64)> = by_rows
            .parts
            .iter()
            .map(|p| (p.first_row, p.last_row, p.first_byte, p.end_byte))
            .collect();
        assert_eq!(ranges, [(1, 2, 10, 20), (3, 4, 20, 30), (5, 5, 30, 35)]);
        // By bytes, the header counted in every part: 10 + 5 + 5 = 20 fits,
        // a third row would not.
        let by_bytes = cut(&[10, 5, 5, 5, 5, 6], limits(100, 20)).unwrap();
        let rows: Vec<(u64, u64)> = by_bytes
            .parts
            .iter()
            .map(|p| (p.first_row, p.last_row))
            .collect();
        assert_eq!(rows, [(1, 2), (3, 4), (5, 5)]);
        assert_eq!(by_bytes.parts[2].bytes(), 6);
        // Exactly at both limits is one part.
        let one = cut(&[10, 5, 5], limits(2, 20)).unwrap();
        assert_eq!(one.parts.len(), 1);
    }

    #[test]
    fn more_parts_than_allowed_or_a_row_too_large_cannot_be_cut() {
        assert_eq!(
            cut(&[10, 5, 5, 5, 5], limits(1, 1000)),
            Err(TooLarge::Parts(limits(1, 1000)))
        );
        assert_eq!(
            cut(&[10, 5, 11], limits(10, 20)),
            Err(TooLarge::Unsplittable(3))
        );
        assert_eq!(cut(&[10], limits(1, 20)).unwrap().parts, []);
    }

    #[test]
    fn the_header_keeps_its_line_ending() {
        assert_eq!(header_line(b"a,b", 5).as_deref(), Some("a,b\r\n"));
        assert_eq!(header_line(b"a,b", 4).as_deref(), Some("a,b\n"));
        assert_eq!(header_line(b"a,b", 3).as_deref(), Some("a,b"));
        assert_eq!(header_line(b"\xff", 2), None);
        assert_eq!(header_line(b"", 100), None, "a header too long to keep");
    }
}
