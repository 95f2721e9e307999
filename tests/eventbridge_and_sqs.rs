//! EventBridge S3 events and SQS batches (SPEC sections 2 and 6).

use cis_emulator::{Fault, FaultAction};
use cis_testkit::*;
use serde_json::json;

#[tokio::test]
async fn eventbridge_object_created_starts_with_the_key_as_it_comes() {
    let h = harness().await;
    let (_, job) = h.seed("imports/a+b%20c.csv");

    let response = h
        .invoke(eventbridge_event(BUCKET, "imports/a+b%20c.csv", None))
        .await
        .unwrap();

    assert_eq!(response["Results"][0]["Outcome"], "Started");
    assert_eq!(response["Results"][0]["Key"], "imports/a+b%20c.csv");
    assert_eq!(h.status(&job), "Pending");
    assert_eq!(h.events_of("User Import Job Started").len(), 1);
}

#[tokio::test]
async fn eventbridge_version_id_is_used() {
    let h = harness().await;
    h.emulator.create_bucket(BUCKET, true);
    let (object, job) = h.seed("v.csv");
    let version = object.version_id.unwrap();

    h.invoke(eventbridge_event(BUCKET, "v.csv", Some(&version)))
        .await
        .unwrap();

    let head = h.first_call("HeadObject");
    assert_eq!(head.params["VersionId"], json!(version));
    assert_eq!(h.status(&job), "Pending");
}

#[tokio::test]
async fn sqs_lists_only_the_messages_that_failed_retryably() {
    let h = harness().await;
    let (_, ok_job) = h.seed("ok.csv");
    let (_, eb_job) = h.seed("eb.csv");
    let (_, busy_job) = h.seed("busy.csv");
    h.emulator.put_object(BUCKET, "bare.csv", "x", &[]);
    h.emulator.inject(
        Fault::new(
            "StartUserImportJob",
            FaultAction::error(400, "TooManyRequestsException"),
        )
        .matching(&busy_job.job_id),
    );

    let event = sqs_event(&[
        ("m-ok", created("ok.csv")),
        ("m-eb", eventbridge_event(BUCKET, "eb.csv", None)),
        ("m-bare", created("bare.csv")),
        ("m-busy", created("busy.csv")),
        ("m-junk", json!({"not": "an s3 event"})),
        (
            "m-test",
            json!({"Service": "Amazon S3", "Event": "s3:TestEvent"}),
        ),
    ]);
    let response = h.invoke(event).await.unwrap();

    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "m-busy"}]})
    );
    assert_eq!(h.status(&ok_job), "Pending");
    assert_eq!(h.status(&eb_job), "Pending");
    assert_eq!(h.status(&busy_job), "Created");
    assert_eq!(h.events_of("User Import Job Started").len(), 2);
    let failed: Vec<String> = h
        .events_of("User Import Job Start Failed")
        .iter()
        .map(|e| {
            e.detail["Error"]["Type"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(failed, ["MissingImportMetadata", "UnsupportedEvent"]);
}

#[tokio::test]
async fn sqs_all_good_returns_an_empty_failure_list() {
    let h = harness().await;
    h.seed("a.csv");
    let response = h
        .invoke(sqs_event(&[("m1", created("a.csv"))]))
        .await
        .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
}

#[tokio::test]
async fn sqs_message_whose_event_cannot_be_published_comes_again() {
    let h = harness().await;
    let (_, job) = h.seed("a.csv");
    let (_, other) = h.seed("b.csv");
    h.emulator.inject(
        Fault::new(
            "PutEvents",
            FaultAction::FailEntries {
                code: "InternalException".into(),
            },
        )
        .matching(&job.job_id),
    );

    let event = sqs_event(&[("m-a", created("a.csv")), ("m-b", created("b.csv"))]);
    let response = h.invoke(event).await.unwrap();

    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "m-a"}]})
    );
    let accepted = h.events_of("User Import Job Started");
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        accepted[0].detail["UserImportJob"]["JobId"],
        json!(other.job_id)
    );
}
