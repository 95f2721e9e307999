//! Cutting a drop's file into parts (SPEC section 14): the limits of one
//! job, the file read from S3 as a stream, chunk by chunk, so that a file
//! never sits in memory whole. The preflight (`import::preflight`) checks
//! and cuts in one pass; a plan made again (by `import/` or by `Track`) only
//! cuts.

use aws_sdk_s3::primitives::ByteStream;

use crate::app::App;
use crate::csv_check::groups::{GroupTally, Groups};
use crate::csv_check::lines::{Line, LineSplitter};
use crate::csv_check::parts::{Cut, Cutter, PartLimits, MAX_PARTS};
use crate::csv_check::{self, TooLarge};
use crate::error::{ErrorKind, ImportError};

/// What goes to Cognito of a file (or a part): the bytes as they are, or,
/// when its rows name groups, the bytes without the `cognito:groups` column
/// (SPEC section 17), of the length counted before the upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadShape {
    AsIs,
    WithoutGroups { column: usize, length: u64 },
}

impl UploadShape {
    /// The whole file's shape, from what its `cognito:groups` column held.
    pub fn of_file(groups: Option<&Groups>) -> UploadShape {
        match groups {
            Some(groups) => UploadShape::WithoutGroups {
                column: groups.column,
                length: groups.upload_bytes,
            },
            None => UploadShape::AsIs,
        }
    }
}

/// The parts of a file that passed the preflight before (its plan is to be
/// made again, or its upload's length counted): the file cut and its
/// `cognito:groups` column counted (SPEC section 17), not checked.
pub async fn cut_only(
    app: &App,
    what: &str,
    body: ByteStream,
) -> Result<(Cut, Option<Groups>), ImportError> {
    // Lines of any length count their bytes; only the header is kept.
    let mut lines = LineSplitter::new(csv_check::MAX_ROW_CHARS * 4);
    let mut cut = CutAndTally {
        cutter: Cutter::new(limits(app.config.part_max_rows)),
        tally: GroupTally::default(),
        over: None,
    };
    stream(app, body, what, |chunk| {
        lines
            .feed(chunk, |line| cut.line(line))
            .map_err(|_| TooLarge::Rows(u64::MAX))?;
        cut.over.clone().map_or(Ok(()), Err)
    })
    .await?;
    lines.finish(|line| cut.line(line));
    match cut.over {
        Some(too) => Err(too_large(what, too)),
        None => Ok((cut.cutter.finish(), cut.tally.finish())),
    }
}

/// The cut and the groups' count of one pass; `over` once the cut went past
/// its limits.
struct CutAndTally {
    cutter: Cutter,
    tally: GroupTally,
    over: Option<TooLarge>,
}

impl CutAndTally {
    fn line(&mut self, line: Line<'_>) {
        match self.cutter.line(line.number, line.input_len, line.bytes) {
            Ok(step) => self.tally.line(line, step),
            Err(too) => {
                self.over.get_or_insert(too);
            }
        }
    }
}

/// One job's limits with `PART_MAX_ROWS` (`part_max_rows`), and at most
/// 100 parts.
pub fn limits(part_max_rows: u64) -> PartLimits {
    PartLimits {
        max_rows: part_max_rows,
        max_bytes: csv_check::MAX_BYTES,
        max_parts: MAX_PARTS,
    }
}

/// Streams the body into `feed`, chunk by chunk. A body that stalls longer
/// than one attempt's timeout fails retryably rather than waiting for the
/// deadline.
pub async fn stream(
    app: &App,
    mut body: ByteStream,
    what: &str,
    mut feed: impl FnMut(&[u8]) -> Result<(), TooLarge>,
) -> Result<(), ImportError> {
    let stall = app.config.timeouts.attempt;
    loop {
        let next = tokio::time::timeout(stall, body.next())
            .await
            .map_err(|_| read_failed(what, "S3 stopped sending the object"))?;
        match next {
            None => return Ok(()),
            Some(Ok(chunk)) => feed(&chunk).map_err(|too| too_large(what, too))?,
            Some(Err(_)) => return Err(read_failed(what, "the object's stream broke off")),
        }
    }
}

fn read_failed(what: &str, why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        format!("GetObject {what}: {why}; it will be retried"),
    )
}

pub fn too_large(what: &str, too: TooLarge) -> ImportError {
    ImportError::new(ErrorKind::CsvTooLarge, format!("{what}: {too}"))
}
