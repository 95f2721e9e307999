//! EventBridge S3 events (SPEC section 2): `source == "aws.s3"`, an object
//! creation when `detail-type == "Object Created"`. The envelope is typed as
//! an `EventBridgeEvent`; one it refuses (a `time` that is not RFC 3339, a
//! field of the wrong type) is read field by field, so it gives the same
//! work item. Keys come unencoded.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::invalid;
use super::s3::{created_or_ignored, Named};
use crate::model::{ObjectRef, WorkItem};

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
pub(super) fn item(event: &Value) -> WorkItem {
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{parse, Invocation};
    use super::*;
    use serde_json::json;

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
    fn the_sample_is_complete_for_the_typed_view() {
        let event = sample("eventbridge-object-created.json");
        assert!(EventBridgeEvent::<S3Detail>::deserialize(&event).is_ok());
    }

    /// What the typed envelope refuses, spoiled: the tolerant view gives the
    /// same work item.
    #[test]
    fn events_the_typed_view_refuses_give_the_same_items() {
        let complete = sample("eventbridge-object-created.json");
        let expected = summary(&complete);
        for (name, value, refusal) in [
            (
                "time",
                json!("not a time"),
                "input contains invalid characters",
            ),
            (
                "resources",
                json!([1]),
                "invalid type: integer `1`, expected a string",
            ),
            (
                "account",
                json!(123456789012_u64),
                "invalid type: integer `123456789012`, expected a string",
            ),
        ] {
            let mut event = complete.clone();
            event[name] = value;
            let Err(error) = EventBridgeEvent::<S3Detail>::deserialize(&event) else {
                panic!("the typed view takes a spoiled {name}");
            };
            assert_eq!(error.to_string(), refusal, "{name}");
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
}
