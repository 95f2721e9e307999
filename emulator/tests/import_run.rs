//! A started import job run to its end by the emulated Cognito, driven by
//! the real SDK clients: one log line per data row as Cognito writes them,
//! counts in `DescribeUserImportJob` that match the lines, existing users
//! skipped, late log lines; and objects written with `PutObject` read back.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use cis_emulator::{Emulator, RunOptions, DEFAULT_CSV_HEADER};
use common::*;

/// A CSV with Cognito's standard header; each row sets the given columns
/// (the others empty).
fn csv(rows: &[&[(&str, &str)]]) -> String {
    let mut text = DEFAULT_CSV_HEADER.join(",");
    for row in rows {
        let fields: Vec<&str> = DEFAULT_CSV_HEADER
            .iter()
            .map(|column| {
                row.iter()
                    .find(|(name, _)| name == column)
                    .map_or("", |(_, value)| value)
            })
            .collect();
        text.push('\n');
        text.push_str(&fields.join(","));
    }
    text.push('\n');
    text
}

fn mixed_csv() -> String {
    csv(&[
        &[
            ("cognito:username", "alice"),
            ("email", "alice@example.com"),
            ("email_verified", "true"),
            ("name", "Alice\\, Jr."),
        ],
        &[
            ("cognito:username", "bob"),
            ("email", "bob@example.com"),
            ("email_verified", "TRUE"),
        ],
        &[
            ("cognito:username", "carol"),
            ("email", "bad-email"),
            ("email_verified", "true"),
        ],
        &[
            ("cognito:username", "dave"),
            ("email", "dave@example.com"),
            ("email_verified", "false"),
            ("phone_number_verified", "false"),
        ],
        &[
            ("cognito:username", "erin"),
            ("phone_number", "555-0100"),
            ("phone_number_verified", "true"),
        ],
        &[
            ("cognito:username", "frank"),
            ("phone_number", "+14155550100"),
            ("phone_number_verified", "true"),
        ],
        &[
            ("cognito:username", "alice"),
            ("email", "alice@example.com"),
            ("email_verified", "true"),
        ],
    ])
}

const AUTO_VERIFIED: &str = "The User Record does not set any of the auto verified attributes to true. (Example: email_verified to true).";

fn mixed_lines() -> Vec<String> {
    [
        "[SUCCEEDED] Line Number 1 - The import succeeded.",
        "[SKIPPED] Line Number 2 - The user already exists.",
        "[FAILED] Line Number 3 - Invalid email address format.",
        &format!("[FAILED] Line Number 4 - {AUTO_VERIFIED}"),
        "[FAILED] Line Number 5 - Invalid phone number format.",
        "[SUCCEEDED] Line Number 6 - The import succeeded.",
        "[SKIPPED] Line Number 7 - The user already exists.",
    ]
    .map(str::to_string)
    .to_vec()
}

/// Creates, uploads and starts a job through the SDK and the pre-signed
/// URL, as the function's create mode does; returns its ID.
async fn started_job(c: &Clients, body: &str) -> String {
    let job = c
        .cognito
        .create_user_import_job()
        .user_pool_id(POOL)
        .job_name("s3-0123456789abcdef-users.csv")
        .cloud_watch_logs_role_arn(ROLE)
        .send()
        .await
        .expect("create")
        .user_import_job
        .expect("job");
    let length = body.len().to_string();
    let (status, response) = plain_put(
        job.pre_signed_url().expect("url"),
        &[
            ("x-amz-server-side-encryption", "aws:kms"),
            ("Content-Length", &length),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{response}");
    let job_id = job.job_id().expect("id").to_string();
    c.cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job_id)
        .send()
        .await
        .expect("start");
    job_id
}

async fn filtered(c: &Clients, group: &str, stream: &str, pattern: Option<&str>) -> Vec<String> {
    let pages: Vec<_> = c
        .logs
        .filter_log_events()
        .log_group_name(group)
        .log_stream_names(stream)
        .set_filter_pattern(pattern.map(str::to_string))
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("filter");
    pages
        .iter()
        .flat_map(|page| page.events())
        .map(|e| e.message().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_run_logs_every_row_and_its_counts_match() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_user_pool(POOL, "people", DEFAULT_CSV_HEADER);
    emulator.add_user(POOL, "bob");
    let job_id = started_job(&c, &mixed_csv()).await;

    let run = emulator.run_import_job(POOL, &job_id).expect("run");
    assert_eq!(run.lines, mixed_lines());
    assert_eq!(run.held_back, 0);
    assert_eq!(
        run.log_group,
        format!("/aws/cognito/userpools/{POOL}/people")
    );
    assert_eq!(
        run.log_stream,
        format!("{job_id}/s3-0123456789abcdef-users.csv")
    );
    assert_eq!(
        emulator.log_events(&run.log_group, &run.log_stream),
        mixed_lines()
    );
    assert_eq!(emulator.users(POOL), ["alice", "bob", "frank"]);

    let job = c
        .cognito
        .describe_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job_id)
        .send()
        .await
        .expect("describe")
        .user_import_job
        .expect("job");
    assert_eq!(job.status().map(|s| s.as_str()), Some("Succeeded"));
    assert_eq!(
        (job.imported_users, job.skipped_users, job.failed_users),
        (2, 2, 3)
    );
    assert_eq!(
        job.completion_message(),
        Some("Import Job Completed Successfully.")
    );
    assert!(job.completion_date().is_some() && job.start_date().is_some());

    // Through the Logs API: every line, and only the failed and skipped ones
    // with a term pattern.
    assert_eq!(
        filtered(&c, &run.log_group, &run.log_stream, None).await,
        mixed_lines()
    );
    let not_imported = filtered(
        &c,
        &run.log_group,
        &run.log_stream,
        Some("?\"[FAILED]\" ?\"[SKIPPED]\""),
    )
    .await;
    assert_eq!(not_imported.len(), 5);
    assert!(not_imported.iter().all(|l| !l.contains("SUCCEEDED")));

    // A finished job does not run again.
    let error = emulator.run_import_job(POOL, &job_id).expect_err("ran");
    assert!(error.contains("Succeeded"), "{error}");

    // A second import of the same users: all exist now, except the ones that
    // failed.
    let again = started_job(&c, &mixed_csv()).await;
    let run = emulator.run_import_job(POOL, &again).expect("second run");
    let statuses: Vec<&str> = run
        .lines
        .iter()
        .map(|l| &l[1..l.find(']').unwrap()])
        .collect();
    assert_eq!(
        statuses,
        ["SKIPPED", "SKIPPED", "FAILED", "FAILED", "FAILED", "SKIPPED", "SKIPPED"]
    );
}

#[tokio::test]
async fn a_seeded_job_runs_on_its_set_csv() {
    let emulator = Emulator::start().await.expect("start");
    let job = emulator.create_import_job(POOL, "seeded", true);
    // Started, but no bytes: the run says what is missing.
    emulator.set_job_status(POOL, &job.job_id, "Pending");
    let error = emulator
        .run_import_job(POOL, &job.job_id)
        .expect_err("no csv");
    assert!(error.contains("set_job_csv"), "{error}");

    // CRLF line ends; row numbers count data rows from 1.
    let text = mixed_csv().replace('\n', "\r\n");
    emulator.set_job_csv(POOL, &job.job_id, text);
    let run = emulator.run_import_job(POOL, &job.job_id).expect("run");
    let mut expected = mixed_lines();
    expected[1] = "[SUCCEEDED] Line Number 2 - The import succeeded.".into();
    assert_eq!(run.lines, expected);
    assert_eq!(
        run.log_group,
        format!("/aws/cognito/userpools/{POOL}/emulated-pool")
    );
    assert_eq!(
        (
            run.job.imported_users,
            run.job.skipped_users,
            run.job.failed_users
        ),
        (3, 1, 3)
    );

    // Only a started job runs.
    let created = emulator.create_import_job(POOL, "created", true);
    let error = emulator
        .run_import_job(POOL, &created.job_id)
        .expect_err("not started");
    assert!(error.contains("Created"), "{error}");
    let missing = emulator
        .run_import_job(POOL, "import-missing")
        .expect_err("no such job");
    assert!(
        missing.contains("no import job import-missing"),
        "{missing}"
    );
}

#[tokio::test]
async fn late_log_lines_and_an_old_completion_date() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_user_pool(POOL, "people", DEFAULT_CSV_HEADER);
    emulator.add_user(POOL, "bob");
    let job_id = started_job(&c, &mixed_csv()).await;

    let run = emulator
        .run_import_job_with(
            POOL,
            &job_id,
            RunOptions {
                logged_rows: Some(2),
            },
        )
        .expect("run");
    assert_eq!(run.held_back, 5);
    // The counts are final, the log holds the first 2 lines.
    let job = emulator.job(POOL, &job_id).expect("job");
    assert_eq!(
        (
            job.status.as_str(),
            job.imported_users,
            job.skipped_users,
            job.failed_users
        ),
        ("Succeeded", 2, 2, 3)
    );
    assert_eq!(
        filtered(&c, &run.log_group, &run.log_stream, None).await,
        mixed_lines()[..2]
    );
    assert_eq!(emulator.release_log_lines(POOL, &job_id), 5);
    assert_eq!(emulator.release_log_lines(POOL, &job_id), 0);
    assert_eq!(
        filtered(&c, &run.log_group, &run.log_stream, None).await,
        mixed_lines()
    );

    // Every line late: the stream exists, empty.
    let late = started_job(&c, &mixed_csv()).await;
    let run = emulator
        .run_import_job_with(
            POOL,
            &late,
            RunOptions {
                logged_rows: Some(0),
            },
        )
        .expect("run");
    assert!(filtered(&c, &run.log_group, &run.log_stream, None)
        .await
        .is_empty());

    // A CompletionDate in the past, as DescribeUserImportJob returns it.
    let ten_minutes_ago = run.job.completion_date_ms.expect("completed") - 600_000;
    emulator.set_completion_date_ms(POOL, &late, ten_minutes_ago);
    let described = c
        .cognito
        .describe_user_import_job()
        .user_pool_id(POOL)
        .job_id(&late)
        .send()
        .await
        .expect("describe")
        .user_import_job
        .expect("job");
    let date = described.completion_date().expect("date");
    let ms = date.secs() * 1000 + i64::from(date.subsec_nanos() / 1_000_000);
    assert!((ms - ten_minutes_ago).abs() <= 1, "{ms} {ten_minutes_ago}");
}

#[tokio::test]
async fn put_object_is_read_back() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_bucket("drop", false);
    let body = "line,status,reason,username\n3,FAILED,Invalid email address format.,carol\n";
    c.s3.put_object()
        .bucket("drop")
        .key("results/import-AbC/report.csv")
        .content_type("text/csv")
        .metadata("source-key", "drop/users 1.csv")
        .metadata("note", "Zoë")
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .expect("put");
    let object = emulator
        .object("drop", "results/import-AbC/report.csv")
        .expect("stored");
    assert_eq!(object.body, body.as_bytes());
    assert_eq!(object.content_type, "text/csv");
    assert_eq!(
        object.metadata_value("source-key"),
        Some("drop/users 1.csv")
    );
    assert_eq!(object.metadata_value("Note"), Some("Zoë"));
    assert_eq!(object.metadata.len(), 2);
    assert!(object.version_id.is_none());
    assert!(object.etag.starts_with('"'));
    // Not journaled: the one call is the PutObject.
    assert_eq!(emulator.calls().len(), 1);

    assert!(emulator
        .object("drop", "results/import-AbC/failed.csv")
        .is_none());
    assert!(emulator.object("no-such-bucket", "x").is_none());
    // A key with characters that need encoding.
    emulator.put_object("drop", "a b/ü%.csv", "x", &[("user-pool-id", "p_1")]);
    let odd = emulator.object("drop", "a b/ü%.csv").expect("odd key");
    assert_eq!(odd.body, b"x");
    assert_eq!(odd.metadata_value("user-pool-id"), Some("p_1"));
    emulator.delete_object("drop", "a b/ü%.csv");
    assert!(emulator.object("drop", "a b/ü%.csv").is_none());
}
