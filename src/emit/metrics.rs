//! CloudWatch metrics in the embedded metric format (EMF): one JSON line on
//! stdout per record and per completed `Track`, which CloudWatch Logs turns
//! into metrics (no API call, no IAM). A line holds one directive per metric
//! (each metric has its own dimensions), every metric and dimension named
//! there as a top-level member, and an integer millisecond `Timestamp`.
//!
//! Written with `serde_json` by hand rather than through a metrics crate:
//! the shapes are fixed and few, and the crates measured cost more than
//! they would save here (docs/operations.md, "Watching it run").
//!
//! Writing metrics never fails an invocation: a line that cannot be written
//! is dropped. No line carries a pre-signed URL or any message text.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::emit::outcome::{Outcome, RecordOutcome};
use crate::error::ErrorKind;
use crate::model::ImportJob;
use crate::trigger::Delivery;

/// Where the lines go: stdout in Lambda; a callback in tests and the local
/// runner, to read them back.
#[derive(Clone)]
pub enum Sink {
    Stdout,
    Lines(Arc<dyn Fn(&str) + Send + Sync>),
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sink::Stdout => "Stdout",
            Sink::Lines(_) => "Lines",
        })
    }
}

/// The metrics writer: built when `METRICS_NAMESPACE` is not empty.
#[derive(Clone, Debug)]
pub struct Metrics {
    namespace: String,
    /// `METRICS_POOL_DIMENSION`: every metric also by `UserPoolId`.
    pool_dimension: bool,
    sink: Sink,
    /// The pools a Cognito call succeeded for, the only values the
    /// `UserPoolId` dimension takes (SPEC section 16): every dimension value
    /// is a metric of its own, so an ID that only metadata named must never
    /// become one. Shared by the clones of one `App`, kept while the
    /// execution environment lives.
    known_pools: Arc<Mutex<HashSet<String>>>,
}

/// A user pool quota of an account is 1,000 pools; more is no real pool.
const MAX_KNOWN_POOLS: usize = 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Count,
    Seconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
        }
    }
}

/// One EMF line being built.
struct Line<'a> {
    metrics: &'a Metrics,
    pool: Option<&'a str>,
    directives: Vec<Value>,
    members: Map<String, Value>,
}

impl<'a> Line<'a> {
    fn new(metrics: &'a Metrics, pool: Option<&'a str>) -> Line<'a> {
        Line {
            metrics,
            pool: pool.filter(|_| metrics.pool_dimension),
            directives: Vec::new(),
            members: Map::new(),
        }
    }

    /// `name` = `value` in `unit`, by `dimensions` (and by pool too, as more
    /// dimension sets, when asked for and known).
    fn add(&mut self, name: &str, unit: Unit, value: Value, dimensions: &[(&str, &str)]) {
        let keys: Vec<&str> = dimensions.iter().map(|(key, _)| *key).collect();
        self.add_sets(name, unit, value, dimensions, vec![keys]);
    }

    /// A count by `dimension` and in total (one more, empty, dimension set:
    /// what the dashboard's totals and the alarms read).
    fn count_by_and_total(&mut self, name: &str, dimension: (&str, &str)) {
        let sets = vec![vec![dimension.0], vec![]];
        self.add_sets(name, Unit::Count, json!(1), &[dimension], sets);
    }

    fn add_sets(
        &mut self,
        name: &str,
        unit: Unit,
        value: Value,
        dimensions: &[(&str, &str)],
        base: Vec<Vec<&str>>,
    ) {
        let mut sets: Vec<Value> = base.iter().map(|keys| json!(keys)).collect();
        if let Some(pool) = self.pool {
            for keys in &base {
                let mut with_pool = keys.clone();
                with_pool.push("UserPoolId");
                sets.push(json!(with_pool));
            }
            self.members.insert("UserPoolId".into(), pool.into());
        }
        for (key, value) in dimensions {
            self.members.insert((*key).into(), (*value).into());
        }
        self.members.insert(name.into(), value);
        self.directives.push(json!({
            "Namespace": self.metrics.namespace,
            "Dimensions": sets,
            "Metrics": [{"Name": name, "Unit": unit.as_str()}],
        }));
    }

    fn count(&mut self, name: &str, dimensions: &[(&str, &str)]) {
        self.add(name, Unit::Count, json!(1), dimensions);
    }

    fn write(self) {
        if self.directives.is_empty() {
            return;
        }
        let mut line = self.members;
        line.insert(
            "_aws".into(),
            json!({"Timestamp": now_ms(), "CloudWatchMetrics": self.directives}),
        );
        self.metrics.sink.write(&Value::Object(line).to_string());
    }
}

impl Sink {
    fn write(&self, line: &str) {
        match self {
            // One write of the whole line, so that it never interleaves
            // with a log line.
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(format!("{line}\n").as_bytes());
                let _ = out.flush();
            }
            Sink::Lines(callback) => callback(line),
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Metrics {
    pub fn new(namespace: &str, pool_dimension: bool, sink: Sink) -> Metrics {
        Metrics {
            namespace: namespace.to_string(),
            pool_dimension,
            sink,
            known_pools: Arc::default(),
        }
    }

    /// A Cognito call for `pool` succeeded: Cognito knows it, and every call
    /// is made only for a pool that passed the allowlist.
    pub fn pool_known(&self, pool: &str) {
        if !self.pool_dimension {
            return;
        }
        let mut known = self.known_pools.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() < MAX_KNOWN_POOLS {
            known.insert(pool.to_string());
        }
    }

    /// The record's pool as a dimension value: only one Cognito answered
    /// for (the record's own job record, or an earlier call), and never that
    /// of a record refused by the allowlist.
    fn pool_of<'r>(&self, record: &'r RecordOutcome) -> Option<&'r str> {
        let pool = record.known.user_pool_id.as_deref()?;
        if !self.pool_dimension
            || record
                .error()
                .is_some_and(|e| e.kind == ErrorKind::UserPoolNotAllowed)
        {
            return None;
        }
        if record.job.is_some() {
            self.pool_known(pool);
        }
        let known = self.known_pools.lock().unwrap_or_else(|p| p.into_inner());
        known.contains(pool).then_some(pool)
    }

    /// A record's end: `Records` by `Outcome`; `ImportsStarted` when it
    /// started a job (a part's too); `ImportsFailed` or `RetryableFailures`
    /// by `ErrorType` and in total; `SlotWaits` when it waits for the import slot; for a
    /// queued drop whose first job started, `QueueWaitSeconds`.
    pub fn record(&self, record: &RecordOutcome, delivery: Option<&Delivery>) {
        let mut line = Line::new(self, self.pool_of(record));
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
    pub fn completed(&self, job: &ImportJob) {
        // Cognito's own record of the job: its pool is one Cognito knows.
        if let Some(pool) = &job.user_pool_id {
            self.pool_known(pool);
        }
        let mut line = Line::new(self, job.user_pool_id.as_deref());
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
}

/// One metric of an EMF line, read back (the local runner prints them, the
/// tests check them): its first dimension set.
impl Metrics {
    /// SPEC section 17: the memberships the last `AddToGroups` call of a
    /// job counts as added (the job's pool is one Cognito answered for).
    pub fn groups_added(&self, pool: &str, added: u64) {
        self.pool_known(pool);
        let mut line = Line::new(self, Some(pool));
        line.add("GroupMembershipsAdded", Unit::Count, json!(added), &[]);
        line.write();
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub namespace: String,
    pub name: String,
    pub unit: String,
    /// `(key, value)` of the metric's first dimension set.
    pub dimensions: Vec<(String, String)>,
    pub value: Value,
}

/// Every metric an EMF line holds.
pub fn read_back(line: &Value) -> Vec<Reading> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let directives = line["_aws"]["CloudWatchMetrics"].as_array();
    let mut out = Vec::new();
    for directive in directives.into_iter().flatten() {
        let dimensions: Vec<(String, String)> = directive["Dimensions"][0]
            .as_array()
            .into_iter()
            .flatten()
            .map(|key| (text(key), text(&line[text(key)])))
            .collect();
        for metric in directive["Metrics"].as_array().into_iter().flatten() {
            let name = text(&metric["Name"]);
            out.push(Reading {
                namespace: text(&directive["Namespace"]),
                unit: text(&metric["Unit"]),
                value: line[&name].clone(),
                dimensions: dimensions.clone(),
                name,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ImportError;
    use crate::model::{Known, ObjectRef};

    fn capture(pool_dimension: bool) -> (Metrics, Arc<Mutex<Vec<Value>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink_lines = Arc::clone(&lines);
        let sink = Sink::Lines(Arc::new(move |line: &str| {
            sink_lines
                .lock()
                .unwrap()
                .push(serde_json::from_str(line).unwrap());
        }));
        (Metrics::new("Ns", pool_dimension, sink), lines)
    }

    fn record(outcome: Outcome) -> RecordOutcome {
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
        let (metrics, lines) = capture(false);
        metrics.record(&record(Outcome::Started), None);
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
        let (metrics, lines) = capture(true);
        metrics.pool_known("us-east-1_P1");
        let busy = ImportError::new(ErrorKind::ImportSlotBusy, "busy");
        metrics.record(&record(Outcome::Failed(busy)), None);
        let expired = ImportError::new(ErrorKind::ImportJobExpired, "gone");
        metrics.record(&record(Outcome::Failed(expired)), None);
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
        let (metrics, lines) = capture(true);
        let gone = ImportError::new(ErrorKind::ResourceNotFound, "no such pool");
        metrics.record(&record(Outcome::Failed(gone)), None);
        // Its own job record: Cognito knows the pool from now on.
        let started = RecordOutcome {
            job: Some(ImportJob::default()),
            ..record(Outcome::Started)
        };
        metrics.record(&started, None);
        let busy = ImportError::new(ErrorKind::ImportSlotBusy, "busy");
        metrics.record(&record(Outcome::Failed(busy)), None);
        let refused = ImportError::new(ErrorKind::UserPoolNotAllowed, "not allowed");
        metrics.record(&record(Outcome::Failed(refused)), None);
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
    fn known_pools_are_bounded_and_kept_only_with_the_dimension() {
        let (off, _) = capture(false);
        off.pool_known("us-east-1_P1");
        assert!(off.known_pools.lock().unwrap().is_empty());
        let (on, _) = capture(true);
        for n in 0..MAX_KNOWN_POOLS + 5 {
            on.pool_known(&format!("us-east-1_P{n}"));
        }
        assert_eq!(on.known_pools.lock().unwrap().len(), MAX_KNOWN_POOLS);
    }

    #[test]
    fn a_queued_start_says_how_long_the_drop_waited() {
        let (metrics, lines) = capture(false);
        let delivery = Delivery {
            sent_timestamp_ms: Some(now_ms() - 90_000),
            ..Delivery::default()
        };
        metrics.record(&record(Outcome::Started), Some(&delivery));
        let waited = lines.lock().unwrap()[0]["QueueWaitSeconds"]
            .as_f64()
            .unwrap();
        assert!((90.0..91.0).contains(&waited), "{waited}");
    }

    #[test]
    fn the_memberships_added_are_one_count() {
        let (metrics, lines) = capture(true);
        metrics.groups_added("us-east-1_P1", 42);
        let lines = lines.lock().unwrap();
        let readings = read_back(&lines[0]);
        assert_eq!(readings.len(), 1);
        assert_eq!(readings[0].name, "GroupMembershipsAdded");
        assert_eq!(readings[0].unit, "Count");
        assert_eq!(readings[0].value, json!(42));
        assert_eq!(lines[0]["UserPoolId"], "us-east-1_P1");
    }
}
