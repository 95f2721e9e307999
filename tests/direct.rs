//! Direct invocations (Step Functions, CLI) and tracking: SPEC sections 2, 6 and 11.

use cis_emulator::{Fault, FaultAction};
use cis_testkit::*;
use cognito_import_starter::Config;
use serde_json::json;

#[tokio::test]
async fn by_ids_returns_the_record_and_emits_without_object() {
    let h = harness().await;
    let job = h.emulator.create_import_job(POOL, "direct", true);

    let response = h
        .invoke(json!({"UserPoolId": POOL, "JobId": job.job_id}))
        .await
        .unwrap();

    assert_eq!(response["AlreadyStarted"], json!(false));
    assert_eq!(response["UserImportJob"]["JobId"], json!(job.job_id));
    assert_eq!(response["UserImportJob"]["Status"], "Pending");
    assert!(response.get("Object").is_none());
    assert!(response["UserImportJob"].get("PreSignedUrl").is_none());
    assert_eq!(h.emulator.count("HeadObject"), 0);
    let started = h.events_of("User Import Job Started");
    assert_eq!(started.len(), 1);
    assert!(started[0].detail.get("Object").is_none());

    let again = h
        .invoke(json!({"UserPoolId": POOL, "JobId": job.job_id}))
        .await
        .unwrap();
    assert_eq!(again["AlreadyStarted"], json!(true));
}

#[tokio::test]
async fn by_object_returns_the_record_and_the_object() {
    let h = harness().await;
    let (object, job) = h.seed("imports/a+b.csv");

    let response = h
        .invoke(json!({"Bucket": BUCKET, "Key": "imports/a+b.csv"}))
        .await
        .unwrap();

    assert_eq!(response["UserImportJob"]["JobId"], json!(job.job_id));
    assert_eq!(response["AlreadyStarted"], json!(false));
    assert_eq!(
        response["Object"],
        json!({"Bucket": BUCKET, "Key": "imports/a+b.csv", "ETag": object.etag.trim_matches('"')})
    );
}

#[tokio::test]
async fn by_object_with_a_version() {
    let h = harness().await;
    h.emulator.create_bucket(BUCKET, true);
    let (object, job) = h.seed("v.csv");
    let version = object.version_id.clone().unwrap();

    let response = h
        .invoke(json!({"Bucket": BUCKET, "Key": "v.csv", "VersionId": version}))
        .await
        .unwrap();

    assert_eq!(response["Object"]["VersionId"], json!(version));
    assert_eq!(h.status(&job), "Pending");
}

#[tokio::test]
async fn failures_are_lambda_errors_with_the_spec_type() {
    let h = harness().await;
    let cases = [
        (json!({"Hello": "world"}), "UnsupportedEvent"),
        (json!(["not", "an", "object"]), "UnsupportedEvent"),
        (
            json!({"Action": "Restart", "UserPoolId": POOL, "JobId": "import-x"}),
            "UnsupportedEvent",
        ),
        (
            json!({"UserPoolId": "bad pool", "JobId": "import-x"}),
            "InvalidImportMetadata",
        ),
        (
            json!({"UserPoolId": POOL, "JobId": "import-doesnotexist"}),
            "ResourceNotFoundException",
        ),
        (
            json!({"Bucket": BUCKET, "Key": "nothing-here.csv"}),
            "ObjectNotFound",
        ),
    ];
    h.emulator.create_user_pool(POOL, "pool", &[]);
    h.emulator.create_bucket(BUCKET, false);
    for (event, expected) in cases {
        let result = h.invoke(event.clone()).await;
        assert_eq!(error_type(&result), expected, "{event}");
    }
}

#[tokio::test]
async fn the_allowlist_holds_for_direct_invocations() {
    let config = Config {
        allowed_user_pool_ids: Some(vec!["us-east-1_Allowed".into()]),
        ..test_config()
    };
    let h = harness_with(config).await;
    let job = h.emulator.create_import_job(POOL, "direct", true);

    let result = h
        .invoke(json!({"UserPoolId": POOL, "JobId": job.job_id}))
        .await;
    assert_eq!(error_type(&result), "UserPoolNotAllowed");
    let tracked = h
        .invoke(json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id}))
        .await;
    assert_eq!(error_type(&tracked), "UserPoolNotAllowed");
    assert_eq!(
        h.emulator.count("StartUserImportJob") + h.emulator.count("DescribeUserImportJob"),
        0
    );
}

#[tokio::test]
async fn track_reports_progress_and_emits_completed_once_terminal() {
    let h = harness().await;
    h.emulator.create_user_pool(POOL, "customers", &[]);
    let job = h.emulator.create_import_job(POOL, "nightly", true);
    h.invoke(json!({"UserPoolId": POOL, "JobId": job.job_id}))
        .await
        .unwrap();
    let track = json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id});

    let running = h.invoke(track.clone()).await.unwrap();
    assert_eq!(running["Terminal"], json!(false));
    assert_eq!(running["UserImportJob"]["Status"], "Pending");
    assert!(h.events_of("User Import Job Completed").is_empty());

    h.emulator.finish_job(
        POOL,
        &job.job_id,
        "Succeeded",
        40,
        1,
        2,
        "Import Job Completed Successfully.",
    );
    h.log_user_lines(
        "customers",
        &job,
        &[
            "[SKIPPED] Line Number 5 - The user already exists.",
            "[FAILED] Line Number 9 - Invalid email address format.",
            "[FAILED] Line Number 12 - Invalid phone number format.",
        ],
    );
    let done = h.invoke(track).await.unwrap();
    assert_eq!(done["Terminal"], json!(true));
    let completed = h.events_of("User Import Job Completed");
    assert_eq!(completed.len(), 1);
    let detail = &completed[0].detail;
    assert_eq!(detail["UserImportJob"]["ImportedUsers"], 40);
    assert_eq!(detail["UserImportJob"]["SkippedUsers"], 1);
    assert_eq!(detail["UserImportJob"]["FailedUsers"], 2);
    assert_eq!(
        detail["UserImportJob"]["CompletionMessage"],
        "Import Job Completed Successfully."
    );
    assert_eq!(
        detail["Logs"]["LogGroup"],
        format!("/aws/cognito/userpools/{POOL}/customers")
    );
    assert_eq!(
        detail["Logs"]["LogStream"],
        format!("{}/nightly", job.job_id)
    );
}

#[tokio::test]
async fn a_direct_failure_keeps_its_type_when_its_event_cannot_be_published() {
    // SPEC 6: Step Functions Catch must match the record's own type.
    let h = harness().await;
    h.emulator
        .put_object(BUCKET, "bare.csv", "x", &[("user-pool-id", POOL)]);
    h.emulator.inject(cis_fault_put_events_down());

    let result = h.invoke(json!({"Bucket": BUCKET, "Key": "bare.csv"})).await;

    assert_eq!(error_type(&result), "MissingImportMetadata");
    assert!(h.events().is_empty());
    assert!(h.emulator.count("PutEvents") >= 1, "the event was tried");
}

#[tokio::test]
async fn a_started_job_whose_event_is_lost_fails_the_direct_call_retryably() {
    let h = harness().await;
    let job = h.emulator.create_import_job(POOL, "direct", true);
    h.emulator.inject(cis_fault_put_events_down());

    let ids = json!({"UserPoolId": POOL, "JobId": job.job_id});
    let result = h.invoke(ids.clone()).await;
    assert_eq!(error_type(&result), "EventPublishFailed");
    assert_eq!(h.status(&job), "Pending");

    h.emulator.clear_faults();
    let retried = h.invoke(ids).await.unwrap();
    assert_eq!(retried["AlreadyStarted"], json!(true));
    assert_eq!(h.events_of("User Import Job Started").len(), 1);
}

fn cis_fault_put_events_down() -> Fault {
    Fault::new("PutEvents", FaultAction::error(503, "ServiceUnavailable"))
}
