//! Throttling, failures and hangs injected at the emulator (SPEC section 6):
//! the SDK retries what it can; what remains is typed and never lost.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cis_emulator::{Fault, FaultAction};
use cis_testkit::*;
use cognito_import_starter::{Config, ErrorKind};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

#[tokio::test]
async fn throttling_is_retried_by_the_sdk() {
    let h = harness().await;
    let (_, job) = h.seed("t.csv");
    h.emulator.inject(
        Fault::new(
            "StartUserImportJob",
            FaultAction::error(400, "TooManyRequestsException"),
        )
        .times(2),
    );

    let response = h.invoke(created("t.csv")).await.unwrap();

    assert_eq!(response["Results"][0]["Outcome"], "Started");
    assert_eq!(h.emulator.count("StartUserImportJob"), 3);
    assert_eq!(h.status(&job), "Pending");
}

#[tokio::test]
async fn cognito_errors_map_to_their_spec_types() {
    let cases = [
        (400, "TooManyRequestsException", ErrorKind::TooManyRequests),
        (500, "InternalErrorException", ErrorKind::InternalError),
        (400, "NotAuthorizedException", ErrorKind::NotAuthorized),
        (
            400,
            "InvalidParameterException",
            ErrorKind::InvalidParameter,
        ),
        (
            400,
            "ResourceNotFoundException",
            ErrorKind::ResourceNotFound,
        ),
        (400, "AccessDeniedException", ErrorKind::AccessDenied),
        (503, "ServiceUnavailable", ErrorKind::ServiceUnavailable),
        // Cognito's newer errors keep their own names and are permanent.
        (
            400,
            "OperationNotEnabledException",
            ErrorKind::OperationNotEnabled,
        ),
        (400, "LimitExceededException", ErrorKind::LimitExceeded),
        // One the SPEC names nowhere: retried, not dropped.
        (400, "SomethingNewException", ErrorKind::ServiceUnavailable),
    ];
    for (status, code, kind) in cases {
        let h = harness().await;
        h.seed("e.csv");
        h.emulator.inject(Fault::new(
            "StartUserImportJob",
            FaultAction::error(status, code),
        ));
        let result = h.invoke(created("e.csv")).await;
        if kind.is_retryable() {
            assert_eq!(cis_testkit::kind(&result), kind, "{code}");
            assert!(
                h.events().is_empty(),
                "{code}: a retryable failure emits nothing"
            );
        } else {
            let response = result.unwrap();
            assert_eq!(
                response["Results"][0]["Error"]["Type"],
                kind.as_str(),
                "{code}"
            );
            assert_eq!(
                h.events_of("User Import Job Start Failed").len(),
                1,
                "{code}"
            );
        }
    }
}

#[tokio::test]
async fn s3_server_errors_and_dropped_connections_are_service_unavailable() {
    for action in [
        FaultAction::error(503, "SlowDown"),
        FaultAction::error(500, "InternalError"),
        FaultAction::Drop,
    ] {
        let h = harness().await;
        h.seed("s.csv");
        h.emulator.inject(Fault::new("HeadObject", action.clone()));
        let result = h.invoke(created("s.csv")).await;
        assert_eq!(error_type(&result), "ServiceUnavailable", "{action:?}");
        assert_eq!(h.emulator.count("StartUserImportJob"), 0);
    }
}

#[tokio::test]
async fn a_transient_s3_error_is_retried_by_the_sdk() {
    let h = harness().await;
    h.seed("s.csv");
    h.emulator
        .inject(Fault::new("HeadObject", FaultAction::error(503, "SlowDown")).times(1));
    let response = h.invoke(created("s.csv")).await.unwrap();
    assert_eq!(response["Results"][0]["Outcome"], "Started");
    assert_eq!(h.emulator.count("HeadObject"), 2);
}

#[tokio::test]
async fn a_hung_cognito_is_a_retryable_failure_within_the_timeouts() {
    let h = harness().await;
    let (_, job) = h.seed("h.csv");
    h.emulator
        .inject(Fault::new("StartUserImportJob", FaultAction::Hang));

    let began = Instant::now();
    let result = h.invoke(created("h.csv")).await;

    assert_eq!(error_type(&result), "ServiceUnavailable");
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "took {:?}",
        began.elapsed()
    );
    assert_eq!(h.status(&job), "Created");
    assert!(h.events().is_empty());
}

#[tokio::test]
async fn the_lambda_deadline_bounds_a_slow_record() {
    // Generous SDK timeouts: only the deadline from the context can stop it.
    let mut config = test_config();
    config.timeouts.attempt = Duration::from_secs(60);
    config.timeouts.operation = Duration::from_secs(60);
    let h = harness_with(config).await;
    h.seed("slow.csv");
    h.emulator
        .inject(Fault::new("HeadObject", FaultAction::Hang));
    let mut context = Context::default();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    context.deadline = (now + Duration::from_secs(2)).as_millis() as u64;

    let began = Instant::now();
    let event = LambdaEvent::new(created("slow.csv"), context);
    let result = h.app.handle(event).await;

    assert_eq!(error_type(&result), "ServiceUnavailable");
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "answered after the deadline: {:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn a_failed_putevents_entry_fails_its_record_retryably() {
    let h = harness().await;
    let (_, job) = h.seed("p.csv");
    h.emulator.inject(Fault::new(
        "PutEvents",
        FaultAction::FailEntries {
            code: "InternalException".into(),
        },
    ));

    let result = h.invoke(created("p.csv")).await;

    assert_eq!(error_type(&result), "EventPublishFailed");
    assert_eq!(h.status(&job), "Pending");

    // Lambda retries the event: the job is already started, the event goes out.
    h.emulator.clear_faults();
    let retried = h.invoke(created("p.csv")).await.unwrap();
    assert_eq!(retried["Results"][0]["Outcome"], "AlreadyStarted");
    let started = h.events_of("User Import Job Started");
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].detail["AlreadyStarted"], json!(true));
}

#[tokio::test]
async fn a_failed_failure_event_makes_the_record_come_again() {
    let h = harness().await;
    h.emulator.put_object(BUCKET, "bare.csv", "x", &[]);
    h.emulator.inject(Fault::new(
        "PutEvents",
        FaultAction::error(500, "InternalException"),
    ));

    let result = h.invoke(created("bare.csv")).await;

    // SPEC 6: any error of PutEvents is EventPublishFailed, 5xx included.
    assert_eq!(error_type(&result), "EventPublishFailed");
    assert!(result
        .unwrap_err()
        .message
        .contains("MissingImportMetadata"));
}

#[tokio::test]
async fn eventbridge_denying_the_call_loses_no_started_job() {
    // A role without events:PutEvents: the job starts, its event is refused.
    let h = harness().await;
    let (_, job) = h.seed("denied.csv");
    h.emulator.inject(
        Fault::new(
            "PutEvents",
            FaultAction::error(400, "AccessDeniedException"),
        )
        .times(1),
    );
    let result = h.invoke(created("denied.csv")).await;
    assert_eq!(error_type(&result), "EventPublishFailed");
    assert_eq!(h.status(&job), "Pending");
    assert!(h.events().is_empty());

    let retried = h.invoke(created("denied.csv")).await.unwrap();
    assert_eq!(retried["Results"][0]["Outcome"], "AlreadyStarted");
    assert_eq!(h.events_of("User Import Job Started").len(), 1);
}

#[tokio::test]
async fn eventbridge_refusing_the_call_is_event_publish_failed() {
    let h = harness().await;
    h.seed("r.csv");
    h.emulator.inject(Fault::new(
        "PutEvents",
        FaultAction::error(400, "ResourceNotFoundException"),
    ));
    let result = h.invoke(created("r.csv")).await;
    assert_eq!(error_type(&result), "EventPublishFailed");
}

#[tokio::test]
async fn one_failing_record_does_not_hold_back_the_others() {
    let h = harness().await;
    let (_, good) = h.seed("good.csv");
    let (_, bad) = h.seed("bad.csv");
    h.emulator.inject(
        Fault::new(
            "StartUserImportJob",
            FaultAction::error(500, "InternalErrorException"),
        )
        .matching(&bad.job_id),
    );

    let result = h
        .invoke(s3_event(&[
            ("ObjectCreated:Put", "good.csv"),
            ("ObjectCreated:Put", "bad.csv"),
        ]))
        .await;

    assert_eq!(error_type(&result), "InternalErrorException");
    assert!(result.unwrap_err().message.starts_with("1 of 2 records"));
    assert_eq!(h.status(&good), "Pending");
    let started = h.events_of("User Import Job Started");
    assert_eq!(
        started.len(),
        1,
        "the good record's event is out before the retry"
    );
    assert_eq!(
        started[0].detail["UserImportJob"]["JobId"],
        json!(good.job_id)
    );
}

#[tokio::test]
async fn one_deadline_bounds_the_whole_invocation() {
    // Four records, one at a time, each start 700 ms: they cannot all fit in
    // 2 s. Those that could not finish are retryable; the answer comes before
    // the deadline; a redelivery completes them, starting each job once.
    let h = harness_with(Config {
        max_concurrency: 1,
        ..test_config()
    })
    .await;
    let keys = ["d0.csv", "d1.csv", "d2.csv", "d3.csv"];
    let jobs: Vec<_> = keys.iter().map(|key| h.seed(key).1).collect();
    h.emulator.inject(Fault::new(
        "StartUserImportJob",
        FaultAction::Delay(Duration::from_millis(700)),
    ));
    let event = s3_event(&keys.map(|key| ("ObjectCreated:Put", key)));

    let began = Instant::now();
    let result = h
        .invoke_with_deadline(event.clone(), Duration::from_secs(2))
        .await;

    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(error_type(&result), "ServiceUnavailable");
    let started_now = h.events_of("User Import Job Started").len();
    assert!(
        (1..4).contains(&started_now),
        "{started_now} started in time"
    );

    h.emulator.clear_faults();
    let retried = h.invoke(event).await.unwrap();
    assert_eq!(retried["Results"].as_array().map(Vec::len), Some(4));
    for job in &jobs {
        assert_eq!(h.status(job), "Pending");
    }
    assert_eq!(
        h.emulator
            .jobs()
            .iter()
            .filter(|j| j.status == "Pending")
            .count(),
        4
    );
}

#[tokio::test]
async fn a_track_answers_before_the_deadline_when_cognito_hangs() {
    let h = harness().await;
    let job = h.emulator.create_import_job(POOL, "t", true);
    h.emulator
        .inject(Fault::new("DescribeUserImportJob", FaultAction::Hang));
    let began = Instant::now();
    let result = h
        .invoke_with_deadline(
            json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id}),
            Duration::from_millis(1200),
        )
        .await;
    assert!(began.elapsed() < Duration::from_millis(1200));
    assert_eq!(error_type(&result), "ServiceUnavailable");
}
