//! What the checker tells of a whole file: [`Report`], or [`TooLarge`] when
//! the file is over a Cognito limit.

use std::fmt;

use super::groups::Groups;
use super::parts::{Cut, PartLimits};
use super::password::Passwords;
use super::problems::Problem;
use super::MAX_BYTES;

/// The file is over a Cognito limit: checking stops there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TooLarge {
    /// The size in bytes (as far as it was read, when found while streaming).
    Bytes(u64),
    /// The file has more data rows than this limit.
    Rows(u64),
    /// Cut into parts (SPEC section 14), it needs more than `max_parts`.
    Parts(PartLimits),
    /// This line alone with the header is over the bytes of one part.
    Unsplittable(u64),
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
            TooLarge::Parts(limits) => write!(
                f,
                "the file needs more than {} parts of at most {} data rows and {} bytes (the header \
                 included) each: split it into files of at most {} users",
                limits.max_parts,
                limits.max_rows,
                limits.max_bytes,
                limits.max_parts * limits.max_rows
            ),
            TooLarge::Unsplittable(line) => write!(
                f,
                "line {line} and the header line together are over {MAX_BYTES} bytes: the file \
                 cannot be cut into parts Cognito accepts"
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
    /// The first [`MAX_REPORTED`](super::MAX_REPORTED) problems, in file order.
    pub problems: Vec<Problem>,
    /// All of them.
    pub problem_count: u64,
    /// The parts the file is cut into (SPEC section 14), when the checker
    /// was asked to cut it; else empty.
    pub cut: Cut,
    /// SPEC section 15: the `password_hash` column's algorithm and counts,
    /// when the file has one (named, or found by its first hash).
    pub passwords: Option<Passwords>,
    /// SPEC section 17: the `cognito:groups` column's counts, names and
    /// the upload's lengths without it, when the file has one and groups
    /// are allowed.
    pub groups: Option<Groups>,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.problem_count == 0
    }
}
