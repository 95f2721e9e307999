//! The emulator's injected faults, seen through the real SDK clients:
//! service-shaped errors, counts and matching, delays, hangs, dropped
//! connections, lost responses, upload faults.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use cis_emulator::{Emulator, Fault, FaultAction, DEFAULT_CSV_HEADER};
use common::*;

#[tokio::test]
async fn error_faults_are_service_shaped() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let job = emulator.create_import_job(POOL, "users", true);
    emulator.put_object("drop", "a.csv", "x", &[]);

    emulator.inject(
        Fault::new(
            "StartUserImportJob",
            FaultAction::error(400, "TooManyRequestsException"),
        )
        .times(1),
    );
    let error = c
        .cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(error.code(), Some("TooManyRequestsException"));
    assert_eq!(error.message(), Some("injected fault"));
    assert!(error.into_service_error().is_too_many_requests_exception());
    assert_eq!(
        emulator.job(POOL, &job.job_id).expect("job").status,
        "Created"
    );

    emulator.inject(Fault::new(
        "DescribeUserImportJob",
        FaultAction::error(500, "InternalErrorException"),
    ));
    let error = c
        .cognito
        .describe_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect_err("internal");
    assert_eq!(error.code(), Some("InternalErrorException"));
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(500));
    emulator.clear_faults();
    c.cognito
        .describe_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect("faults cleared");

    emulator.inject(Fault::new("GetObject", FaultAction::error(503, "SlowDown")).times(1));
    let error =
        c.s3.get_object()
            .bucket("drop")
            .key("a.csv")
            .send()
            .await
            .expect_err("slow down");
    assert_eq!(error.code(), Some("SlowDown"));
    emulator.inject(Fault::new("HeadObject", FaultAction::error(503, "SlowDown")).times(1));
    let error =
        c.s3.head_object()
            .bucket("drop")
            .key("a.csv")
            .send()
            .await
            .expect_err("head 503");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(503));

    emulator.inject(Fault::new("PutEvents", FaultAction::error(500, "InternalException")).times(1));
    let error = c
        .events
        .put_events()
        .entries(entry("{}"))
        .send()
        .await
        .expect_err("events 500");
    assert_eq!(error.code(), Some("InternalException"));
    assert!(emulator.events().is_empty());

    // Faulted calls are journaled with the status sent.
    let statuses: Vec<(String, u16)> = emulator
        .calls()
        .into_iter()
        .map(|call| (call.operation, call.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("StartUserImportJob".to_string(), 400),
            ("DescribeUserImportJob".to_string(), 500),
            ("DescribeUserImportJob".to_string(), 200),
            ("GetObject".to_string(), 503),
            ("HeadObject".to_string(), 503),
            ("PutEvents".to_string(), 500),
        ]
    );
}

#[tokio::test]
async fn times_and_matching() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.put_object("drop", "good.csv", "x", &[]);
    emulator.put_object("drop", "bad.csv", "x", &[]);
    emulator.inject(
        Fault::new("HeadObject", FaultAction::error(500, "InternalError"))
            .matching("bad")
            .times(2),
    );
    // The HTTP status of a failed HEAD (its error has no body to name it).
    let head = |key: &'static str| {
        let s3 = c.s3.clone();
        async move {
            s3.head_object()
                .bucket("drop")
                .key(key)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.raw_response().map(|r| r.status().as_u16()))
        }
    };
    assert_eq!(head("good.csv").await, Ok(()));
    assert_eq!(head("bad.csv").await, Err(Some(500)));
    assert_eq!(head("good.csv").await, Ok(()));
    assert_eq!(head("bad.csv").await, Err(Some(500)));
    assert_eq!(head("bad.csv").await, Ok(()), "spent after two");

    // The first matching fault (in injection order) applies.
    let first = emulator.create_import_job(POOL, "one", false);
    let second = emulator.create_import_job(POOL, "two", false);
    emulator.inject(
        Fault::new(
            "DescribeUserImportJob",
            FaultAction::error(400, "NotAuthorizedException"),
        )
        .matching(&second.job_id),
    );
    emulator.inject(
        Fault::new(
            "DescribeUserImportJob",
            FaultAction::error(400, "TooManyRequestsException"),
        )
        .times(1),
    );
    let describe = |job_id: String| {
        let cognito = c.cognito.clone();
        async move {
            cognito
                .describe_user_import_job()
                .user_pool_id(POOL)
                .job_id(job_id)
                .send()
                .await
                .err()
                .and_then(|error| error.code().map(str::to_string))
        }
    };
    assert_eq!(
        describe(second.job_id.clone()).await.as_deref(),
        Some("NotAuthorizedException")
    );
    assert_eq!(
        describe(first.job_id.clone()).await.as_deref(),
        Some("TooManyRequestsException")
    );
    assert_eq!(describe(first.job_id.clone()).await, None);
    assert_eq!(
        describe(second.job_id.clone()).await.as_deref(),
        Some("NotAuthorizedException")
    );
    assert_eq!(emulator.count("DescribeUserImportJob"), 4);
    assert_eq!(emulator.count("HeadObject"), 5);
}

#[tokio::test]
async fn delay_then_answer() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_user_pool(POOL, "people", DEFAULT_CSV_HEADER);
    emulator.inject(
        Fault::new(
            "GetCSVHeader",
            FaultAction::Delay(Duration::from_millis(300)),
        )
        .times(1),
    );
    let started = Instant::now();
    let header = c
        .cognito
        .get_csv_header()
        .user_pool_id(POOL)
        .send()
        .await
        .expect("delayed answer");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(header.csv_header().len(), DEFAULT_CSV_HEADER.len());
    assert_eq!(emulator.calls()[0].status, 200);
}

#[tokio::test]
async fn hang_times_out_in_the_sdk() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients_with_timeout(&emulator, Duration::from_millis(300));
    let job = emulator.create_import_job(POOL, "users", true);
    emulator.inject(Fault::new("StartUserImportJob", FaultAction::Hang).times(1));
    let started = Instant::now();
    let error = c
        .cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect_err("timeout");
    assert!(matches!(error, SdkError::TimeoutError(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        emulator.job(POOL, &job.job_id).expect("job").status,
        "Created"
    );
    assert_eq!(emulator.calls()[0].status, 0);
    // The hung connection does not block others.
    c.cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect("next request");
}

#[tokio::test]
async fn drop_closes_the_connection() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.inject(Fault::new("PutEvents", FaultAction::Drop).times(1));
    let error = c
        .events
        .put_events()
        .entries(entry("{}"))
        .send()
        .await
        .expect_err("dropped");
    assert!(
        matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ),
        "{error:?}"
    );
    assert!(emulator.events().is_empty());
    assert_eq!(emulator.calls()[0].status, 0);
    c.events
        .put_events()
        .entries(entry("{}"))
        .send()
        .await
        .expect("next request");
    assert_eq!(emulator.events().len(), 1);
}

#[tokio::test]
async fn lose_response_applies_then_drops() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let job = emulator.create_import_job(POOL, "users", true);
    emulator.inject(Fault::new("StartUserImportJob", FaultAction::LoseResponse).times(1));
    let error = c
        .cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect_err("response lost");
    assert!(
        matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ),
        "{error:?}"
    );
    let stored = emulator.job(POOL, &job.job_id).expect("job");
    assert_eq!(stored.status, "Pending");
    assert!(stored.start_date_ms.is_some());
    let error = c
        .cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect_err("already started");
    assert_eq!(error.code(), Some("PreconditionNotMetException"));
}

#[tokio::test]
async fn upload_faults_and_status_helpers() {
    let emulator = Emulator::start().await.expect("start");
    let job = emulator.create_import_job(POOL, "users", false);
    emulator.inject(Fault::new("UploadCsv", FaultAction::error(503, "SlowDown")).times(1));
    let headers = [
        ("x-amz-server-side-encryption", "aws:kms"),
        ("Content-Length", "1"),
    ];
    let (status, body) = plain_put(&job.pre_signed_url, &headers, b"x").await;
    assert_eq!(status, 503);
    assert!(body.contains("<Code>SlowDown</Code>"), "{body}");
    assert!(!emulator.job(POOL, &job.job_id).expect("job").csv_uploaded);
    let (status, _) = plain_put(&job.pre_signed_url, &headers, b"x").await;
    assert_eq!(status, 200);

    // set_job_status fills the dates.
    emulator.set_job_status(POOL, &job.job_id, "InProgress");
    let stored = emulator.job(POOL, &job.job_id).expect("job");
    assert!(stored.start_date_ms.is_some() && stored.completion_date_ms.is_none());
    emulator.set_job_status(POOL, &job.job_id, "Succeeded");
    let stored = emulator.job(POOL, &job.job_id).expect("job");
    assert!(stored.completion_date_ms.is_some());
    let other = emulator.create_import_job(POOL, "late", false);
    emulator.set_job_status(POOL, &other.job_id, "Expired");
    let stored = emulator.job(POOL, &other.job_id).expect("job");
    assert!(stored.start_date_ms.is_none() && stored.completion_date_ms.is_some());
}

#[tokio::test]
async fn dropping_the_emulator_closes_hung_connections() {
    let emulator = Emulator::start().await.expect("start");
    let job = emulator.create_import_job(POOL, "users", false);
    emulator.inject(Fault::new("UploadCsv", FaultAction::Hang));
    let url = job.pre_signed_url.clone();
    let pending = tokio::spawn(async move {
        plain_put(
            &url,
            &[
                ("x-amz-server-side-encryption", "aws:kms"),
                ("Content-Length", "1"),
            ],
            b"x",
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(emulator.count("UploadCsv"), 1);
    assert_eq!(emulator.calls()[0].status, 0);
    drop(emulator);
    let started = Instant::now();
    let (status, response) = pending.await.expect("task");
    assert_eq!(status, 0, "{response}");
    assert!(started.elapsed() < Duration::from_secs(2));
}
