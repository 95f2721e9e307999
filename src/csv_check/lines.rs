//! Reading a Cognito user-import CSV: bytes into lines, a line into fields.
//! Nothing here knows Cognito's rules; any module of the crate may use it to
//! read such a file.
//!
//! Lines: a [`LineSplitter`] is fed chunks of any size, split anywhere (even
//! inside a UTF-8 character or a `\r\n`), and hands over each complete
//! [`Line`]: its 1-based number and its raw bytes without the line ending
//! (`\n` or `\r\n`). It buffers at most one line, and at most
//! `max_line_bytes + 1` bytes of it: a longer line is reported `too_long`,
//! its bytes dropped. A leading UTF-8 byte order mark is not removed.
//!
//! ```
//! use cognito_import_starter::csv_check::lines::{fields, Line, LineSplitter};
//!
//! // Each user's `cognito:username`, with its line number.
//! let file = b"email,cognito:username\r\na@b.c,ana\nd@e.f,jo\\,e\n";
//! let mut column = None;
//! let mut usernames = Vec::new();
//! let mut on_line = |line: Line<'_>| {
//!     if line.too_long {
//!         return;
//!     }
//!     if line.number == 1 {
//!         column = fields(line.bytes).position(|name| &*name == b"cognito:username");
//!     } else if let Some(name) = column.and_then(|i| fields(line.bytes).nth(i)) {
//!         usernames.push((line.number, name.into_owned()));
//!     }
//! };
//! let mut splitter = LineSplitter::new(64 * 1024);
//! for chunk in file.chunks(5) {
//!     splitter.feed(chunk, &mut on_line).unwrap();
//! }
//! splitter.finish(&mut on_line);
//! assert_eq!(usernames, [(2, b"ana".to_vec()), (3, b"jo,e".to_vec())]);
//! ```
//!
//! Fields: Cognito documents backslash escaping only (`\,` is a comma inside
//! a value, `\\` a backslash), no quoting. A line's fields are what lies
//! between its unescaped commas; a field's value is its bytes with each `\x`
//! made `x`. A backslash that ends the line escapes nothing and stays.
//! [`fields`] gives the values one by one (the simple way);
//! [`split_fields`] and [`Field::value`] do it without allocating, for the
//! checker's hot loop.
//!
//! Why a small byte splitter and not the `csv` crate: the `csv` crate
//! applies its `escape` byte only inside quoted fields, so it cannot read an
//! unquoted `\,`. Line ends are found with `memchr`, fields with a byte loop.

use std::borrow::Cow;
use std::fmt;

/// One complete line, as [`LineSplitter`] hands it over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based: the first line of the file (a CSV's header) is line 1.
    pub number: u64,
    /// The line's bytes without its `\n`, and without a `\r` before it (or a
    /// `\r` that ends the input). Empty when `too_long`.
    pub bytes: &'a [u8],
    /// The line, its line ending excluded, is longer than the splitter's
    /// `max_line_bytes`: its bytes were not kept.
    pub too_long: bool,
    /// How many bytes of the input the line took, its line ending included
    /// (also when `too_long`): where the next line starts, for cutting a
    /// file into parts byte for byte.
    pub input_len: u64,
}

/// A byte of line `max_lines + 1` arrived (see
/// [`LineSplitter::with_max_lines`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyLines {
    pub max_lines: u64,
}

impl fmt::Display for TooManyLines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "more than {} lines", self.max_lines)
    }
}

impl std::error::Error for TooManyLines {}

/// Splits a stream of chunks into [`Line`]s: [`LineSplitter::feed`] each
/// chunk, then [`LineSplitter::finish`] for a last line without a line
/// ending. Lines are handed to a callback, borrowed from the chunk when the
/// whole line is in it (no copy), else from the splitter's buffer.
#[derive(Debug)]
pub struct LineSplitter {
    max_line_bytes: usize,
    max_lines: u64,
    /// The number of the line being read (or next to be).
    line: u64,
    /// Whether a byte of that line was seen.
    in_line: bool,
    /// The line went over `max_line_bytes`: its bytes are dropped to its end.
    too_long: bool,
    /// The start of a line split between chunks.
    buf: Vec<u8>,
    /// Bytes of the line being read so far, line ending excluded, kept or not.
    taken: u64,
}

impl LineSplitter {
    /// A splitter that keeps lines of up to `max_line_bytes` bytes (line
    /// ending excluded) and reports longer ones `too_long`; it buffers at
    /// most `max_line_bytes + 1` bytes.
    pub fn new(max_line_bytes: usize) -> LineSplitter {
        LineSplitter {
            max_line_bytes,
            max_lines: u64::MAX,
            line: 1,
            in_line: false,
            too_long: false,
            buf: Vec::with_capacity(max_line_bytes.saturating_add(1)),
            taken: 0,
        }
    }

    /// At most `max_lines` lines: from the first byte of the next one on,
    /// [`LineSplitter::feed`] fails (and keeps failing).
    pub fn with_max_lines(mut self, max_lines: u64) -> LineSplitter {
        self.max_lines = max_lines;
        self
    }

    /// The number of the line being read, or of the next one between lines:
    /// 1 before any line, the number of lines plus one after a line ending.
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// The next bytes: calls `on_line` for each line they complete, in
    /// order. On `Err`, the lines before the one over the limit were handed
    /// over and the rest of the chunk is not read.
    pub fn feed(
        &mut self,
        mut chunk: &[u8],
        mut on_line: impl FnMut(Line<'_>),
    ) -> Result<(), TooManyLines> {
        while !chunk.is_empty() {
            if !self.in_line {
                if self.line > self.max_lines {
                    return Err(TooManyLines {
                        max_lines: self.max_lines,
                    });
                }
                self.in_line = true;
            }
            match memchr::memchr(b'\n', chunk) {
                Some(end) => {
                    // + 1: the `\n`.
                    self.taken += end as u64 + 1;
                    if self.buf.is_empty() && !self.too_long {
                        // The whole line is in this chunk: no copy.
                        self.end_line(&chunk[..end], &mut on_line);
                    } else {
                        self.append(&chunk[..end]);
                        self.end_buffered_line(&mut on_line);
                    }
                    chunk = &chunk[end + 1..];
                }
                None => {
                    self.taken += chunk.len() as u64;
                    self.append(chunk);
                    break;
                }
            }
        }
        Ok(())
    }

    /// The end of the input: hands over the last line if it has no line
    /// ending (an input that ends with one has no line after it).
    pub fn finish(mut self, mut on_line: impl FnMut(Line<'_>)) {
        if self.in_line {
            self.end_buffered_line(&mut on_line);
        }
    }

    fn append(&mut self, part: &[u8]) {
        if self.too_long {
            return;
        }
        // + 1: the line's `\r` may be in it.
        if self.buf.len() + part.len() > self.max_line_bytes.saturating_add(1) {
            self.too_long = true;
            self.buf.clear();
        } else {
            self.buf.extend_from_slice(part);
        }
    }

    fn end_buffered_line(&mut self, on_line: &mut impl FnMut(Line<'_>)) {
        let buf = std::mem::take(&mut self.buf);
        self.end_line(&buf, on_line);
        self.buf = buf;
        self.buf.clear();
    }

    fn end_line(&mut self, bytes: &[u8], on_line: &mut impl FnMut(Line<'_>)) {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let too_long = std::mem::take(&mut self.too_long) || bytes.len() > self.max_line_bytes;
        let number = self.line;
        self.line += 1;
        self.in_line = false;
        let input_len = std::mem::take(&mut self.taken);
        on_line(Line {
            number,
            bytes: if too_long { &[] } else { bytes },
            too_long,
            input_len,
        });
    }

    /// The buffer's capacity: it never grows past `max_line_bytes + 1`.
    #[cfg(test)]
    pub(super) fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }
}

/// One field of a line: `line[start..end]`, raw, as [`split_fields`] finds
/// it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Where the field starts in its line.
    pub start: usize,
    /// Where it ends: the index of the comma after it, or the line's length.
    pub end: usize,
    /// Whether it holds a backslash to undo.
    escaped: bool,
}

impl Field {
    /// The field's bytes in `line`, escapes as written.
    pub fn raw<'a>(&self, line: &'a [u8]) -> &'a [u8] {
        &line[self.start..self.end]
    }

    /// Whether the field has no byte at all.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The field's value, escapes undone: borrowed from `line` when it has
    /// none, else written into `scratch` (cleared first). A backslash that
    /// escapes nothing (at the end of the line) stays.
    pub fn value<'a>(&self, line: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
        let raw = self.raw(line);
        if !self.escaped {
            return raw;
        }
        scratch.clear();
        unescape_into(raw, scratch);
        scratch
    }
}

/// What [`split_fields`] found besides the fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldCount {
    /// How many fields the line has (an empty line has one, empty).
    pub count: usize,
    /// The line ends with a backslash that escapes nothing.
    pub dangling_backslash: bool,
}

/// Splits `line` (raw, without its line ending) at its unescaped commas into
/// `fields` (cleared first), keeping the first `keep` of them: pass
/// `usize::MAX` for all, or the expected count plus one to bound the work on
/// a row with too many. Read each one's value with [`Field::value`].
pub fn split_fields(line: &[u8], fields: &mut Vec<Field>, keep: usize) -> FieldCount {
    fields.clear();
    let mut count = 0;
    let mut start = 0;
    let mut escaped = false;
    let mut i = 0;
    while i < line.len() {
        match line[i] {
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
            end: line.len(),
            escaped,
        });
    }
    FieldCount {
        count: count + 1,
        // i overshoots the end only when the last byte is an unescaped `\`.
        dangling_backslash: i > line.len(),
    }
}

/// The values of `line`'s fields (raw, without its line ending), escapes
/// undone, in order: `fields(line).nth(i)` is the value of column `i`.
/// Borrowed from `line` when a field has no escape. Same splitting as
/// [`split_fields`]; it allocates for escaped fields, so the checker uses
/// that one.
pub fn fields(line: &[u8]) -> impl Iterator<Item = Cow<'_, [u8]>> {
    let mut fields = Vec::new();
    split_fields(line, &mut fields, usize::MAX);
    fields.into_iter().map(move |field| {
        if field.escaped {
            let mut value = Vec::with_capacity(field.end - field.start);
            unescape_into(field.raw(line), &mut value);
            Cow::Owned(value)
        } else {
            Cow::Borrowed(field.raw(line))
        }
    })
}

/// Appends `raw` to `out` with each `\x` made `x`; a final lone `\` stays.
fn unescape_into(raw: &[u8], out: &mut Vec<u8>) {
    let mut bytes = raw.iter();
    while let Some(&byte) = bytes.next() {
        match bytes.as_slice().first() {
            Some(&next) if byte == b'\\' => {
                out.push(next);
                bytes.next();
            }
            _ => out.push(byte),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `data` fed in chunks of `size`, as (number, bytes or
    /// `None` when too long).
    fn lines_of(data: &[u8], size: usize, max: usize) -> Vec<(u64, Option<Vec<u8>>)> {
        let mut lines = Vec::new();
        let mut on_line = |line: Line<'_>| {
            assert!(!line.too_long || line.bytes.is_empty());
            lines.push((line.number, (!line.too_long).then(|| line.bytes.to_vec())));
        };
        let mut splitter = LineSplitter::new(max);
        for chunk in data.chunks(size) {
            splitter.feed(chunk, &mut on_line).unwrap();
            assert!(splitter.buffer_capacity() <= max + 1);
        }
        splitter.finish(&mut on_line);
        lines
    }

    fn some(text: &str) -> Option<Vec<u8>> {
        Some(text.as_bytes().to_vec())
    }

    #[test]
    fn lines_in_any_chunks() {
        let data = b"head\r\none\n\ntoo long\r\nlast\r";
        let expected = vec![
            (1, some("head")),
            (2, some("one")),
            (3, some("")),
            (4, None),
            (5, some("last")),
        ];
        for size in 1..=data.len() {
            assert_eq!(lines_of(data, size, 7), expected, "chunks of {size}");
        }
        // A line of exactly the limit, with its `\r\n` split.
        assert_eq!(lines_of(b"1234567\r\n", 8, 7), [(1, some("1234567"))]);
        assert_eq!(lines_of(b"12345678\n", 1, 7), [(1, None)]);
        // Nothing after a final line ending; a bare `\r` inside is data.
        assert_eq!(lines_of(b"", 1, 7), []);
        assert_eq!(lines_of(b"a\rb\n", 1, 7), [(1, some("a\rb"))]);
    }

    #[test]
    fn each_line_says_how_many_input_bytes_it_took() {
        let data = b"head\r\none\n\ntoo long\r\nlast\r";
        for size in 1..=data.len() {
            let mut lens = Vec::new();
            let mut splitter = LineSplitter::new(7);
            for chunk in data.chunks(size) {
                splitter.feed(chunk, |l| lens.push(l.input_len)).unwrap();
            }
            splitter.finish(|l| lens.push(l.input_len));
            assert_eq!(lens, [6, 4, 1, 10, 5], "chunks of {size}");
            assert_eq!(lens.iter().sum::<u64>(), data.len() as u64);
        }
    }

    #[test]
    fn at_most_max_lines() {
        let mut splitter = LineSplitter::new(10).with_max_lines(2);
        let mut seen = Vec::new();
        splitter.feed(b"a\nb\n", |l| seen.push(l.number)).unwrap();
        assert_eq!(splitter.line_number(), 3);
        let error = TooManyLines { max_lines: 2 };
        assert_eq!(splitter.feed(b"c", |l| seen.push(l.number)), Err(error));
        assert_eq!(splitter.feed(b"\n", |l| seen.push(l.number)), Err(error));
        splitter.finish(|l| seen.push(l.number));
        assert_eq!(seen, [1, 2]);
    }

    #[test]
    fn fields_unescaped() {
        let values = |line: &[u8]| fields(line).map(|f| f.into_owned()).collect::<Vec<_>>();
        assert_eq!(values(b""), [b"".to_vec()]);
        assert_eq!(
            values(b"a\\,b,\\\\,c\\\\,d\\"),
            [
                b"a,b".to_vec(),
                b"\\".to_vec(),
                b"c\\".to_vec(),
                b"d\\".to_vec()
            ]
        );
        assert!(matches!(fields(b"x,y").nth(1), Some(Cow::Borrowed(b"y"))));

        let mut split = Vec::new();
        let line = b"u\\,1,,x\\";
        let count = split_fields(line, &mut split, 2);
        assert_eq!(
            count,
            FieldCount {
                count: 3,
                dangling_backslash: true
            }
        );
        assert_eq!(split.len(), 2);
        let mut scratch = Vec::new();
        assert_eq!(split[0].raw(line), b"u\\,1");
        assert_eq!(split[0].value(line, &mut scratch), b"u,1");
        assert!(split[1].is_empty() && !split[0].is_empty());
    }
}
