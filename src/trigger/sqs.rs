//! SQS batches (SPEC sections 2 and 13): each message's body is an S3
//! notification or an EventBridge S3 event, and the message carries what the
//! queue needs to hear back: its receipt handle, how often it was received,
//! the queue it came from. A FIFO queue's batch is processed in order.

use aws_lambda_events::event::sqs::SqsMessage as SqsRecord;
use serde::Deserialize;
use serde_json::Value;

use super::{invalid, parse, Invocation};
use crate::model::WorkItem;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqsMessage {
    /// `None` when the record has none: then a retryable failure can only be
    /// reported by failing the whole batch.
    pub message_id: Option<String>,
    pub items: Vec<WorkItem>,
    pub delivery: Delivery,
}

/// How the message was delivered: what `ChangeMessageVisibility` needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    pub receipt_handle: Option<String>,
    /// `ApproximateReceiveCount`: 1 on the first delivery (also when the
    /// attribute is missing or not a number).
    pub receive_count: u32,
    /// `eventSourceARN`: `arn:aws:sqs:<region>:<account>:<name>`.
    pub source_arn: Option<String>,
    /// `SentTimestamp`, ms since the epoch.
    pub sent_timestamp_ms: Option<i64>,
}

impl Delivery {
    /// From a FIFO queue: its name ends in `.fifo`.
    pub fn is_fifo(&self) -> bool {
        self.source_arn
            .as_deref()
            .is_some_and(|arn| arn.ends_with(".fifo"))
    }

    /// The queue's URL, built from its ARN with no `GetQueueUrl` call:
    /// `https://sqs.<region>.amazonaws.com/<account>/<name>` (`.com.cn` in
    /// the China partition). `None` for an ARN that is not an SQS queue's.
    pub fn queue_url(&self) -> Option<String> {
        queue_url(self.source_arn.as_deref()?)
    }
}

/// A batch from a FIFO queue is processed one message at a time, in order
/// (SPEC section 13). One event source mapping reads one queue, so the first
/// message tells.
pub fn is_fifo(messages: &[SqsMessage]) -> bool {
    messages.first().is_some_and(|m| m.delivery.is_fifo())
}

pub fn queue_url(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("sqs"), Some(region), Some(account), Some(name)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    if ![region, account, name].into_iter().all(plain) {
        return None;
    }
    let domain = match partition {
        "aws-cn" => "amazonaws.com.cn",
        _ => "amazonaws.com",
    };
    Some(format!("https://sqs.{region}.{domain}/{account}/{name}"))
}

/// The few fields read of a record the typed view refuses.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Tolerant {
    message_id: Option<Value>,
    receipt_handle: Option<Value>,
    body: Option<Value>,
    event_source: Option<Value>,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: Option<Value>,
    attributes: Option<Value>,
}

/// One SQS message: its body is an S3 notification (or S3 test event) or an
/// EventBridge S3 event.
pub(super) fn message(record: &Value) -> SqsMessage {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let (message_id, source, body, delivery) = match SqsRecord::deserialize(record) {
        Ok(typed) => {
            let attribute = |name: &str| typed.attributes.get(name).map(String::as_str);
            let delivery = delivery(
                typed.receipt_handle.clone(),
                typed.event_source_arn.clone(),
                attribute("ApproximateReceiveCount"),
                attribute("SentTimestamp"),
            );
            (typed.message_id, typed.event_source, typed.body, delivery)
        }
        Err(_) => {
            let view = Tolerant::deserialize(record).unwrap_or_default();
            let attribute = |name: &str| {
                view.attributes
                    .as_ref()
                    .and_then(|a| a.get(name))
                    .and_then(Value::as_str)
            };
            let delivery = delivery(
                text(view.receipt_handle.as_ref()),
                text(view.event_source_arn.as_ref()),
                attribute("ApproximateReceiveCount"),
                attribute("SentTimestamp"),
            );
            (
                text(view.message_id.as_ref()),
                text(view.event_source.as_ref()),
                text(view.body.as_ref()),
                delivery,
            )
        }
    };
    let items = if source.as_deref() != Some("aws:sqs") {
        vec![invalid(
            None,
            "a record's eventSource is not \"aws:sqs\"".into(),
        )]
    } else {
        match serde_json::from_str::<Value>(body.as_deref().unwrap_or_default()) {
            Ok(body) => body_items(&body),
            Err(_) => vec![invalid(None, "an SQS message body is not JSON".into())],
        }
    };
    SqsMessage {
        message_id,
        items,
        delivery,
    }
}

fn delivery(
    receipt_handle: Option<String>,
    source_arn: Option<String>,
    receive_count: Option<&str>,
    sent: Option<&str>,
) -> Delivery {
    Delivery {
        receipt_handle,
        receive_count: receive_count
            .and_then(|n| n.trim().parse::<u32>().ok())
            .filter(|&n| n >= 1)
            .unwrap_or(1),
        source_arn,
        sent_timestamp_ms: sent.and_then(|ms| ms.trim().parse().ok()),
    }
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use serde_json::json;

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
    fn the_sample_records_are_complete_for_the_typed_view() {
        let batch = sample("sqs-batch.json");
        for record in batch["Records"].as_array().unwrap() {
            assert!(SqsRecord::deserialize(record).is_ok(), "{record}");
        }
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
        for (record, refusal) in [
            (&numeric_id, "invalid type: integer `42`, expected a string"),
            (&object_body, "invalid type: map, expected a string"),
            (
                &bad_attribute,
                "invalid type: integer `1`, expected a string",
            ),
        ] {
            let error = SqsRecord::deserialize(record).unwrap_err();
            assert_eq!(error.to_string(), refusal, "{record}");
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
    fn the_queue_url_comes_from_the_arn() {
        assert_eq!(
            queue_url("arn:aws:sqs:eu-west-1:123456789012:drops.fifo").as_deref(),
            Some("https://sqs.eu-west-1.amazonaws.com/123456789012/drops.fifo")
        );
        assert_eq!(
            queue_url("arn:aws-cn:sqs:cn-north-1:123456789012:drops").as_deref(),
            Some("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/drops")
        );
        for bad in [
            "",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sqs:us-east-1:123456789012",
            "arn:aws:sqs:us-east-1:123456789012:a/b",
            "arn:aws:sqs::123456789012:q",
        ] {
            assert_eq!(queue_url(bad), None, "{bad}");
        }
    }

    fn record(arn: &str, count: Value) -> Value {
        json!({"messageId": "m1", "receiptHandle": "rh-1", "body": "{\"Event\": \"s3:TestEvent\"}",
               "attributes": {"ApproximateReceiveCount": count, "SentTimestamp": "1795599242310"},
               "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
               "eventSourceARN": arn, "awsRegion": "us-east-1"})
    }

    #[test]
    fn the_delivery_is_read_from_typed_and_tolerant_records() {
        let typed = message(&record("arn:aws:sqs:us-east-1:1:q.fifo", json!("3")));
        assert_eq!(
            typed.delivery,
            Delivery {
                receipt_handle: Some("rh-1".into()),
                receive_count: 3,
                source_arn: Some("arn:aws:sqs:us-east-1:1:q.fifo".into()),
                sent_timestamp_ms: Some(1_795_599_242_310),
            }
        );
        assert!(typed.delivery.is_fifo());
        // A numeric attribute: the typed view refuses it, the count is 1.
        let tolerant = message(&record("arn:aws:sqs:us-east-1:1:q", json!(3)));
        assert_eq!(tolerant.delivery.receive_count, 1);
        assert_eq!(tolerant.delivery.receipt_handle.as_deref(), Some("rh-1"));
        assert!(!tolerant.delivery.is_fifo());
        assert_eq!(tolerant.items, vec![]);
        let zero = message(&record("arn:aws:sqs:us-east-1:1:q", json!("0")));
        assert_eq!(zero.delivery.receive_count, 1);
    }
}
