//! Helpers of the trigger's unit tests: the samples of `events/`, and a
//! parse that must give a summary or an SQS batch.

use serde_json::{json, Value};

use super::{parse, Invocation, SqsMessage};
use crate::model::{ObjectRef, WorkItem};

pub(super) fn sample(name: &str) -> Value {
    let text = match name {
        "s3-put.json" => include_str!("../../events/s3-put.json"),
        "s3-put-encoded-key.json" => include_str!("../../events/s3-put-encoded-key.json"),
        "s3-put-create-mode.json" => include_str!("../../events/s3-put-create-mode.json"),
        "s3-test-event.json" => include_str!("../../events/s3-test-event.json"),
        "eventbridge-object-created.json" => {
            include_str!("../../events/eventbridge-object-created.json")
        }
        "sqs-batch.json" => include_str!("../../events/sqs-batch.json"),
        "direct-ids.json" => include_str!("../../events/direct-ids.json"),
        "direct-object.json" => include_str!("../../events/direct-object.json"),
        "direct-object-version.json" => include_str!("../../events/direct-object-version.json"),
        "track.json" => include_str!("../../events/track.json"),
        _ => panic!("no sample {name}"),
    };
    serde_json::from_str(text).expect("the sample is JSON")
}

pub(super) fn sample_object(key: &str, version: Option<&str>, etag: &str) -> ObjectRef {
    ObjectRef {
        etag: Some(etag.into()),
        ..ObjectRef::new("cis-drop-example", key, version.map(String::from))
    }
}

pub(super) fn summary(event: &Value) -> Vec<WorkItem> {
    match parse(event) {
        Ok(Invocation::Summary(items)) => items,
        other => panic!("not a summary: {other:?}"),
    }
}

pub(super) fn sqs(event: &Value) -> Vec<SqsMessage> {
    match parse(event) {
        Ok(Invocation::Sqs(messages)) => messages,
        other => panic!("not an SQS batch: {other:?}"),
    }
}

/// A notification record of an object in bucket `drop`.
pub(super) fn s3_record(event_name: &str, key: &str) -> Value {
    json!({"eventSource": "aws:s3", "eventName": event_name,
           "s3": {"bucket": {"name": "drop"}, "object": {"key": key, "eTag": "abc", "versionId": "v1"}}})
}

/// The object of [`s3_record`].
pub(super) fn object(key: &str) -> ObjectRef {
    ObjectRef {
        etag: Some("abc".into()),
        ..ObjectRef::new("drop", key, Some("v1".into()))
    }
}
