//! SPEC section 14, files of any size: a file over one job's limits is cut
//! into parts, planned, and imported part after part, one receive of its
//! message at a time, through the real SDK against the emulator (Cognito's
//! one-active-job rule on). `PART_MAX_ROWS` is small here so that a few rows
//! make several parts; the cutting by bytes is the checker's unit tests'.

use cis_emulator::{
    valid_csv, Emulator, Fault, FaultAction, ImportJob, StoredObject, DEFAULT_CSV_HEADER,
};
use cis_testkit::*;
use cognito_import_starter::model::ObjectRef;
use cognito_import_starter::Config;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";
const KEY: &str = "imports/big users.csv";
const STARTED: &str = "User Import Job Started";
const FAILED: &str = "User Import Job Start Failed";
const COMPLETED: &str = "User Import Job Completed";
const USERS: [&str; 5] = ["ann", "ben", "cid", "dee", "eve"];

fn parts_config(part_max_rows: u64) -> Config {
    Config {
        cloudwatch_logs_role_arn: Some(ROLE.into()),
        part_max_rows,
        ..test_config()
    }
}

async fn parts_harness(part_max_rows: u64) -> Harness {
    let h = harness_with(parts_config(part_max_rows)).await;
    h.emulator.enforce_one_active_job(true);
    h.emulator
        .create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    h
}

/// Five users, CRLF line ends, no line end after the last: three parts of
/// at most two rows.
fn source() -> String {
    valid_csv(&USERS).trim_end().replace('\n', "\r\n")
}

fn drop_source(emulator: &Emulator, body: &str) -> StoredObject {
    emulator.put_object(BUCKET, KEY, body, &[("user-pool-id", POOL)])
}

fn event() -> Value {
    created("imports/big+users.csv")
}

fn object_of(stored: &StoredObject) -> ObjectRef {
    ObjectRef {
        etag: Some(stored.etag.trim_matches('"').to_string()),
        ..ObjectRef::new(BUCKET, KEY, None)
    }
}

fn hash(stored: &StoredObject) -> String {
    cognito_import_starter::drops::names::job_name(&object_of(stored))[3..19].to_string()
}

fn part_name(stored: &StoredObject, k: u64, n: u64) -> String {
    format!("s3-{}-p{k}of{n}-big-users.csv", hash(stored))
}

fn job_named(h: &Harness, name: &str) -> ImportJob {
    let named: Vec<ImportJob> = h
        .emulator
        .jobs()
        .into_iter()
        .filter(|j| j.job_name == name)
        .collect();
    assert_eq!(named.len(), 1, "one job named {name}: {named:?}");
    named.into_iter().next().unwrap()
}

fn plan(h: &Harness, stored: &StoredObject) -> Value {
    let key = format!("results/plans/{}.json", hash(stored));
    let object = h.emulator.object(BUCKET, &key).expect("the plan");
    assert!(object.metadata.is_empty(), "a plan carries no metadata");
    serde_json::from_slice(&object.body).unwrap()
}

/// The source's rows `first..=last` (data rows from 1) with its header, as
/// a part's file is.
fn part_file(first: usize, last: usize) -> Vec<u8> {
    let text = source();
    let lines: Vec<&str> = text.split_inclusive("\r\n").collect();
    let mut file = lines[0].to_string();
    for line in &lines[first..=last] {
        file.push_str(line);
    }
    file.into_bytes()
}

fn started_parts(h: &Harness) -> Vec<Value> {
    h.events_of(STARTED)
        .into_iter()
        .map(|e| e.detail["Part"].clone())
        .collect()
}

/// Ends the running part's job, as Cognito would.
fn finish(h: &Harness, job: &ImportJob, status: &str) {
    h.emulator.set_job_status(POOL, &job.job_id, status);
}

#[tokio::test]
async fn a_file_over_a_parts_rows_is_planned_and_its_first_part_started() {
    let h = parts_harness(2).await;
    let stored = drop_source(&h.emulator, &source());

    let result = h.invoke(event()).await;

    // Parts remain: the direct S3 path answers with an error to be retried.
    assert_eq!(error_type(&result), "ImportPartsRemaining");
    let message = result.unwrap_err().message;
    assert!(
        message.contains("part 1 of 3") && message.contains("2 part(s) remain"),
        "{message}"
    );
    let first = job_named(&h, &part_name(&stored, 1, 3));
    assert_eq!(first.status, "Pending");
    assert_eq!(
        h.emulator.uploaded_csv(POOL, &first.job_id),
        Some(part_file(1, 2))
    );
    assert_eq!(h.emulator.jobs().len(), 1, "no job for the other parts yet");
    // Its Started event, with the part's source rows.
    let events = h.events_of(STARTED);
    assert_eq!(events.len(), 1);
    let detail = &events[0].detail;
    assert_eq!(
        detail["Part"],
        json!({"Number": 1, "Count": 3, "FirstLine": 1, "LastLine": 2})
    );
    assert_eq!(detail["CreatedJob"], json!(true));
    assert_eq!(detail["AlreadyStarted"], json!(false));
    assert_eq!(detail["UserImportJob"]["JobId"], json!(first.job_id));
    assert_eq!(detail["Object"]["Key"], json!(KEY));
    // The plan: the object, the header's length, each part's rows and
    // bytes, what was published.
    let plan = plan(&h, &stored);
    let header = DEFAULT_CSV_HEADER.join(",").len() as u64 + 2;
    assert_eq!(
        plan["Object"],
        json!({"Bucket": BUCKET, "Key": KEY, "ETag": stored.etag.trim_matches('"')})
    );
    assert_eq!(plan["UserPoolId"], json!(POOL));
    assert_eq!(plan["HeaderBytes"], json!(header));
    let rows: Vec<(u64, u64)> = plan["Parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["FirstLine"].as_u64().unwrap(),
                p["LastLine"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, [(1, 2), (3, 4), (5, 5)]);
    assert_eq!(plan["Parts"][0]["FirstByte"], json!(header));
    assert_eq!(plan["Parts"][2]["EndByte"], json!(source().len()));
    let published: Vec<bool> = plan["Parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["StartedEventPublished"].as_bool().unwrap())
        .collect();
    assert_eq!(published, [true, false, false]);
}

#[tokio::test]
async fn the_drop_goes_part_after_part_one_receive_at_a_time() {
    let h = parts_harness(2).await;
    let stored = drop_source(&h.emulator, &source());
    let mut outcomes = Vec::new();
    for k in 1..=3u64 {
        let result = h.invoke(event()).await;
        outcomes.push(match &result {
            Ok(summary) => summary["Results"][0]["Outcome"]
                .as_str()
                .unwrap()
                .to_string(),
            Err(error) => error.error_type().to_string(),
        });
        let job = job_named(&h, &part_name(&stored, k, 3));
        assert_eq!(h.emulator.successful_starts(POOL, &job.job_id), 1);
        finish(&h, &job, "Succeeded");
    }
    assert_eq!(
        outcomes,
        ["ImportPartsRemaining", "ImportPartsRemaining", "Started"]
    );
    assert_eq!(
        h.emulator
            .uploaded_csv(POOL, &job_named(&h, &part_name(&stored, 2, 3)).job_id),
        Some(part_file(3, 4))
    );
    assert_eq!(
        h.emulator
            .uploaded_csv(POOL, &job_named(&h, &part_name(&stored, 3, 3)).job_id),
        Some(part_file(5, 5))
    );
    assert_eq!(
        started_parts(&h),
        [
            json!({"Number": 1, "Count": 3, "FirstLine": 1, "LastLine": 2}),
            json!({"Number": 2, "Count": 3, "FirstLine": 3, "LastLine": 4}),
            json!({"Number": 3, "Count": 3, "FirstLine": 5, "LastLine": 5}),
        ]
    );
    // Once more: the last part has started, the drop is done.
    let again = h.invoke(event()).await.unwrap();
    assert_eq!(again["Results"][0]["Outcome"], "AlreadyStarted");
    assert_eq!(h.emulator.jobs().len(), 3);
    // The preflight read the file once, each part its header and rows once
    // more, all from the object (SPEC section 16: no byte from the plan).
    // With parts of two rows the headers weigh; trust_plans.rs shows the
    // 2.5 times bound on parts of realistic size.
    let read = h.emulator.s3_bytes_served(BUCKET, KEY);
    let parts: u64 = [(1, 2), (3, 4), (5, 5)]
        .iter()
        .map(|&(first, last)| part_file(first, last).len() as u64)
        .sum();
    assert_eq!(read, source().len() as u64 + parts);
    assert_eq!(h.emulator.count("GetCSVHeader"), 1);
}

#[tokio::test]
async fn while_a_part_runs_the_drop_waits_and_creates_nothing() {
    let h = parts_harness(2).await;
    let stored = drop_source(&h.emulator, &source());
    assert_eq!(error_type(&h.invoke(event()).await), "ImportPartsRemaining");
    let reads = h.emulator.s3_bytes_served(BUCKET, KEY);

    let result = h.invoke(event()).await;

    assert_eq!(error_type(&result), "ImportSlotBusy");
    let first = job_named(&h, &part_name(&stored, 1, 3));
    assert!(result.unwrap_err().message.contains(&first.job_id));
    assert_eq!(h.emulator.jobs().len(), 1);
    assert_eq!(h.emulator.s3_bytes_served(BUCKET, KEY), reads);
    assert_eq!(h.events_of(STARTED).len(), 1);
}

#[tokio::test]
async fn a_started_event_not_published_goes_out_again_before_anything_else() {
    let h = parts_harness(2).await;
    let stored = drop_source(&h.emulator, &source());
    h.emulator
        .inject(Fault::new("PutEvents", FaultAction::error(500, "InternalException")).times(3));

    let result = h.invoke(event()).await;

    assert_eq!(error_type(&result), "EventPublishFailed");
    let first = job_named(&h, &part_name(&stored, 1, 3));
    assert_eq!(first.status, "Pending");
    assert_eq!(
        plan(&h, &stored)["Parts"][0]["StartedEventPublished"],
        json!(false)
    );

    // The part still runs: its event is published first, then the drop waits.
    let result = h.invoke(event()).await;
    assert_eq!(error_type(&result), "ImportSlotBusy");
    let events = h.events_of(STARTED);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail["AlreadyStarted"], json!(true));
    assert_eq!(events[0].detail["Part"]["Number"], json!(1));
    assert_eq!(
        plan(&h, &stored)["Parts"][0]["StartedEventPublished"],
        json!(true)
    );
    assert_eq!(h.emulator.successful_starts(POOL, &first.job_id), 1);
}

#[tokio::test]
async fn a_lost_plan_is_made_again_from_the_file() {
    let h = parts_harness(2).await;
    let stored = drop_source(&h.emulator, &source());
    assert_eq!(error_type(&h.invoke(event()).await), "ImportPartsRemaining");
    let first = job_named(&h, &part_name(&stored, 1, 3));
    finish(&h, &first, "Succeeded");
    h.emulator
        .delete_object(BUCKET, &format!("results/plans/{}.json", hash(&stored)));

    let result = h.invoke(event()).await;

    assert_eq!(error_type(&result), "ImportPartsRemaining");
    let second = job_named(&h, &part_name(&stored, 2, 3));
    assert_eq!(
        h.emulator.uploaded_csv(POOL, &second.job_id),
        Some(part_file(3, 4))
    );
    assert_eq!(
        plan(&h, &stored)["Parts"][1]["StartedEventPublished"],
        json!(true)
    );
    // Remade from the file by cutting it, not by checking it again.
    assert_eq!(h.emulator.count("GetCSVHeader"), 1);
}

#[tokio::test]
async fn a_failed_or_stopped_part_counts_as_done_and_an_expired_one_is_replaced() {
    let h = parts_harness(2).await;
    let stored = drop_source(&h.emulator, &source());
    assert_eq!(error_type(&h.invoke(event()).await), "ImportPartsRemaining");
    finish(&h, &job_named(&h, &part_name(&stored, 1, 3)), "Failed");
    // Part 2's job exists but expired before it could start (say, a long
    // wait for the slot): a new job of the same name takes its place.
    let expired = h
        .emulator
        .create_import_job(POOL, &part_name(&stored, 2, 3), false);
    h.emulator.set_job_status(POOL, &expired.job_id, "Expired");

    let result = h.invoke(event()).await;

    assert_eq!(error_type(&result), "ImportPartsRemaining");
    let named: Vec<ImportJob> = h
        .emulator
        .jobs()
        .into_iter()
        .filter(|j| j.job_name == part_name(&stored, 2, 3))
        .collect();
    assert_eq!(named.len(), 2);
    let replacement = named.iter().find(|j| j.job_id != expired.job_id).unwrap();
    assert_eq!(replacement.status, "Pending");
}

#[tokio::test]
async fn the_key_holding_another_object_after_parts_started_is_object_changed() {
    let h = parts_harness(2).await;
    let stored = drop_source(&h.emulator, &source());
    let mut announced = event();
    announced["Records"][0]["s3"]["object"]["eTag"] = json!(stored.etag.trim_matches('"'));
    assert_eq!(
        error_type(&h.invoke(announced.clone()).await),
        "ImportPartsRemaining"
    );
    let first = job_named(&h, &part_name(&stored, 1, 3));
    finish(&h, &first, "Succeeded");
    drop_source(&h.emulator, &valid_csv(&["zed"]));

    let summary = h.invoke(announced).await.unwrap();

    // Permanent: the failure event names the jobs already started; the new
    // file has its own event.
    assert_eq!(summary["Results"][0]["Error"]["Type"], "ObjectChanged");
    let failed = h.events_of(FAILED);
    assert_eq!(failed[0].detail["StartedJobs"], json!([first.job_id]));
    assert_eq!(failed[0].detail["Error"]["Type"], "ObjectChanged");
    assert_eq!(h.emulator.jobs().len(), 1);
}

#[tokio::test]
async fn a_replaced_object_before_any_part_started_is_imported_as_it_is_now() {
    let h = parts_harness(2).await;
    let old = drop_source(&h.emulator, &source());
    let mut announced = event();
    announced["Records"][0]["s3"]["object"]["eTag"] = json!(old.etag.trim_matches('"'));
    let now = drop_source(&h.emulator, &valid_csv(&["zed"]));

    let summary = h.invoke(announced).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    let job = job_named(
        &h,
        &cognito_import_starter::drops::names::job_name(&object_of(&now)),
    );
    assert_eq!(
        h.emulator.uploaded_csv(POOL, &job.job_id),
        Some(valid_csv(&["zed"]).into_bytes())
    );
}

#[tokio::test]
async fn a_file_within_one_part_keeps_section_10_exactly() {
    let h = parts_harness(5).await;
    let stored = drop_source(&h.emulator, &source());

    let summary = h.invoke(event()).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started");
    assert!(h.events_of(STARTED)[0].detail.get("Part").is_none());
    // SPEC section 16: a drop of one part keeps a plan too, recording the
    // job that received the file.
    let job = job_named(
        &h,
        &cognito_import_starter::drops::names::job_name(&object_of(&stored)),
    );
    let plan = plan(&h, &stored);
    assert_eq!(plan["Parts"].as_array().unwrap().len(), 1);
    assert_eq!(plan["Parts"][0]["JobId"], json!(job.job_id));
}

#[tokio::test]
async fn more_than_100_parts_is_csv_too_large_and_nothing_is_created() {
    let h = parts_harness(1).await;
    let users: Vec<String> = (0..101).map(|i| format!("user{i}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    drop_source(&h.emulator, &valid_csv(&names));

    let summary = h.invoke(event()).await.unwrap();

    assert_eq!(summary["Results"][0]["Error"]["Type"], "CsvTooLarge");
    let message = summary["Results"][0]["Error"]["Message"].as_str().unwrap();
    assert!(message.contains("more than 100 parts"), "{message}");
    assert_eq!(h.emulator.count("CreateUserImportJob"), 0);
    assert_eq!(h.emulator.count("PutObject"), 0);
}

#[tokio::test]
async fn without_a_results_prefix_a_file_needing_parts_is_csv_too_large_saying_why() {
    let mut config = parts_config(2);
    config.results_prefix = String::new();
    let h = harness_with(config).await;
    h.emulator
        .create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    drop_source(&h.emulator, &source());

    let summary = h.invoke(event()).await.unwrap();

    assert_eq!(summary["Results"][0]["Error"]["Type"], "CsvTooLarge");
    let message = summary["Results"][0]["Error"]["Message"].as_str().unwrap();
    assert!(
        message.contains("needs 3 parts") && message.contains("RESULTS_PREFIX is empty"),
        "{message}"
    );
    assert_eq!(h.emulator.count("CreateUserImportJob"), 0);
}

#[tokio::test]
async fn usernames_may_repeat_across_parts_but_not_within_one() {
    let h = parts_harness(2).await;
    // ann twice in different parts: Cognito's to skip. cid twice in part 2:
    // a problem, named by its source line.
    drop_source(
        &h.emulator,
        &valid_csv(&["ann", "ben", "ann", "cid", "cid"]),
    );
    let summary = h.invoke(event()).await;
    assert_eq!(error_type(&summary), "ImportPartsRemaining");

    let h = parts_harness(2).await;
    drop_source(
        &h.emulator,
        &valid_csv(&["ann", "ben", "cid", "cid", "eve"]),
    );
    let summary = h.invoke(event()).await.unwrap();
    assert_eq!(summary["Results"][0]["Error"]["Type"], "InvalidCsv");
    let detail = &h.events_of(FAILED)[0].detail;
    assert_eq!(detail["Problems"][0]["Line"], json!(5));
    assert_eq!(detail["Problems"][0]["Column"], json!("cognito:username"));
    assert!(
        detail.get("Part").is_none(),
        "no part exists before the preflight passes"
    );
}

#[tokio::test]
async fn a_queued_drop_in_parts_waits_like_a_busy_slot() {
    let h = parts_harness(2).await;
    drop_source(&h.emulator, &source());
    h.emulator.create_queue(
        "drops.fifo",
        cis_emulator::QueueOptions {
            fifo: true,
            visibility_timeout: 900,
            content_based_deduplication: true,
            ..cis_emulator::QueueOptions::default()
        },
    );
    let body = eventbridge_event(BUCKET, KEY, None).to_string();
    h.emulator.send_message("drops.fifo", &body, Some("drops"));
    let batch = h.emulator.receive_batch("drops.fifo", 10).unwrap();

    let response = h.invoke(batch.clone()).await.unwrap();

    assert_eq!(
        response["batchItemFailures"][0]["itemIdentifier"],
        batch["Records"][0]["messageId"]
    );
    let change = h.first_call("ChangeMessageVisibility");
    assert_eq!(change.params["VisibilityTimeout"], json!(60));
}

// ---- Track of a part ----

#[tokio::test]
async fn track_maps_a_parts_lines_to_the_source_and_writes_its_files() {
    let h = parts_harness(2).await;
    // Part 2 holds source rows 3 and 4: dee's email is broken.
    let body = source().replace("dee@example.com", "not-an-email");
    let stored = drop_source(&h.emulator, &body);
    assert_eq!(error_type(&h.invoke(event()).await), "ImportPartsRemaining");
    finish(&h, &job_named(&h, &part_name(&stored, 1, 3)), "Succeeded");
    assert_eq!(error_type(&h.invoke(event()).await), "ImportPartsRemaining");
    let second = job_named(&h, &part_name(&stored, 2, 3));
    h.emulator.run_import_job(POOL, &second.job_id).unwrap();
    let object = h.events_of(STARTED)[1].detail["Object"].clone();

    // The Started event's Object, without its Part: the part comes from the
    // job's name and the plan.
    let response = h
        .invoke(json!({"Action": "Track", "UserPoolId": POOL, "JobId": second.job_id, "Object": object}))
        .await
        .unwrap();

    assert_eq!(response["Terminal"], json!(true));
    let detail = &h.events_of(COMPLETED)[0].detail;
    assert_eq!(
        detail["Part"],
        json!({"Number": 2, "Count": 3, "FirstLine": 3, "LastLine": 4})
    );
    assert_eq!(detail["Results"]["First"][0]["Line"], json!(4), "{detail}");
    assert!(
        detail.get("Drop").is_none(),
        "only the last part sums up the drop"
    );
    let failed = h
        .emulator
        .object(BUCKET, &format!("results/{}/failed.csv", second.job_id))
        .unwrap();
    let lines: Vec<&str> = body.split_inclusive("\r\n").collect();
    assert_eq!(
        failed.body,
        format!("{}{}", lines[0], lines[4]).into_bytes()
    );
    let report = h
        .emulator
        .object(BUCKET, &format!("results/{}/report.csv", second.job_id))
        .unwrap();
    let report = String::from_utf8(report.body).unwrap();
    assert!(
        report.starts_with("line,status,reason,username\r\n4,FAILED,"),
        "{report}"
    );
    assert!(report.trim_end().ends_with(",dee"), "{report}");
}

#[tokio::test]
async fn the_last_parts_completed_event_sums_up_the_drop() {
    let h = parts_harness(2).await;
    let stored = drop_source(&h.emulator, &source());
    let mut ids = Vec::new();
    for k in 1..=3u64 {
        let _ = h.invoke(event()).await;
        let job = job_named(&h, &part_name(&stored, k, 3));
        h.emulator.run_import_job(POOL, &job.job_id).unwrap();
        ids.push(job.job_id);
    }
    h.emulator.add_user(POOL, "unused");

    // The Started event's Part, as the state machine passes it (a job's
    // name alone never makes it a part: SPEC section 16).
    h.invoke(
        json!({"Action": "Track", "UserPoolId": POOL, "JobId": ids[2],
                    "Part": {"Number": 3, "Count": 3}}),
    )
    .await
    .unwrap();

    let detail = &h.events_of(COMPLETED)[0].detail;
    assert_eq!(
        detail["Drop"],
        json!({"Parts": 3, "ImportedUsers": 5, "SkippedUsers": 0, "FailedUsers": 0, "Jobs": ids})
    );
    assert_eq!(detail["Part"]["Number"], json!(3));
}
