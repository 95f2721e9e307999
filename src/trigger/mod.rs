//! SPEC section 2: one handler, the shape decides. Turns the raw event into an
//! `Invocation` of work items. Pure: no I/O, never panics on any JSON.
//!
//! The event stays a `Value` until its shape is known (SPEC section 2). Then
//! each S3 record, each SQS message and the EventBridge envelope is typed
//! with `aws_lambda_events` (`S3EventRecord`, `SqsMessage`,
//! `EventBridgeEvent`), one at a time: never the whole event as `S3Event` or
//! `SqsEvent`, whose `Vec` would let one bad record sink its neighbours.
//! A record the typed view refuses falls back to a tolerant view of the few
//! fields read here, so it gives the same work item and fails, if at all,
//! alone: `S3EventRecord` requires `eventTime`, `userIdentity`,
//! `requestParameters`, `s3.bucket` and `s3.object`; all three refuse a field
//! of the wrong type (a numeric `messageId`, a non-string `body`, a `time`
//! that is not RFC 3339, a non-string message attribute).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::s3::S3EventRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ErrorKind, ImportError};
use crate::model::{ObjectRef, PartRef, WorkItem};

pub mod sqs;

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
                part: track_part(object.get("Part"))?,
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

/// `Part` of a Track input: `{"Number", "Count", "FirstLine"?, "LastLine"?}`,
/// whole numbers, `1 <= Number <= Count`.
fn track_part(value: Option<&Value>) -> Result<Option<PartRef>, ImportError> {
    let part = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(part)) => part,
        Some(_) => return Err(unsupported("Track's Part must be a JSON object")),
    };
    let number = |name: &str| match part.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value.as_u64().filter(|&n| n >= 1).map(Some).ok_or_else(|| {
            unsupported(&format!(
                "Track's Part.{name} must be a whole number of 1 or more"
            ))
        }),
    };
    let (Some(n), Some(count)) = (number("Number")?, number("Count")?) else {
        return Err(unsupported("Track's Part needs Number and Count"));
    };
    if n > count {
        return Err(unsupported("Track's Part.Number is more than its Count"));
    }
    Ok(Some(PartRef {
        number: n,
        count,
        first_line: number("FirstLine")?,
        last_line: number("LastLine")?,
    }))
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
        Some("aws:sqs") => Ok(Invocation::Sqs(records.iter().map(sqs::message).collect())),
        _ => Err(unsupported(
            "Records[*].eventSource must be \"aws:s3\" or \"aws:sqs\"",
        )),
    }
}

/// The fields of an S3 notification record read here: the typed record's, or
/// those of an incomplete record.
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

#[derive(Deserialize, Serialize, Default)]
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

impl From<S3EventRecord> for S3Record {
    fn from(record: S3EventRecord) -> S3Record {
        let object = record.s3.object;
        S3Record {
            event_source: record.event_source,
            event_name: record.event_name,
            s3: Some(S3Entity {
                bucket: Some(Named {
                    name: record.s3.bucket.name,
                }),
                object: Some(S3Object {
                    key: object.key,
                    version_id: object.version_id,
                    e_tag: object.e_tag,
                }),
            }),
        }
    }
}

pub(crate) fn invalid(object: Option<ObjectRef>, why: String) -> WorkItem {
    WorkItem::Invalid {
        object,
        error: unsupported(&why),
    }
}

/// One S3 notification record. Its key arrives URL-encoded.
fn s3_item(record: &Value) -> WorkItem {
    let record = match S3EventRecord::deserialize(record) {
        Ok(typed) => S3Record::from(typed),
        Err(_) => match S3Record::deserialize(record) {
            Ok(view) => view,
            Err(_) => {
                return invalid(None, "an S3 record has fields of the wrong type".into());
            }
        },
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

/// The `detail` of an EventBridge S3 event, as far as it is read here.
#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct S3Detail {
    bucket: Option<Named>,
    object: Option<S3DetailObject>,
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default, rename_all = "kebab-case")]
struct S3DetailObject {
    key: Option<String>,
    version_id: Option<String>,
    etag: Option<String>,
}

impl S3Detail {
    /// For an event the typed envelope refuses: each field read on its own,
    /// one of the wrong type taken as missing.
    fn tolerant(detail: &Value) -> S3Detail {
        let text = |v: &Value| v.as_str().map(str::to_string);
        let object = &detail["object"];
        S3Detail {
            bucket: Some(Named {
                name: text(&detail["bucket"]["name"]),
            }),
            object: Some(S3DetailObject {
                key: text(&object["key"]),
                version_id: text(&object["version-id"]),
                etag: text(&object["etag"]),
            }),
        }
    }
}

/// An EventBridge event from `aws.s3`: keys come unencoded.
fn eventbridge_item(event: &Value) -> WorkItem {
    let (detail_type, detail) = match EventBridgeEvent::<S3Detail>::deserialize(event) {
        Ok(envelope) => (envelope.detail_type, envelope.detail),
        Err(_) => (
            event["detail-type"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            S3Detail::tolerant(&event["detail"]),
        ),
    };
    let object = detail.object.unwrap_or_default();
    let (Some(bucket), Some(key)) = (detail.bucket.and_then(|b| b.name), object.key) else {
        return invalid(
            None,
            "an EventBridge S3 event lacks detail.bucket.name or detail.object.key".into(),
        );
    };
    let mut object_ref = ObjectRef::new(bucket, key, object.version_id);
    object_ref.etag = object.etag.map(|e| e.trim_matches('"').to_string());
    created_or_ignored(object_ref, detail_type == "Object Created", &detail_type)
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
    use aws_lambda_events::event::sqs::SqsMessage as SqsRecord;
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
                part: None,
            }
        );
    }

    fn sample(name: &str) -> Value {
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

    fn sample_object(key: &str, version: Option<&str>, etag: &str) -> ObjectRef {
        ObjectRef {
            etag: Some(etag.into()),
            ..ObjectRef::new("cis-drop-example", key, version.map(String::from))
        }
    }

    fn summary(event: &Value) -> Vec<WorkItem> {
        match parse(event) {
            Ok(Invocation::Summary(items)) => items,
            other => panic!("not a summary: {other:?}"),
        }
    }

    fn sqs(event: &Value) -> Vec<SqsMessage> {
        match parse(event) {
            Ok(Invocation::Sqs(messages)) => messages,
            other => panic!("not an SQS batch: {other:?}"),
        }
    }

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
    fn the_samples_are_complete_records_for_the_typed_views() {
        for record in sample("s3-put.json")["Records"].as_array().unwrap() {
            assert!(S3EventRecord::deserialize(record).is_ok(), "{record}");
        }
        let batch = sample("sqs-batch.json");
        for record in batch["Records"].as_array().unwrap() {
            assert!(SqsRecord::deserialize(record).is_ok(), "{record}");
        }
        let event = sample("eventbridge-object-created.json");
        assert!(EventBridgeEvent::<S3Detail>::deserialize(&event).is_ok());
    }

    /// What the typed views require or refuse, taken away or spoiled: the
    /// tolerant views give the same work items.
    #[test]
    fn records_the_typed_views_refuse_give_the_same_items() {
        let complete = sample("s3-put.json");
        let expected = summary(&complete);
        for spoil in [
            json!({"eventTime": null}),
            json!({"eventTime": "yesterday"}),
            json!({"userIdentity": null}),
            json!({"requestParameters": 5}),
            json!({"responseElements": {"x-amz-id-2": 7}}),
            json!({"awsRegion": ["us-east-1"]}),
        ] {
            let mut event = complete.clone();
            let record = event["Records"][0].as_object_mut().unwrap();
            for (name, value) in spoil.as_object().unwrap() {
                match value {
                    Value::Null => record.remove(name),
                    _ => record.insert(name.clone(), value.clone()),
                };
            }
            assert!(S3EventRecord::deserialize(&event["Records"][0]).is_err());
            assert_eq!(summary(&event), expected, "{spoil}");
        }

        let complete = sample("eventbridge-object-created.json");
        let expected = summary(&complete);
        for (name, value) in [
            ("time", json!("not a time")),
            ("resources", json!([1])),
            ("account", json!(123456789012_u64)),
        ] {
            let mut event = complete.clone();
            event[name] = value;
            assert!(EventBridgeEvent::<S3Detail>::deserialize(&event).is_err());
            assert_eq!(summary(&event), expected, "{name}");
        }
        let mut event = complete.clone();
        event["detail"]["object"]["size"] = json!("big");
        event["detail"]["object"]["sequencer"] = json!(7);
        assert_eq!(summary(&event), expected, "fields not read are not checked");
        event["detail"]["object"]["version-id"] = json!(7);
        let Some(WorkItem::Object(object)) = summary(&event).pop() else {
            panic!("not an object")
        };
        assert_eq!(object.version_id, None, "a wrong type is taken as missing");
    }

    /// A message the typed `SqsMessage` refuses (a numeric `messageId`, a
    /// non-string `body` or attribute) fails alone; its neighbours start.
    #[test]
    fn an_sqs_message_of_the_wrong_shape_fails_alone() {
        let batch = sample("sqs-batch.json");
        let good = batch["Records"][0].clone();
        let mut numeric_id = good.clone();
        numeric_id["messageId"] = json!(42);
        let mut object_body = good.clone();
        object_body["body"] = json!({"Records": []});
        let mut bad_attribute = good.clone();
        bad_attribute["attributes"]["ApproximateReceiveCount"] = json!(1);
        bad_attribute["messageAttributes"] = json!({"a": {"stringValue": 5}});
        let mut nameless = good.clone();
        nameless.as_object_mut().unwrap().remove("messageId");
        for record in [&numeric_id, &object_body, &bad_attribute] {
            assert!(SqsRecord::deserialize(record).is_err(), "{record}");
        }
        let event =
            json!({"Records": [numeric_id, good, object_body, bad_attribute, nameless, "text"]});
        let messages = sqs(&event);
        let expected = sqs(&batch)[0].items.clone();
        let good_id = good["messageId"].as_str();

        assert_eq!(messages[0].message_id, None);
        assert_eq!(messages[0].items, expected, "its body still counts");
        assert_eq!(messages[1].message_id.as_deref(), good_id);
        assert_eq!(messages[1].items, expected);
        assert_eq!(messages[2].message_id.as_deref(), good_id);
        assert!(
            matches!(&messages[2].items[..], [WorkItem::Invalid { error, .. }] if error.message.contains("not JSON"))
        );
        assert_eq!(messages[3].items, expected, "attributes are not read");
        assert_eq!(messages[4].message_id, None);
        assert_eq!(messages[4].items, expected);
        assert!(matches!(&messages[5].items[..], [WorkItem::Invalid { .. }]));
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
