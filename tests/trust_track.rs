//! SPEC section 16 for `Track`: it reads only the drop's own object (in
//! create mode the job's name derives from it, on section 4's path its
//! metadata names the job), a part is never known from a job's name alone,
//! its files are streamed to S3 (multipart past one part) and report.csv
//! opens safely in a spreadsheet.

use cis_emulator::{Fault, FaultAction, ImportJob, RunOptions, DEFAULT_CSV_HEADER};
use cis_testkit::*;
use cognito_import_starter::Config;
use serde_json::{json, Value};
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";
const POOL_NAME: &str = "customers";
const COMPLETED: &str = "User Import Job Completed";

/// One row in the default header's order.
fn row(user: &str, email: &str) -> String {
    row_with(user, email, "")
}

fn row_with(user: &str, email: &str, profile: &str) -> String {
    DEFAULT_CSV_HEADER
        .iter()
        .map(|column| match *column {
            "cognito:username" => user,
            "email" => email,
            "profile" => profile,
            "email_verified" => "true",
            "cognito:mfa_enabled" => "false",
            _ => "",
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn csv(rows: &[String]) -> String {
    let mut text = DEFAULT_CSV_HEADER.join(",") + "\n";
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

/// Four users: jdoe (line 2) exists already, line 3's email is malformed.
fn users() -> String {
    csv(&[
        row("alice", "alice@example.com"),
        row("jdoe", "jdoe@example.com"),
        row("pchen", "bad-email"),
        row("bob", "bob@example.com"),
    ])
}

fn create_config() -> Config {
    Config {
        cloudwatch_logs_role_arn: Some(ROLE.into()),
        ..test_config()
    }
}

/// Drops `body` at `key` in create mode and runs its job to its end.
/// Returns the job and the Started event's `Object`.
async fn imported(h: &Harness, key: &str, body: String) -> (ImportJob, Value) {
    h.emulator
        .create_user_pool(POOL, POOL_NAME, DEFAULT_CSV_HEADER);
    h.emulator.add_user(POOL, "jdoe");
    h.emulator
        .put_object(BUCKET, key, body, &[("user-pool-id", POOL)]);
    let response = h.invoke(created(key)).await.unwrap();
    assert_eq!(response["Results"][0]["Outcome"], "Started", "{response}");
    let object = h.events_of("User Import Job Started")[0].detail["Object"].clone();
    let job_id = response["Results"][0]["JobId"]
        .as_str()
        .unwrap()
        .to_string();
    let run = h
        .emulator
        .run_import_job_with(POOL, &job_id, RunOptions::default())
        .expect("the job runs");
    (run.job, object)
}

/// Section 4's path: a job made by hand, finished with `lines` in its log,
/// and its object at `key` whose metadata names it.
fn finished_by_hand(h: &Harness, key: &str, body: String, lines: &[String]) -> ImportJob {
    h.emulator.create_user_pool(POOL, POOL_NAME, &[]);
    let job = h.emulator.create_import_job(POOL, "nightly", true);
    h.emulator.put_object(
        BUCKET,
        key,
        body,
        &[("user-pool-id", POOL), ("job-id", &job.job_id)],
    );
    let failed = lines.iter().filter(|l| l.starts_with("[FAILED]")).count() as i64;
    let skipped = lines.len() as i64 - failed;
    h.emulator
        .finish_job(POOL, &job.job_id, "Succeeded", 0, skipped, failed, "done");
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    h.log_user_lines(POOL_NAME, &job, &lines);
    job
}

fn track(job: &ImportJob, object: &Value) -> Value {
    json!({"Action": "Track", "UserPoolId": job.pool_id, "JobId": job.job_id, "Object": object})
}

fn results_of(h: &Harness) -> Vec<Value> {
    h.events_of(COMPLETED)
        .into_iter()
        .map(|event| event.detail["Results"].clone())
        .collect()
}

fn body(h: &Harness, key: &str) -> String {
    let object = h
        .emulator
        .object(BUCKET, key)
        .unwrap_or_else(|| panic!("no {key}"));
    String::from_utf8(object.body).unwrap()
}

fn files_of(job: &ImportJob) -> [String; 2] {
    ["failed.csv", "report.csv"].map(|name| format!("results/{}/{name}", job.job_id))
}

/// S3 calls of `operation` on `key`, their parameters.
fn calls_on(h: &Harness, operation: &str, key: &str) -> Vec<Value> {
    h.emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == operation && c.params["Key"] == key)
        .map(|c| c.params)
        .collect()
}

/// The object a caller passes must be the job's: another file of the same
/// bucket (here one with other people's rows at the same line numbers) is
/// neither read nor copied into the job's failed.csv.
#[tokio::test]
async fn another_object_is_not_read_for_a_create_mode_job() {
    let h = harness_with(create_config()).await;
    let (job, _) = imported(&h, "imports/users.csv", users()).await;
    let secret = csv(&[
        row("ceo", "ceo@example.com"),
        row("cfo", "cfo@example.com"),
        row("cto", "cto@example.com"),
    ]);
    let other = h
        .emulator
        .put_object(BUCKET, "hr/salaries.csv", secret, &[]);
    let object = json!({"Bucket": BUCKET, "Key": "hr/salaries.csv",
                        "ETag": other.etag.trim_matches('"')});

    let response = h.invoke(track(&job, &object)).await.unwrap();

    assert_eq!(response["Terminal"], true, "{response}");
    let results = results_of(&h);
    assert_eq!(results.len(), 1, "the Completed event still goes out");
    assert_eq!(
        results[0]["FilesError"]["Type"], "ObjectMismatch",
        "{}",
        results[0]
    );
    assert_eq!(
        (results[0]["Failed"].clone(), results[0]["Skipped"].clone()),
        (json!(1), json!(1))
    );
    assert!(results[0].get("FailedRows").is_none(), "{}", results[0]);
    for key in files_of(&job) {
        assert!(h.emulator.object(BUCKET, &key).is_none(), "{key} written");
    }
    assert!(calls_on(&h, "GetObject", "hr/salaries.csv").is_empty());
}

#[tokio::test]
async fn on_the_metadata_path_the_objects_metadata_must_name_the_job() {
    let h = harness().await;
    let lines = ["[FAILED] Line Number 2 - Invalid email address format.".to_string()];
    let job = finished_by_hand(&h, "imports/mine.csv", users(), &lines);
    // Another drop's object, naming another job of the same pool.
    let theirs = h.emulator.create_import_job(POOL, "theirs", true);
    let stored = h.emulator.put_object(
        BUCKET,
        "imports/theirs.csv",
        users(),
        &[("user-pool-id", POOL), ("job-id", &theirs.job_id)],
    );
    let object = json!({"Bucket": BUCKET, "Key": "imports/theirs.csv",
                        "VersionId": stored.version_id, "ETag": stored.etag.trim_matches('"')});

    h.invoke(track(&job, &object)).await.unwrap();

    let results = results_of(&h);
    assert_eq!(
        results[0]["FilesError"]["Type"], "ObjectMismatch",
        "{}",
        results[0]
    );
    for key in files_of(&job) {
        assert!(h.emulator.object(BUCKET, &key).is_none(), "{key} written");
    }
    assert!(calls_on(&h, "GetObject", "imports/theirs.csv").is_empty());

    // The job's own object is read, its metadata naming the job.
    let own = json!({"Bucket": BUCKET, "Key": "imports/mine.csv"});
    h.invoke(track(&job, &own)).await.unwrap();
    let results = results_of(&h);
    assert!(results[1].get("FilesError").is_none(), "{}", results[1]);
    let [failed, _] = files_of(&job);
    let rows: Vec<String> = users().lines().map(str::to_string).collect();
    assert_eq!(body(&h, &failed), format!("{}\n{}\n", rows[0], rows[2]));
}

/// An `Object` without a version ID or ETag is pinned by its head first:
/// the read is of the object the head saw (and checked), not whatever the
/// key holds later.
#[tokio::test]
async fn an_unpinned_object_is_read_by_its_head() {
    let h = harness_with(create_config()).await;
    let (job, object) = imported(&h, "imports/users.csv", users()).await;
    let etag = object["ETag"].as_str().unwrap().to_string();
    let unpinned = json!({"Bucket": BUCKET, "Key": "imports/users.csv"});
    let heads_before = calls_on(&h, "HeadObject", "imports/users.csv").len();

    h.invoke(track(&job, &unpinned)).await.unwrap();

    assert_eq!(
        calls_on(&h, "HeadObject", "imports/users.csv").len(),
        heads_before + 1
    );
    let reads = calls_on(&h, "GetObject", "imports/users.csv");
    let last = reads.last().expect("the source was read");
    assert_eq!(
        last["IfMatch"].as_str().map(|e| e.trim_matches('"')),
        Some(etag.as_str())
    );
    let results = results_of(&h);
    assert!(results[0].get("FilesError").is_none(), "{}", results[0]);
    let [failed, _] = files_of(&job);
    let lines: Vec<String> = users().lines().map(str::to_string).collect();
    assert_eq!(body(&h, &failed), format!("{}\n{}\n", lines[0], lines[3]));
}

/// SPEC section 16, "Names do not decide": a one-part file whose own name
/// looks like a part is tracked as the one file it is.
#[tokio::test]
async fn a_one_part_file_named_like_a_part_is_tracked_whole() {
    let h = harness_with(create_config()).await;
    let (job, object) = imported(&h, "imports/p1of2-users.csv", users()).await;
    assert!(
        job.job_name.ends_with("-p1of2-users.csv"),
        "{}",
        job.job_name
    );

    h.invoke(track(&job, &object)).await.unwrap();

    let results = results_of(&h);
    assert!(results[0].get("FilesError").is_none(), "{}", results[0]);
    let completed = &h.events_of(COMPLETED)[0].detail;
    assert!(completed.get("Part").is_none(), "{completed}");
    let lines: Vec<String> = users().lines().map(str::to_string).collect();
    let [failed, report] = files_of(&job);
    assert_eq!(body(&h, &failed), format!("{}\n{}\n", lines[0], lines[3]));
    assert_eq!(
        body(&h, &report),
        "line,status,reason,username\r\n2,SKIPPED,The user already exists.,jdoe\r\n\
         3,FAILED,Invalid email address format.,pchen\r\n"
    );
}

#[tokio::test]
async fn report_cells_that_begin_like_a_formula_are_written_as_text() {
    let h = harness().await;
    let source = csv(&[
        row("=HYPERLINK(\"http://x.example\")", "a@example.com"),
        row("+15550100", "b@example.com"),
        row("-x", "c@example.com"),
        row("@sum", "d@example.com"),
        row("plain", "e@example.com"),
    ]);
    let lines: Vec<String> = (1..=5)
        .map(|n| format!("[FAILED] Line Number {n} - =1+{n}"))
        .collect();
    let job = finished_by_hand(&h, "imports/formulas.csv", source.clone(), &lines);

    h.invoke(track(
        &job,
        &json!({"Bucket": BUCKET, "Key": "imports/formulas.csv"}),
    ))
    .await
    .unwrap();

    let [failed, report] = files_of(&job);
    assert_eq!(body(&h, &failed), source, "failed.csv stays byte for byte");
    assert_eq!(
        body(&h, &report),
        "line,status,reason,username\r\n\
         1,FAILED,'=1+1,\"'=HYPERLINK(\"\"http://x.example\"\")\"\r\n\
         2,FAILED,'=1+2,'+15550100\r\n\
         3,FAILED,'=1+3,'-x\r\n\
         4,FAILED,'=1+4,'@sum\r\n\
         5,FAILED,'=1+5,plain\r\n"
    );
}

/// Rows of about 200 bytes, `count` of them, every one failed.
fn all_failed(h: &Harness, key: &str, count: usize) -> (ImportJob, String) {
    let rows: Vec<String> = (1..=count)
        .map(|n| {
            let user = format!("user{n:07}");
            let email = format!("{user}@example.com");
            let short = row(&user, &email);
            row_with(
                &user,
                &email,
                &"p".repeat(200usize.saturating_sub(short.len())),
            )
        })
        .collect();
    let source = csv(&rows);
    let lines: Vec<String> = (1..=count)
        .map(|n| format!("[FAILED] Line Number {n} - Invalid phone number format."))
        .collect();
    (finished_by_hand(h, key, source.clone(), &lines), source)
}

/// Parts of 8 MiB take longer than the tests' short attempt timeout in a
/// debug build.
fn large_config() -> Config {
    let mut config = test_config();
    config.timeouts.attempt = Duration::from_secs(20);
    config.timeouts.operation = Duration::from_secs(60);
    config
}

/// A failed.csv past one part (8 MiB) goes up as a multipart upload, part by
/// part, and arrives byte for byte.
#[tokio::test]
async fn a_large_failed_csv_is_uploaded_in_parts() {
    let h = harness_with(large_config()).await;
    let (job, source) = all_failed(&h, "imports/big.csv", 50_000);
    assert!(source.len() > 9 << 20, "{} bytes", source.len());

    h.invoke(track(
        &job,
        &json!({"Bucket": BUCKET, "Key": "imports/big.csv"}),
    ))
    .await
    .unwrap();

    let [failed, report] = files_of(&job);
    assert!(
        body(&h, &failed) == source,
        "failed.csv is the whole source"
    );
    assert_eq!(calls_on(&h, "CreateMultipartUpload", &failed).len(), 1);
    let parts = calls_on(&h, "UploadPart", &failed);
    let numbers: Vec<&str> = parts
        .iter()
        .filter_map(|p| p["PartNumber"].as_str())
        .collect();
    assert_eq!(numbers, ["1", "2"]);
    assert_eq!(calls_on(&h, "CompleteMultipartUpload", &failed).len(), 1);
    assert!(calls_on(&h, "PutObject", &failed).is_empty());
    // report.csv (about 3 MB) fits in one part: a single PutObject.
    assert_eq!(calls_on(&h, "PutObject", &report).len(), 1);
    assert_eq!(body(&h, &report).lines().count(), 50_001);
}

/// A part that fails is retried as a whole `Track`: the upload under way is
/// aborted, not left behind, and nothing is emitted.
#[tokio::test]
async fn a_failed_part_aborts_the_upload() {
    let h = harness_with(large_config()).await;
    let (job, _) = all_failed(&h, "imports/big.csv", 50_000);
    h.emulator.inject(Fault::new(
        "UploadPart",
        FaultAction::error(503, "SlowDown"),
    ));

    let result = h
        .invoke(track(
            &job,
            &json!({"Bucket": BUCKET, "Key": "imports/big.csv"}),
        ))
        .await;

    assert_eq!(error_type(&result), "ServiceUnavailable");
    let [failed, _] = files_of(&job);
    assert_eq!(calls_on(&h, "AbortMultipartUpload", &failed).len(), 1);
    assert!(h.emulator.object(BUCKET, &failed).is_none());
    assert!(h.events_of(COMPLETED).is_empty());
}
