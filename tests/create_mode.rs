//! SPEC section 10, create mode, through the real SDK against the emulator:
//! the file is checked, its job found or created by the derived name,
//! uploaded to the pre-signed URL and started; redelivery at every step finds
//! the same job and never starts a second one.

use cis_emulator::{valid_csv, Emulator, Fault, FaultAction, ImportJob, DEFAULT_CSV_HEADER};
use cis_testkit::*;
use cognito_import_starter::drops::names::job_name;
use cognito_import_starter::model::ObjectRef;
use cognito_import_starter::{Config, ErrorKind};
use serde_json::{json, Value};
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";
const KEY: &str = "imports/users.csv";
const STARTED: &str = "User Import Job Started";
const FAILED: &str = "User Import Job Start Failed";

fn create_config() -> Config {
    Config {
        cloudwatch_logs_role_arn: Some(ROLE.into()),
        ..test_config()
    }
}

async fn create_harness() -> Harness {
    let h = harness_with(create_config()).await;
    h.emulator
        .create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    h
}

/// The emulator keeps its own copy of Cognito's standard header (it does not
/// depend on the function); both must be the same list, in the same order.
#[test]
fn the_emulators_standard_header_is_the_functions() {
    assert_eq!(
        DEFAULT_CSV_HEADER,
        cognito_import_starter::csv_check::STANDARD_HEADER
    );
}

/// A drop-folder object naming only the pool.
fn drop_file(emulator: &Emulator, key: &str, body: &str) -> ObjectRef {
    let stored = emulator.put_object(BUCKET, key, body, &[("user-pool-id", POOL)]);
    ObjectRef {
        etag: Some(stored.etag.trim_matches('"').to_string()),
        ..ObjectRef::new(BUCKET, key, stored.version_id.clone())
    }
}

fn jobs_named(h: &Harness, name: &str) -> Vec<ImportJob> {
    h.emulator
        .jobs()
        .into_iter()
        .filter(|job| job.job_name == name)
        .collect()
}

fn only_job(h: &Harness, name: &str) -> ImportJob {
    let jobs = jobs_named(h, name);
    assert_eq!(jobs.len(), 1, "exactly one job named {name}: {jobs:?}");
    jobs[0].clone()
}

fn operations(h: &Harness) -> Vec<String> {
    h.emulator
        .calls()
        .into_iter()
        .map(|call| call.operation)
        .collect()
}

#[tokio::test]
async fn a_file_naming_only_the_pool_is_checked_created_uploaded_and_started() {
    let h = create_harness().await;
    let body = valid_csv(&["alice", "bob"]);
    let object = drop_file(&h.emulator, KEY, &body);

    let summary = h.invoke(created(KEY)).await.unwrap();

    let name = job_name(&object);
    let job = only_job(&h, &name);
    assert_eq!(job.status, "Pending");
    assert_eq!(job.cloudwatch_logs_role_arn, ROLE);
    assert_eq!(
        h.emulator.uploaded_csv(POOL, &job.job_id).as_deref(),
        Some(body.as_bytes())
    );
    let upload = h.first_call("UploadCsv");
    assert_eq!(upload.method, "PUT");
    assert_eq!(
        upload.params["Headers"]["x-amz-server-side-encryption"],
        "aws:kms"
    );
    assert_eq!(
        upload.params["Headers"]["content-length"],
        body.len().to_string()
    );
    let create = h.first_call("CreateUserImportJob");
    assert_eq!(create.params["JobName"], name);
    assert_eq!(create.params["CloudWatchLogsRoleArn"], ROLE);
    // The check comes before any job exists; the start after the upload.
    let ops = operations(&h);
    let at = |op: &str| ops.iter().position(|o| o == op).unwrap();
    assert!(at("GetCSVHeader") < at("CreateUserImportJob"));
    assert!(at("GetObject") < at("CreateUserImportJob"));
    assert!(at("UploadCsv") < at("StartUserImportJob"));

    assert_eq!(summary["Results"][0]["Outcome"], "Started");
    assert_eq!(summary["Results"][0]["JobId"], job.job_id);
    let events = h.events_of(STARTED);
    assert_eq!(events.len(), 1);
    let detail = &events[0].detail;
    assert_eq!(detail["CreatedJob"], json!(true));
    assert_eq!(detail["AlreadyStarted"], json!(false));
    assert_eq!(detail["UserImportJob"]["JobName"], name);
    assert_eq!(detail["Object"]["Key"], KEY);
    assert!(detail["UserImportJob"].get("PreSignedUrl").is_none());
}

#[tokio::test]
async fn without_a_logs_role_a_missing_job_id_stays_missing_metadata() {
    let h = harness().await;
    drop_file(&h.emulator, KEY, &valid_csv(&["alice"]));

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(
        summary["Results"][0]["Error"]["Type"],
        "MissingImportMetadata"
    );
    assert_eq!(h.emulator.count("GetCSVHeader"), 0);
    assert_eq!(h.emulator.count("CreateUserImportJob"), 0);
}

#[tokio::test]
async fn a_bad_file_is_invalid_csv_with_its_problems_before_any_job_exists() {
    let h = create_harness().await;
    let mut body = valid_csv(&["alice", "bob"]);
    body.push_str(
        &valid_csv(&["carol dee"])
            .lines()
            .nth(1)
            .unwrap()
            .replace("true", "maybe"),
    );
    body.push('\n');
    drop_file(&h.emulator, KEY, &body);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Error"]["Type"], "InvalidCsv");
    assert_eq!(h.emulator.count("CreateUserImportJob"), 0);
    assert_eq!(h.emulator.count("StartUserImportJob"), 0);
    let failed = h.events_of(FAILED);
    assert_eq!(failed.len(), 1);
    let detail = &failed[0].detail;
    assert_eq!(detail["Error"]["Type"], "InvalidCsv");
    assert_eq!(detail["UserPoolId"], POOL);
    assert_eq!(detail["Object"]["Bucket"], BUCKET);
    assert_eq!(detail["Object"]["Key"], KEY);
    assert_eq!(detail["CreatedJob"], json!(true));
    assert!(detail.get("JobId").is_none());
    let problems = detail["Problems"].as_array().unwrap();
    let count = detail["ProblemCount"].as_u64().unwrap();
    assert_eq!(count as usize, problems.len());
    assert!(problems.len() >= 2, "{problems:?}");
    assert!(problems.iter().all(|p| p["Line"] == 4), "{problems:?}");
    let columns: Vec<&str> = problems
        .iter()
        .filter_map(|p| p["Column"].as_str())
        .collect();
    assert!(columns.contains(&"cognito:username"), "{problems:?}");
    assert!(columns.contains(&"email_verified"), "{problems:?}");
}

#[tokio::test]
async fn only_the_first_20_problems_are_listed_with_the_true_count() {
    let h = create_harness().await;
    let mut body = DEFAULT_CSV_HEADER.join(",");
    for _ in 0..30 {
        body.push_str("\nonly,three,fields");
    }
    drop_file(&h.emulator, KEY, &body);

    h.invoke(created(KEY)).await.unwrap();

    let detail = &h.events_of(FAILED)[0].detail;
    assert_eq!(detail["Error"]["Type"], "InvalidCsv");
    assert_eq!(detail["Problems"].as_array().unwrap().len(), 20);
    assert_eq!(detail["ProblemCount"], 30);
    assert_eq!(detail["Problems"][0]["Line"], 2);
    assert_eq!(detail["Problems"][19]["Line"], 21);
}

#[tokio::test]
async fn without_a_results_prefix_an_oversized_file_is_refused_from_head_object_alone() {
    // Over one job's bytes a file needs parts (SPEC section 14), whose plan
    // lives under RESULTS_PREFIX: with none, it is refused before any call.
    let mut config = test_config();
    config.cloudwatch_logs_role_arn = Some(ROLE.into());
    config.results_prefix = String::new();
    let h = harness_with(config).await;
    let body = vec![b'a'; 104_857_601];
    h.emulator
        .put_object(BUCKET, KEY, body, &[("user-pool-id", POOL)]);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Error"]["Type"], "CsvTooLarge");
    let message = summary["Results"][0]["Error"]["Message"].as_str().unwrap();
    assert!(message.contains("RESULTS_PREFIX is empty"), "{message}");
    assert_eq!(h.emulator.count("GetObject"), 0);
    assert_eq!(h.emulator.count("ListUserImportJobs"), 0);
    assert_eq!(h.emulator.count("GetCSVHeader"), 0);
    assert_eq!(h.emulator.count("CreateUserImportJob"), 0);
    assert_eq!(
        h.events_of(FAILED)[0].detail["Error"]["Type"],
        "CsvTooLarge"
    );
}

#[tokio::test]
async fn redelivery_after_the_create_finds_the_job_and_finishes() {
    let h = create_harness().await;
    let object = drop_file(&h.emulator, KEY, &valid_csv(&["alice"]));
    h.emulator
        .inject(Fault::new("UploadCsv", FaultAction::error(503, "SlowDown")).times(1));

    let first = h.invoke(created(KEY)).await;
    assert_eq!(kind(&first), ErrorKind::UploadFailed);
    assert!(!format!("{first:?}").contains("X-Amz-Signature"));
    let job = only_job(&h, &job_name(&object));
    assert_eq!(job.status, "Created");
    assert!(h.events().is_empty());

    h.invoke(created(KEY)).await.unwrap();

    assert_eq!(h.emulator.count("CreateUserImportJob"), 1);
    assert_eq!(only_job(&h, &job_name(&object)).status, "Pending");
    let events = h.events_of(STARTED);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail["UserImportJob"]["JobId"], job.job_id);
    assert_eq!(events[0].detail["CreatedJob"], json!(true));
}

#[tokio::test]
async fn redelivery_after_the_upload_starts_the_same_job_without_uploading_again() {
    let h = create_harness().await;
    let object = drop_file(&h.emulator, KEY, &valid_csv(&["alice"]));
    h.emulator.inject(
        Fault::new(
            "StartUserImportJob",
            FaultAction::error(500, "InternalErrorException"),
        )
        .times(3),
    );

    let first = h.invoke(created(KEY)).await;
    assert_eq!(kind(&first), ErrorKind::InternalError);
    let job = only_job(&h, &job_name(&object));
    assert!(h.emulator.uploaded_csv(POOL, &job.job_id).is_some());

    h.invoke(created(KEY)).await.unwrap();

    // The job has its CSV: it is started first, and only uploaded to if
    // Cognito refuses it (SPEC section 13 keeps reads to a minimum).
    assert_eq!(h.emulator.count("CreateUserImportJob"), 1);
    assert_eq!(h.emulator.count("UploadCsv"), 1);
    assert_eq!(only_job(&h, &job_name(&object)).status, "Pending");
    assert_eq!(h.events_of(STARTED).len(), 1);
}

#[tokio::test]
async fn redelivery_after_the_start_emits_again_and_starts_nothing() {
    let h = create_harness().await;
    let object = drop_file(&h.emulator, KEY, &valid_csv(&["alice"]));
    h.invoke(created(KEY)).await.unwrap();

    let again = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(again["Results"][0]["Outcome"], "AlreadyStarted");
    assert_eq!(h.emulator.count("CreateUserImportJob"), 1);
    assert_eq!(h.emulator.count("UploadCsv"), 1);
    assert_eq!(h.emulator.count("StartUserImportJob"), 1);
    only_job(&h, &job_name(&object));
    let events = h.events_of(STARTED);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].detail["AlreadyStarted"], json!(true));
    assert_eq!(events[1].detail["CreatedJob"], json!(true));
    assert_eq!(
        events[0].detail["UserImportJob"]["JobId"],
        events[1].detail["UserImportJob"]["JobId"]
    );
}

#[tokio::test]
async fn concurrent_duplicate_deliveries_start_one_job() {
    let h = create_harness().await;
    let object = drop_file(&h.emulator, KEY, &valid_csv(&["alice"]));
    // The first create is slow: the other delivery creates its own job and
    // lists it before the slow one's job exists, the worst interleaving.
    h.emulator.inject(
        Fault::new(
            "CreateUserImportJob",
            FaultAction::Delay(Duration::from_millis(300)),
        )
        .times(1),
    );

    let (a, b) = tokio::join!(h.invoke(created(KEY)), h.invoke(created(KEY)));
    a.unwrap();
    b.unwrap();

    let jobs = jobs_named(&h, &job_name(&object));
    assert_eq!(jobs.len(), 2, "both deliveries created a job: {jobs:?}");
    let started: Vec<&ImportJob> = jobs.iter().filter(|j| j.status != "Created").collect();
    assert_eq!(started.len(), 1, "{jobs:?}");
    let uploaded = jobs
        .iter()
        .filter(|j| h.emulator.uploaded_csv(POOL, &j.job_id).is_some())
        .count();
    assert_eq!(uploaded, 1, "only the chosen job gets the file: {jobs:?}");
    let events = h.events_of(STARTED);
    assert_eq!(events.len(), 2);
    for event in &events {
        assert_eq!(event.detail["UserImportJob"]["JobId"], started[0].job_id);
    }
}

#[tokio::test]
async fn the_job_is_found_on_a_later_page_of_list_user_import_jobs() {
    let h = create_harness().await;
    let object = drop_file(&h.emulator, KEY, &valid_csv(&["alice"]));
    let earlier = h
        .emulator
        .create_import_job(POOL, &job_name(&object), false);
    for i in 0..70 {
        h.emulator
            .create_import_job(POOL, &format!("other-{i}"), false);
    }

    h.invoke(created(KEY)).await.unwrap();

    assert_eq!(h.emulator.count("CreateUserImportJob"), 0);
    assert!(h.emulator.count("ListUserImportJobs") >= 2);
    assert_eq!(h.status(&earlier), "Pending");
    assert!(h.emulator.uploaded_csv(POOL, &earlier.job_id).is_some());
}

#[tokio::test]
async fn an_expired_job_of_that_name_is_replaced_by_a_new_one() {
    // SPEC section 13: a drop that waited past its job's expiry still
    // imports; the expired job stays as Cognito left it.
    let h = create_harness().await;
    let object = drop_file(&h.emulator, KEY, &valid_csv(&["alice"]));
    let expired = h
        .emulator
        .create_import_job(POOL, &job_name(&object), false);
    h.emulator.set_job_status(POOL, &expired.job_id, "Expired");

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    let new_id = summary["Results"][0]["JobId"].as_str().unwrap();
    assert_ne!(new_id, expired.job_id);
    assert_eq!(h.emulator.count("CreateUserImportJob"), 1);
    assert_eq!(h.status(&expired), "Expired");
    let new_job = h.emulator.job(POOL, new_id).unwrap();
    assert_eq!(new_job.job_name, job_name(&object));
    assert_eq!(new_job.status, "Pending");
    assert_eq!(
        h.emulator.uploaded_csv(POOL, new_id),
        Some(valid_csv(&["alice"]).into_bytes())
    );
    assert!(h.events_of(FAILED).is_empty());
    assert_eq!(h.events_of(STARTED)[0].detail["CreatedJob"], json!(true));
}

#[tokio::test]
async fn a_dropped_upload_fails_its_sqs_message_retryably() {
    let h = create_harness().await;
    drop_file(&h.emulator, KEY, &valid_csv(&["alice"]));
    h.emulator
        .inject(Fault::new("UploadCsv", FaultAction::Drop).times(1));
    let event = sqs_event(&[("m-1", created(KEY))]);

    let response = h.invoke(event.clone()).await.unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]})
    );
    assert!(h.events().is_empty());

    let response = h.invoke(event).await.unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert_eq!(h.events_of(STARTED).len(), 1);
}

#[tokio::test]
async fn a_hung_upload_fails_retryably_within_the_upload_timeout() {
    let h = create_harness().await;
    drop_file(&h.emulator, KEY, &valid_csv(&["alice"]));
    h.emulator
        .inject(Fault::new("UploadCsv", FaultAction::Hang));

    let result = h.invoke(created(KEY)).await;

    assert_eq!(kind(&result), ErrorKind::UploadFailed);
    assert_eq!(h.emulator.count("StartUserImportJob"), 0);
}

#[tokio::test]
async fn a_direct_invocation_by_object_says_created_job() {
    let h = create_harness().await;
    drop_file(&h.emulator, KEY, &valid_csv(&["alice"]));

    let response = h
        .invoke(json!({"Bucket": BUCKET, "Key": KEY}))
        .await
        .unwrap();

    assert_eq!(response["CreatedJob"], json!(true));
    assert_eq!(response["AlreadyStarted"], json!(false));
    assert_eq!(response["UserImportJob"]["Status"], "Pending");
    assert_eq!(response["Object"]["Key"], KEY);
    assert!(response["UserImportJob"].get("PreSignedUrl").is_none());
}

#[tokio::test]
async fn a_direct_invalid_csv_is_a_lambda_error_naming_the_first_problem() {
    let h = create_harness().await;
    drop_file(&h.emulator, KEY, "cognito:username\nalice\n");

    let result = h.invoke(json!({"Bucket": BUCKET, "Key": KEY})).await;

    assert_eq!(error_type(&result), "InvalidCsv");
    let message = result.unwrap_err().message;
    assert!(message.contains("line 1"), "{message}");
}

#[tokio::test]
async fn a_versioned_object_gets_a_job_name_from_its_version() {
    let h = create_harness().await;
    h.emulator.create_bucket("versioned", true);
    let stored = h.emulator.put_object(
        "versioned",
        KEY,
        valid_csv(&["alice"]),
        &[("user-pool-id", POOL)],
    );
    let version = stored.version_id.clone().unwrap();
    let event =
        json!({"Records": [s3_record("ObjectCreated:Put", "versioned", KEY, Some(&version))]});

    h.invoke(event).await.unwrap();

    let expected = job_name(&ObjectRef::new("versioned", KEY, Some(version)));
    only_job(&h, &expected);
}

#[tokio::test]
async fn validate_csv_checks_the_file_before_a_plain_start() {
    let h = harness_with(Config {
        validate_csv: true,
        ..test_config()
    })
    .await;
    h.emulator
        .create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    let job = h.emulator.create_import_job(POOL, "manual", true);
    let metadata = [("user-pool-id", POOL), ("job-id", job.job_id.as_str())];
    h.emulator
        .put_object(BUCKET, "bad.csv", "cognito:username\nalice\n", &metadata);
    h.emulator
        .put_object(BUCKET, "good.csv", valid_csv(&["alice"]), &metadata);

    let bad = h.invoke(created("bad.csv")).await.unwrap();
    assert_eq!(bad["Results"][0]["Error"]["Type"], "InvalidCsv");
    assert_eq!(h.emulator.count("StartUserImportJob"), 0);
    let failed: Value = h.events_of(FAILED)[0].detail.clone();
    assert_eq!(failed["JobId"], job.job_id);
    assert!(failed.get("CreatedJob").is_none());
    assert!(failed["ProblemCount"].as_u64().unwrap() > 0);

    let good = h.invoke(created("good.csv")).await.unwrap();
    assert_eq!(good["Results"][0]["Outcome"], "Started");
    assert_eq!(h.events_of(STARTED)[0].detail["CreatedJob"], json!(false));
    assert_eq!(h.emulator.count("CreateUserImportJob"), 0);
}

#[tokio::test]
async fn with_versioning_suspended_each_new_file_gets_its_own_job() {
    // S3 calls every object written while versioning is suspended version
    // "null": the ETag, not the version, must name the job and pin the reads.
    let h = create_harness().await;
    h.emulator.create_bucket("suspended", true);
    h.emulator
        .set_versioning("suspended", cis_emulator::Versioning::Suspended);
    let event =
        json!({"Records": [s3_record("ObjectCreated:Put", "suspended", KEY, Some("null"))]});

    let first = h.emulator.put_object(
        "suspended",
        KEY,
        valid_csv(&["alice"]),
        &[("user-pool-id", POOL)],
    );
    assert_eq!(first.version_id.as_deref(), Some("null"));
    let response = h.invoke(event.clone()).await.unwrap();
    assert_eq!(response["Results"][0]["Outcome"], "Started");
    // One import at a time (SPEC section 13): the first ends before the next.
    let first_id = response["Results"][0]["JobId"].as_str().unwrap();
    h.emulator.set_job_status(POOL, first_id, "Succeeded");

    // A new file at the same key: a new import, not "already started".
    let second = h.emulator.put_object(
        "suspended",
        KEY,
        valid_csv(&["bob", "carol"]),
        &[("user-pool-id", POOL)],
    );
    assert_ne!(first.etag, second.etag);
    let response = h.invoke(event).await.unwrap();
    assert_eq!(response["Results"][0]["Outcome"], "Started", "{response}");

    let started: Vec<ImportJob> = h
        .emulator
        .jobs()
        .into_iter()
        .filter(|job| job.status != "Created")
        .collect();
    assert_eq!(started.len(), 2, "{started:?}");
    let by_etag = |etag: &str| {
        job_name(&ObjectRef {
            etag: Some(etag.trim_matches('"').to_string()),
            ..ObjectRef::new("suspended", KEY, None)
        })
    };
    only_job(&h, &by_etag(&first.etag));
    only_job(&h, &by_etag(&second.etag));
    let second_job = only_job(&h, &by_etag(&second.etag));
    assert_eq!(
        h.emulator.uploaded_csv(POOL, &second_job.job_id),
        Some(valid_csv(&["bob", "carol"]).into_bytes())
    );
    // Every read of the file was pinned by the ETag, none to versionId=null
    // (the drop's plan, SPEC section 16, is the function's own object).
    for call in h.emulator.calls() {
        if call.operation == "GetObject" && call.params["Key"] == KEY {
            assert!(call.params.get("IfMatch").is_some(), "{call:?}");
            assert!(call.params.get("VersionId").is_none(), "{call:?}");
        }
    }
}
