//! The whole loop of `cargo run -p local -- --follow
//! events/s3-put-bad-rows.json` through the local crate's library: the
//! function creates, uploads and starts the job (create mode), the emulated
//! Cognito runs it and writes its per-user log lines, and `Track` reports it
//! terminal.
//!
//! What `Track` makes of the log lines (the Completed event's `Results`, the
//! `failed.csv` and `report.csv` objects, SPEC section 12) is asserted by
//! the function's own tests (`tests/results.rs`); here, where the runner
//! looks for them.

use std::path::Path;

use cis_testkit::*;
use serde_json::{json, Value};

fn sample(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("local/ is inside the repository")
        .join("events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("JSON")
}

const LINES: [&str; 6] = [
    "[SUCCEEDED] Line Number 1 - The import succeeded.",
    "[SKIPPED] Line Number 2 - The user already exists.",
    "[FAILED] Line Number 3 - Invalid email address format.",
    "[SUCCEEDED] Line Number 4 - The import succeeded.",
    "[FAILED] Line Number 5 - Invalid phone number format.",
    "[SUCCEEDED] Line Number 6 - The import succeeded.",
];

#[tokio::test]
async fn bad_rows_sample_followed_to_its_end_in_create_mode() {
    let config = cognito_import_starter::Config {
        cloudwatch_logs_role_arn: Some("arn:aws:iam::123456789012:role/cognito-import-logs".into()),
        ..test_config()
    };
    let h = harness_with(config).await;
    let event = sample("s3-put-bad-rows.json");
    local::seed_for(&h.emulator, &h.app.config, &event);
    let (result, events) = local::invoke(&h.app, &h.emulator, event).await;
    let response = result.unwrap_or_else(|e| panic!("{} {}", e.error_type(), e.message));
    assert_eq!(response["Results"][0]["Outcome"], "Started", "{response}");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].detail["CreatedJob"], json!(true));
    // The function uploaded the seeded file: the preflight let every row
    // through (Cognito's own checks fail two of them).
    let job_id = events[0].detail["UserImportJob"]["JobId"]
        .as_str()
        .expect("job id")
        .to_string();
    assert_eq!(
        h.emulator.uploaded_csv(local::SAMPLE_POOL, &job_id),
        Some(local::bad_rows_csv().into_bytes())
    );

    let followed = local::follow(&h.app, &h.emulator, &events, local::DEFAULT_RESULTS_PREFIX).await;
    assert_eq!(followed.len(), 1);
    let job = &followed[0];
    assert_eq!(
        (job.user_pool_id.as_str(), job.job_id.as_str()),
        (local::SAMPLE_POOL, job_id.as_str())
    );

    // The job ran: its counts match its log lines.
    let run = job.run.as_ref().expect("the job ran");
    assert_eq!(run.lines, LINES);
    assert_eq!(
        (
            run.job.status.as_str(),
            run.job.imported_users,
            run.job.skipped_users,
            run.job.failed_users
        ),
        ("Succeeded", 3, 1, 2)
    );
    assert_eq!(
        run.log_group,
        format!("/aws/cognito/userpools/{}/example-pool", local::SAMPLE_POOL)
    );
    assert!(run.log_stream.starts_with(&format!("{job_id}/s3-")));
    assert_eq!(
        h.emulator.log_events(&run.log_group, &run.log_stream),
        LINES
    );
    let users = h.emulator.users(local::SAMPLE_POOL);
    for user in ["mgarcia", local::EXISTING_USER, "asmith", "rpatel"] {
        assert!(users.iter().any(|u| u == user), "{user} in {users:?}");
    }

    // Track was given the Started event's Object and answered terminal.
    assert_eq!(job.track_event["Action"], "Track");
    assert_eq!(job.track_event["Object"], events[0].detail["Object"]);
    let tracked = job
        .track
        .as_ref()
        .unwrap_or_else(|e| panic!("{} {}", e.error_type(), e.message));
    assert_eq!(tracked["Terminal"], json!(true), "{tracked}");
    assert_eq!(tracked["UserImportJob"]["Status"], "Succeeded");
    assert_eq!(tracked["UserImportJob"]["ImportedUsers"], 3);
    assert_eq!(tracked["UserImportJob"]["SkippedUsers"], 1);
    assert_eq!(tracked["UserImportJob"]["FailedUsers"], 2);
    let completed: Vec<_> = job
        .events
        .iter()
        .filter(|e| e.detail_type == "User Import Job Completed")
        .collect();
    assert_eq!(completed.len(), 1, "{:?}", job.events);
    assert_eq!(
        completed[0].detail["Logs"]["LogGroup"],
        json!(run.log_group)
    );
    assert_eq!(
        completed[0].detail["Logs"]["LogStream"],
        json!(run.log_stream)
    );

    // Where the result files are looked for; their content (and the
    // Completed event's Results) is asserted in the function's tests.
    assert_eq!(job.bucket.as_deref(), Some("cis-drop-example"));
    let (failed_key, _) = job.failed_rows.as_ref().expect("looked for");
    assert_eq!(failed_key, &format!("results/{job_id}/failed.csv"));
    let (report_key, _) = job.report.as_ref().expect("looked for");
    assert_eq!(report_key, &format!("results/{job_id}/report.csv"));
}

/// Without create mode the seeded job holds the same file and runs the
/// same way.
#[tokio::test]
async fn bad_rows_sample_followed_on_the_plain_path() {
    let h = harness().await;
    let event = sample("s3-put-bad-rows.json");
    local::seed_for(&h.emulator, &h.app.config, &event);
    let (result, events) = local::invoke(&h.app, &h.emulator, event).await;
    result.unwrap_or_else(|e| panic!("{} {}", e.error_type(), e.message));
    assert_eq!(events[0].detail["CreatedJob"], json!(false));
    let followed = local::follow(&h.app, &h.emulator, &events, local::DEFAULT_RESULTS_PREFIX).await;
    let run = followed[0].run.as_ref().expect("the job ran");
    assert_eq!(run.lines, LINES);
    let tracked = followed[0].track.as_ref().expect("tracked");
    assert_eq!(tracked["Terminal"], json!(true));
}

/// `--follow events/s3-put-password-hashes.json` (SPEC section 15): the
/// users with a bcrypt hash are created `CONFIRMED`, the others must reset,
/// in create mode (the metadata names the algorithm) and on the plain path
/// (the seeded job has it).
#[tokio::test]
async fn password_hashes_sample_shows_who_is_confirmed_and_who_must_reset() {
    let create = cognito_import_starter::Config {
        cloudwatch_logs_role_arn: Some("arn:aws:iam::123456789012:role/cognito-import-logs".into()),
        ..test_config()
    };
    for config in [create, test_config()] {
        let h = harness_with(config).await;
        let event = sample("s3-put-password-hashes.json");
        local::seed_for(&h.emulator, &h.app.config, &event);
        let (result, events) = local::invoke(&h.app, &h.emulator, event).await;
        let response = result.unwrap_or_else(|e| panic!("{} {}", e.error_type(), e.message));
        assert_eq!(response["Results"][0]["Outcome"], "Started", "{response}");
        let created = h.app.config.cloudwatch_logs_role_arn.is_some();
        if created {
            assert_eq!(
                events[0].detail["Passwords"],
                json!({"Algorithm": "BCRYPT", "Hashes": 2, "Empty": 2})
            );
        }
        let followed =
            local::follow(&h.app, &h.emulator, &events, local::DEFAULT_RESULTS_PREFIX).await;
        let (algorithm, users) = followed[0].passwords.clone().expect("a job with hashes");
        assert_eq!(algorithm, "BCRYPT");
        let status = |s: &str| Some(s.to_string());
        assert_eq!(
            users,
            [
                ("ana".to_string(), status("CONFIRMED")),
                ("ben".to_string(), status("RESET_REQUIRED")),
                ("cai".to_string(), status("CONFIRMED")),
                ("dev".to_string(), status("RESET_REQUIRED")),
            ],
            "create mode: {created}"
        );
    }
}

/// `--follow events/s3-put-groups.json` (SPEC section 17): the job gets the
/// file without its `cognito:groups` column, and the `AddToGroups` loop
/// after Track puts the users Cognito imported or skipped in their groups,
/// not the one whose import failed.
#[tokio::test]
async fn groups_sample_followed_to_its_memberships() {
    let config = cognito_import_starter::Config {
        cloudwatch_logs_role_arn: Some("arn:aws:iam::123456789012:role/cognito-import-logs".into()),
        ..test_config()
    };
    let h = harness_with(config).await;
    let event = sample("s3-put-groups.json");
    local::seed_for(&h.emulator, &h.app.config, &event);
    let (result, events) = local::invoke(&h.app, &h.emulator, event).await;
    let response = result.unwrap_or_else(|e| panic!("{} {}", e.error_type(), e.message));
    assert_eq!(response["Results"][0]["Outcome"], "Started", "{response}");
    assert_eq!(
        events[0].detail["Groups"],
        json!({"Memberships": 4, "Users": 3, "Names": 3})
    );
    let job_id = events[0].detail["UserImportJob"]["JobId"]
        .as_str()
        .expect("job id")
        .to_string();
    let uploaded = h
        .emulator
        .uploaded_csv(local::SAMPLE_POOL, &job_id)
        .expect("uploaded");
    assert!(!String::from_utf8_lossy(&uploaded).contains("cognito:groups"));

    let followed = local::follow(&h.app, &h.emulator, &events, local::DEFAULT_RESULTS_PREFIX).await;
    let groups = followed[0].groups.as_ref().expect("AddToGroups ran");
    assert_eq!(groups.calls.len(), 1);
    let answer = groups.calls[0].1.as_ref().expect("AddToGroups answered");
    assert_eq!(answer["Done"], json!(true), "{answer}");
    assert_eq!(answer["Groups"]["Added"], json!(3), "{answer}");
    let memberships: Vec<(&str, Vec<&str>)> = groups
        .memberships
        .iter()
        .map(|(user, names)| (user.as_str(), names.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        memberships,
        [
            ("ana", vec!["admins", "editors"]),
            ("ben", vec![]),
            (local::EXISTING_USER, vec!["support"]),
            ("dev", vec![]),
        ]
    );
    assert!(groups
        .events
        .iter()
        .any(|e| e.detail_type == "User Import Groups Added"));
}
