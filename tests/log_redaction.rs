//! SPEC sections 5 and 8: a job's pre-signed URL is a credential. With
//! `EMIT_PRESIGNED_URL=true` it goes where it was asked for (the direct
//! response, the events), and still into no log line, with this crate
//! logging at TRACE (see `cis_testkit::TEST_LOG_FILTER`). `.ci/run` checks the
//! same over every test binary's log.

use cis_testkit::*;
use cognito_import_starter::Config;
use serde_json::json;

fn signature(url: &str) -> &str {
    url.split_once("X-Amz-Signature=")
        .map(|(_, signature)| signature)
        .unwrap_or_else(|| panic!("no signature in {url}"))
}

#[tokio::test]
async fn emitted_presigned_urls_are_in_responses_and_events_but_not_in_logs() {
    let h = harness_with(Config {
        emit_presigned_url: true,
        ..test_config()
    })
    .await;

    // Direct: StartUserImportJob's record in the response.
    let direct = h.emulator.create_import_job(POOL, "direct", true);
    let ids = json!({"UserPoolId": POOL, "JobId": direct.job_id});
    let response = h.invoke(ids.clone()).await.unwrap();
    assert_eq!(
        response["UserImportJob"]["PreSignedUrl"],
        json!(direct.pre_signed_url)
    );
    // Redelivered: DescribeUserImportJob's record.
    let again = h.invoke(ids).await.unwrap();
    assert_eq!(again["AlreadyStarted"], json!(true));
    assert_eq!(
        again["UserImportJob"]["PreSignedUrl"],
        json!(direct.pre_signed_url)
    );
    // An S3 notification: the URL in the event.
    let (_, notified) = h.seed("logged/users.csv");
    let summary = h.invoke(created("logged/users.csv")).await.unwrap();
    assert_eq!(summary["Results"][0]["Outcome"], "Started");
    let started = h.events_of("User Import Job Started");
    assert_eq!(
        started.last().unwrap().detail["UserImportJob"]["PreSignedUrl"],
        json!(notified.pre_signed_url)
    );
    // Tracking: DescribeUserImportJob again.
    let tracked = h
        .invoke(json!({"Action": "Track", "UserPoolId": POOL, "JobId": direct.job_id}))
        .await
        .unwrap();
    assert_eq!(
        tracked["UserImportJob"]["PreSignedUrl"],
        json!(direct.pre_signed_url)
    );

    let logs = test_logs();
    // Not vacuous: these records' outcome lines are in the file.
    for job in [&direct, &notified] {
        let outcome_lines = logs
            .lines()
            .filter(|line| line.contains("\"message\":\"record outcome\""))
            .filter(|line| line.contains(&job.job_id))
            .count();
        assert!(
            outcome_lines >= 1,
            "no outcome line for {} in {}:\n{logs}",
            job.job_id,
            test_log_path().display()
        );
    }
    for job in [&direct, &notified] {
        assert!(
            !logs.contains(signature(&job.pre_signed_url)),
            "the pre-signed URL of {} is in {}",
            job.job_id,
            test_log_path().display()
        );
    }
    assert!(
        !logs.contains("X-Amz-Signature"),
        "a pre-signed URL is in {}",
        test_log_path().display()
    );
    assert!(
        !logs.contains(TEST_SECRET_ACCESS_KEY),
        "the secret access key is in {}",
        test_log_path().display()
    );
}
