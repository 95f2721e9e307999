//! SPEC section 12: the two objects `Track` writes beside the source file:
//! `failed.csv` (the source's header and exactly its `[FAILED]` rows, byte
//! for byte, in file order) and `report.csv` (one row per user that did not
//! make it). The source is streamed, pinned to what the Started event named;
//! only the wanted rows are ever buffered.

use aws_sdk_s3::primitives::ByteStream;

use super::log::{Status, UserLine};
use super::upload::Upload;
use super::PartView;
use crate::app::App;
use crate::aws::s3::{ByteRange, ReadFailure};
use crate::csv_check::lines::fields;
use crate::error::{ErrorKind, ImportError};
use crate::model::ObjectRef;

/// Where the two objects went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub bucket: String,
    pub failed_rows: String,
    pub report: String,
}

/// Written, or the source is gone or changed (the Completed event still goes
/// out, saying so).
#[derive(Clone, Debug, PartialEq)]
pub enum Files {
    Written(Written),
    SourceGone(ImportError),
}

/// Reads `source` once and streams `<prefix><job id>/failed.csv` and
/// `report.csv` to its bucket as it goes: memory holds a part of each, never
/// a whole file. Transient errors are the caller's to retry; a multipart
/// upload under way when anything fails is aborted.
pub(super) async fn write(
    app: &App,
    source: &ObjectRef,
    job_id: &str,
    lines: &[UserLine],
    part: PartView,
) -> Result<Files, ImportError> {
    let prefix = format!("{}{job_id}/", app.config.results_prefix);
    let written = Written {
        bucket: source.bucket.clone(),
        failed_rows: format!("{prefix}failed.csv"),
        report: format!("{prefix}report.csv"),
    };
    let mut writer = Writer {
        app,
        splitter: RowSplitter::new(lines, part.offset),
        out: Out {
            failed: Vec::new(),
            report: REPORT_HEADER.as_bytes().to_vec(),
        },
        failed: Upload::new(app, &written.bucket, &written.failed_rows),
        report: Upload::new(app, &written.bucket, &written.report),
    };
    match writer.stream(source, &part).await {
        Ok(None) => {
            writer.finish().await?;
            Ok(Files::Written(written))
        }
        Ok(Some(gone)) => {
            writer.abort().await;
            Ok(Files::SourceGone(gone))
        }
        Err(error) => {
            writer.abort().await;
            Err(error)
        }
    }
}

/// The source's bytes through the [`RowSplitter`] into the two uploads.
struct Writer<'a> {
    app: &'a App,
    splitter: RowSplitter<'a>,
    out: Out,
    failed: Upload<'a>,
    report: Upload<'a>,
}

/// How many report bytes the lines past the source's end are sent in.
const REST_BATCH: usize = 64 << 10;

impl Writer<'_> {
    /// Reads the source (a part's file: its header line, then its rows,
    /// SPEC section 14). `Some`: the source is gone or changed.
    async fn stream(
        &mut self,
        source: &ObjectRef,
        part: &PartView,
    ) -> Result<Option<ImportError>, ImportError> {
        let app = self.app;
        let s3 = app.s3();
        let body = match &part.slice {
            None => s3.read_pinned(source, None).await,
            Some(slice) => {
                match &slice.header {
                    Some(header) => self.feed(header.as_bytes()).await?,
                    None => {
                        let header = ByteRange {
                            first: 0,
                            end: slice.header_bytes,
                        };
                        match s3.read_pinned(source, Some(header)).await {
                            Ok(body) => self.feed_body(body, source).await?,
                            Err(failure) => return read_failed(source, failure),
                        }
                    }
                }
                let rows = ByteRange {
                    first: slice.first_byte,
                    end: slice.end_byte,
                };
                s3.read_pinned(source, Some(rows)).await
            }
        };
        match body {
            Ok(body) => self.feed_body(body, source).await?,
            Err(failure) => return read_failed(source, failure),
        }
        self.splitter.end_of_file(&mut self.out);
        while self.splitter.rest(&mut self.out, REST_BATCH) {
            self.drain().await?;
        }
        self.drain().await?;
        Ok(None)
    }

    /// Streams the body. A body that stalls longer than one attempt's
    /// timeout fails retryably.
    async fn feed_body(
        &mut self,
        mut body: ByteStream,
        source: &ObjectRef,
    ) -> Result<(), ImportError> {
        let what = source.to_string();
        loop {
            let next = tokio::time::timeout(self.app.config.timeouts.attempt, body.next())
                .await
                .map_err(|_| unavailable(&what, "S3 stopped sending the object"))?;
            match next {
                None => return Ok(()),
                Some(Ok(chunk)) => self.feed(&chunk).await?,
                Some(Err(_)) => return Err(unavailable(&what, "the object's stream broke off")),
            }
        }
    }

    async fn feed(&mut self, chunk: &[u8]) -> Result<(), ImportError> {
        self.splitter.feed(chunk, &mut self.out);
        self.drain().await
    }

    async fn drain(&mut self) -> Result<(), ImportError> {
        self.failed.write(&self.out.failed).await?;
        self.report.write(&self.out.report).await?;
        self.out.failed.clear();
        self.out.report.clear();
        Ok(())
    }

    async fn finish(self) -> Result<(), ImportError> {
        let Writer { failed, report, .. } = self;
        if let Err(error) = failed.finish().await {
            report.abort().await;
            return Err(error);
        }
        report.finish().await
    }

    async fn abort(self) {
        self.failed.abort().await;
        self.report.abort().await;
    }
}

/// The source gone (404) or changed (412) is said in `Results` (`Ok`);
/// anything else is the caller's to retry.
fn read_failed(
    source: &ObjectRef,
    failure: ReadFailure,
) -> Result<Option<ImportError>, ImportError> {
    match failure {
        ReadFailure::Gone => Ok(Some(gone(source, "no longer exists"))),
        ReadFailure::Replaced => Ok(Some(gone(
            source,
            "was replaced since the import started (its ETag no longer matches)",
        ))),
        ReadFailure::Failed(error) => Err(error),
    }
}

fn gone(source: &ObjectRef, why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ObjectNotFound,
        format!("{source} {why}: failed.csv and report.csv were not written"),
    )
}

fn unavailable(what: &str, why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        format!("GetObject {what}: {why}; it will be retried"),
    )
}

/// What the splitter made of the bytes fed so far, not yet sent.
#[derive(Debug, Default, PartialEq)]
struct Out {
    /// failed.csv: the header line and every `[FAILED]` row, byte for byte.
    failed: Vec<u8>,
    /// report.csv's rows.
    report: Vec<u8>,
}

/// Of a row the log names, only its start is kept, for its username (a
/// Cognito row has at most 16,000 characters).
const KEPT_ROW_BYTES: usize = 64 << 10;

/// Splits a CSV file fed in chunks into rows at `\n` (Cognito's files have no
/// quoted line breaks: a comma in a value is escaped with `\`). The header
/// and the `[FAILED]` rows pass through to failed.csv as they come; each row
/// the log names makes its report.csv row. Data rows count from 1. `lines`
/// are by line number, each once (as the log is read).
struct RowSplitter<'l> {
    lines: &'l [UserLine],
    /// The first of `lines` not yet reported.
    next: usize,
    /// A part's line `n` is the source's row `n + offset`.
    offset: u64,
    /// The row being read: 0 is the header.
    row: u64,
    /// Bytes of the current row were fed.
    in_row: bool,
    /// The current row's first bytes, when it is the header or a row the
    /// log names.
    kept: Vec<u8>,
    username_column: Option<usize>,
}

impl<'l> RowSplitter<'l> {
    fn new(lines: &'l [UserLine], offset: u64) -> RowSplitter<'l> {
        RowSplitter {
            lines,
            next: 0,
            offset,
            row: 0,
            in_row: false,
            kept: Vec::new(),
            username_column: None,
        }
    }

    /// The log's line for the current row, if it names it.
    fn line(&self) -> Option<&'l UserLine> {
        self.lines.get(self.next).filter(|l| l.line == self.row)
    }

    fn feed(&mut self, mut chunk: &[u8], out: &mut Out) {
        while !chunk.is_empty() {
            let (part, rest, complete) = match memchr::memchr(b'\n', chunk) {
                Some(end) => (&chunk[..=end], &chunk[end + 1..], true),
                None => (chunk, &[][..], false),
            };
            self.in_row = true;
            let line = self.line();
            if self.row == 0 || line.is_some_and(|l| l.status == Status::Failed) {
                out.failed.extend_from_slice(part);
            }
            if self.row == 0 || line.is_some() {
                let room = KEPT_ROW_BYTES.saturating_sub(self.kept.len());
                self.kept.extend_from_slice(&part[..part.len().min(room)]);
            }
            if complete {
                self.end_row(out);
            }
            chunk = rest;
        }
    }

    fn end_row(&mut self, out: &mut Out) {
        let kept = std::mem::take(&mut self.kept);
        if self.row == 0 {
            self.username_column = column_index(trim_line_end(&kept), b"cognito:username");
        } else if let Some(line) = self.line() {
            let username = self
                .username_column
                .and_then(|i| field(trim_line_end(&kept), i));
            report_row(&mut out.report, line, username.as_deref(), self.offset);
            self.next += 1;
        }
        self.row += 1;
        self.in_row = false;
    }

    /// A last row without a line end is a row all the same.
    fn end_of_file(&mut self, out: &mut Out) {
        if self.in_row {
            self.end_row(out);
        }
    }

    /// The log's lines past the source's end, without a username, until
    /// `out` holds `batch` bytes. `true` while lines remain.
    fn rest(&mut self, out: &mut Out, batch: usize) -> bool {
        while let Some(line) = self.lines.get(self.next) {
            if out.report.len() >= batch {
                return true;
            }
            report_row(&mut out.report, line, None, self.offset);
            self.next += 1;
        }
        false
    }
}
fn trim_line_end(row: &[u8]) -> &[u8] {
    let row = row.strip_suffix(b"\n").unwrap_or(row);
    row.strip_suffix(b"\r").unwrap_or(row)
}

fn column_index(header: &[u8], name: &[u8]) -> Option<usize> {
    fields(header).position(|value| value.trim_ascii() == name)
}

/// Field `index` of a row, its backslash escapes undone (`\,` is a comma in
/// the value). Lossy UTF-8: a username is shown, never matched.
fn field(row: &[u8], index: usize) -> Option<String> {
    fields(row)
        .nth(index)
        .map(|value| String::from_utf8_lossy(&value).into_owned())
}

const REPORT_HEADER: &str = "line,status,reason,username\r\n";

/// One report.csv row, `line,status,reason,username` (the source's line: a
/// part's lines follow `offset`), quoted as RFC 4180 says (CRLF line ends; a
/// field with a comma, quote or line break in double quotes, its quotes
/// doubled).
fn report_row(out: &mut Vec<u8>, line: &UserLine, username: Option<&str>, offset: u64) {
    let row = format!(
        "{},{},{},{}\r\n",
        line.line + offset,
        line.status.as_str(),
        quoted(&line.reason),
        quoted(username.unwrap_or_default())
    );
    out.extend_from_slice(row.as_bytes());
}

/// A cell as RFC 4180 quotes it, made safe for a spreadsheet first (SPEC
/// section 16): a value that begins like a formula (`=`, `+`, `-`, `@`, a
/// tab or a carriage return) gets a leading `'`, so that a username or
/// reason from the file is shown, never evaluated.
pub(crate) fn quoted(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(line: u64, status: Status) -> UserLine {
        UserLine {
            line,
            status,
            reason: format!("reason {line}").into(),
        }
    }

    /// failed.csv and report.csv's rows (without its header).
    fn split(file: &[u8], lines: &[UserLine], chunk: usize) -> (String, String) {
        let mut splitter = RowSplitter::new(lines, 0);
        let mut out = Out::default();
        file.chunks(chunk).for_each(|c| splitter.feed(c, &mut out));
        splitter.end_of_file(&mut out);
        // The lines past the end, a batch at a time, as the writer sends them.
        let mut report = std::mem::take(&mut out.report);
        while splitter.rest(&mut out, 10) {
            report.append(&mut out.report);
        }
        report.append(&mut out.report);
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (text(out.failed), text(report))
    }

    const FILE: &[u8] =
        b"name,cognito:username,email\r\nA\\, Jr.,a,a@x\r\nB,b\\,2,b@x\r\nC,c,c@x\r\nD,d,d@x";

    #[test]
    fn failed_rows_are_copied_byte_for_byte_whatever_the_chunks() {
        let lines = [
            user(2, Status::Failed),
            user(3, Status::Skipped),
            user(4, Status::Failed),
        ];
        for chunk in [1, 2, 3, 7, 1000] {
            let (failed, report) = split(FILE, &lines, chunk);
            assert_eq!(
                failed, "name,cognito:username,email\r\nB,b\\,2,b@x\r\nD,d,d@x",
                "chunk {chunk}"
            );
            assert_eq!(
                report,
                "2,FAILED,reason 2,\"b,2\"\r\n3,SKIPPED,reason 3,c\r\n4,FAILED,reason 4,d\r\n",
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn lines_past_the_end_of_the_file_are_reported_without_a_username() {
        let lines = [
            user(4, Status::Failed),
            user(7, Status::Skipped),
            user(9, Status::Failed),
        ];
        let (failed, report) = split(FILE, &lines, 5);
        assert_eq!(failed, "name,cognito:username,email\r\nD,d,d@x");
        assert_eq!(
            report,
            "4,FAILED,reason 4,d\r\n7,SKIPPED,reason 7,\r\n9,FAILED,reason 9,\r\n"
        );
    }

    #[test]
    fn fields_undo_their_escapes() {
        let row = b"A\\, Jr.,a\\\\b,,last\\";
        assert_eq!(field(row, 0).as_deref(), Some("A, Jr."));
        assert_eq!(field(row, 1).as_deref(), Some("a\\b"));
        assert_eq!(field(row, 2).as_deref(), Some(""));
        assert_eq!(field(row, 3).as_deref(), Some("last\\"));
        assert_eq!(field(row, 4), None);
    }

    #[test]
    fn cells_that_begin_like_a_formula_are_written_as_text() {
        for (value, cell) in [
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(quoted(value), cell, "{value:?}");
        }
    }

    #[test]
    fn the_report_is_rfc_4180() {
        let lines = [
            UserLine {
                line: 1,
                status: Status::Failed,
                reason: "Bad \"value\", twice".into(),
            },
            user(5, Status::Skipped),
        ];
        let mut out = Vec::new();
        report_row(&mut out, &lines[0], Some("x,y"), 0);
        report_row(&mut out, &lines[1], None, 10);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1,FAILED,\"Bad \"\"value\"\", twice\",\"x,y\"\r\n15,SKIPPED,reason 5,\r\n"
        );
    }
}
