//! S3 notifications (SPEC section 2): each record is typed on its own as an
//! `S3EventRecord`. A record the typed view refuses falls back to a tolerant
//! view of the few fields read here, so it gives the same work item and
//! fails, if at all, alone: `S3EventRecord` requires `eventTime`,
//! `userIdentity`, `requestParameters`, `s3.bucket` and `s3.object`, and
//! refuses a field of the wrong type. Keys arrive URL-encoded.

use aws_lambda_events::event::s3::S3EventRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::invalid;
use crate::model::{ObjectRef, WorkItem};

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

/// `{"name": ...}`: a bucket, in a notification and in an EventBridge event.
#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
pub(super) struct Named {
    pub(super) name: Option<String>,
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

/// One S3 notification record. Its key arrives URL-encoded.
pub(super) fn item(record: &Value) -> WorkItem {
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

/// An object creation is work; anything else, and a folder marker, is
/// ignored (SPEC section 2), for notifications and EventBridge alike.
pub(super) fn created_or_ignored(object: ObjectRef, created: bool, event_name: &str) -> WorkItem {
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
    use super::super::test_support::*;
    use super::super::{parse, Invocation};
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

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
    fn the_sample_records_are_complete_for_the_typed_view() {
        for record in sample("s3-put.json")["Records"].as_array().unwrap() {
            assert!(S3EventRecord::deserialize(record).is_ok(), "{record}");
        }
    }

    /// What the typed view requires or refuses, taken away or spoiled: the
    /// tolerant view gives the same work items.
    #[test]
    fn records_the_typed_view_refuses_give_the_same_items() {
        let complete = sample("s3-put.json");
        let expected = summary(&complete);
        for (spoil, refusal) in [
            (json!({"eventTime": null}), "missing field `eventTime`"),
            (
                json!({"eventTime": "yesterday"}),
                "input contains invalid characters",
            ),
            (
                json!({"userIdentity": null}),
                "missing field `userIdentity`",
            ),
            (
                json!({"requestParameters": 5}),
                "invalid type: integer `5`, expected struct S3RequestParameters",
            ),
            (
                json!({"responseElements": {"x-amz-id-2": 7}}),
                "invalid type: integer `7`, expected a string",
            ),
            (
                json!({"awsRegion": ["us-east-1"]}),
                "invalid type: sequence, expected a string",
            ),
        ] {
            let mut event = complete.clone();
            let record = event["Records"][0].as_object_mut().unwrap();
            for (name, value) in spoil.as_object().unwrap() {
                match value {
                    Value::Null => record.remove(name),
                    _ => record.insert(name.clone(), value.clone()),
                };
            }
            let error = S3EventRecord::deserialize(&event["Records"][0]).unwrap_err();
            assert_eq!(error.to_string(), refusal, "{spoil}");
            assert_eq!(summary(&event), expected, "{spoil}");
        }
    }
}
