//! SPEC section 2: one handler, the shape decides. Turns the raw event into an
//! `Invocation` of work items. Pure: no I/O, never panics on any JSON.
//!
//! The event stays a `Value` until its shape is known; then each shape is
//! read by its own file, in the order of the contract's trigger table:
//!
//! | shape | recognised by | file |
//! |---|---|---|
//! | S3 notification | `Records[*].eventSource == "aws:s3"` | [`s3`] |
//! | S3 test event | `"Event": "s3:TestEvent"` | here |
//! | EventBridge S3 event | `source == "aws.s3"` | [`eventbridge`] |
//! | SQS batch | `Records[*].eventSource == "aws:sqs"` | [`sqs`] |
//! | direct by IDs, by object | string `UserPoolId` and `JobId`, or `Bucket` and `Key` | [`direct`] |
//! | `Track` | `"Action": "Track"` | [`direct`] |
//! | `AddToGroups` (SPEC section 17) | `"Action": "AddToGroups"` | [`direct`] |
//! | anything else | - | `UnsupportedEvent` |
//!
//! An object with an `Action` is read as an action whatever else it holds.
//! Each S3 record, each SQS message and the EventBridge envelope is typed
//! with `aws_lambda_events` one at a time: never the whole event as `S3Event`
//! or `SqsEvent`, whose `Vec` would let one bad record sink its neighbours.

use serde_json::Value;

use crate::error::{ErrorKind, ImportError};
use crate::model::{ObjectRef, PartRef, WorkItem};

pub mod direct;
pub mod eventbridge;
pub mod s3;
pub mod sqs;
#[cfg(test)]
mod test_support;

pub use direct::AddToGroups;
pub use s3::decode_s3_key;
pub use sqs::{Delivery, SqsMessage};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// S3 notification, S3 test event or EventBridge S3 event: answered with a summary.
    Summary(Vec<WorkItem>),
    /// SQS batch: answered with `batchItemFailures`.
    Sqs(Vec<SqsMessage>),
    /// Direct by IDs or by object: one item, answered with the job record.
    Direct(WorkItem),
    /// SPEC section 11.
    Track {
        user_pool_id: String,
        job_id: String,
        /// The object the job was created from (the Started event's
        /// `Object`), for the results files (SPEC section 12).
        object: Option<ObjectRef>,
        /// The Started event's `Part` of a drop in parts (SPEC section 14).
        part: Option<PartRef>,
    },
    /// SPEC section 17: a finished job's memberships.
    AddToGroups(AddToGroups),
}

pub fn parse(event: &Value) -> Result<Invocation, ImportError> {
    let Some(object) = event.as_object() else {
        return Err(unsupported("the event is not a JSON object"));
    };
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    if let Some(action) = object.get("Action") {
        return direct::action(object, action);
    }
    if let Some(records) = object.get("Records") {
        return parse_records(records);
    }
    if text("Event") == Some("s3:TestEvent") {
        return Ok(Invocation::Summary(Vec::new()));
    }
    if text("source") == Some("aws.s3") {
        return Ok(Invocation::Summary(vec![eventbridge::item(event)]));
    }
    if let Some(start) = direct::start(object) {
        return start;
    }
    Err(unsupported(
        "expected an S3 notification, an EventBridge S3 event, an SQS batch, \
         {\"UserPoolId\", \"JobId\"}, {\"Bucket\", \"Key\"} or {\"Action\": \"Track\" or \"AddToGroups\", ...}",
    ))
}

/// The first record's `eventSource` decides the kind; a later record of
/// another kind fails alone instead of sinking its neighbours.
fn parse_records(records: &Value) -> Result<Invocation, ImportError> {
    let records = match records.as_array() {
        Some(records) if !records.is_empty() => records,
        _ => return Err(unsupported("Records must be a non-empty array")),
    };
    match records[0].get("eventSource").and_then(Value::as_str) {
        Some("aws:s3") => Ok(Invocation::Summary(records.iter().map(s3::item).collect())),
        Some("aws:sqs") => Ok(Invocation::Sqs(records.iter().map(sqs::message).collect())),
        _ => Err(unsupported(
            "Records[*].eventSource must be \"aws:s3\" or \"aws:sqs\"",
        )),
    }
}

fn unsupported(why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::UnsupportedEvent,
        format!("unsupported event: {why}"),
    )
}

/// A work item that fails alone: a record or message of the wrong shape.
fn invalid(object: Option<ObjectRef>, why: String) -> WorkItem {
    WorkItem::Invalid {
        object,
        error: unsupported(&why),
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn every_sample_in_events_parses() {
        assert_eq!(
            summary(&sample("s3-put.json")),
            vec![WorkItem::Object(sample_object(
                "imports/users-2026-11-25.csv",
                Some("Ky8eXL0xu0Gs0b6ZK9V0bS_rmS5wDBqY"),
                "5f2b51ca2fdc5baa31ec02e002f69aec"
            ))]
        );
        assert_eq!(
            summary(&sample("s3-put-encoded-key.json")),
            vec![WorkItem::Object(sample_object(
                "drop/my users(1).csv",
                Some("vF7vu6SuBGMu5dBkRXR6Yc0jTRcfjJ5w"),
                "9a0364b9e99bb480dd25e1f0284c8555"
            ))]
        );
        assert_eq!(
            summary(&sample("s3-put-create-mode.json")),
            vec![WorkItem::Object(sample_object(
                "drop/new-users-2026-11-25.csv",
                None,
                "9b2cf535f27731c974343645a3985328"
            ))]
        );
        assert_eq!(summary(&sample("s3-test-event.json")), vec![]);
        assert_eq!(
            summary(&sample("eventbridge-object-created.json")),
            vec![WorkItem::Object(sample_object(
                "imports/users-2026-11-25.csv",
                Some("Ky8eXL0xu0Gs0b6ZK9V0bS_rmS5wDBqY"),
                "5f2b51ca2fdc5baa31ec02e002f69aec"
            ))]
        );
        let messages = sqs(&sample("sqs-batch.json"));
        let ids: Vec<_> = messages.iter().map(|m| m.message_id.as_deref()).collect();
        assert_eq!(
            ids,
            [
                Some("2e1424d4-f796-459a-8184-9c92662be6da"),
                Some("5f8b3e7c-1a2d-4c6e-9b0f-7d3a2e1c4b5a")
            ]
        );
        assert_eq!(
            messages[0].items,
            vec![WorkItem::Object(sample_object(
                "imports/batch-a.csv",
                Some("Xv2b5kqTqmOVmmt1HfKQ0vJk0gHbe5Ts"),
                "0d3c6f2e1f8a4b5c9d7e6f5a4b3c2d1e"
            ))]
        );
        assert_eq!(
            messages[1].items,
            vec![WorkItem::Object(sample_object(
                "imports/batch-b.csv",
                Some("pQ9mW3xZ7vB1nC5kL8jH2gF6dS4aT0rY"),
                "7c4a8d09ca3762af61e59520943dc264"
            ))]
        );
        let ids = WorkItem::Ids {
            user_pool_id: "us-east-1_EXAMPLE01".into(),
            job_id: "import-EXAMPLEjob1".into(),
        };
        assert_eq!(
            parse(&sample("direct-ids.json")).unwrap(),
            Invocation::Direct(ids)
        );
        let key = "imports/users-2026-11-25.csv";
        assert_eq!(
            parse(&sample("direct-object.json")).unwrap(),
            Invocation::Direct(WorkItem::Object(ObjectRef::new(
                "cis-drop-example",
                key,
                None
            )))
        );
        assert_eq!(
            parse(&sample("direct-object-version.json")).unwrap(),
            Invocation::Direct(WorkItem::Object(ObjectRef::new(
                "cis-drop-example",
                key,
                Some("Ky8eXL0xu0Gs0b6ZK9V0bS_rmS5wDBqY".into())
            )))
        );
        assert_eq!(
            parse(&sample("track.json")).unwrap(),
            Invocation::Track {
                user_pool_id: "us-east-1_EXAMPLE01".into(),
                job_id: "import-EXAMPLEjob1".into(),
                object: None,
                part: None,
            }
        );
    }

    #[test]
    fn anything_else_is_unsupported() {
        for event in [
            json!(null),
            json!([1, 2]),
            json!("text"),
            json!({}),
            json!({"Records": []}),
            json!({"Records": [{"eventSource": "aws:dynamodb"}]}),
            json!({"UserPoolId": 5, "JobId": "import-1"}),
            json!({"Action": "Stop", "UserPoolId": "p_1", "JobId": "import-1"}),
            json!({"Action": "Track"}),
            json!({"Bucket": "b", "Key": "k", "VersionId": 3}),
        ] {
            let error = parse(&event).unwrap_err();
            assert_eq!(error.kind, ErrorKind::UnsupportedEvent, "{event}");
        }
    }
}
