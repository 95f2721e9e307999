//! SPEC section 12: what became of each user. For a finished job with users
//! that failed or were skipped, `Track` reads Cognito's per-user lines from
//! the job's log stream and sums them up for the Completed event; given the
//! source object, it also writes the failed rows back as a file to fix and
//! drop again, and a report of every user that did not make it.

mod files;
pub mod log;
pub mod upload;

/// A cell of a CSV the function writes, safe for a spreadsheet (SPEC
/// section 16); the groups' failures file uses it too (section 17).
pub(crate) use files::quoted;

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::error::{ErrorKind, ImportError};
use crate::model::{ImportJob, LogLocation};
use crate::track::source::Source;
use files::Files;
use log::{Status, UserLine};

/// Cognito's log lines arrive after the job's counts: how long `Track` waits
/// for them after `CompletionDate` before it reports what it has.
pub const LOG_GRACE: Duration = Duration::from_secs(5 * 60);
/// At most this many reasons, most frequent first.
const MAX_REASONS: usize = 10;
/// The first lines by line number.
const MAX_FIRST: usize = 20;

/// Where a part's rows are in its source (SPEC section 14): Cognito numbers
/// a part's rows from 1, so its line `n` is the source's data row
/// `n + offset`, and the part's file is the header plus `first_byte..end_byte`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartView {
    /// The job imported a part of its source (not the whole file).
    pub is_part: bool,
    /// The source's data row before the part's first (`FirstLine - 1`).
    pub offset: u64,
    /// Where the part's rows are, when its plan is known.
    pub slice: Option<Slice>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slice {
    pub header_bytes: u64,
    /// The header line, from the plan (else it is read from the source).
    pub header: Option<String>,
    pub first_byte: u64,
    pub end_byte: u64,
}

/// The `Results` of the Completed event, or not yet: the log is still behind
/// the job's counts.
#[derive(Clone, Debug, PartialEq)]
pub enum Results {
    NotYet,
    Ready(Value),
}

/// Reads the log (and, given the source object and a `RESULTS_PREFIX`, writes
/// the two files) for a terminal job with `FailedUsers + SkippedUsers > 0`.
pub async fn collect(
    app: &App,
    job: &ImportJob,
    logs: &LogLocation,
    source: Option<&Source>,
    part: PartView,
) -> Result<Results, ImportError> {
    let expected = users_not_imported(job);
    let lines = log::read(app, &logs.group, &logs.stream, expected).await?;
    let logged = match lines.len() as u64 >= expected {
        true => Logged::All,
        false => Logged::Partly,
    };
    if logged == Logged::Partly && still_arriving(job, SystemTime::now()) {
        tracing::info!(
            logged = lines.len(),
            expected,
            "the job's log is behind its counts; tracking again later"
        );
        return Ok(Results::NotYet);
    }
    let mut results = summary(&lines, logged, part.offset);
    let job_id = job.job_id.as_deref().unwrap_or_default();
    let source = match source.filter(|_| !app.config.results_prefix.is_empty()) {
        None => None,
        Some(Source::Refused(error)) => {
            tracing::warn!(error = %error, "results files not written");
            results.insert("FilesError".into(), error.to_json());
            None
        }
        Some(Source::Own { object, .. }) => Some(object),
    };
    if let Some(source) = source {
        let files = match (part.is_part, &part.slice) {
            // Without its plan a part's rows cannot be found in the source.
            (true, None) => Files::SourceGone(ImportError::new(
                ErrorKind::ObjectNotFound,
                format!(
                    "{source}: the plan of its parts could not be read or made again from it: \
                     failed.csv and report.csv were not written"
                ),
            )),
            _ => files::write(app, source, job_id, &lines, part).await?,
        };
        match files {
            Files::Written(written) => {
                let bucket = &written.bucket;
                results.insert(
                    "FailedRows".into(),
                    json!({"Bucket": bucket, "Key": written.failed_rows}),
                );
                results.insert(
                    "Report".into(),
                    json!({"Bucket": bucket, "Key": written.report}),
                );
            }
            Files::SourceGone(error) => {
                results.insert("FilesError".into(), error.to_json());
            }
        }
    }
    Ok(Results::Ready(Value::Object(results)))
}

/// `FailedUsers + SkippedUsers`: how many lines the log will hold.
pub fn users_not_imported(job: &ImportJob) -> u64 {
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    count(job.failed_users).saturating_add(count(job.skipped_users))
}

/// Within [`LOG_GRACE`] of `CompletionDate` (a job without one has none).
fn still_arriving(job: &ImportJob, now: SystemTime) -> bool {
    let Some(completed) = job.completion_date else {
        return false;
    };
    let Ok(completed) = SystemTime::try_from(completed) else {
        return false;
    };
    match now.duration_since(completed) {
        Ok(elapsed) => elapsed < LOG_GRACE,
        // Completed "in the future": clocks differ; the log is surely late.
        Err(_) => true,
    }
}

/// Whether the log held a line for every user the job's counts name
/// (`Complete` in the results).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Logged {
    All,
    Partly,
}

/// Counts from the log, reasons most frequent first, the first lines.
fn summary(lines: &[UserLine], logged: Logged, offset: u64) -> Map<String, Value> {
    let count = |status| lines.iter().filter(|l| l.status == status).count();
    let mut reasons: HashMap<(Status, &str), u64> = HashMap::new();
    for line in lines {
        *reasons.entry((line.status, &*line.reason)).or_default() += 1;
    }
    let mut reasons: Vec<((Status, &str), u64)> = reasons.into_iter().collect();
    reasons.sort_by(|(a, a_count), (b, b_count)| b_count.cmp(a_count).then(a.cmp(b)));
    let reasons: Vec<Value> = reasons
        .into_iter()
        .take(MAX_REASONS)
        .map(|((status, reason), count)| {
            json!({"Status": status.as_str(), "Reason": reason, "Count": count})
        })
        .collect();
    let first: Vec<Value> = lines
        .iter()
        .take(MAX_FIRST)
        .map(
            |l| json!({"Line": l.line + offset, "Status": l.status.as_str(), "Reason": &*l.reason}),
        )
        .collect();
    let mut map = Map::new();
    map.insert("Failed".into(), count(Status::Failed).into());
    map.insert("Skipped".into(), count(Status::Skipped).into());
    map.insert("Complete".into(), (logged == Logged::All).into());
    map.insert("Reasons".into(), reasons.into());
    map.insert("First".into(), first.into());
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::primitives::DateTime;

    fn line(line: u64, status: Status, reason: &str) -> UserLine {
        UserLine {
            line,
            status,
            reason: reason.into(),
        }
    }

    #[test]
    fn the_summary_counts_ranks_reasons_and_keeps_the_first_twenty() {
        let mut lines = vec![
            line(3, Status::Skipped, "The user already exists."),
            line(9, Status::Skipped, "The user already exists."),
        ];
        lines.extend((10..40).map(|n| line(n, Status::Failed, "No verified attribute.")));
        lines.sort_by_key(|l| l.line);
        let summary = Value::Object(summary(&lines, Logged::All, 0));
        assert_eq!(summary["Failed"], 30);
        assert_eq!(summary["Skipped"], 2);
        assert_eq!(summary["Complete"], true);
        assert_eq!(
            summary["Reasons"],
            json!([
                {"Status": "FAILED", "Reason": "No verified attribute.", "Count": 30},
                {"Status": "SKIPPED", "Reason": "The user already exists.", "Count": 2}
            ])
        );
        let first = summary["First"].as_array().unwrap();
        assert_eq!(first.len(), 20);
        assert_eq!(
            first[0],
            json!({"Line": 3, "Status": "SKIPPED", "Reason": "The user already exists."})
        );
        assert_eq!(first[19]["Line"], 27);
        // A part's lines are the source's: its first row follows `offset`.
        let of_part = Value::Object(super::summary(&lines, Logged::All, 1000));
        assert_eq!(of_part["First"][0]["Line"], 1003);
        assert_eq!(of_part["Reasons"], summary["Reasons"]);
    }

    #[test]
    fn at_most_ten_reasons() {
        let lines: Vec<UserLine> = (1..=15)
            .map(|n| line(n, Status::Failed, &format!("reason {n:02}")))
            .collect();
        let summary = summary(&lines, Logged::Partly, 0);
        assert_eq!(summary["Reasons"].as_array().map(Vec::len), Some(10));
        assert_eq!(summary["Reasons"][0]["Reason"], "reason 01");
    }

    #[test]
    fn logs_are_waited_for_five_minutes_after_completion() {
        let completed_at = |secs_ago: u64| ImportJob {
            completion_date: Some(DateTime::from(
                SystemTime::now() - Duration::from_secs(secs_ago),
            )),
            ..ImportJob::default()
        };
        let now = SystemTime::now();
        assert!(still_arriving(&completed_at(10), now));
        assert!(still_arriving(&completed_at(299), now));
        assert!(!still_arriving(&completed_at(301), now));
        assert!(!still_arriving(&ImportJob::default(), now));
    }

    #[test]
    fn negative_counts_from_a_response_count_as_none() {
        let job = ImportJob {
            failed_users: -5,
            skipped_users: 2,
            ..ImportJob::default()
        };
        assert_eq!(users_not_imported(&job), 2);
    }
}
