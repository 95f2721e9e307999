//! The checks of any line's text, the header's or a data row's: its length
//! in characters and UTF-8.

use super::lines::Line;
use super::MAX_ROW_CHARS;

pub(super) const DANGLING: &str =
    "the row ends with a backslash that escapes nothing; write \\\\ for a backslash at the end of a value";
pub(super) const NOT_UTF8: &str = "not valid UTF-8; save the file as UTF-8";

pub(super) enum Text {
    TooLong,
    Valid,
    /// Not UTF-8 from this byte on.
    Invalid {
        at: usize,
    },
}

/// The checks of any line (its `\r\n` or `\n` gone): length in characters,
/// UTF-8.
pub(super) fn row_text(line: Line<'_>) -> Text {
    if line.too_long {
        return Text::TooLong;
    }
    let row = line.bytes;
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
