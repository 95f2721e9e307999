//! SPEC section 5: the events published to EventBridge, built from what a
//! record knows; the `PutEvents` calls are the adapter's (`aws::events`).

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::aws::events::Entry;
use crate::error::ImportError;
use crate::model::{ImportJob, Known, LogLocation, PartRef, PresignedUrl};

pub const STARTED: &str = "User Import Job Started";
pub const START_FAILED: &str = "User Import Job Start Failed";
pub const COMPLETED: &str = "User Import Job Completed";

/// One event to publish: its detail-type and detail.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub detail_type: &'static str,
    pub detail: Value,
}

/// Whether the record started its job, or found it started by an earlier
/// delivery (the event's `AlreadyStarted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStart {
    StartedNow,
    AlreadyStarted,
}

/// A started (or already started) job, with the object, the mode and, for
/// a part of a drop, the part (SPEC sections 5, 10 and 14).
pub fn started(url: PresignedUrl, job: &ImportJob, known: &Known, start: JobStart) -> Event {
    let mut detail = Map::new();
    detail.insert("UserImportJob".into(), job.to_json(url));
    if let Some(object) = &known.object {
        detail.insert("Object".into(), object.to_json());
    }
    detail.insert(
        "AlreadyStarted".into(),
        (start == JobStart::AlreadyStarted).into(),
    );
    detail.insert("CreatedJob".into(), known.created_job.into());
    if let Some(part) = &known.part {
        detail.insert("Part".into(), part.to_json());
    }
    if let Some(passwords) = &known.passwords {
        detail.insert("Passwords".into(), passwords.to_json());
    }
    Event {
        detail_type: STARTED,
        detail: Value::Object(detail),
    }
}

/// A permanent failure. Create mode's events say `"CreatedJob": true`; an
/// `InvalidCsv` carries the first problems and their count.
pub fn start_failed(error: &ImportError, known: &Known) -> Event {
    let mut detail = Map::new();
    detail.insert("Error".into(), error.to_json());
    if let Some(object) = &known.object {
        detail.insert("Object".into(), object.to_json());
    }
    if let Some(pool) = &known.user_pool_id {
        detail.insert("UserPoolId".into(), pool.clone().into());
    }
    if let Some(job) = &known.job_id {
        detail.insert("JobId".into(), job.clone().into());
    }
    if known.created_job {
        detail.insert("CreatedJob".into(), true.into());
    }
    if let Some(csv) = &error.csv_problems {
        detail.insert("Problems".into(), json!(csv.first));
        detail.insert("ProblemCount".into(), csv.count.into());
    }
    if let Some(part) = &known.part {
        detail.insert("Part".into(), part.to_json());
    }
    if !error.started_jobs.is_empty() {
        detail.insert("StartedJobs".into(), json!(error.started_jobs));
    }
    Event {
        detail_type: START_FAILED,
        detail: Value::Object(detail),
    }
}

/// What a Completed event holds beside the job record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Completion {
    /// SPEC section 12: what became of the users that did not make it.
    pub results: Option<Value>,
    /// SPEC section 14: the part of a drop this job imported.
    pub part: Option<PartRef>,
    /// SPEC section 14: the whole drop, on the last part's event once every
    /// part's job is terminal.
    pub drop: Option<Value>,
}

/// SPEC sections 11, 12 and 14: a finished job, where its per-user lines
/// are, what they say when some users did not make it, and its part.
pub fn completed(
    url: PresignedUrl,
    job: &ImportJob,
    logs: &LogLocation,
    completion: Completion,
) -> Event {
    let mut detail = Map::new();
    detail.insert("UserImportJob".into(), job.to_json(url));
    detail.insert(
        "Logs".into(),
        json!({"LogGroup": logs.group, "LogStream": logs.stream}),
    );
    if let Some(results) = completion.results {
        detail.insert("Results".into(), results);
    }
    if let Some(part) = completion.part {
        detail.insert("Part".into(), part.to_json());
    }
    if let Some(drop) = completion.drop {
        detail.insert("Drop".into(), drop);
    }
    Event {
        detail_type: COMPLETED,
        detail: Value::Object(detail),
    }
}

/// Publishes `events`, returning one result per event, in order.
pub async fn publish(app: &App, events: &[Event]) -> Vec<Result<(), ImportError>> {
    let entries: Vec<Entry> = events
        .iter()
        .map(|event| Entry {
            detail_type: event.detail_type,
            detail: event.detail.to_string(),
        })
        .collect();
    app.events().publish(&entries).await
}
