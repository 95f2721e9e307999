//! SPEC section 12: the two objects `Track` writes beside the source file:
//! `failed.csv` (the source's header and exactly its `[FAILED]` rows, byte
//! for byte, in file order) and `report.csv` (one row per user that did not
//! make it). The source is streamed, pinned to what the Started event named;
//! only the wanted rows are ever buffered.

use std::collections::HashMap;

use aws_sdk_s3::primitives::ByteStream;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectError;

use super::log::{Status, UserLine};
use super::PartView;
use crate::app::App;
use crate::csv_check::lines::fields;
use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};
use crate::model::ObjectRef;
use crate::resolve;

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

/// Reads `source` once and writes `<prefix><job id>/failed.csv` and
/// `report.csv` to its bucket. Transient errors are the caller's to retry.
pub(super) async fn write(
    app: &App,
    source: &ObjectRef,
    job_id: &str,
    lines: &[UserLine],
    part: PartView,
) -> Result<Files, ImportError> {
    let what = source.to_string();
    let mut splitter = RowSplitter::new(lines);
    // A part's file: its header line, then its rows (SPEC section 14).
    let body = match &part.slice {
        None => resolve::get_pinned(app, source).await,
        Some(slice) => {
            match &slice.header {
                Some(header) => splitter.feed(header.as_bytes()),
                None => match resolve::get_range(app, source, 0, slice.header_bytes).await {
                    Ok(output) => feed(app, output.body, &mut splitter, &what).await?,
                    Err(error) => return read_failed(source, &error),
                },
            }
            resolve::get_range(app, source, slice.first_byte, slice.end_byte).await
        }
    };
    let body = match body {
        Ok(output) => output.body,
        Err(error) => return read_failed(source, &error),
    };
    feed(app, body, &mut splitter, &what).await?;
    let rows = splitter.finish();
    let prefix = format!("{}{job_id}/", app.config.results_prefix);
    let written = Written {
        bucket: source.bucket.clone(),
        failed_rows: format!("{prefix}failed.csv"),
        report: format!("{prefix}report.csv"),
    };
    put(app, &written.bucket, &written.failed_rows, rows.failed_csv).await?;
    put(
        app,
        &written.bucket,
        &written.report,
        report_csv(lines, &rows.usernames, part.offset),
    )
    .await?;
    Ok(Files::Written(written))
}

/// The source gone (404) or changed (412) is said in `Results`; anything
/// else is the caller's to retry.
fn read_failed(
    source: &ObjectRef,
    error: &SdkError<GetObjectError, HttpResponse>,
) -> Result<Files, ImportError> {
    match error.raw_response().map(|r| r.status().as_u16()) {
        Some(404) => Ok(Files::SourceGone(gone(source, "no longer exists"))),
        Some(412) => Ok(Files::SourceGone(gone(
            source,
            "was replaced since the import started (its ETag no longer matches)",
        ))),
        _ => Err(classify_sdk_error(
            Service::S3,
            &format!("GetObject {source}"),
            error,
        )),
    }
}

/// What the source holds for the users that did not make it.
#[derive(Debug, Default, PartialEq)]
struct Rows {
    /// The header line and every `[FAILED]` row, with their line ends.
    failed_csv: Vec<u8>,
    /// `cognito:username` of each wanted row, by line number.
    usernames: HashMap<u64, String>,
}

/// Streams the body through the [`RowSplitter`]. A body that stalls longer
/// than one attempt's timeout fails retryably.
async fn feed(
    app: &App,
    mut body: ByteStream,
    splitter: &mut RowSplitter,
    what: &str,
) -> Result<(), ImportError> {
    loop {
        let next = tokio::time::timeout(app.config.timeouts.attempt, body.next())
            .await
            .map_err(|_| unavailable(what, "S3 stopped sending the object"))?;
        match next {
            None => return Ok(()),
            Some(Ok(chunk)) => splitter.feed(&chunk),
            Some(Err(_)) => return Err(unavailable(what, "the object's stream broke off")),
        }
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

/// Splits a CSV file fed in chunks into rows at `\n` (Cognito's files have no
/// quoted line breaks: a comma in a value is escaped with `\`), keeping only
/// the header and the rows the log names. Data rows count from 1.
struct RowSplitter {
    /// Line number -> whether the row failed (else it was skipped).
    wanted: HashMap<u64, Status>,
    /// The row being read: 0 is the header.
    row: u64,
    /// The current row's bytes so far, when it is wanted.
    partial: Vec<u8>,
    username_column: Option<usize>,
    rows: Rows,
}

impl RowSplitter {
    fn new(lines: &[UserLine]) -> RowSplitter {
        RowSplitter {
            wanted: lines.iter().map(|l| (l.line, l.status)).collect(),
            row: 0,
            partial: Vec::new(),
            username_column: None,
            rows: Rows::default(),
        }
    }

    fn keeps(&self, row: u64) -> bool {
        row == 0 || self.wanted.contains_key(&row)
    }

    fn feed(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            let (part, rest, complete) = match memchr::memchr(b'\n', chunk) {
                Some(end) => (&chunk[..=end], &chunk[end + 1..], true),
                None => (chunk, &[][..], false),
            };
            if self.keeps(self.row) {
                self.partial.extend_from_slice(part);
            }
            if complete {
                self.end_row();
            }
            chunk = rest;
        }
    }

    fn end_row(&mut self) {
        let row = std::mem::take(&mut self.partial);
        if self.row == 0 {
            self.username_column = column_index(trim_line_end(&row), b"cognito:username");
            self.rows.failed_csv.extend_from_slice(&row);
        } else if let Some(&status) = self.wanted.get(&self.row) {
            if let Some(name) = self
                .username_column
                .and_then(|i| field(trim_line_end(&row), i))
            {
                self.rows.usernames.insert(self.row, name);
            }
            if status == Status::Failed {
                self.rows.failed_csv.extend_from_slice(&row);
            }
        }
        self.row += 1;
    }

    fn finish(mut self) -> Rows {
        // A last row without a line end is a row all the same.
        if !self.partial.is_empty() {
            self.end_row();
        }
        self.rows
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

/// `line,status,reason,username`, one row per user by line number (the
/// source's: a part's lines follow `offset`), quoted as RFC 4180 says (CRLF
/// line ends; a field with a comma, quote or line break in double quotes,
/// its quotes doubled).
fn report_csv(lines: &[UserLine], usernames: &HashMap<u64, String>, offset: u64) -> Vec<u8> {
    let mut out = String::from("line,status,reason,username\r\n");
    for line in lines {
        let username = usernames.get(&line.line).map_or("", String::as_str);
        out.push_str(&format!(
            "{},{},{},{}\r\n",
            line.line + offset,
            line.status.as_str(),
            quoted(&line.reason),
            quoted(username)
        ));
    }
    out.into_bytes()
}

fn quoted(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// Writes one result object (no user metadata: it can start no import).
async fn put(app: &App, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), ImportError> {
    resolve::put_object(app, bucket, key, "text/csv; charset=utf-8", body).await
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

    fn split(file: &[u8], lines: &[UserLine], chunk: usize) -> Rows {
        let mut splitter = RowSplitter::new(lines);
        file.chunks(chunk).for_each(|c| splitter.feed(c));
        splitter.finish()
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
            let rows = split(FILE, &lines, chunk);
            assert_eq!(
                rows.failed_csv,
                b"name,cognito:username,email\r\nB,b\\,2,b@x\r\nD,d,d@x".to_vec(),
                "chunk {chunk}"
            );
            assert_eq!(rows.usernames.get(&2).map(String::as_str), Some("b,2"));
            assert_eq!(rows.usernames.get(&3).map(String::as_str), Some("c"));
            assert_eq!(rows.usernames.get(&4).map(String::as_str), Some("d"));
            assert_eq!(rows.usernames.len(), 3);
        }
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
    fn the_report_is_rfc_4180() {
        let lines = [
            UserLine {
                line: 1,
                status: Status::Failed,
                reason: "Bad \"value\", twice".into(),
            },
            user(5, Status::Skipped),
        ];
        let names = HashMap::from([(1, "x,y".to_string())]);
        assert_eq!(
            String::from_utf8(report_csv(&lines, &names, 0)).unwrap(),
            "line,status,reason,username\r\n1,FAILED,\"Bad \"\"value\"\", twice\",\"x,y\"\r\n\
             5,SKIPPED,reason 5,\r\n"
        );
    }
}
