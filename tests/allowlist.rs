//! SPEC section 7 (`ALLOWED_USER_POOL_IDS`) through every trigger: a pool
//! outside the list is `UserPoolNotAllowed` (permanent), and Cognito hears
//! nothing about it: no start, no create, no header read, no describe.
//! SPEC section 16: a pool of the list that does not exist holds no job.

use cis_emulator::{valid_csv, Fault, FaultAction, DEFAULT_CSV_HEADER};
use cis_testkit::*;
use cognito_import_starter::{Config, ErrorKind};
use serde_json::json;

const ALLOWED: &str = "us-east-1_Allowed01";
const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";

fn allow_only_other_pool(create_mode: bool) -> Config {
    Config {
        allowed_user_pool_ids: Some(vec![ALLOWED.into()]),
        cloudwatch_logs_role_arn: create_mode.then(|| ROLE.to_string()),
        ..test_config()
    }
}

fn assert_cognito_untouched(h: &Harness) {
    for operation in [
        "StartUserImportJob",
        "CreateUserImportJob",
        "ListUserImportJobs",
        "GetCSVHeader",
        "DescribeUserImportJob",
        "DescribeUserPool",
    ] {
        assert_eq!(h.emulator.count(operation), 0, "{operation} was called");
    }
}

#[tokio::test]
async fn eventbridge_and_sqs_deliveries_of_a_pool_outside_the_list_are_refused() {
    let h = harness_with(allow_only_other_pool(false)).await;
    let (_, by_rule) = h.seed("rule.csv");
    let (_, by_queue) = h.seed("queued.csv");

    let rule = h
        .invoke(eventbridge_event(BUCKET, "rule.csv", None))
        .await
        .unwrap();
    let queued = h
        .invoke(sqs_event(&[("m1", created("queued.csv"))]))
        .await
        .unwrap();

    assert_eq!(rule["Results"][0]["Error"]["Type"], "UserPoolNotAllowed");
    // Permanent: the message is not handed back to SQS.
    assert_eq!(queued, json!({"batchItemFailures": []}));
    let failed = h.events_of("User Import Job Start Failed");
    let refused: Vec<_> = failed
        .iter()
        .map(|e| (e.detail["Error"]["Type"].clone(), e.detail["JobId"].clone()))
        .collect();
    assert_eq!(
        refused,
        vec![
            (json!("UserPoolNotAllowed"), json!(by_rule.job_id)),
            (json!("UserPoolNotAllowed"), json!(by_queue.job_id)),
        ]
    );
    assert_eq!(h.status(&by_rule), "Created");
    assert_eq!(h.status(&by_queue), "Created");
    assert_cognito_untouched(&h);
}

#[tokio::test]
async fn create_mode_refuses_a_pool_outside_the_list_before_reading_its_header() {
    let h = harness_with(allow_only_other_pool(true)).await;
    h.emulator
        .create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    let csv = format!("{}\n", DEFAULT_CSV_HEADER.join(","));
    h.emulator
        .put_object(BUCKET, "new-users.csv", csv, &[("user-pool-id", POOL)]);

    let response = h.invoke(created("new-users.csv")).await.unwrap();

    assert_eq!(
        response["Results"][0]["Error"]["Type"], "UserPoolNotAllowed",
        "{response}"
    );
    assert!(h.emulator.jobs().is_empty(), "no job may exist");
    assert_eq!(h.emulator.count("GetObject"), 0, "the file is never read");
    let failed = &h.events_of("User Import Job Start Failed")[0];
    assert_eq!(failed.detail["UserPoolId"], POOL);
    assert_eq!(failed.detail["CreatedJob"], json!(true));
    assert_cognito_untouched(&h);
}

#[tokio::test]
async fn track_refuses_a_pool_outside_the_list() {
    let h = harness_with(allow_only_other_pool(false)).await;
    let job = h.emulator.create_import_job(POOL, "nightly", true);

    let result = h
        .invoke(json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id}))
        .await;

    assert_eq!(kind(&result), ErrorKind::UserPoolNotAllowed);
    assert!(h.events_of("User Import Job Completed").is_empty());
    assert_cognito_untouched(&h);
}

/// The other side of the list: a pool on it starts as it would without one.
#[tokio::test]
async fn a_pool_on_the_list_is_started() {
    let config = Config {
        allowed_user_pool_ids: Some(vec![ALLOWED.into(), POOL.into()]),
        ..test_config()
    };
    let h = harness_with(config).await;
    let (_, job) = h.seed("listed.csv");

    let queued = h
        .invoke(sqs_event(&[("m1", created("listed.csv"))]))
        .await
        .unwrap();

    assert_eq!(queued, json!({"batchItemFailures": []}));
    assert_eq!(h.status(&job), "Pending");
    let started = h.events_of("User Import Job Started");
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].detail["UserImportJob"]["JobId"], job.job_id);
}

/// SPEC section 16, "the allowlist sees the slot": a pool of the list that
/// does not exist (deleted, or a typo) holds no job. Looking for the slot's
/// holder passes it by, and create mode goes on into the pools that exist.
#[tokio::test]
async fn a_pool_of_the_list_that_does_not_exist_is_passed_by_in_create_mode() {
    let config = Config {
        allowed_user_pool_ids: Some(vec![POOL.into(), GONE.into()]),
        cloudwatch_logs_role_arn: Some(ROLE.into()),
        ..test_config()
    };
    let h = harness_with(config).await;
    h.emulator
        .create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    h.emulator.put_object(
        BUCKET,
        "new-users.csv",
        valid_csv(&["ann"]),
        &[("user-pool-id", POOL)],
    );

    let response = h.invoke(created("new-users.csv")).await.unwrap();

    assert_eq!(response["Results"][0]["Outcome"], "Started", "{response}");
    let jobs = h.emulator.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(h.status(&jobs[0]), "Pending");
    assert_eq!(h.events_of("User Import Job Started").len(), 1);
    assert!(h.events_of("User Import Job Start Failed").is_empty());
    // The missing pool was asked about, and answered ResourceNotFound.
    assert!(listed(&h, GONE), "the slot search skipped the missing pool");
    assert!(test_logs().contains(GONE), "passing the pool by is logged");
}

/// The plain path: a job refused while `Created` looks for the holder past
/// the missing pool, and finds it in the next one.
#[tokio::test]
async fn the_holder_is_found_past_a_pool_of_the_list_that_does_not_exist() {
    const HOLDER_POOL: &str = "us-east-1_Holder01";
    let config = Config {
        allowed_user_pool_ids: Some(vec![POOL.into(), GONE.into(), HOLDER_POOL.into()]),
        ..test_config()
    };
    let h = harness_with(config).await;
    h.emulator.enforce_one_active_job(true);
    let running = h.emulator.create_import_job(HOLDER_POOL, "running", true);
    h.emulator
        .set_job_status(HOLDER_POOL, &running.job_id, "InProgress");
    let (_, job) = h.seed("a.csv");

    let result = h.invoke(created("a.csv")).await;

    assert_eq!(kind(&result), ErrorKind::ImportSlotBusy);
    let message = result.unwrap_err().message;
    assert!(message.contains(&running.job_id), "{message}");
    assert_eq!(h.status(&job), "Created");
    assert!(listed(&h, GONE));
}

/// Only `ResourceNotFoundException` passes a pool by: a listing refused for
/// any other reason (here throttling) still fails the record, retryably, and
/// no job is created while the slot cannot be seen.
#[tokio::test]
async fn a_listing_of_the_list_that_fails_otherwise_still_fails_the_drop() {
    const OTHER: &str = "us-east-1_Other01";
    let config = Config {
        allowed_user_pool_ids: Some(vec![POOL.into(), OTHER.into()]),
        cloudwatch_logs_role_arn: Some(ROLE.into()),
        ..test_config()
    };
    let h = harness_with(config).await;
    h.emulator
        .create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    h.emulator
        .create_user_pool(OTHER, "others", DEFAULT_CSV_HEADER);
    h.emulator.inject(
        Fault::new(
            "ListUserImportJobs",
            FaultAction::error(400, "TooManyRequestsException"),
        )
        .matching(OTHER),
    );
    h.emulator.put_object(
        BUCKET,
        "new-users.csv",
        valid_csv(&["ann"]),
        &[("user-pool-id", POOL)],
    );

    let result = h.invoke(created("new-users.csv")).await;

    assert_eq!(kind(&result), ErrorKind::TooManyRequests);
    assert!(
        h.emulator.jobs().is_empty(),
        "no job while the slot is unseen"
    );
}

const GONE: &str = "us-east-1_Deleted01";

/// Whether `ListUserImportJobs` was called for `pool`.
fn listed(h: &Harness, pool: &str) -> bool {
    h.emulator
        .calls()
        .iter()
        .any(|c| c.operation == "ListUserImportJobs" && c.params["UserPoolId"] == pool)
}
