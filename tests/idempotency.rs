//! SPEC section 4: at-least-once deliveries start a job once in effect.

use cis_testkit::*;
use serde_json::json;

#[tokio::test]
async fn a_duplicate_delivery_is_already_started_and_emits_again() {
    let h = harness().await;
    let (_, job) = h.seed("dup.csv");
    let event = created("dup.csv");

    let first = h.invoke(event.clone()).await.unwrap();
    let start_date = h.emulator.job(POOL, &job.job_id).unwrap().start_date_ms;
    let second = h.invoke(event).await.unwrap();

    assert_eq!(first["Results"][0]["Outcome"], "Started");
    assert_eq!(second["Results"][0]["Outcome"], "AlreadyStarted");
    assert_eq!(second["Results"][0]["Status"], "Pending");
    // Started once: the job's start date did not move.
    assert_eq!(
        h.emulator.job(POOL, &job.job_id).unwrap().start_date_ms,
        start_date
    );
    assert_eq!(h.emulator.count("DescribeUserImportJob"), 1);
    let started = h.events_of("User Import Job Started");
    assert_eq!(
        started.len(),
        2,
        "the duplicate re-emits, making good a lost emit"
    );
    assert_eq!(started[0].detail["AlreadyStarted"], json!(false));
    assert_eq!(started[1].detail["AlreadyStarted"], json!(true));
    assert_eq!(
        started[1].detail["UserImportJob"]["JobId"],
        json!(job.job_id)
    );
}

#[tokio::test]
async fn every_started_status_counts_as_already_started() {
    for status in [
        "Pending",
        "InProgress",
        "Stopping",
        "Stopped",
        "Succeeded",
        "Failed",
    ] {
        let h = harness().await;
        let (_, job) = h.seed("s.csv");
        h.emulator.set_job_status(POOL, &job.job_id, status);

        let response = h.invoke(created("s.csv")).await.unwrap();

        assert_eq!(
            response["Results"][0]["Outcome"], "AlreadyStarted",
            "{status}"
        );
        assert_eq!(response["Results"][0]["Status"], json!(status));
        assert_eq!(
            h.events_of("User Import Job Started")[0].detail["UserImportJob"]["Status"],
            json!(status)
        );
    }
}

#[tokio::test]
async fn an_expired_job_is_a_permanent_failure() {
    let h = harness().await;
    let (_, job) = h.seed("old.csv");
    h.emulator.set_job_status(POOL, &job.job_id, "Expired");

    let response = h.invoke(created("old.csv")).await.unwrap();

    assert_eq!(response["Results"][0]["Error"]["Type"], "ImportJobExpired");
    let failed = h.events_of("User Import Job Start Failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].detail["Error"]["Type"], "ImportJobExpired");
    assert_eq!(failed[0].detail["JobId"], json!(job.job_id));
    assert!(h.events_of("User Import Job Started").is_empty());
}

#[tokio::test]
async fn a_job_without_its_csv_is_retried_and_emits_nothing() {
    let h = harness().await;
    let job = h.emulator.create_import_job(POOL, "early", false);
    h.emulator.put_object(
        BUCKET,
        "early.csv",
        "x",
        &[("user-pool-id", POOL), ("job-id", &job.job_id)],
    );

    let result = h.invoke(created("early.csv")).await;

    assert_eq!(error_type(&result), "CsvNotUploaded");
    assert!(
        h.events().is_empty(),
        "a retryable failure emits nothing: {:?}",
        h.events()
    );
    assert_eq!(h.status(&job), "Created");
}
