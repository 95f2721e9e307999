//! SPEC section 11: `{"Action": "Track", ...}` follows a job to its end and
//! emits `User Import Job Completed` once it is terminal.

use cis_emulator::{Fault, FaultAction};
use cis_testkit::*;
use serde_json::json;

const COMPLETED: &str = "User Import Job Completed";

#[tokio::test]
async fn each_terminal_status_is_terminal_and_emits_completed() {
    for status in ["Succeeded", "Failed", "Stopped", "Expired"] {
        let h = harness().await;
        h.emulator.create_user_pool(POOL, "customers", &[]);
        let job = h.emulator.create_import_job(POOL, "nightly", true);
        h.emulator
            .finish_job(POOL, &job.job_id, status, 3, 2, 1, "done");
        h.log_user_lines(
            "customers",
            &job,
            &[
                "[SUCCEEDED] Line Number 1 - The import succeeded.",
                "[SKIPPED] Line Number 2 - The user already exists.",
                "[FAILED] Line Number 3 - Invalid email address format.",
                "[SKIPPED] Line Number 4 - The user already exists.",
            ],
        );

        let response = h
            .invoke(json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id}))
            .await
            .unwrap();

        assert_eq!(response["Terminal"], json!(true), "{status}");
        assert_eq!(response["UserImportJob"]["Status"], status);
        let events = h.events_of(COMPLETED);
        assert_eq!(events.len(), 1, "{status}");
        let detail = &events[0].detail;
        assert_eq!(detail["UserImportJob"]["Status"], status);
        assert_eq!(detail["UserImportJob"]["ImportedUsers"], 3);
        assert_eq!(detail["UserImportJob"]["SkippedUsers"], 2);
        assert_eq!(detail["UserImportJob"]["FailedUsers"], 1);
        assert_eq!(detail["UserImportJob"]["CompletionMessage"], "done");
        assert!(detail["UserImportJob"].get("PreSignedUrl").is_none());
        assert_eq!(
            detail["Logs"],
            json!({
                "LogGroup": format!("/aws/cognito/userpools/{POOL}/customers"),
                "LogStream": format!("{}/nightly", job.job_id),
            })
        );
        // SPEC 12: the users that did not make it, from the log (no Object
        // given, so no files).
        assert_eq!(
            detail["Results"],
            json!({
                "Failed": 1, "Skipped": 2, "Complete": true,
                "Reasons": [
                    {"Status": "SKIPPED", "Reason": "The user already exists.", "Count": 2},
                    {"Status": "FAILED", "Reason": "Invalid email address format.", "Count": 1}
                ],
                "First": [
                    {"Line": 2, "Status": "SKIPPED", "Reason": "The user already exists."},
                    {"Line": 3, "Status": "FAILED", "Reason": "Invalid email address format."},
                    {"Line": 4, "Status": "SKIPPED", "Reason": "The user already exists."}
                ]
            }),
            "{status}"
        );
    }
}

#[tokio::test]
async fn non_terminal_statuses_emit_nothing() {
    for status in ["Created", "Pending", "InProgress", "Stopping"] {
        let h = harness().await;
        let job = h.emulator.create_import_job(POOL, "nightly", true);
        h.emulator.set_job_status(POOL, &job.job_id, status);

        let response = h
            .invoke(json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id}))
            .await
            .unwrap();

        assert_eq!(response["Terminal"], json!(false), "{status}");
        assert_eq!(response["UserImportJob"]["Status"], status);
        assert!(h.events().is_empty(), "{status}");
        assert_eq!(h.emulator.count("DescribeUserPool"), 0, "{status}");
    }
}

#[tokio::test]
async fn tracking_a_finished_job_twice_emits_twice() {
    let h = harness().await;
    let job = h.emulator.create_import_job(POOL, "nightly", true);
    h.emulator
        .finish_job(POOL, &job.job_id, "Succeeded", 1, 0, 0, "ok");
    let track = json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id});

    h.invoke(track.clone()).await.unwrap();
    h.invoke(track).await.unwrap();

    // The same event twice: consumers dedupe on pool, job and status.
    let completed = h.events_of(COMPLETED);
    assert_eq!(completed.len(), 2);
    assert_eq!(completed[0].detail, completed[1].detail);
    assert_eq!(completed[0].detail["UserImportJob"]["Status"], "Succeeded");
}

#[tokio::test]
async fn another_action_is_unsupported_and_bad_ids_are_refused() {
    let h = harness().await;
    let other = h
        .invoke(json!({"Action": "Stop", "UserPoolId": POOL, "JobId": "import-AbC123"}))
        .await;
    assert_eq!(error_type(&other), "UnsupportedEvent");

    let bad = h
        .invoke(json!({"Action": "Track", "UserPoolId": "not a pool", "JobId": "import-AbC123"}))
        .await;
    assert_eq!(error_type(&bad), "InvalidImportMetadata");
    assert!(h.emulator.calls().is_empty());
}

#[tokio::test]
async fn a_missing_job_is_resource_not_found() {
    let h = harness().await;
    h.emulator.create_user_pool(POOL, "customers", &[]);

    let result = h
        .invoke(json!({"Action": "Track", "UserPoolId": POOL, "JobId": "import-Missing1"}))
        .await;

    assert_eq!(error_type(&result), "ResourceNotFoundException");
    assert!(h.events().is_empty());
}

/// A Completed event that cannot be published fails the Track call with a
/// retryable type, so that the state machine's Retry tracks the job again.
#[tokio::test]
async fn a_completed_event_that_cannot_be_published_fails_the_track() {
    let h = harness().await;
    h.emulator.create_user_pool(POOL, "customers", &[]);
    let job = h.emulator.create_import_job(POOL, "nightly", true);
    h.emulator
        .finish_job(POOL, &job.job_id, "Succeeded", 1, 0, 0, "ok");
    h.emulator.inject(Fault::new(
        "PutEvents",
        FaultAction::FailEntries {
            code: "InternalException".into(),
        },
    ));
    let track = json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id});

    let result = h.invoke(track.clone()).await;

    assert_eq!(error_type(&result), "EventPublishFailed");
    assert!(h.events_of(COMPLETED).is_empty());
    h.emulator.clear_faults();
    assert_eq!(h.invoke(track).await.unwrap()["Terminal"], json!(true));
    assert_eq!(h.events_of(COMPLETED).len(), 1);
}
