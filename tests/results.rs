//! SPEC section 12: what became of each user. `Track` of a finished job reads
//! Cognito's per-user lines from CloudWatch Logs (the emulator's Cognito runs
//! the job and writes them as Cognito does), adds `Results` to the Completed
//! event and writes `failed.csv` and `report.csv` next to the source.

use cis_emulator::{Fault, FaultAction, ImportJob, RunOptions, DEFAULT_CSV_HEADER};
use cis_testkit::*;
use cognito_import_starter::Config;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";
const KEY: &str = "imports/users.csv";
const POOL_NAME: &str = "customers";
const COMPLETED: &str = "User Import Job Completed";

/// One row in the default header's order.
fn row(user: &str, email: &str, phone: &str, name: &str) -> String {
    DEFAULT_CSV_HEADER
        .iter()
        .map(|column| match *column {
            "cognito:username" => user,
            "email" => email,
            "email_verified" => {
                if email.is_empty() {
                    "false"
                } else {
                    "true"
                }
            }
            "phone_number" => phone,
            "phone_number_verified" => {
                if phone.is_empty() {
                    "false"
                } else {
                    "true"
                }
            }
            "cognito:mfa_enabled" => "false",
            "name" => name,
            _ => "",
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Six users, CRLF line ends, an escaped comma: line 2 is skipped (its user
/// exists), lines 3 and 5 fail at Cognito (a malformed email, a phone not in
/// E.164), the others are imported.
fn source() -> String {
    let rows = [
        DEFAULT_CSV_HEADER.join(","),
        row("alice", "alice@example.com", "", "Alice\\, Jr."),
        row("jdoe", "jdoe@example.com", "", ""),
        row("pchen", "bad-email", "", "P\\, Chen"),
        row("bob", "bob@example.com", "", ""),
        row("lnguyen", "", "555-0100", ""),
        row("carol", "carol@example.com", "", ""),
    ];
    rows.join("\r\n") + "\r\n"
}

fn create_config() -> Config {
    Config {
        cloudwatch_logs_role_arn: Some(ROLE.into()),
        ..test_config()
    }
}

/// Drops the source in create mode, starts its job and runs it to its end in
/// the emulator with `options`. Returns the job and the Started event's
/// `Object`.
async fn imported(h: &Harness, options: RunOptions) -> (ImportJob, Value) {
    h.emulator
        .create_user_pool(POOL, POOL_NAME, DEFAULT_CSV_HEADER);
    h.emulator.add_user(POOL, "jdoe");
    h.emulator
        .put_object(BUCKET, KEY, source(), &[("user-pool-id", POOL)]);
    let response = h.invoke(created(KEY)).await.unwrap();
    assert_eq!(response["Results"][0]["Outcome"], "Started", "{response}");
    let started = h.events_of("User Import Job Started");
    let object = started[0].detail["Object"].clone();
    let job_id = response["Results"][0]["JobId"]
        .as_str()
        .unwrap()
        .to_string();
    let run = h
        .emulator
        .run_import_job_with(POOL, &job_id, options)
        .expect("the job runs");
    (run.job, object)
}

fn track(job: &ImportJob, object: &Value) -> Value {
    json!({"Action": "Track", "UserPoolId": job.pool_id, "JobId": job.job_id, "Object": object})
}

fn completed(h: &Harness) -> Vec<Value> {
    h.events_of(COMPLETED)
        .into_iter()
        .map(|event| event.detail)
        .collect()
}

fn body(h: &Harness, key: &str) -> String {
    let object = h
        .emulator
        .object(BUCKET, key)
        .unwrap_or_else(|| panic!("no {key}"));
    String::from_utf8(object.body).unwrap()
}

#[tokio::test]
async fn a_finished_job_reports_each_user_and_writes_the_failed_rows_back() {
    let h = harness_with(create_config()).await;
    let (job, object) = imported(&h, RunOptions::default()).await;
    assert_eq!(
        (job.imported_users, job.skipped_users, job.failed_users),
        (3, 1, 2)
    );

    let response = h.invoke(track(&job, &object)).await.unwrap();

    assert_eq!(response["Terminal"], true);
    assert_eq!(response["UserImportJob"]["Status"], "Succeeded");
    let events = completed(&h);
    assert_eq!(events.len(), 1);
    let prefix = format!("results/{}/", job.job_id);
    assert_eq!(
        events[0]["Results"],
        json!({
            "Failed": 2, "Skipped": 1, "Complete": true,
            "Reasons": [
                {"Status": "FAILED", "Reason": "Invalid email address format.", "Count": 1},
                {"Status": "FAILED", "Reason": "Invalid phone number format.", "Count": 1},
                {"Status": "SKIPPED", "Reason": "The user already exists.", "Count": 1}
            ],
            "First": [
                {"Line": 2, "Status": "SKIPPED", "Reason": "The user already exists."},
                {"Line": 3, "Status": "FAILED", "Reason": "Invalid email address format."},
                {"Line": 5, "Status": "FAILED", "Reason": "Invalid phone number format."}
            ],
            "FailedRows": {"Bucket": BUCKET, "Key": format!("{prefix}failed.csv")},
            "Report": {"Bucket": BUCKET, "Key": format!("{prefix}report.csv")}
        })
    );
    // The header and exactly the failed rows, byte for byte (CRLF, escapes).
    let lines: Vec<String> = source()
        .split_inclusive("\r\n")
        .map(str::to_string)
        .collect();
    assert_eq!(
        body(&h, &format!("{prefix}failed.csv")),
        format!("{}{}{}", lines[0], lines[3], lines[5])
    );
    assert_eq!(
        body(&h, &format!("{prefix}report.csv")),
        "line,status,reason,username\r\n\
         2,SKIPPED,The user already exists.,jdoe\r\n\
         3,FAILED,Invalid email address format.,pchen\r\n\
         5,FAILED,Invalid phone number format.,lnguyen\r\n"
    );
    // Neither object can start an import.
    for name in ["failed.csv", "report.csv"] {
        let written = h
            .emulator
            .object(BUCKET, &format!("{prefix}{name}"))
            .unwrap();
        assert!(
            written.metadata.is_empty(),
            "{name}: {:?}",
            written.metadata
        );
    }
    // The source was read pinned to the ETag the Started event named.
    let reads: Vec<_> = h
        .emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == "GetObject")
        .collect();
    let last = reads.last().expect("the source was read");
    assert_eq!(
        last.params["IfMatch"].as_str().map(|e| e.trim_matches('"')),
        object["ETag"].as_str()
    );
}

#[tokio::test]
async fn tracking_the_same_job_again_writes_the_same_bytes_again() {
    let h = harness_with(create_config()).await;
    let (job, object) = imported(&h, RunOptions::default()).await;
    h.invoke(track(&job, &object)).await.unwrap();
    let key = format!("results/{}/failed.csv", job.job_id);
    let first = (body(&h, &key), body(&h, &key.replace("failed", "report")));

    h.invoke(track(&job, &object)).await.unwrap();

    let events = completed(&h);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0], events[1]);
    assert_eq!(
        first,
        (body(&h, &key), body(&h, &key.replace("failed", "report")))
    );
    assert_eq!(results_files_written(&h), 4);
}

#[tokio::test]
async fn late_logs_keep_the_job_open_until_they_arrive() {
    let h = harness_with(create_config()).await;
    // The job's counts are final; the log holds only its first 2 lines.
    let (job, object) = imported(
        &h,
        RunOptions {
            logged_rows: Some(2),
        },
    )
    .await;

    let early = h.invoke(track(&job, &object)).await.unwrap();
    assert_eq!(early["Terminal"], false, "{early}");
    assert_eq!(early["UserImportJob"]["Status"], "Succeeded");
    assert!(completed(&h).is_empty());
    assert_eq!(results_files_written(&h), 0);

    assert!(h.emulator.release_log_lines(POOL, &job.job_id) > 0);
    let done = h.invoke(track(&job, &object)).await.unwrap();
    assert_eq!(done["Terminal"], true);
    let events = completed(&h);
    assert_eq!(events[0]["Results"]["Complete"], true);
    assert_eq!(events[0]["Results"]["Failed"], 2);
}

#[tokio::test]
async fn after_five_minutes_an_incomplete_log_is_reported_as_incomplete() {
    let h = harness_with(create_config()).await;
    let (job, object) = imported(
        &h,
        RunOptions {
            logged_rows: Some(2),
        },
    )
    .await;
    let six_minutes_ago = job.completion_date_ms.unwrap() - 6 * 60 * 1000;
    h.emulator
        .set_completion_date_ms(POOL, &job.job_id, six_minutes_ago);

    let response = h.invoke(track(&job, &object)).await.unwrap();

    assert_eq!(response["Terminal"], true);
    let results = &completed(&h)[0]["Results"];
    assert_eq!(results["Complete"], false, "{results}");
    // Lines 1 and 2 are logged: alice imported, jdoe skipped.
    assert_eq!(results["Skipped"], 1);
    assert_eq!(results["Failed"], 0);
    assert_eq!(
        body(&h, &format!("results/{}/report.csv", job.job_id)),
        "line,status,reason,username\r\n2,SKIPPED,The user already exists.,jdoe\r\n"
    );
}

#[tokio::test]
async fn every_page_is_read_empty_ones_included() {
    let h = harness_with(create_config()).await;
    let (job, object) = imported(&h, RunOptions::default()).await;
    // One event a page, two empty pages (with a token) between pages.
    h.emulator.set_logs_paging(1, 2);

    h.invoke(track(&job, &object)).await.unwrap();

    let results = &completed(&h)[0]["Results"];
    assert_eq!(
        (results["Failed"].clone(), results["Skipped"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(results["Complete"], true);
    assert!(
        h.emulator.count("FilterLogEvents") >= 9,
        "empty pages were followed"
    );
}

#[tokio::test]
async fn a_missing_log_group_is_an_empty_log() {
    let h = harness().await;
    h.emulator.create_user_pool(POOL, POOL_NAME, &[]);
    let job = h.emulator.create_import_job(POOL, "nightly", true);
    h.emulator
        .finish_job(POOL, &job.job_id, "Failed", 0, 0, 3, "Import Job Failed.");
    let ids = json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id});

    // Within 5 minutes of the end: the log may still come.
    let early = h.invoke(ids.clone()).await.unwrap();
    assert_eq!(early["Terminal"], false);
    assert!(completed(&h).is_empty());

    let long_ago = h
        .emulator
        .job(POOL, &job.job_id)
        .unwrap()
        .completion_date_ms
        .unwrap()
        - 600_000;
    h.emulator
        .set_completion_date_ms(POOL, &job.job_id, long_ago);
    let late = h.invoke(ids).await.unwrap();
    assert_eq!(late["Terminal"], true);
    assert_eq!(
        completed(&h)[0]["Results"],
        json!({"Failed": 0, "Skipped": 0, "Complete": false, "Reasons": [], "First": []})
    );
}

#[tokio::test]
async fn throttled_logs_fail_the_track_retryably_with_nothing_emitted() {
    let h = harness_with(create_config()).await;
    let (job, object) = imported(&h, RunOptions::default()).await;
    h.emulator.inject(Fault::new(
        "FilterLogEvents",
        FaultAction::error(400, "ThrottlingException"),
    ));

    let result = h.invoke(track(&job, &object)).await;

    assert_eq!(error_type(&result), "ServiceUnavailable");
    assert!(completed(&h).is_empty());
    assert_eq!(results_files_written(&h), 0);

    h.emulator.clear_faults();
    assert_eq!(
        h.invoke(track(&job, &object)).await.unwrap()["Terminal"],
        true
    );
    assert_eq!(completed(&h).len(), 1);
}

#[tokio::test]
async fn transient_s3_faults_fail_the_track_retryably() {
    for operation in ["GetObject", "PutObject"] {
        let h = harness_with(create_config()).await;
        let (job, object) = imported(&h, RunOptions::default()).await;
        h.emulator
            .inject(Fault::new(operation, FaultAction::error(503, "SlowDown")));
        let result = h.invoke(track(&job, &object)).await;
        assert_eq!(error_type(&result), "ServiceUnavailable", "{operation}");
        assert!(completed(&h).is_empty(), "{operation}");
    }
}

#[tokio::test]
async fn a_changed_or_deleted_source_is_reported_and_the_event_still_goes_out() {
    for change in ["replaced", "deleted"] {
        let h = harness_with(create_config()).await;
        let (job, object) = imported(&h, RunOptions::default()).await;
        match change {
            "replaced" => {
                h.emulator.put_object(BUCKET, KEY, "another file\n", &[]);
            }
            _ => h.emulator.delete_object(BUCKET, KEY),
        }

        let response = h.invoke(track(&job, &object)).await.unwrap();

        assert_eq!(response["Terminal"], true, "{change}");
        let results = &completed(&h)[0]["Results"];
        assert_eq!(
            results["FilesError"]["Type"], "ObjectNotFound",
            "{change}: {results}"
        );
        assert!(results.get("FailedRows").is_none() && results.get("Report").is_none());
        assert_eq!(results["Failed"], 2, "{change}");
        assert_eq!(results_files_written(&h), 0, "{change}");
    }
}

#[tokio::test]
async fn without_a_prefix_or_an_object_no_file_is_written() {
    let h = harness_with(Config {
        results_prefix: String::new(),
        ..create_config()
    })
    .await;
    let (job, object) = imported(&h, RunOptions::default()).await;
    h.invoke(track(&job, &object)).await.unwrap();
    let without_object = json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id});
    h.invoke(without_object).await.unwrap();

    let events = completed(&h);
    assert_eq!(events.len(), 2);
    for event in &events {
        assert_eq!(event["Results"]["Failed"], 2);
        assert!(event["Results"].get("FailedRows").is_none());
    }
    assert_eq!(results_files_written(&h), 0);
    assert_eq!(
        h.emulator.count("GetObject"),
        2,
        "the preflight and the upload only"
    );
}

#[tokio::test]
async fn the_results_written_into_the_drop_bucket_start_nothing() {
    let h = harness_with(create_config()).await;
    let (job, object) = imported(&h, RunOptions::default()).await;
    h.invoke(track(&job, &object)).await.unwrap();
    let calls = h.emulator.calls().len();

    let key = format!("results/{}/failed.csv", job.job_id);
    let response = h.invoke(created(&key)).await.unwrap();

    assert_eq!(response["Results"][0]["Outcome"], "Ignored");
    assert_eq!(h.emulator.calls().len(), calls, "no call at all");
    assert!(h.events_of("User Import Job Start Failed").is_empty());
}

#[tokio::test]
async fn a_malformed_object_in_a_track_is_unsupported() {
    let h = harness().await;
    for object in [
        json!("s3://b/k"),
        json!({"Bucket": "b"}),
        json!({"Bucket": "b", "Key": 7}),
    ] {
        let result = h
            .invoke(json!({"Action": "Track", "UserPoolId": POOL, "JobId": "import-x1", "Object": object}))
            .await;
        assert_eq!(error_type(&result), "UnsupportedEvent", "{object}");
    }
    assert!(h.emulator.calls().is_empty());
}

/// `PutObject` calls of results files: create mode also writes the drop's
/// plan (`results/plans/`, SPEC section 16), which is not one.
fn results_files_written(h: &Harness) -> usize {
    h.emulator
        .calls()
        .iter()
        .filter(|call| call.operation == "PutObject")
        .filter(|call| {
            call.params["Key"]
                .as_str()
                .is_some_and(|key| !key.starts_with("results/plans/"))
        })
        .count()
}
