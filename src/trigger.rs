//! SPEC section 2: one handler, the shape decides. Turns the raw event into an
//! `Invocation` of work items. Pure: no I/O, never panics on any JSON.
//!
//! Records are read through small tolerant views rather than
//! `aws_lambda_events`' typed records: those require fields such as
//! `eventTime` and `userIdentity`, so one incomplete record would fail the
//! whole event instead of just itself.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{ErrorKind, ImportError};
use crate::model::{ObjectRef, WorkItem};

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
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqsMessage {
    /// `None` when the record has none: then a retryable failure can only be
    /// reported by failing the whole batch.
    pub message_id: Option<String>,
    pub items: Vec<WorkItem>,
}

pub fn parse(event: &Value) -> Result<Invocation, ImportError> {
    let Some(object) = event.as_object() else {
        return Err(unsupported("the event is not a JSON object"));
    };
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    if let Some(action) = object.get("Action") {
        return match (action.as_str(), text("UserPoolId"), text("JobId")) {
            (Some("Track"), Some(pool), Some(job)) => Ok(Invocation::Track {
                user_pool_id: pool.to_string(),
                job_id: job.to_string(),
                object: track_object(object.get("Object"))?,
            }),
            (Some("Track"), _, _) => Err(unsupported(
                "Action \"Track\" needs string UserPoolId and JobId",
            )),
            _ => Err(unsupported("the only Action is \"Track\"")),
        };
    }
    if let Some(records) = object.get("Records") {
        return parse_records(records);
    }
    if text("Event") == Some("s3:TestEvent") {
        return Ok(Invocation::Summary(Vec::new()));
    }
    if text("source") == Some("aws.s3") {
        return Ok(Invocation::Summary(vec![eventbridge_item(event)]));
    }
    if let (Some(pool), Some(job)) = (text("UserPoolId"), text("JobId")) {
        return Ok(Invocation::Direct(WorkItem::Ids {
            user_pool_id: pool.to_string(),
            job_id: job.to_string(),
        }));
    }
    if let (Some(bucket), Some(key)) = (text("Bucket"), text("Key")) {
        let version = match object.get("VersionId") {
            None | Some(Value::Null) => None,
            Some(Value::String(v)) => Some(v.clone()),
            Some(_) => return Err(unsupported("VersionId must be a string")),
        };
        return Ok(Invocation::Direct(WorkItem::Object(ObjectRef::new(
            bucket, key, version,
        ))));
    }
    Err(unsupported(
        "expected an S3 notification, an EventBridge S3 event, an SQS batch, \
         {\"UserPoolId\", \"JobId\"}, {\"Bucket\", \"Key\"} or {\"Action\": \"Track\", ...}",
    ))
}

/// `Object` of a Track input: `{"Bucket", "Key", "VersionId"?, "ETag"?}`.
fn track_object(value: Option<&Value>) -> Result<Option<ObjectRef>, ImportError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(unsupported("Track's Object must be a JSON object")),
    };
    let text = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(unsupported(&format!(
            "Track's Object.{name} must be a string"
        ))),
    };
    let (Some(bucket), Some(key)) = (text("Bucket")?, text("Key")?) else {
        return Err(unsupported("Track's Object needs string Bucket and Key"));
    };
    let mut object = ObjectRef::new(bucket, key, text("VersionId")?);
    object.etag = text("ETag")?.map(|etag| etag.trim_matches('"').to_string());
    Ok(Some(object))
}

fn unsupported(why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::UnsupportedEvent,
        format!("unsupported event: {why}"),
    )
}

fn event_source(record: &Value) -> Option<&str> {
    record.get("eventSource").and_then(Value::as_str)
}

/// The first record's `eventSource` decides the kind; a later record of
/// another kind fails alone instead of sinking its neighbours.
fn parse_records(records: &Value) -> Result<Invocation, ImportError> {
    let records = match records.as_array() {
        Some(records) if !records.is_empty() => records,
        _ => return Err(unsupported("Records must be a non-empty array")),
    };
    match event_source(&records[0]) {
        Some("aws:s3") => Ok(Invocation::Summary(records.iter().map(s3_item).collect())),
        Some("aws:sqs") => Ok(Invocation::Sqs(records.iter().map(sqs_message).collect())),
        _ => Err(unsupported(
            "Records[*].eventSource must be \"aws:s3\" or \"aws:sqs\"",
        )),
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct S3Record {
    event_source: Option<String>,
    event_name: Option<String>,
    s3: Option<S3Entity>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct S3Entity {
    bucket: Option<Named>,
    object: Option<S3Object>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Named {
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct S3Object {
    key: Option<String>,
    version_id: Option<String>,
    e_tag: Option<String>,
}

fn invalid(object: Option<ObjectRef>, why: String) -> WorkItem {
    WorkItem::Invalid {
        object,
        error: unsupported(&why),
    }
}

/// One S3 notification record. Its key arrives URL-encoded.
fn s3_item(record: &Value) -> WorkItem {
    let Ok(record) = S3Record::deserialize(record) else {
        return invalid(None, "an S3 record has fields of the wrong type".into());
    };
    if record.event_source.as_deref() != Some("aws:s3") {
        return invalid(None, "a record's eventSource is not \"aws:s3\"".into());
    }
    let entity = record.s3.unwrap_or_default();
    let object = entity.object.unwrap_or_default();
    let (Some(bucket), Some(raw_key)) = (entity.bucket.and_then(|b| b.name), object.key) else {
        return invalid(
            None,
            "an S3 record lacks s3.bucket.name or s3.object.key".into(),
        );
    };
    let Some(key) = decode_s3_key(&raw_key) else {
        let object = ObjectRef::new(bucket, raw_key, object.version_id);
        return invalid(
            Some(object),
            "the S3 key is not valid UTF-8 once URL-decoded".into(),
        );
    };
    let mut object_ref = ObjectRef::new(bucket, key, object.version_id);
    object_ref.etag = object.e_tag.map(|e| e.trim_matches('"').to_string());
    let event_name = record.event_name.unwrap_or_default();
    created_or_ignored(
        object_ref,
        event_name.starts_with("ObjectCreated:"),
        &event_name,
    )
}

fn created_or_ignored(object: ObjectRef, created: bool, event_name: &str) -> WorkItem {
    if !created {
        let reason = format!("{event_name} is not an object creation");
        return WorkItem::Ignored {
            object: Some(object),
            reason,
        };
    }
    if object.key.ends_with('/') {
        return WorkItem::Ignored {
            object: Some(object),
            reason: "the key is a folder marker".into(),
        };
    }
    WorkItem::Object(object)
}

/// An EventBridge event from `aws.s3`: keys come unencoded.
fn eventbridge_item(event: &Value) -> WorkItem {
    let detail = &event["detail"];
    let text = |v: &Value| v.as_str().map(str::to_string);
    let (Some(bucket), Some(key)) = (
        text(&detail["bucket"]["name"]),
        text(&detail["object"]["key"]),
    ) else {
        return invalid(
            None,
            "an EventBridge S3 event lacks detail.bucket.name or detail.object.key".into(),
        );
    };
    let mut object = ObjectRef::new(bucket, key, text(&detail["object"]["version-id"]));
    object.etag = text(&detail["object"]["etag"]).map(|e| e.trim_matches('"').to_string());
    let detail_type = event["detail-type"].as_str().unwrap_or_default();
    created_or_ignored(object, detail_type == "Object Created", detail_type)
}

/// One SQS message: its body is an S3 notification (or S3 test event) or an
/// EventBridge S3 event.
fn sqs_message(record: &Value) -> SqsMessage {
    let message_id = record["messageId"].as_str().map(str::to_string);
    let items = if event_source(record) != Some("aws:sqs") {
        vec![invalid(
            None,
            "a record's eventSource is not \"aws:sqs\"".into(),
        )]
    } else {
        let body = record["body"].as_str().unwrap_or_default();
        match serde_json::from_str::<Value>(body) {
            Ok(body) => body_items(&body),
            Err(_) => vec![invalid(None, "an SQS message body is not JSON".into())],
        }
    };
    SqsMessage { message_id, items }
}

fn body_items(body: &Value) -> Vec<WorkItem> {
    match parse(body) {
        Ok(Invocation::Summary(items)) => items,
        _ => vec![invalid(
            None,
            "an SQS message body is neither an S3 notification nor an EventBridge S3 event".into(),
        )],
    }
}

/// S3 notification keys are form-encoded: `+` is a space, `%XX` a byte.
/// A `%` not followed by two hex digits is kept as it is. `None` when the
/// bytes are not UTF-8.
pub fn decode_s3_key(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(hex),
                bytes.get(i + 2).and_then(hex),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex(byte: &u8) -> Option<u8> {
    (*byte as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s3_record(event_name: &str, key: &str) -> Value {
        json!({"eventSource": "aws:s3", "eventName": event_name,
               "s3": {"bucket": {"name": "drop"}, "object": {"key": key, "eTag": "abc", "versionId": "v1"}}})
    }

    fn object(key: &str) -> ObjectRef {
        ObjectRef {
            etag: Some("abc".into()),
            ..ObjectRef::new("drop", key, Some("v1".into()))
        }
    }

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(
            decode_s3_key("drop/my+users%281%29.csv").as_deref(),
            Some("drop/my users(1).csv")
        );
        assert_eq!(decode_s3_key("a%2Bb%20c").as_deref(), Some("a+b c"));
        assert_eq!(
            decode_s3_key("caf%C3%A9.csv").as_deref(),
            Some("caf\u{e9}.csv")
        );
        assert_eq!(decode_s3_key("100%").as_deref(), Some("100%"));
        assert_eq!(decode_s3_key("%zz%4"), Some("%zz%4".into()));
        assert_eq!(decode_s3_key("%FF"), None);
    }

    #[test]
    fn s3_notification_records_become_items() {
        let event = json!({"Records": [
            s3_record("ObjectCreated:Put", "drop/my+users%281%29.csv"),
            s3_record("ObjectRemoved:Delete", "drop/old.csv"),
            s3_record("ObjectCreated:Copy", "drop/folder/"),
            {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {}}},
        ]});
        let Invocation::Summary(items) = parse(&event).unwrap() else {
            panic!("not a summary")
        };
        assert_eq!(items[0], WorkItem::Object(object("drop/my users(1).csv")));
        assert!(
            matches!(&items[1], WorkItem::Ignored { object: Some(o), .. } if o.key == "drop/old.csv")
        );
        assert!(matches!(&items[2], WorkItem::Ignored { .. }));
        assert!(
            matches!(&items[3], WorkItem::Invalid { error, .. } if error.kind == ErrorKind::UnsupportedEvent)
        );
    }

    #[test]
    fn s3_test_event_is_an_empty_summary() {
        let event = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "drop"});
        assert_eq!(parse(&event).unwrap(), Invocation::Summary(vec![]));
    }

    #[test]
    fn eventbridge_object_created_keeps_its_key_as_is() {
        let event = json!({"source": "aws.s3", "detail-type": "Object Created",
            "detail": {"bucket": {"name": "drop"}, "object": {"key": "a+b%20.csv", "version-id": "v9", "etag": "e1"}}});
        let Invocation::Summary(items) = parse(&event).unwrap() else {
            panic!("not a summary")
        };
        let expected = ObjectRef {
            etag: Some("e1".into()),
            ..ObjectRef::new("drop", "a+b%20.csv", Some("v9".into()))
        };
        assert_eq!(items, vec![WorkItem::Object(expected)]);
        let deleted = json!({"source": "aws.s3", "detail-type": "Object Deleted",
            "detail": {"bucket": {"name": "drop"}, "object": {"key": "k"}}});
        assert!(
            matches!(parse(&deleted).unwrap(), Invocation::Summary(items) if matches!(items[0], WorkItem::Ignored { .. }))
        );
    }

    #[test]
    fn sqs_bodies_hold_s3_or_eventbridge_events() {
        let s3_body = json!({"Records": [s3_record("ObjectCreated:Put", "a.csv")]}).to_string();
        let event = json!({"Records": [
            {"eventSource": "aws:sqs", "messageId": "m1", "body": s3_body},
            {"eventSource": "aws:sqs", "messageId": "m2", "body": "not json"},
            {"eventSource": "aws:sqs", "body": "{\"Event\": \"s3:TestEvent\"}"},
        ]});
        let Invocation::Sqs(messages) = parse(&event).unwrap() else {
            panic!("not sqs")
        };
        assert_eq!(messages[0].message_id.as_deref(), Some("m1"));
        assert_eq!(messages[0].items, vec![WorkItem::Object(object("a.csv"))]);
        assert!(matches!(&messages[1].items[0], WorkItem::Invalid { .. }));
        assert_eq!(messages[2].message_id, None);
        assert!(messages[2].items.is_empty());
    }

    #[test]
    fn direct_shapes() {
        assert_eq!(
            parse(&json!({"UserPoolId": "p_1", "JobId": "import-1"})).unwrap(),
            Invocation::Direct(WorkItem::Ids {
                user_pool_id: "p_1".into(),
                job_id: "import-1".into()
            })
        );
        assert_eq!(
            parse(&json!({"Bucket": "b", "Key": "a+b.csv", "VersionId": "v"})).unwrap(),
            Invocation::Direct(WorkItem::Object(ObjectRef::new(
                "b",
                "a+b.csv",
                Some("v".into())
            )))
        );
        assert_eq!(
            parse(&json!({"Action": "Track", "UserPoolId": "p_1", "JobId": "import-1"})).unwrap(),
            Invocation::Track {
                user_pool_id: "p_1".into(),
                job_id: "import-1".into(),
                object: None,
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
