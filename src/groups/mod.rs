//! SPEC section 17, after the job: `{"Action": "AddToGroups", "UserPoolId",
//! "JobId", "Object", "Part"?, "From"?}` adds the memberships the job's rows
//! name (`cognito:groups`) for every user Cognito's log reports
//! `[SUCCEEDED]` or `[SKIPPED]`, at most `GROUPS_RPS` calls a second. The
//! job must be terminal and the object the job's own, checked as `Track`
//! checks it. The rows are streamed from the pinned object from the
//! cursor's byte on; a call stops before the deadline, or when Cognito
//! throttles, and answers `{"Done": false, "From": {...}}` for the next
//! call; the last one answers `{"Done": true, "Groups": {...}}` and emits
//! `User Import Groups Added`. A membership added twice is harmless, so a
//! redelivered or retried call converges.

pub mod cursor;
pub mod failed;
pub mod pace;
pub mod rows;
pub mod statuses;

use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{json, Value};

use crate::app::App;
use crate::aws::cognito::Membership;
use crate::aws::s3::ReadFailure;
use crate::deadline::Deadline;
use crate::emit;
use crate::error::{ErrorKind, ImportError};
use crate::model::{ImportJob, JobRef, LogLocation, ObjectRef, PartRef};
use crate::track::results::{log, Slice, LOG_GRACE};
use crate::track::source::{self, Source};
use crate::track::{self, part};
use crate::trigger::AddToGroups;
use cursor::Cursor;
use failed::{CallFailures, Failure, Place};
use pace::Pacer;
use rows::{Row, RowWalk};
use statuses::{Logged, Statuses};

/// A call stops when less than this is left before the work deadline
/// (which already keeps the publishing margin of every invocation): time to
/// write the call's failures and answer.
const STOP_MARGIN: Duration = Duration::from_secs(2);
/// Why the memberships of a row without a log line are not added.
pub const NO_LINE: &str = "no line in the job's log";
const NO_USERNAME: &str = "no cognito:username in the row";

/// Adds the memberships from the cursor on until the rows end (`Done:
/// true`, the event published), the deadline nears or Cognito throttles
/// (`Done: false` and the cursor to call again with).
pub async fn add_to_groups(
    app: &App,
    request: &AddToGroups,
    deadline: Deadline,
) -> Result<Value, ImportError> {
    let ids = JobRef {
        user_pool_id: request.user_pool_id.clone(),
        job_id: request.job_id.clone(),
    };
    let from = Cursor::from_value(request.from.as_ref())?;
    let (job, source, statuses) = deadline.work(checked(app, &ids, request, from)).await?;
    let place = (!app.config.results_prefix.is_empty()).then(|| Place {
        bucket: source.object.bucket.clone(),
        prefix: format!("{}{}/", app.config.results_prefix, ids.job_id),
    });
    let first_line = from.map_or(1, |c| c.line);
    let mut walk = Walk {
        app,
        pool: &ids.user_pool_id,
        statuses,
        failures: CallFailures::new(
            app,
            place.as_ref(),
            first_line,
            from.and_then(|c| c.failed_at),
        ),
        pacer: Pacer::per_second(app.config.groups_rps),
        deadline,
        line_offset: source.line_offset,
        progressed: false,
    };
    let walked = walk.run(&source, from).await;
    let mut failures = walk.failures;
    let (mut cursor, end) = match walked {
        Ok(walked) => walked,
        Err(error) => {
            failures.abort().await;
            return Err(error);
        }
    };
    let first_of_call = std::mem::take(&mut failures.first);
    if deadline.work(failures.finish()).await? {
        cursor.failed_at = Some(first_line);
    }
    tracing::info!(
        user_pool_id = ids.user_pool_id,
        job_id = ids.job_id,
        line = cursor.line,
        added = cursor.added,
        failed = cursor.failed,
        calls = cursor.calls,
        done = end == End::Done,
        "group memberships added"
    );
    if end == End::Later {
        return Ok(json!({"Done": false, "From": cursor.to_json()}));
    }
    let first = match &place {
        Some(place) => {
            deadline
                .work(failed::join(app, place, cursor.failed_at))
                .await?
        }
        None => first_of_call,
    };
    let groups = json!({
        "Added": cursor.added,
        "Failed": cursor.failed,
        "First": first.iter().map(Failure::to_json).collect::<Vec<_>>(),
    });
    publish_added(app, deadline, &job, &source, groups.clone()).await?;
    if let Some(metrics) = &app.metrics {
        emit::metrics::groups_added(metrics, &ids.user_pool_id, cursor.added);
    }
    Ok(json!({"Done": true, "Groups": groups}))
}

/// `User Import Groups Added`; not published, the call fails retryably
/// (a retried last call converges).
async fn publish_added(
    app: &App,
    deadline: Deadline,
    job: &ImportJob,
    source: &SourceRows,
    groups: Value,
) -> Result<(), ImportError> {
    let event = emit::groups_added(
        job,
        app.config.emit_presigned_url.into(),
        &source.object,
        source.part.as_ref(),
        groups,
    );
    let published = deadline.publish(1, emit::publish(app, &[event])).await;
    published.into_iter().next().unwrap_or(Ok(()))
}

/// What a call checks before any membership: the job terminal (else the
/// retryable `ImportNotFinished`), the object the job's own, and the job's
/// log from the cursor's line on (on the first call, complete or past
/// `Track`'s grace).
async fn checked(
    app: &App,
    ids: &JobRef,
    request: &AddToGroups,
    from: Option<Cursor>,
) -> Result<(ImportJob, SourceRows, Statuses), ImportError> {
    let job = app.cognito().describe_job(ids).await?;
    if !track::is_terminal(&job) {
        return Err(not_finished(ids, &job, "has not finished"));
    }
    let source = source_rows(app, &job, ids, request).await?;
    let first_line = from.map_or(1, |c| c.line);
    let statuses = read_statuses(app, &job, ids, first_line).await?;
    if from.is_none() && log_behind(&job, &statuses, SystemTime::now()) {
        return Err(not_finished(
            ids,
            &job,
            "is finished, but its log is still behind its counts",
        ));
    }
    Ok((job, source, statuses))
}

fn not_finished(ids: &JobRef, job: &ImportJob, what: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ImportNotFinished,
        format!(
            "AddToGroups: job {} of pool {} ({}) {what}; the memberships are added once it \
             has; call again later",
            ids.job_id,
            ids.user_pool_id,
            job.status.as_deref().unwrap_or("no status")
        ),
    )
}

/// The job's rows in its source: the checked object, the part (and where
/// its rows are) when the job imported one.
#[derive(Clone, Debug, PartialEq)]
struct SourceRows {
    object: ObjectRef,
    part: Option<PartRef>,
    /// The source's data row before the job's first (a part's `FirstLine -
    /// 1`): the job's line `n` is the source's `n + line_offset`.
    line_offset: u64,
    slice: Option<Slice>,
}

/// The object checked as `Track` checks it (SPEC section 16): a different
/// object is the permanent `ObjectMismatch`, a gone one `ObjectNotFound`.
async fn source_rows(
    app: &App,
    job: &ImportJob,
    ids: &JobRef,
    request: &AddToGroups,
) -> Result<SourceRows, ImportError> {
    let source = source::check(app, job, ids, &request.object, request.part.as_ref()).await?;
    let object = match &source {
        Source::Own { object, .. } => object.clone(),
        Source::Refused(error) => return Err(refused(error)),
    };
    let tracked = part::of_job(app, job, &ids.user_pool_id, Some(&source), request.part).await?;
    let Some(tracked) = tracked else {
        return Ok(SourceRows {
            object,
            part: None,
            line_offset: 0,
            slice: None,
        });
    };
    match tracked.view.slice {
        Some(slice) => Ok(SourceRows {
            object,
            part: Some(tracked.part),
            line_offset: tracked.view.offset,
            slice: Some(slice),
        }),
        None => Err(ImportError::new(
            ErrorKind::ObjectNotFound,
            format!(
                "{object}: the plan of its parts could not be read or made again from it, so \
                 part {} of {}'s rows cannot be found; no membership was added",
                tracked.part.number, tracked.part.count
            ),
        )),
    }
}

/// `Track`'s refusal, worded for the groups.
fn refused(error: &ImportError) -> ImportError {
    let message = error.message.replace(
        "failed.csv and report.csv were not written",
        "no membership was added",
    );
    ImportError::new(error.kind, format!("AddToGroups: {message}"))
}

/// Every per-user line of the job's log, from the cursor's line on.
async fn read_statuses(
    app: &App,
    job: &ImportJob,
    ids: &JobRef,
    first_line: u64,
) -> Result<Statuses, ImportError> {
    let pool_name = app.cognito().pool_name(&ids.user_pool_id).await?;
    let logs = LogLocation::of(job, &pool_name);
    let mut statuses = Statuses::from_line(first_line);
    log::each_message(
        app,
        &logs.group,
        &logs.stream,
        log::EVERY_USER_PATTERN,
        |message| {
            if let Some((line, status)) = log::parse_status(message) {
                statuses.set(line, status);
            }
        },
    )
    .await?;
    Ok(statuses)
}

/// Logs arrive late: within `Track`'s grace after `CompletionDate`, a log
/// with fewer lines than the job has rows is waited for, so that no row is
/// recorded as without a line only because its line is late.
fn log_behind(job: &ImportJob, statuses: &Statuses, now: SystemTime) -> bool {
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    let rows = count(job.imported_users) + count(job.skipped_users) + count(job.failed_users);
    if statuses.logged() >= rows {
        return false;
    }
    let Some(completed) = job
        .completion_date
        .and_then(|d| SystemTime::try_from(d).ok())
    else {
        return false;
    };
    now.duration_since(completed)
        .map_or(true, |elapsed| elapsed < LOG_GRACE)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Every row is done.
    Done,
    /// Stopped before a row (or a row's group): the cursor says where.
    Later,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Next,
    Stop,
    /// The header has no `cognito:username` or `cognito:groups`: nothing
    /// to add.
    NoGroups,
}

/// One call's walk over the rows.
struct Walk<'a> {
    app: &'a App,
    pool: &'a str,
    statuses: Statuses,
    failures: CallFailures<'a>,
    pacer: Pacer,
    deadline: Deadline,
    line_offset: u64,
    /// A row (or a group of one) was done in this call.
    progressed: bool,
}

impl Walk<'_> {
    async fn run(
        &mut self,
        source: &SourceRows,
        from: Option<Cursor>,
    ) -> Result<(Cursor, End), ImportError> {
        let opened = match from {
            Some(cursor) => self.resume(source, cursor).await?,
            None => self.begin(source).await?,
        };
        let Some((mut cursor, mut span, header_first)) = opened else {
            // No user or no groups column: nothing to add.
            return Ok((Cursor::default(), End::Done));
        };
        let object = &source.object;
        let mut body = match span.next_window() {
            Some((first, end)) => open(self.app, object, first, end).await?,
            None => ByteStream::from_static(b""),
        };
        let mut walk = RowWalk::new(if header_first { 0 } else { cursor.line }, cursor.offset);
        loop {
            while let Some(row) = walk.next_row() {
                match self.row(&mut cursor, row).await? {
                    Flow::Next => {}
                    Flow::Stop => return Ok((cursor, End::Later)),
                    Flow::NoGroups => return Ok((cursor, End::Done)),
                }
            }
            let next = match next_chunk(self.app, &mut body, object).await {
                Ok(Some(chunk)) => {
                    span.received(chunk.len());
                    walk.feed(&chunk);
                    continue;
                }
                Ok(None) => match span.next_window() {
                    Some((first, end)) => open(self.app, object, first, end).await,
                    None => break,
                },
                Err(error) => Err(error),
            };
            match next {
                Ok(next) => body = next,
                // What was done stays done: the next call reads on from here.
                Err(error) if self.progressed => {
                    tracing::warn!(error = %error, "the source could not be read on; stopping early");
                    return Ok((cursor, End::Later));
                }
                Err(error) => return Err(error),
            }
        }
        if let Some(row) = walk.last_row() {
            if self.row(&mut cursor, row).await? == Flow::Stop {
                return Ok((cursor, End::Later));
            }
        }
        Ok((cursor, End::Done))
    }

    /// The first call: a part's header from its plan (or the source's
    /// first bytes) and its rows' range; a whole file from its first byte,
    /// its header the first row (`true`).
    async fn begin(
        &self,
        source: &SourceRows,
    ) -> Result<Option<(Cursor, Span, bool)>, ImportError> {
        let app = self.app;
        let object = &source.object;
        let Some(slice) = &source.slice else {
            return Ok(Some((Cursor::default(), Span::new(0, None), true)));
        };
        let header = match &slice.header {
            Some(header) => header.as_bytes().to_vec(),
            None => collect(app, object, open(app, object, 0, slice.header_bytes).await?).await?,
        };
        let Some(columns) = rows::columns(&header) else {
            return Ok(None);
        };
        let cursor = Cursor {
            line: 1,
            offset: slice.first_byte,
            columns,
            ..Cursor::default()
        };
        let span = Span::new(slice.first_byte, Some(slice.end_byte));
        Ok(Some((cursor, span, false)))
    }

    /// A later call: the rows from the cursor's byte on.
    async fn resume(
        &self,
        source: &SourceRows,
        cursor: Cursor,
    ) -> Result<Option<(Cursor, Span, bool)>, ImportError> {
        let end = source.slice.as_ref().map(|s| s.end_byte);
        let span = Span::new(cursor.offset, end);
        Ok(Some((cursor, span, false)))
    }

    async fn row(&mut self, cursor: &mut Cursor, row: Row) -> Result<Flow, ImportError> {
        let length = row.bytes.len() as u64;
        if row.line == 0 {
            // A whole file's header: the columns, and the first row after it.
            let Some(columns) = rows::columns(&row.bytes) else {
                return Ok(Flow::NoGroups);
            };
            *cursor = Cursor {
                line: 1,
                offset: length,
                columns,
                ..Cursor::default()
            };
            return Ok(Flow::Next);
        }
        let (username, groups) = rows::user_and_groups(&row.bytes, cursor.columns);
        let refusal = match self.statuses.get(row.line) {
            Logged::Failed => None,
            _ if groups.is_empty() => None,
            Logged::Nothing => Some(NO_LINE),
            Logged::Exists if username.is_empty() => Some(NO_USERNAME),
            Logged::Exists => {
                for (index, group) in pending_of(&groups, cursor.group) {
                    if self.add(cursor, &row, &username, group).await? == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                    cursor.group = index as u64 + 1;
                }
                None
            }
        };
        if let Some(reason) = refusal {
            for (_, group) in pending_of(&groups, cursor.group) {
                self.record(cursor, &row, &username, group, reason.to_string())
                    .await?;
            }
        }
        cursor.next_row(length);
        self.progressed = true;
        Ok(Flow::Next)
    }

    /// One membership, paced; `Stop` before the deadline or when Cognito
    /// asks to wait (the cursor then points at this membership).
    async fn add(
        &mut self,
        cursor: &mut Cursor,
        row: &Row,
        username: &str,
        group: &str,
    ) -> Result<Flow, ImportError> {
        self.pacer.ready().await;
        if self
            .deadline
            .work_left()
            .is_some_and(|left| left < STOP_MARGIN)
        {
            return Ok(Flow::Stop);
        }
        cursor.calls += 1;
        let cognito = self.app.cognito();
        let call = cognito.add_user_to_group(self.pool, username, group);
        let membership = match self.deadline.work_left() {
            None => call.await?,
            Some(left) => tokio::time::timeout(left, call)
                .await
                .unwrap_or(Ok(Membership::Later(out_of_time())))?,
        };
        match membership {
            Membership::Added => cursor.added += 1,
            Membership::Refused(reason) => {
                self.record(cursor, row, username, group, reason).await?
            }
            Membership::Later(error) => {
                tracing::warn!(error = %error, line = row.line, "stopping early; the next call goes on from here");
                return Ok(Flow::Stop);
            }
        }
        self.progressed = true;
        Ok(Flow::Next)
    }

    async fn record(
        &mut self,
        cursor: &mut Cursor,
        row: &Row,
        username: &str,
        group: &str,
        reason: String,
    ) -> Result<(), ImportError> {
        cursor.failed += 1;
        self.failures
            .record(Failure {
                line: row.line + self.line_offset,
                username: username.to_string(),
                group: group.to_string(),
                reason,
            })
            .await
    }
}

fn pending_of(groups: &[String], done: u64) -> impl Iterator<Item = (usize, &String)> {
    groups
        .iter()
        .enumerate()
        .skip(usize::try_from(done).unwrap_or(usize::MAX))
}

fn out_of_time() -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        "AdminAddUserToGroup did not answer before the Lambda deadline",
    )
}

/// The rows' bytes are read a window at a time: a call that stops early
/// (the deadline, throttling) has asked S3 for at most one window it did not
/// use, so a job's calls read its file about once, however many they are.
const WINDOW_BYTES: u64 = 256 * 1024;

/// The bytes `next..end` still to read (`end`: the object's end when
/// `None`), a window at a time.
struct Span {
    next: u64,
    end: Option<u64>,
    /// The window asked for last, and the bytes it has brought so far: a
    /// window that brings fewer ended at the object's end.
    asked: u64,
    got: u64,
}

impl Span {
    fn new(first: u64, end: Option<u64>) -> Span {
        Span {
            next: first,
            end,
            asked: 0,
            got: 0,
        }
    }

    fn received(&mut self, bytes: usize) {
        self.got += bytes as u64;
    }

    /// The next window, `(first, end)`; `None` once the span is read.
    fn next_window(&mut self) -> Option<(u64, u64)> {
        let short = self.got < self.asked;
        let at_end = self.end.is_some_and(|end| self.next >= end);
        if short || at_end {
            return None;
        }
        let stop = self.next.saturating_add(WINDOW_BYTES);
        let stop = self.end.map_or(stop, |end| end.min(stop));
        let first = self.next;
        self.next = stop;
        self.asked = stop - first;
        self.got = 0;
        Some((first, stop))
    }
}

/// Bytes `first..end` of the pinned object (fewer at its end). Gone or
/// replaced since the check: the permanent `ObjectNotFound`.
async fn open(
    app: &App,
    object: &ObjectRef,
    first: u64,
    end: u64,
) -> Result<ByteStream, ImportError> {
    let read = app.s3().read_pinned_from(object, first, end).await;
    match read {
        Ok(Some(body)) => Ok(body),
        // Nothing from there on: the rows ended at the cursor.
        Ok(None) => Ok(ByteStream::from_static(b"")),
        Err(ReadFailure::Gone | ReadFailure::Replaced) => Err(ImportError::new(
            ErrorKind::ObjectNotFound,
            format!("{object} was deleted or replaced since the import; no more memberships can be read from it"),
        )),
        Err(ReadFailure::Failed(error)) => Err(error),
    }
}

/// The next bytes; a body that stalls longer than one attempt's timeout is
/// retryable.
async fn next_chunk(
    app: &App,
    body: &mut ByteStream,
    object: &ObjectRef,
) -> Result<Option<bytes::Bytes>, ImportError> {
    let unavailable = |why: String| {
        ImportError::new(
            ErrorKind::ServiceUnavailable,
            format!("GetObject {object}: {why}; it will be retried"),
        )
    };
    match tokio::time::timeout(app.config.timeouts.attempt, body.next()).await {
        Err(_) => Err(unavailable("the body stalled".into())),
        Ok(None) => Ok(None),
        Ok(Some(Ok(chunk))) => Ok(Some(chunk)),
        Ok(Some(Err(error))) => Err(unavailable(format!("the body broke off ({error})"))),
    }
}

async fn collect(
    app: &App,
    object: &ObjectRef,
    mut body: ByteStream,
) -> Result<Vec<u8>, ImportError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = next_chunk(app, &mut body, object).await? {
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_span_is_read_a_window_at_a_time_until_its_end_or_a_short_window() {
        let mut span = Span::new(100, Some(100 + WINDOW_BYTES + 10));
        assert_eq!(span.next_window(), Some((100, 100 + WINDOW_BYTES)));
        span.received(WINDOW_BYTES as usize);
        let last = 100 + WINDOW_BYTES + 10;
        assert_eq!(span.next_window(), Some((100 + WINDOW_BYTES, last)));
        span.received(10);
        assert_eq!(span.next_window(), None);
        // To the object's end: a window that brings less was the last.
        let mut span = Span::new(0, None);
        assert_eq!(span.next_window(), Some((0, WINDOW_BYTES)));
        span.received(5);
        assert_eq!(span.next_window(), None);
    }

    use super::*;
    use crate::track::results::log::RowStatus;
    use aws_sdk_cognitoidentityprovider::primitives::DateTime;

    #[test]
    fn a_log_behind_the_jobs_rows_is_waited_for_within_the_grace() {
        let now = SystemTime::now();
        let job = |secs_ago: u64| ImportJob {
            imported_users: 2,
            skipped_users: 1,
            failed_users: 0,
            completion_date: Some(DateTime::from(now - Duration::from_secs(secs_ago))),
            ..ImportJob::default()
        };
        let mut statuses = Statuses::from_line(1);
        statuses.set(1, RowStatus::Succeeded);
        statuses.set(2, RowStatus::Skipped);
        assert!(log_behind(&job(10), &statuses, now));
        assert!(!log_behind(&job(301), &statuses, now));
        statuses.set(3, RowStatus::Succeeded);
        assert!(!log_behind(&job(10), &statuses, now));
    }
}
