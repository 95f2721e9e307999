//! What CloudWatch metrics an invocation records (SPEC section 16): one EMF
//! line per record and per completed `Track`. The lines are written by the
//! writer in `aws::metrics`; this file decides what they hold.

use serde_json::json;

use crate::aws::metrics::{now_ms, Metrics, Unit};
use crate::emit::outcome::{Outcome, RecordOutcome};
use crate::error::ErrorKind;
use crate::model::ImportJob;
use crate::trigger::Delivery;

/// The record's pool as a dimension value: only one Cognito answered
/// for (the record's own job record, or an earlier call), and never that
/// of a record refused by the allowlist.
fn pool_of<'r>(metrics: &Metrics, record: &'r RecordOutcome) -> Option<&'r str> {
    let pool = record.known.user_pool_id.as_deref()?;
    if record
        .error()
        .is_some_and(|e| e.kind == ErrorKind::UserPoolNotAllowed)
    {
        return None;
    }
    if record.job.is_some() {
        metrics.pool_known(pool);
    }
    // Without the pool dimension no pool is ever known.
    metrics.is_known(pool).then_some(pool)
}

/// A record's end: `Records` by `Outcome`; `ImportsStarted` when it
/// started a job (a part's too); `ImportsFailed` or `RetryableFailures`
/// by `ErrorType` and in total; `SlotWaits` when it waits for the import slot; for a
/// queued drop whose first job started, `QueueWaitSeconds`.
pub fn record(metrics: &Metrics, record: &RecordOutcome, delivery: Option<&Delivery>) {
    let mut line = metrics.line(pool_of(metrics, record));
    line.count("Records", &[("Outcome", record.outcome.name())]);
    let error = record.error();
    let started = record.outcome == Outcome::Started
        || error.is_some_and(|e| e.kind == ErrorKind::ImportPartsRemaining);
    if started {
        line.count("ImportsStarted", &[]);
    }
    if let Some(error) = error {
        let name = if error.is_retryable() {
            "RetryableFailures"
        } else {
            "ImportsFailed"
        };
        line.count_by_and_total(name, ("ErrorType", error.error_type()));
        if error.kind == ErrorKind::ImportSlotBusy {
            line.count("SlotWaits", &[]);
        }
    }
    let first_job = record.known.part.is_none_or(|part| part.number == 1);
    let sent = delivery.and_then(|d| d.sent_timestamp_ms);
    if let (true, true, Some(sent)) = (started, first_job, sent) {
        let waited = (now_ms() - sent).max(0) as f64 / 1000.0;
        line.add("QueueWaitSeconds", Unit::Seconds, json!(waited), &[]);
    }
    line.write();
}

/// A Track that emitted a Completed event: `JobsCompleted` by `Status`,
/// the job's user counts, and how long it ran.
pub fn completed(metrics: &Metrics, job: &ImportJob) {
    // Cognito's own record of the job: its pool is one Cognito knows.
    if let Some(pool) = &job.user_pool_id {
        metrics.pool_known(pool);
    }
    let mut line = metrics.line(job.user_pool_id.as_deref());
    let status = job.status.as_deref().unwrap_or_default();
    line.count("JobsCompleted", &[("Status", status)]);
    for (name, users) in [
        ("UsersImported", job.imported_users),
        ("UsersSkipped", job.skipped_users),
        ("UsersFailed", job.failed_users),
    ] {
        line.add(name, Unit::Count, json!(users.max(0)), &[]);
    }
    let ran = job.start_date.zip(job.completion_date).map(|(start, end)| {
        let ms = |d: aws_smithy_types::DateTime| {
            d.secs() as f64 * 1000.0 + f64::from(d.subsec_nanos()) / 1e6
        };
        ((ms(end) - ms(start)) / 1000.0).max(0.0)
    });
    if let Some(seconds) = ran {
        line.add("JobSeconds", Unit::Seconds, json!(seconds), &[]);
    }
    line.write();
}

/// SPEC section 17: the memberships the last `AddToGroups` call of a job
/// counts as added (the job's pool is one Cognito answered for).
pub fn groups_added(metrics: &Metrics, pool: &str, added: u64) {
    metrics.pool_known(pool);
    let mut line = metrics.line(Some(pool));
    line.add("GroupMembershipsAdded", Unit::Count, json!(added), &[]);
    line.write();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use serde_json::Value;

    use crate::aws::metrics::{MetricsOut, PoolDimension};
    use crate::error::ImportError;
    use crate::model::{Known, ObjectRef};

    fn capture(pool_dimension: PoolDimension) -> (Metrics, Arc<Mutex<Vec<Value>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink_lines = Arc::clone(&lines);
        let out = MetricsOut::Lines(Arc::new(move |line: &str| {
            sink_lines
                .lock()
                .unwrap()
                .push(serde_json::from_str(line).unwrap());
        }));
        (Metrics::new("Ns", pool_dimension, out), lines)
    }

    fn record_of(outcome: Outcome) -> RecordOutcome {
        RecordOutcome {
            known: Known {
                user_pool_id: Some("us-east-1_P1".into()),
                ..Known::object(Some(ObjectRef::new("b", "k", None)))
            },
            job: None,
            outcome,
        }
    }

    #[test]
    fn a_started_record_counts_its_outcome_and_start_with_their_own_dimensions() {
        let (metrics, lines) = capture(PoolDimension::Without);
        record(&metrics, &record_of(Outcome::Started), None);
        let line = lines.lock().unwrap()[0].clone();
        assert_eq!(line["Records"], 1);
        assert_eq!(line["Outcome"], "Started");
        assert_eq!(line["ImportsStarted"], 1);
        assert!(line.get("UserPoolId").is_none());
        let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(
            directives[0],
            json!({"Namespace": "Ns", "Dimensions": [["Outcome"]], "Metrics": [{"Name": "Records", "Unit": "Count"}]})
        );
        assert_eq!(directives[1]["Dimensions"], json!([[]]));
        assert!(line["_aws"]["Timestamp"].is_i64());
    }

    #[test]
    fn failures_are_counted_by_type_and_a_busy_slot_as_a_wait() {
        let (metrics, lines) = capture(PoolDimension::ByPool);
        metrics.pool_known("us-east-1_P1");
        let busy = ImportError::new(ErrorKind::ImportSlotBusy, "busy");
        record(&metrics, &record_of(Outcome::Failed(busy)), None);
        let expired = ImportError::new(ErrorKind::ImportJobExpired, "gone");
        record(&metrics, &record_of(Outcome::Failed(expired)), None);
        let lines = lines.lock().unwrap();
        assert_eq!(lines[0]["RetryableFailures"], 1);
        assert_eq!(lines[0]["ErrorType"], "ImportSlotBusy");
        assert_eq!(lines[0]["SlotWaits"], 1);
        assert_eq!(lines[0]["UserPoolId"], "us-east-1_P1");
        assert_eq!(
            lines[0]["_aws"]["CloudWatchMetrics"][1]["Dimensions"],
            json!([
                ["ErrorType"],
                [],
                ["ErrorType", "UserPoolId"],
                ["UserPoolId"]
            ])
        );
        assert_eq!(lines[1]["ImportsFailed"], 1);
        assert!(lines[1].get("RetryableFailures").is_none());
    }

    #[test]
    fn only_a_pool_cognito_answered_for_becomes_a_dimension() {
        let (metrics, lines) = capture(PoolDimension::ByPool);
        let gone = ImportError::new(ErrorKind::ResourceNotFound, "no such pool");
        record(&metrics, &record_of(Outcome::Failed(gone)), None);
        // Its own job record: Cognito knows the pool from now on.
        let started = RecordOutcome {
            job: Some(ImportJob::default()),
            ..record_of(Outcome::Started)
        };
        record(&metrics, &started, None);
        let busy = ImportError::new(ErrorKind::ImportSlotBusy, "busy");
        record(&metrics, &record_of(Outcome::Failed(busy)), None);
        let refused = ImportError::new(ErrorKind::UserPoolNotAllowed, "not allowed");
        record(&metrics, &record_of(Outcome::Failed(refused)), None);
        let pools: Vec<Value> = lines
            .lock()
            .unwrap()
            .iter()
            .map(|line| line.get("UserPoolId").cloned().unwrap_or(Value::Null))
            .collect();
        assert_eq!(
            pools,
            [
                Value::Null,
                json!("us-east-1_P1"),
                json!("us-east-1_P1"),
                Value::Null
            ]
        );
    }

    #[test]
    fn a_queued_start_says_how_long_the_drop_waited() {
        let (metrics, lines) = capture(PoolDimension::Without);
        let delivery = Delivery {
            sent_timestamp_ms: Some(now_ms() - 90_000),
            ..Delivery::default()
        };
        record(&metrics, &record_of(Outcome::Started), Some(&delivery));
        let waited = lines.lock().unwrap()[0]["QueueWaitSeconds"]
            .as_f64()
            .unwrap();
        assert!((90.0..91.0).contains(&waited), "{waited}");
    }

    #[test]
    fn the_memberships_added_are_one_count() {
        let (metrics, lines) = capture(PoolDimension::ByPool);
        groups_added(&metrics, "us-east-1_P1", 42);
        let lines = lines.lock().unwrap();
        let readings = crate::aws::metrics::read_back(&lines[0]);
        assert_eq!(readings.len(), 1);
        assert_eq!(readings[0].name, "GroupMembershipsAdded");
        assert_eq!(readings[0].unit, "Count");
        assert_eq!(readings[0].value, json!(42));
        assert_eq!(lines[0]["UserPoolId"], "us-east-1_P1");
    }
}
