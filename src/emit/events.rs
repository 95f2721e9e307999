//! SPEC section 5: the events published to EventBridge, built from what a
//! record knows; the `PutEvents` calls are the adapter's (`aws::events`).

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::aws::events::Entry;
use crate::error::ImportError;
use crate::model::{ImportJob, Known, LogLocation, ObjectRef, PartRef, PresignedUrl};

pub const STARTED: &str = "User Import Job Started";
pub const START_FAILED: &str = "User Import Job Start Failed";
pub const COMPLETED: &str = "User Import Job Completed";
pub const GROUPS_ADDED: &str = "User Import Groups Added";

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
    if let Some(groups) = known.groups.filter(|g| g.memberships > 0) {
        detail.insert("Groups".into(), json!(groups));
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

/// SPEC section 17: the memberships of a finished job's users are done:
/// `{"UserImportJob", "Object", "Part"?, "Groups": {"Added", "Failed",
/// "First"}}`.
pub fn groups_added(
    job: &ImportJob,
    presigned_url: PresignedUrl,
    object: &ObjectRef,
    part: Option<&PartRef>,
    groups: Value,
) -> Event {
    let mut detail = Map::new();
    detail.insert("UserImportJob".into(), job.to_json(presigned_url));
    detail.insert("Object".into(), object.to_json());
    if let Some(part) = part {
        detail.insert("Part".into(), part.to_json());
    }
    detail.insert("Groups".into(), groups);
    Event {
        detail_type: GROUPS_ADDED,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_added_names_the_job_object_part_and_counts() {
        let job = ImportJob {
            job_id: Some("import-1".into()),
            pre_signed_url: Some("https://secret".into()),
            ..ImportJob::default()
        };
        let object = ObjectRef {
            etag: Some("e1".into()),
            ..ObjectRef::new("b", "k.csv", None)
        };
        let part = PartRef {
            number: 2,
            count: 3,
            first_line: Some(11),
            last_line: Some(20),
        };
        let groups = json!({"Added": 4, "Failed": 1, "First": []});
        let event = groups_added(
            &job,
            PresignedUrl::Omitted,
            &object,
            Some(&part),
            groups.clone(),
        );
        assert_eq!(event.detail_type, "User Import Groups Added");
        assert_eq!(event.detail["UserImportJob"]["JobId"], "import-1");
        assert!(!event.detail.to_string().contains("secret"));
        assert_eq!(
            event.detail["Object"],
            json!({"Bucket": "b", "Key": "k.csv", "ETag": "e1"})
        );
        assert_eq!(event.detail["Part"]["Number"], 2);
        assert_eq!(event.detail["Groups"], groups);
        let whole = groups_added(&job, PresignedUrl::Omitted, &object, None, groups);
        assert!(whole.detail.get("Part").is_none());
    }
}
