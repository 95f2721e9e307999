//! The emulated SQS: queues as Lambda's event source mapping drives them,
//! and `ChangeMessageVisibility` over the real SDK.

mod common;

use std::time::Duration;

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
use cis_emulator::{Emulator, QueueOptions};
use common::clients;
use serde_json::{json, Value};

fn fifo(second: Duration) -> QueueOptions {
    QueueOptions {
        fifo: true,
        visibility_timeout: 30,
        content_based_deduplication: true,
        second,
        ..QueueOptions::default()
    }
}

fn ids(batch: &Value) -> Vec<String> {
    batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_fifo_group_is_delivered_in_order_and_blocked_while_in_flight() {
    let emu = Emulator::start().await.unwrap();
    let queue = emu.create_queue("drops.fifo", fifo(Duration::from_secs(1)));
    assert_eq!(queue.arn, "arn:aws:sqs:us-east-1:123456789012:drops.fifo");
    for body in ["a", "b", "c"] {
        assert!(emu.send_message("drops.fifo", body, Some("g")).is_some());
    }
    // Content-based deduplication drops the same body.
    assert_eq!(emu.send_message("drops.fifo", "a", Some("g")), None);

    let batch = emu.receive_batch("drops.fifo", 2).unwrap();
    assert_eq!(ids(&batch), ["a", "b"]);
    let record = &batch["Records"][0];
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(record["eventSourceARN"], json!(queue.arn));
    assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
    assert_eq!(record["attributes"]["MessageGroupId"], "g");
    assert!(record["attributes"]["SentTimestamp"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .is_ok());
    // c waits behind the group's messages in flight.
    assert!(emu.receive_batch("drops.fifo", 10).is_none());

    // Lambda deletes what the function did not list; b stays in flight.
    let response = json!({"batchItemFailures": [{"itemIdentifier": record_id(&batch, 1)}]});
    emu.complete_batch("drops.fifo", &batch, Ok(&response));
    assert!(emu.receive_batch("drops.fifo", 10).is_none());
    emu.expire_visibility("drops.fifo");
    let again = emu.receive_batch("drops.fifo", 10).unwrap();
    assert_eq!(ids(&again), ["b", "c"]);
    assert_eq!(
        again["Records"][0]["attributes"]["ApproximateReceiveCount"],
        "2"
    );
    // A failed invocation deletes nothing.
    emu.complete_batch("drops.fifo", &again, Err(()));
    assert_eq!(emu.queue_messages("drops.fifo").len(), 2);
}

fn record_id(batch: &Value, i: usize) -> String {
    batch["Records"][i]["messageId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn change_message_visibility_over_the_sdk() {
    let emu = Emulator::start().await.unwrap();
    emu.create_queue("drops.fifo", fifo(Duration::from_millis(10)));
    emu.send_message("drops.fifo", "a", Some("g"));
    emu.send_message("drops.fifo", "b", Some("g"));
    let batch = emu.receive_batch("drops.fifo", 10).unwrap();
    let handle = batch["Records"][0]["receiptHandle"].as_str().unwrap();
    let sqs = clients(&emu).sqs;
    // Any host: the queue is the URL's last segment.
    let url = "https://sqs.us-east-1.amazonaws.com/123456789012/drops.fifo";

    sqs.change_message_visibility()
        .queue_url(url)
        .receipt_handle(handle)
        .visibility_timeout(5)
        .send()
        .await
        .unwrap();
    let messages = emu.queue_messages("drops.fifo");
    assert!(messages[0].in_flight && messages[0].visible_in <= Duration::from_millis(50));
    let entry = ChangeMessageVisibilityBatchRequestEntry::builder()
        .id("m1")
        .receipt_handle(batch["Records"][1]["receiptHandle"].as_str().unwrap())
        .visibility_timeout(0)
        .build()
        .unwrap();
    let out = sqs
        .change_message_visibility_batch()
        .queue_url(url)
        .entries(entry)
        .send()
        .await
        .unwrap();
    assert_eq!(out.successful().len(), 1);
    assert!(!emu.queue_messages("drops.fifo")[1].in_flight);
    let journal = emu.calls();
    let call = journal
        .iter()
        .find(|c| c.operation == "ChangeMessageVisibility")
        .unwrap();
    assert_eq!(call.service, "sqs");
    assert_eq!(call.params["VisibilityTimeout"], json!(5));

    // Errors the SDK names.
    let code = |r: Result<_, aws_sdk_sqs::error::SdkError<_, _>>| {
        r.map(|_: aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityOutput| ())
            .unwrap_err()
            .code()
            .map(str::to_string)
    };
    let send = |url: &str, handle: &str, timeout: i32| {
        sqs.change_message_visibility()
            .queue_url(url)
            .receipt_handle(handle)
            .visibility_timeout(timeout)
            .send()
    };
    assert_eq!(
        code(send("https://x/1/none", handle, 1).await).as_deref(),
        Some("QueueDoesNotExist")
    );
    assert_eq!(
        code(send(url, "AQEBstale", 1).await).as_deref(),
        Some("ReceiptHandleIsInvalid")
    );
    assert_eq!(
        code(send(url, handle, 50_000).await).as_deref(),
        Some("InvalidParameterValue")
    );
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(
        code(send(url, handle, 1).await).as_deref(),
        Some("MessageNotInflight")
    );
}

#[tokio::test]
async fn a_message_received_too_often_goes_to_the_dead_letter_queue() {
    let emu = Emulator::start().await.unwrap();
    emu.create_queue(
        "drops.fifo",
        QueueOptions {
            max_receive_count: Some(2),
            dead_letter_queue: Some("drops-dlq.fifo".into()),
            ..fifo(Duration::from_secs(1))
        },
    );
    emu.send_message("drops.fifo", "a", Some("g"));
    for _ in 0..2 {
        assert!(emu.receive_batch("drops.fifo", 10).is_some());
        emu.expire_visibility("drops.fifo");
    }
    assert!(emu.receive_batch("drops.fifo", 10).is_none());
    assert!(emu.queue_messages("drops.fifo").is_empty());
    assert_eq!(emu.queue_messages("drops-dlq.fifo")[0].body, "a");
}

#[tokio::test]
async fn the_event_source_mapping_redelivers_until_the_queue_is_empty() {
    let emu = Emulator::start().await.unwrap();
    emu.create_queue("drops.fifo", fifo(Duration::from_millis(1)));
    for body in ["a", "b"] {
        emu.send_message("drops.fifo", body, Some("g"));
    }
    let mut seen: Vec<(String, String)> = Vec::new();
    let stats = emu
        .run_event_source(
            "drops.fifo",
            10,
            |event| {
                let first = event["Records"][0].clone();
                let body = first["body"].as_str().unwrap().to_string();
                let count = first["attributes"]["ApproximateReceiveCount"]
                    .as_str()
                    .unwrap()
                    .to_string();
                seen.push((body.clone(), count.clone()));
                // "a" fails the first time: it and what follows are listed.
                let failed = if body == "a" && count == "1" {
                    event["Records"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| json!({"itemIdentifier": r["messageId"]}))
                        .collect()
                } else {
                    Vec::new()
                };
                async move { Ok(json!({"batchItemFailures": failed})) }
            },
            true,
        )
        .await;
    assert_eq!(seen, [("a".into(), "1".into()), ("a".into(), "2".into())]);
    assert_eq!(stats.invocations, 2);
    assert_eq!(stats.messages_received, 4);
    assert!(emu.queue_messages("drops.fifo").is_empty());
}
