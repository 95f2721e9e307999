//! SPEC section 13, one import at a time: the import slot, FIFO batches in
//! order, and the wait of a queued drop (`ChangeMessageVisibility`), through
//! the real SDK against the emulator with Cognito's one-active-job rule on
//! and its FIFO queue.

use std::time::Duration;

use cis_emulator::{
    valid_csv, Emulator, Fault, FaultAction, ImportJob, QueueOptions, DEFAULT_CSV_HEADER,
};
use cis_testkit::*;
use cognito_import_starter::{Config, ErrorKind};
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";
const POOL2: &str = "us-east-1_TestPool2";
const QUEUE: &str = "drops.fifo";
const STARTED: &str = "User Import Job Started";
const FAILED: &str = "User Import Job Start Failed";

/// A harness whose emulated Cognito runs one job at a time per account.
async fn slot_harness(config: Config) -> Harness {
    let h = harness_with(config).await;
    h.emulator.enforce_one_active_job(true);
    h.emulator
        .create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    h.emulator
        .create_user_pool(POOL2, "partners", DEFAULT_CSV_HEADER);
    h
}

fn create_config() -> Config {
    Config {
        cloudwatch_logs_role_arn: Some(ROLE.into()),
        ..test_config()
    }
}

/// A job of `pool` that holds the slot (started, running).
fn running_job(h: &Harness, pool: &str) -> ImportJob {
    let job = h.emulator.create_import_job(pool, "earlier-import", true);
    h.emulator.set_job_status(pool, &job.job_id, "InProgress");
    job
}

/// A FIFO queue as the template makes it, and `keys` sent to it as S3's
/// EventBridge events, in order.
fn queue_with(emulator: &Emulator, keys: &[&str]) {
    emulator.create_queue(
        QUEUE,
        QueueOptions {
            fifo: true,
            visibility_timeout: 300,
            content_based_deduplication: true,
            ..QueueOptions::default()
        },
    );
    for key in keys {
        let body = eventbridge_event(BUCKET, key, None).to_string();
        emulator.send_message(QUEUE, &body, Some("drops"));
    }
}

fn listed(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures in {response}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn message_ids(batch: &Value) -> Vec<String> {
    batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["messageId"].as_str().unwrap().to_string())
        .collect()
}

fn keys_read(h: &Harness) -> Vec<String> {
    h.emulator
        .calls()
        .iter()
        .filter(|c| c.operation == "HeadObject")
        .map(|c| c.params["Key"].as_str().unwrap_or_default().to_string())
        .collect()
}

// ---- the slot ----

#[tokio::test]
async fn a_start_refused_while_another_job_runs_is_import_slot_busy_naming_it() {
    let h = slot_harness(test_config()).await;
    let holder = running_job(&h, POOL);
    let (_, job) = h.seed("imports/second.csv");

    let result = h.invoke(created("imports/second.csv")).await;

    // The direct S3 path: a retryable failure is the invocation's error.
    assert_eq!(error_type(&result), "ImportSlotBusy");
    let message = result.unwrap_err().message;
    assert!(message.contains(&holder.job_id), "{message}");
    assert!(
        message.contains(POOL) && message.contains("InProgress"),
        "{message}"
    );
    assert!(!message.contains("upload"), "not a missing CSV: {message}");
    assert_eq!(h.status(&job), "Created");
    assert!(h.events().is_empty());
    assert!(ErrorKind::ImportSlotBusy.is_retryable());
}

#[tokio::test]
async fn a_refused_start_with_the_slot_free_stays_csv_not_uploaded_and_says_what_was_seen() {
    let h = slot_harness(test_config()).await;
    let job = h.emulator.create_import_job(POOL, "nightly", false);
    h.emulator.put_object(
        BUCKET,
        "k.csv",
        "x",
        &[("user-pool-id", POOL), ("job-id", &job.job_id)],
    );

    let result = h.invoke(created("k.csv")).await;

    assert_eq!(error_type(&result), "CsvNotUploaded");
    let message = result.unwrap_err().message;
    assert!(
        message.contains("without ALLOWED_USER_POOL_IDS"),
        "{message}"
    );
    assert_eq!(h.emulator.count("ListUserImportJobs"), 1);
}

#[tokio::test]
async fn the_holder_is_looked_for_in_every_pool_of_the_allowlist() {
    let config = Config {
        allowed_user_pool_ids: Some(vec![POOL.into(), POOL2.into()]),
        ..test_config()
    };
    let h = slot_harness(config).await;
    let holder = running_job(&h, POOL2);
    let (_, job) = h.seed("imports/p1.csv");

    let result = h.invoke(created("imports/p1.csv")).await;

    assert_eq!(error_type(&result), "ImportSlotBusy");
    let message = result.unwrap_err().message;
    assert!(
        message.contains(&holder.job_id) && message.contains(POOL2),
        "{message}"
    );
    let listed: Vec<String> = h
        .emulator
        .calls()
        .iter()
        .filter(|c| c.operation == "ListUserImportJobs")
        .map(|c| c.params["UserPoolId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, [POOL, POOL2]);
    assert_eq!(h.status(&job), "Created");
}

#[tokio::test]
async fn a_holder_outside_the_allowlist_cannot_be_seen_and_the_message_says_so() {
    let config = Config {
        allowed_user_pool_ids: Some(vec![POOL.into()]),
        ..test_config()
    };
    let h = slot_harness(config).await;
    running_job(&h, POOL2);
    h.seed("imports/p1.csv");

    let result = h.invoke(created("imports/p1.csv")).await;

    assert_eq!(error_type(&result), "CsvNotUploaded");
    let message = result.unwrap_err().message;
    assert!(message.contains("outside the allowlist"), "{message}");
}

#[tokio::test]
async fn a_failed_listing_keeps_csv_not_uploaded_retryable() {
    let h = slot_harness(test_config()).await;
    running_job(&h, POOL);
    h.seed("imports/x.csv");
    h.emulator.inject(Fault::new(
        "ListUserImportJobs",
        FaultAction::error(400, "AccessDeniedException"),
    ));

    let result = h.invoke(created("imports/x.csv")).await;

    assert_eq!(error_type(&result), "CsvNotUploaded");
    assert!(result
        .unwrap_err()
        .message
        .contains("could not be looked for"));
}

// ---- create mode ----

#[tokio::test]
async fn create_mode_checks_the_slot_before_it_creates_or_reads_anything() {
    let h = slot_harness(create_config()).await;
    let holder = running_job(&h, POOL);
    h.emulator.put_object(
        BUCKET,
        "new.csv",
        valid_csv(&["alice"]),
        &[("user-pool-id", POOL)],
    );

    let result = h.invoke(created("new.csv")).await;

    assert_eq!(error_type(&result), "ImportSlotBusy");
    assert!(result.unwrap_err().message.contains(&holder.job_id));
    for operation in [
        "CreateUserImportJob",
        "GetCSVHeader",
        "GetObject",
        "UploadCsv",
    ] {
        assert_eq!(h.emulator.count(operation), 0, "{operation}");
    }

    // Once the holder has finished, the same event imports the file.
    h.emulator.set_job_status(POOL, &holder.job_id, "Succeeded");
    let summary = h.invoke(created("new.csv")).await.unwrap();
    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    assert_eq!(h.emulator.count("CreateUserImportJob"), 1);
}

#[tokio::test]
async fn create_mode_a_refused_start_is_import_slot_busy_even_with_the_holder_unseen() {
    // The holder is in a pool the function cannot list: the check passes,
    // the start is refused, and the function uploaded the CSV itself, so
    // the slot is the reason.
    let config = Config {
        allowed_user_pool_ids: Some(vec![POOL.into()]),
        ..create_config()
    };
    let h = slot_harness(config).await;
    let holder = running_job(&h, POOL2);
    h.emulator.put_object(
        BUCKET,
        "new.csv",
        valid_csv(&["alice"]),
        &[("user-pool-id", POOL)],
    );

    let result = h.invoke(created("new.csv")).await;

    assert_eq!(error_type(&result), "ImportSlotBusy");
    assert_eq!(h.emulator.count("UploadCsv"), 1);
    let created_jobs: Vec<ImportJob> = h
        .emulator
        .jobs()
        .into_iter()
        .filter(|j| j.pool_id == POOL)
        .collect();
    assert_eq!(created_jobs.len(), 1);
    assert_eq!(created_jobs[0].status, "Created");

    // The redelivery after the slot frees starts that job (its CSV is
    // there), without checking, reading or uploading the file again.
    h.emulator
        .set_job_status(POOL2, &holder.job_id, "Succeeded");
    let reads = h.emulator.s3_bytes_served(BUCKET, "new.csv");
    let summary = h.invoke(created("new.csv")).await.unwrap();
    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    assert_eq!(summary["Results"][0]["JobId"], created_jobs[0].job_id);
    assert_eq!(h.emulator.count("CreateUserImportJob"), 1);
    assert_eq!(h.emulator.s3_bytes_served(BUCKET, "new.csv"), reads);
    assert_eq!(h.emulator.count("UploadCsv"), 1);
    assert_eq!(
        h.emulator.successful_starts(POOL, &created_jobs[0].job_id),
        1
    );
}

#[tokio::test]
async fn a_created_job_whose_upload_url_expired_is_replaced_by_a_new_one() {
    // The upload failed, and the redelivery came after the job's 15-minute
    // pre-signed URL: the job can never get its CSV.
    let h = slot_harness(create_config()).await;
    h.emulator.put_object(
        BUCKET,
        "new.csv",
        valid_csv(&["alice"]),
        &[("user-pool-id", POOL)],
    );
    h.emulator.inject(Fault::new(
        "UploadCsv",
        FaultAction::error(500, "InternalError"),
    ));
    assert_eq!(
        error_type(&h.invoke(created("new.csv")).await),
        "UploadFailed"
    );
    h.emulator.clear_faults();
    let first = h.emulator.jobs().pop().unwrap();
    let sixteen_minutes_ago = first.creation_date_ms - 16 * 60 * 1000;
    h.emulator
        .set_creation_date_ms(POOL, &first.job_id, sixteen_minutes_ago);

    let summary = h.invoke(created("new.csv")).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    let second = summary["Results"][0]["JobId"].as_str().unwrap();
    assert_ne!(second, first.job_id);
    assert_eq!(h.status(&first), "Created");
    assert_eq!(
        h.emulator.uploaded_csv(POOL, second),
        Some(valid_csv(&["alice"]).into_bytes())
    );
    // Every later delivery settles on the started one.
    let again = h.invoke(created("new.csv")).await.unwrap();
    assert_eq!(again["Results"][0]["Outcome"], "AlreadyStarted");
    assert_eq!(again["Results"][0]["JobId"], json!(second));
}

#[tokio::test]
async fn create_mode_answers_already_started_for_its_own_running_job() {
    let h = slot_harness(create_config()).await;
    h.emulator.put_object(
        BUCKET,
        "new.csv",
        valid_csv(&["alice"]),
        &[("user-pool-id", POOL)],
    );
    h.invoke(created("new.csv")).await.unwrap();

    // Its own job holds the slot: that is no reason to wait.
    let summary = h.invoke(created("new.csv")).await.unwrap();

    assert_eq!(
        summary["Results"][0]["Outcome"], "AlreadyStarted",
        "{summary}"
    );
    assert_eq!(h.events_of(STARTED).len(), 2);
}

// ---- FIFO batches ----

#[tokio::test]
async fn a_fifo_batch_runs_in_order_and_holds_back_what_follows_a_busy_slot() {
    let h = slot_harness(test_config()).await;
    let keys = ["drop/1.csv", "drop/2.csv", "drop/3.csv"];
    let jobs: Vec<ImportJob> = keys.iter().map(|k| h.seed(k).1).collect();
    queue_with(&h.emulator, &keys);
    let batch = h.emulator.receive_batch(QUEUE, 10).expect("a batch");
    let ids = message_ids(&batch);

    let response = h.invoke(batch.clone()).await.unwrap();

    // The first starts and takes the slot; the second finds it busy; the
    // third is not even looked at.
    assert_eq!(listed(&response), [ids[1].clone(), ids[2].clone()]);
    assert_eq!(h.status(&jobs[0]), "Pending");
    assert_eq!(h.status(&jobs[1]), "Created");
    assert_eq!(h.status(&jobs[2]), "Created");
    assert_eq!(keys_read(&h), ["drop/1.csv", "drop/2.csv"]);
    assert_eq!(h.events_of(STARTED).len(), 1);

    // The busy one waits SLOT_WAIT_SECONDS x its receive count; the one
    // held back behind it is released at once, so it never holds the group.
    let change = h.first_call("ChangeMessageVisibility");
    assert_eq!(change.params["VisibilityTimeout"], json!(60));
    assert_eq!(
        change.params["QueueUrl"],
        json!("https://sqs.us-east-1.amazonaws.com/123456789012/drops.fifo")
    );
    assert_eq!(
        change.params["ReceiptHandle"],
        batch["Records"][1]["receiptHandle"]
    );
    assert_eq!(h.emulator.count("ChangeMessageVisibility"), 1);
    let release = h.first_call("ChangeMessageVisibilityBatch");
    let entries = release.params["Entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["VisibilityTimeout"], json!(0));
    assert_eq!(
        entries[0]["ReceiptHandle"],
        batch["Records"][2]["receiptHandle"]
    );

    h.emulator.complete_batch(QUEUE, &batch, Ok(&response));
    let waiting = h.emulator.queue_messages(QUEUE);
    assert_eq!(waiting.len(), 2);
    assert!(waiting[0].in_flight && !waiting[1].in_flight);
}

#[tokio::test]
async fn a_permanent_failure_does_not_stop_a_fifo_batch() {
    let h = slot_harness(test_config()).await;
    h.emulator.put_object(BUCKET, "drop/bare.csv", "x", &[]);
    let (_, job) = h.seed("drop/ok.csv");
    queue_with(&h.emulator, &["drop/bare.csv", "drop/ok.csv"]);
    let batch = h.emulator.receive_batch(QUEUE, 10).unwrap();

    let response = h.invoke(batch).await.unwrap();

    assert_eq!(listed(&response), Vec::<String>::new());
    assert_eq!(
        h.events_of(FAILED)[0].detail["Error"]["Type"],
        "MissingImportMetadata"
    );
    assert_eq!(h.status(&job), "Pending");
    assert_eq!(h.emulator.count("ChangeMessageVisibility"), 0);
}

#[tokio::test]
async fn a_fifo_message_is_published_before_the_next_is_processed() {
    let h = slot_harness(test_config()).await;
    let (_, first) = h.seed("drop/1.csv");
    let (_, second) = h.seed("drop/2.csv");
    queue_with(&h.emulator, &["drop/1.csv", "drop/2.csv"]);
    h.emulator.inject(Fault::new(
        "PutEvents",
        FaultAction::error(500, "InternalException"),
    ));
    let batch = h.emulator.receive_batch(QUEUE, 10).unwrap();
    let ids = message_ids(&batch);

    let response = h.invoke(batch).await.unwrap();

    // The first's event was not published: it comes again, and so does
    // everything behind it, untouched.
    assert_eq!(listed(&response), ids);
    assert_eq!(h.status(&first), "Pending");
    assert_eq!(h.status(&second), "Created");
    assert_eq!(keys_read(&h), ["drop/1.csv"]);
    // Not a wait for the slot, and yet the first waits (SPEC section 16),
    // rather than the queue's own visibility timeout.
    assert_eq!(h.emulator.count("ChangeMessageVisibility"), 1);
    let change = h.first_call("ChangeMessageVisibility");
    assert_eq!(change.params["VisibilityTimeout"], json!(60));
}

#[tokio::test]
async fn a_standard_queue_batch_is_not_held_in_order() {
    // Without `.fifo` the records run at once, as before.
    let h = slot_harness(test_config()).await;
    running_job(&h, POOL);
    let (_, a) = h.seed("a.csv");
    let (_, b) = h.seed("b.csv");
    let response = h
        .invoke(sqs_event(&[
            ("m-a", created("a.csv")),
            ("m-b", created("b.csv")),
        ]))
        .await
        .unwrap();
    assert_eq!(listed(&response), ["m-a", "m-b"]);
    assert_eq!(keys_read(&h).len(), 2);
    assert_eq!(
        (h.status(&a), h.status(&b)),
        ("Created".into(), "Created".into())
    );
    assert!(
        h.first_call("ChangeMessageVisibility").params["ReceiptHandle"]
            .as_str()
            .unwrap()
            .starts_with("AQEB")
    );
}

// ---- waiting ----

#[tokio::test]
async fn the_wait_grows_with_each_receive_and_stops_at_900_seconds() {
    let config = Config {
        slot_wait_seconds: 120,
        ..test_config()
    };
    let h = slot_harness(config).await;
    running_job(&h, POOL);
    h.seed("drop/1.csv");
    queue_with(&h.emulator, &["drop/1.csv"]);
    let mut waits = Vec::new();
    for _ in 0..9 {
        let batch = loop {
            match h.emulator.receive_batch(QUEUE, 10) {
                Some(batch) => break batch,
                None => h.emulator.expire_visibility(QUEUE),
            }
        };
        let since = h.emulator.calls().len();
        let response = h.invoke(batch.clone()).await.unwrap();
        h.emulator.complete_batch(QUEUE, &batch, Ok(&response));
        let change = h.emulator.calls()[since..]
            .iter()
            .find(|c| c.operation == "ChangeMessageVisibility")
            .cloned()
            .expect("a visibility change");
        waits.push(change.params["VisibilityTimeout"].as_i64().unwrap());
    }
    assert_eq!(waits, [120, 240, 360, 480, 600, 720, 840, 900, 900]);
}

#[tokio::test]
async fn a_failed_visibility_change_is_logged_and_the_message_still_listed() {
    let h = slot_harness(test_config()).await;
    running_job(&h, POOL);
    h.seed("drop/1.csv");
    queue_with(&h.emulator, &["drop/1.csv"]);
    h.emulator.inject(Fault::new(
        "ChangeMessageVisibility",
        FaultAction::error(500, "InternalError"),
    ));
    let batch = h.emulator.receive_batch(QUEUE, 10).unwrap();

    let response = h.invoke(batch.clone()).await.unwrap();

    assert_eq!(listed(&response), message_ids(&batch));
    assert!(test_logs().contains("ChangeMessageVisibility failed"));
}

#[tokio::test]
async fn a_queue_of_drops_is_imported_one_after_another_in_order() {
    // The whole loop: the event source mapping redelivers, the jobs run for
    // a while each, and every file is imported once, in queue order.
    let h = slot_harness(Config {
        slot_wait_seconds: 1,
        ..test_config()
    })
    .await;
    h.emulator
        .set_job_run_time(Some(Duration::from_millis(150)));
    let keys: Vec<String> = (1..=4).map(|i| format!("drop/{i}.csv")).collect();
    let jobs: Vec<ImportJob> = keys.iter().map(|k| h.seed(k).1).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    h.emulator.create_queue(
        QUEUE,
        QueueOptions {
            fifo: true,
            visibility_timeout: 300,
            content_based_deduplication: true,
            second: Duration::from_millis(20),
            ..QueueOptions::default()
        },
    );
    for key in &key_refs {
        let body = eventbridge_event(BUCKET, key, None).to_string();
        h.emulator.send_message(QUEUE, &body, Some("drops"));
    }

    let stats = h
        .emulator
        .run_event_source(
            QUEUE,
            10,
            |event| async { h.invoke(event).await.map_err(|e| e.message) },
            true,
        )
        .await;

    assert!(h.emulator.queue_messages(QUEUE).is_empty());
    assert!(stats.invocations >= 4);
    for job in &jobs {
        assert_eq!(h.emulator.successful_starts(POOL, &job.job_id), 1);
    }
    assert_eq!(h.emulator.max_active_jobs(), 1);
    let order: Vec<String> = h
        .events_of(STARTED)
        .iter()
        .filter(|e| e.detail["AlreadyStarted"] == json!(false))
        .map(|e| e.detail["Object"]["Key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order, keys);
}

// ---- every retryable failure of a queued drop waits (SPEC section 16) ----

const BEHIND: &str = "drop/behind.csv";

/// `key`, then a drop behind it, queued in a FIFO queue; one batch of both
/// received and handled: the batch and the answer.
async fn queued_pair(h: &Harness, key: &str) -> (Value, Value) {
    h.seed(BEHIND);
    queue_with(&h.emulator, &[key, BEHIND]);
    let batch = h.emulator.receive_batch(QUEUE, 10).expect("a batch");
    let response = h.invoke(batch.clone()).await.unwrap();
    (batch, response)
}

/// The error type of `key`'s "record outcome" log line (the SQS answer
/// names messages, not types).
fn logged_error_type(key: &str) -> String {
    test_logs()
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v["fields"]["message"] == "record outcome" && v["fields"]["key"] == key)
        .find_map(|v| v["fields"]["error_type"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no record outcome with an error for {key}"))
}

/// The head of the batch failed with `error`: both messages listed, the
/// head's visibility set to a wait within `wait` (seconds) and applied by
/// the queue, the one behind released at once.
fn assert_the_head_waits(
    h: &Harness,
    (batch, response): (Value, Value),
    key: &str,
    error: &str,
    wait: std::ops::RangeInclusive<i64>,
) {
    assert_eq!(logged_error_type(key), error);
    assert_eq!(listed(&response), message_ids(&batch));
    assert_eq!(h.emulator.count("ChangeMessageVisibility"), 1);
    let change = h.first_call("ChangeMessageVisibility");
    assert_eq!(
        change.params["ReceiptHandle"],
        batch["Records"][0]["receiptHandle"]
    );
    let seconds = change.params["VisibilityTimeout"].as_i64().unwrap_or(-1);
    assert!(wait.contains(&seconds), "waits {seconds} s, not {wait:?}");
    let release = h.first_call("ChangeMessageVisibilityBatch");
    assert_eq!(
        release.params["Entries"][0]["ReceiptHandle"],
        batch["Records"][1]["receiptHandle"]
    );
    assert_eq!(release.params["Entries"][0]["VisibilityTimeout"], json!(0));

    h.emulator.complete_batch(QUEUE, &batch, Ok(&response));
    let queued = h.emulator.queue_messages(QUEUE);
    assert!(queued[0].in_flight && !queued[1].in_flight);
    // Minutes, not the queue's 300 s visibility timeout.
    assert!(queued[0].visible_in <= Duration::from_secs(*wait.end() as u64));
    assert!(
        queued[0].visible_in + Duration::from_secs(5) > Duration::from_secs(*wait.start() as u64)
    );
}

#[tokio::test]
async fn a_queued_drop_whose_event_is_not_published_waits() {
    let h = slot_harness(test_config()).await;
    h.seed("drop/unpublished.csv");
    h.emulator.inject(Fault::new(
        "PutEvents",
        FaultAction::error(500, "InternalException"),
    ));
    let handled = queued_pair(&h, "drop/unpublished.csv").await;
    assert_the_head_waits(
        &h,
        handled,
        "drop/unpublished.csv",
        "EventPublishFailed",
        60..=60,
    );
}

#[tokio::test]
async fn a_queued_drop_that_s3_cannot_serve_waits() {
    let h = slot_harness(test_config()).await;
    h.seed("drop/s3-down.csv");
    h.emulator.inject(Fault::new(
        "HeadObject",
        FaultAction::error(503, "SlowDown"),
    ));
    let handled = queued_pair(&h, "drop/s3-down.csv").await;
    assert_the_head_waits(
        &h,
        handled,
        "drop/s3-down.csv",
        "ServiceUnavailable",
        60..=60,
    );
}

#[tokio::test]
async fn a_queued_drop_throttled_by_cognito_waits() {
    let h = slot_harness(test_config()).await;
    h.seed("drop/throttled.csv");
    h.emulator.inject(Fault::new(
        "StartUserImportJob",
        FaultAction::error(400, "TooManyRequestsException"),
    ));
    let handled = queued_pair(&h, "drop/throttled.csv").await;
    let error = "TooManyRequestsException";
    assert_the_head_waits(&h, handled, "drop/throttled.csv", error, 60..=60);
}

#[tokio::test]
async fn a_queued_drop_meeting_a_cognito_internal_error_waits() {
    let h = slot_harness(test_config()).await;
    h.seed("drop/cognito-500.csv");
    h.emulator.inject(Fault::new(
        "StartUserImportJob",
        FaultAction::error(500, "InternalErrorException"),
    ));
    let handled = queued_pair(&h, "drop/cognito-500.csv").await;
    let error = "InternalErrorException";
    assert_the_head_waits(&h, handled, "drop/cognito-500.csv", error, 60..=60);
}

#[tokio::test]
async fn a_queued_drop_whose_csv_is_not_uploaded_waits() {
    let h = slot_harness(test_config()).await;
    let job = h.emulator.create_import_job(POOL, "nightly", false);
    h.emulator.put_object(
        BUCKET,
        "drop/no-csv.csv",
        "x",
        &[("user-pool-id", POOL), ("job-id", &job.job_id)],
    );
    let handled = queued_pair(&h, "drop/no-csv.csv").await;
    assert_the_head_waits(&h, handled, "drop/no-csv.csv", "CsvNotUploaded", 60..=60);
}

#[tokio::test]
async fn a_queued_drop_whose_upload_failed_waits() {
    let h = slot_harness(create_config()).await;
    h.emulator.put_object(
        BUCKET,
        "drop/upload.csv",
        valid_csv(&["alice"]),
        &[("user-pool-id", POOL)],
    );
    h.emulator.inject(Fault::new(
        "UploadCsv",
        FaultAction::error(500, "InternalError"),
    ));
    let handled = queued_pair(&h, "drop/upload.csv").await;
    assert_the_head_waits(&h, handled, "drop/upload.csv", "UploadFailed", 60..=60);
}

#[tokio::test]
async fn a_queued_drop_with_parts_left_waits() {
    let h = slot_harness(Config {
        part_max_rows: 1,
        ..create_config()
    })
    .await;
    h.emulator.put_object(
        BUCKET,
        "drop/parts.csv",
        valid_csv(&["alice", "bob"]),
        &[("user-pool-id", POOL)],
    );
    let handled = queued_pair(&h, "drop/parts.csv").await;
    let error = "ImportPartsRemaining";
    assert_the_head_waits(&h, handled, "drop/parts.csv", error, 60..=60);
}

#[tokio::test]
async fn a_queued_drop_cut_short_by_the_deadline_waits_counted_from_its_start() {
    let h = slot_harness(test_config()).await;
    h.seed("drop/hung.csv");
    h.emulator
        .inject(Fault::new("StartUserImportJob", FaultAction::Hang));
    h.seed(BEHIND);
    queue_with(&h.emulator, &["drop/hung.csv", BEHIND]);
    let batch = h.emulator.receive_batch(QUEUE, 10).expect("a batch");

    let response = h
        .invoke_with_deadline(batch.clone(), Duration::from_millis(1500))
        .await
        .unwrap();

    // The work ended 1.2 s in: the 60 s wait counts from the start, so the
    // message is received again 60 s after this receive, not 61.
    let handled = (batch, response);
    assert_the_head_waits(&h, handled, "drop/hung.csv", "ServiceUnavailable", 58..=59);
}

#[tokio::test]
async fn a_standard_queue_message_keeps_the_queue_timeout_unless_it_waits_for_the_slot() {
    // SPEC section 16 speaks of FIFO messages: a standard queue's batch is
    // not held in order, so one failing message holds nothing back.
    let h = slot_harness(test_config()).await;
    h.seed("drop/standard.csv");
    h.emulator.inject(Fault::new(
        "PutEvents",
        FaultAction::error(500, "InternalException"),
    ));

    let response = h
        .invoke(sqs_event(&[("m-a", created("drop/standard.csv"))]))
        .await;

    assert_eq!(listed(&response.unwrap()), ["m-a"]);
    assert_eq!(logged_error_type("drop/standard.csv"), "EventPublishFailed");
    assert_eq!(h.emulator.count("ChangeMessageVisibility"), 0);
}
