//! SPEC section 16, "Names do not decide" and "A plan is a cache, not a
//! source", through the real SDK against the emulator (Cognito's
//! one-active-job rule on): a file named like a part is one part; every
//! create-mode drop keeps a plan that records the job holding each part's
//! CSV, is checked before use, and gives no byte to an upload; over all
//! receives of a drop its bytes are read less than 2.5 times, whether or not
//! the job holding the import slot can be seen.

use cis_emulator::{valid_csv, Fault, FaultAction, ImportJob, StoredObject, DEFAULT_CSV_HEADER};
use cis_testkit::*;
use cognito_import_starter::drops::names::job_name;
use cognito_import_starter::model::ObjectRef;
use cognito_import_starter::Config;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";
/// A pool outside the allowlist: its jobs cannot be seen.
const UNSEEN_POOL: &str = "us-east-1_TestPool2";
const STARTED: &str = "User Import Job Started";
const FAILED: &str = "User Import Job Start Failed";

fn config(part_max_rows: u64) -> Config {
    Config {
        cloudwatch_logs_role_arn: Some(ROLE.into()),
        part_max_rows,
        ..test_config()
    }
}

async fn trust_harness(config: Config) -> Harness {
    let h = harness_with(config).await;
    h.emulator.enforce_one_active_job(true);
    h.emulator
        .create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    h.emulator
        .create_user_pool(UNSEEN_POOL, "partners", DEFAULT_CSV_HEADER);
    h
}

/// A harness whose allowlist holds only `POOL`, with a job of
/// `UNSEEN_POOL` holding the account's import slot.
async fn unseen_holder_harness(part_max_rows: u64) -> (Harness, ImportJob) {
    let h = trust_harness(Config {
        allowed_user_pool_ids: Some(vec![POOL.into()]),
        ..config(part_max_rows)
    })
    .await;
    let holder = h
        .emulator
        .create_import_job(UNSEEN_POOL, "someone-elses", true);
    h.emulator
        .set_job_status(UNSEEN_POOL, &holder.job_id, "InProgress");
    (h, holder)
}

fn users(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("user{i:03}")).collect()
}

fn csv_of(users: &[String]) -> String {
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    valid_csv(&names)
}

fn drop_file(h: &Harness, key: &str, body: &str) -> StoredObject {
    h.emulator
        .put_object(BUCKET, key, body, &[("user-pool-id", POOL)])
}

fn object_of(stored: &StoredObject) -> ObjectRef {
    ObjectRef {
        etag: Some(stored.etag.trim_matches('"').to_string()),
        ..ObjectRef::new(BUCKET, &stored.key, None)
    }
}

fn hash(stored: &StoredObject) -> String {
    job_name(&object_of(stored))[3..19].to_string()
}

fn plan_key(stored: &StoredObject) -> String {
    format!("results/plans/{}.json", hash(stored))
}

fn plan(h: &Harness, stored: &StoredObject) -> Value {
    let object = h
        .emulator
        .object(BUCKET, &plan_key(stored))
        .expect("the plan");
    serde_json::from_slice(&object.body).unwrap()
}

fn put_plan(h: &Harness, stored: &StoredObject, plan: &Value) {
    h.emulator
        .put_object(BUCKET, &plan_key(stored), plan.to_string(), &[]);
}

fn jobs_of(h: &Harness, pool: &str) -> Vec<ImportJob> {
    h.emulator
        .jobs()
        .into_iter()
        .filter(|j| j.pool_id == pool)
        .collect()
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

fn outcome(result: &Result<Value, cognito_import_starter::ImportError>) -> String {
    match result {
        Ok(summary) => summary["Results"][0]["Outcome"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        Err(error) => error.error_type().to_string(),
    }
}

/// The job's pre-signed URL has expired: it was created 16 minutes ago.
fn age_past_its_url(h: &Harness, job: &ImportJob) {
    let now = h.emulator.job(&job.pool_id, &job.job_id).unwrap();
    h.emulator.set_creation_date_ms(
        &job.pool_id,
        &job.job_id,
        now.creation_date_ms - 16 * 60_000,
    );
}

fn uploaded_jobs(h: &Harness) -> Vec<ImportJob> {
    jobs_of(h, POOL)
        .into_iter()
        .filter(|j| h.emulator.uploaded_csv(POOL, &j.job_id).is_some())
        .collect()
}

// ---- names do not decide ----

/// A file named like a part, whose first Started event could not be
/// published: the redelivery publishes it, for the one job started once.
async fn named_like_a_part_is_one_part(key: &str, finish_first: bool) {
    let h = trust_harness(config(500_000)).await;
    let stored = drop_file(&h, key, &valid_csv(&["ann", "ben"]));
    h.emulator
        .inject(Fault::new("PutEvents", FaultAction::error(500, "InternalException")).times(3));

    let first = h.invoke(created(key)).await;

    assert_eq!(error_type(&first), "EventPublishFailed");
    let job = job_named(&h, &job_name(&object_of(&stored)));
    assert_eq!(job.status, "Pending");
    if finish_first {
        // The slot is free again: nothing may take it for a "next part".
        h.emulator.set_job_status(POOL, &job.job_id, "Succeeded");
    }

    let again = h.invoke(created(key)).await;

    assert_eq!(outcome(&again), "AlreadyStarted", "{again:?}");
    assert_eq!(h.emulator.jobs().len(), 1, "{:?}", h.emulator.jobs());
    assert_eq!(h.emulator.successful_starts(POOL, &job.job_id), 1);
    assert_eq!(h.emulator.count("UploadCsv"), 1);
    let events = h.events_of(STARTED);
    assert_eq!(events.len(), 1, "{events:?}");
    let detail = &events[0].detail;
    assert_eq!(detail["UserImportJob"]["JobId"], json!(job.job_id));
    assert_eq!(detail["AlreadyStarted"], json!(true));
    assert!(detail.get("Part").is_none(), "{detail}");
    assert!(h.events_of(FAILED).is_empty(), "{:?}", h.events_of(FAILED));
    // Its plan says one part, and which job holds it.
    let plan = plan(&h, &stored);
    assert_eq!(plan["Parts"].as_array().unwrap().len(), 1);
    assert_eq!(plan["Parts"][0]["JobId"], json!(job.job_id));
}

#[tokio::test]
async fn a_file_named_p1of1_is_started_once_and_its_started_event_published() {
    named_like_a_part_is_one_part("imports/p1of1-users.csv", true).await;
}

#[tokio::test]
async fn a_file_named_p1of2_is_started_and_published_not_object_changed() {
    named_like_a_part_is_one_part("imports/p1of2-users.csv", false).await;
}

// ---- a plan is a cache, not a source ----

/// A drop of 3 parts (rows 1-2, 3-4, 5), its first part started and done.
async fn three_parts_begun(h: &Harness, key: &str, body: &str) -> StoredObject {
    let stored = drop_file(h, key, body);
    let first = h.invoke(created(key)).await;
    assert_eq!(error_type(&first), "ImportPartsRemaining");
    let part1 = job_named(
        h,
        &format!(
            "s3-{}-p1of3-{}",
            hash(&stored),
            key.rsplit('/').next().unwrap()
        ),
    );
    h.emulator.set_job_status(POOL, &part1.job_id, "Succeeded");
    stored
}

/// The source's header and rows `first..=last` (data rows from 1).
fn part_file(body: &str, first: usize, last: usize) -> Vec<u8> {
    let lines: Vec<&str> = body.split_inclusive('\n').collect();
    let mut file = lines[0].to_string();
    for line in &lines[first..=last] {
        file.push_str(line);
    }
    file.into_bytes()
}

fn part_job(h: &Harness, stored: &StoredObject, k: u64) -> ImportJob {
    job_named(h, &format!("s3-{}-p{k}of3-parts.csv", hash(stored)))
}

#[tokio::test]
async fn a_forged_plan_gives_no_byte_to_an_upload_and_is_logged_and_made_again() {
    let h = trust_harness(config(2)).await;
    let body = valid_csv(&["ann", "ben", "cid", "dee", "eve"]);
    let stored = three_parts_begun(&h, "imports/parts.csv", &body).await;
    let header = body.lines().next().unwrap().to_string() + "\n";
    let forged_row = valid_csv(&["mallory"]).lines().nth(1).unwrap().to_string() + "\n";

    // The header line of the first format, with a row added.
    let mut forged = plan(&h, &stored);
    forged["Header"] = json!(format!("{header}{forged_row}"));
    put_plan(&h, &stored, &forged);

    assert_eq!(
        error_type(&h.invoke(created("imports/parts.csv")).await),
        "ImportPartsRemaining"
    );

    let part2 = part_job(&h, &stored, 2);
    assert_eq!(
        h.emulator.uploaded_csv(POOL, &part2.job_id),
        Some(part_file(&body, 3, 4))
    );
    let logs = test_logs();
    let logged = logs
        .lines()
        .any(|l| l.contains("failed its check") && l.contains(&hash(&stored)));
    assert!(logged, "the failed check is logged");
    let remade = plan(&h, &stored);
    assert_eq!(remade["Version"], json!(2));
    assert!(remade.get("Header").is_none(), "{remade}");
    assert_eq!(remade["Parts"][1]["JobId"], json!(part2.job_id));

    // A header line of the right length that holds a row instead: the plan
    // passes its check, and still no byte of the upload comes from it.
    h.emulator.set_job_status(POOL, &part2.job_id, "Succeeded");
    let mut forged = plan(&h, &stored);
    let same_length: String = forged_row.chars().cycle().take(header.len() - 1).collect();
    forged["Header"] = json!(format!("{same_length}\n"));
    forged["Version"] = json!(1);
    put_plan(&h, &stored, &forged);

    let last = h.invoke(created("imports/parts.csv")).await;

    assert_eq!(outcome(&last), "Started", "{last:?}");
    let part3 = part_job(&h, &stored, 3);
    assert_eq!(
        h.emulator.uploaded_csv(POOL, &part3.job_id),
        Some(part_file(&body, 5, 5))
    );
}

#[tokio::test]
async fn a_plan_that_does_not_fit_the_drops_jobs_is_logged_and_made_again() {
    let h = trust_harness(config(2)).await;
    let body = valid_csv(&["ann", "ben", "cid", "dee", "eve"]);
    let stored = three_parts_begun(&h, "imports/parts.csv", &body).await;
    // Consistent in itself, but of 2 parts (rows 1-2, then 3-5), of
    // another pool, while the drop's jobs are named for 3.
    let mut forged = plan(&h, &stored);
    let end = forged["Parts"][2]["EndByte"].clone();
    forged["Parts"][1]["LastLine"] = json!(5);
    forged["Parts"][1]["EndByte"] = end;
    forged["Parts"].as_array_mut().unwrap().truncate(2);
    forged["PartMaxRows"] = json!(3);
    forged["UserPoolId"] = json!(UNSEEN_POOL);
    put_plan(&h, &stored, &forged);

    let result = h.invoke(created("imports/parts.csv")).await;

    assert_eq!(error_type(&result), "ImportPartsRemaining");
    let part2 = part_job(&h, &stored, 2);
    assert_eq!(
        h.emulator.uploaded_csv(POOL, &part2.job_id),
        Some(part_file(&body, 3, 4))
    );
    assert_eq!(h.emulator.jobs().len(), 2, "{:?}", h.emulator.jobs());
    let remade = plan(&h, &stored);
    assert_eq!(remade["Parts"].as_array().unwrap().len(), 3);
    assert_eq!(remade["UserPoolId"], json!(POOL));
    let logs = test_logs();
    let logged = logs
        .lines()
        .any(|l| l.contains("failed its check") && l.contains(&hash(&stored)));
    assert!(logged, "the failed check is logged");
}

#[tokio::test]
async fn a_plan_of_the_older_format_is_read_for_what_it_holds() {
    let h = trust_harness(config(2)).await;
    let body = valid_csv(&["ann", "ben", "cid", "dee", "eve"]);
    let stored = three_parts_begun(&h, "imports/parts.csv", &body).await;
    // As the first format wrote it: no Version, no JobId, the header line.
    let mut older = plan(&h, &stored);
    let object = older.as_object_mut().unwrap();
    object.remove("Version");
    object.insert(
        "Header".into(),
        json!(body.lines().next().unwrap().to_string() + "\n"),
    );
    for part in older["Parts"].as_array_mut().unwrap() {
        part.as_object_mut().unwrap().remove("JobId");
    }
    put_plan(&h, &stored, &older);
    let read_before = h.emulator.s3_bytes_served(BUCKET, "imports/parts.csv");

    let result = h.invoke(created("imports/parts.csv")).await;

    assert_eq!(error_type(&result), "ImportPartsRemaining");
    // Read for what it holds: part 1's event stays published, the file is
    // neither checked nor cut again, only part 2 is read.
    let part2 = part_job(&h, &stored, 2);
    assert_eq!(
        h.emulator.uploaded_csv(POOL, &part2.job_id),
        Some(part_file(&body, 3, 4))
    );
    let read = h.emulator.s3_bytes_served(BUCKET, "imports/parts.csv") - read_before;
    assert_eq!(read, part_file(&body, 3, 4).len() as u64);
    assert_eq!(h.emulator.count("GetCSVHeader"), 1);
    let events = h.events_of(STARTED);
    assert_eq!(events.len(), 2, "part 1's event is not sent again");
    assert_eq!(events[1].detail["Part"]["Number"], json!(2));
    let plan = plan(&h, &stored);
    assert_eq!(plan["Version"], json!(2));
    assert_eq!(plan["Parts"][0]["StartedEventPublished"], json!(true));
    assert_eq!(plan["Parts"][1]["JobId"], json!(part2.job_id));
}

#[tokio::test]
async fn a_job_recorded_as_uploaded_is_never_uploaded_again_and_waits_until_expired() {
    let (h, holder) = unseen_holder_harness(500_000).await;
    let body = valid_csv(&["ann", "ben"]);
    let stored = drop_file(&h, "imports/users.csv", &body);

    let first = h.invoke(created("imports/users.csv")).await;

    assert_eq!(error_type(&first), "ImportSlotBusy");
    let job = job_named(&h, &job_name(&object_of(&stored)));
    assert_eq!(plan(&h, &stored)["Parts"][0]["JobId"], json!(job.job_id));

    // Past its pre-signed URL: it holds the CSV, so it is not replaced.
    age_past_its_url(&h, &job);
    let second = h.invoke(created("imports/users.csv")).await;
    assert_eq!(error_type(&second), "ImportSlotBusy");
    assert!(second.unwrap_err().message.contains(&job.job_id));
    assert_eq!(h.emulator.count("UploadCsv"), 1);
    assert_eq!(jobs_of(&h, POOL).len(), 1);

    // Expired (Cognito's 24 hours passed): one new job gets the CSV.
    h.emulator.set_job_status(POOL, &job.job_id, "Expired");
    let third = h.invoke(created("imports/users.csv")).await;
    assert_eq!(error_type(&third), "ImportSlotBusy");
    assert_eq!(h.emulator.count("UploadCsv"), 2);
    let replacement = jobs_of(&h, POOL)
        .into_iter()
        .find(|j| j.job_id != job.job_id)
        .expect("a replacement");
    assert_eq!(
        plan(&h, &stored)["Parts"][0]["JobId"],
        json!(replacement.job_id)
    );

    h.emulator
        .set_job_status(UNSEEN_POOL, &holder.job_id, "Succeeded");
    let last = h.invoke(created("imports/users.csv")).await;

    assert_eq!(outcome(&last), "Started", "{last:?}");
    assert_eq!(h.emulator.successful_starts(POOL, &replacement.job_id), 1);
    assert_eq!(h.status(&job), "Expired");
    // At most its parts plus one for each that expired received the CSV.
    assert_eq!(uploaded_jobs(&h).len(), 2);
    assert_eq!(h.emulator.count("UploadCsv"), 2);
    let events = h.events_of(STARTED);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].detail["UserImportJob"]["JobId"],
        json!(replacement.job_id)
    );
}

#[tokio::test]
async fn an_unseen_slot_holder_costs_one_upload_and_under_2_5_reads_of_a_file() {
    let (h, holder) = unseen_holder_harness(500_000).await;
    let body = csv_of(&users(20));
    let stored = drop_file(&h, "imports/users.csv", &body);

    // A queued drop is received again every few minutes for as long as
    // the slot is held; its job's pre-signed URL expires meanwhile.
    for receive in 0..6 {
        let result = h.invoke(created("imports/users.csv")).await;
        assert_eq!(error_type(&result), "ImportSlotBusy", "receive {receive}");
        let job = job_named(&h, &job_name(&object_of(&stored)));
        age_past_its_url(&h, &job);
    }

    assert_eq!(h.emulator.count("CreateUserImportJob"), 1);
    assert_eq!(h.emulator.count("UploadCsv"), 1);
    assert_eq!(h.emulator.count("GetCSVHeader"), 1);
    h.emulator
        .set_job_status(UNSEEN_POOL, &holder.job_id, "Succeeded");
    let last = h.invoke(created("imports/users.csv")).await;
    assert_eq!(outcome(&last), "Started", "{last:?}");
    assert_eq!(jobs_of(&h, POOL).len(), 1);
    assert_eq!(h.emulator.count("UploadCsv"), 1);
    let read = h.emulator.s3_bytes_served(BUCKET, "imports/users.csv");
    assert!(
        read * 2 < body.len() as u64 * 5,
        "read {read} bytes of a file of {}",
        body.len()
    );
}

#[tokio::test]
async fn an_unseen_slot_holder_costs_a_drop_in_parts_under_2_5_reads_of_it() {
    let (h, holder) = unseen_holder_harness(20).await;
    let body = csv_of(&users(50));
    let stored = drop_file(&h, "imports/parts.csv", &body);

    for receive in 0..5 {
        let result = h.invoke(created("imports/parts.csv")).await;
        assert_eq!(error_type(&result), "ImportSlotBusy", "receive {receive}");
        for job in jobs_of(&h, POOL) {
            age_past_its_url(&h, &job);
        }
    }
    assert_eq!(h.emulator.count("UploadCsv"), 1);
    assert_eq!(jobs_of(&h, POOL).len(), 1);

    // The slot frees: the parts go one after another.
    h.emulator
        .set_job_status(UNSEEN_POOL, &holder.job_id, "Succeeded");
    let mut outcomes = Vec::new();
    for k in 1..=3u64 {
        outcomes.push(outcome(&h.invoke(created("imports/parts.csv")).await));
        let job = part_job(&h, &stored, k);
        h.emulator.set_job_status(POOL, &job.job_id, "Succeeded");
    }
    assert_eq!(
        outcomes,
        ["ImportPartsRemaining", "ImportPartsRemaining", "Started"]
    );
    assert_eq!(h.emulator.count("UploadCsv"), 3);
    assert_eq!(uploaded_jobs(&h).len(), 3);
    let read = h.emulator.s3_bytes_served(BUCKET, "imports/parts.csv");
    assert!(
        read * 2 < body.len() as u64 * 5,
        "read {read} bytes of a file of {}",
        body.len()
    );
}
