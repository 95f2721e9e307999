//! Every sample in `events/` runs through the real handler against the
//! emulator, seeded as the local runner seeds it, and succeeds.

use std::path::{Path, PathBuf};

use cis_testkit::*;
use serde_json::{json, Value};

/// The repository's `events/`, beside this crate.
fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("local/ is inside the repository")
        .join("events")
}

fn samples() -> Vec<(String, Value)> {
    let dir = events_dir();
    let mut samples: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("events/ exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|x| x == "json"))
        .filter(|path| {
            path.file_name()
                .is_some_and(|n| !n.to_string_lossy().starts_with("env"))
        })
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable sample");
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            (name, serde_json::from_str(&text).expect("sample is JSON"))
        })
        .collect();
    samples.sort_by(|a, b| a.0.cmp(&b.0));
    samples
}

#[tokio::test]
async fn every_sample_succeeds_against_the_seeded_emulator() {
    let samples = samples();
    assert!(
        samples.len() >= 9,
        "a sample of every trigger shape: {samples:?}"
    );
    for (name, event) in samples {
        let h = harness().await;
        local::seed_for(&h.emulator, &h.app.config, &event);
        let (result, events) = local::invoke(&h.app, &h.emulator, event.clone()).await;
        let response =
            result.unwrap_or_else(|e| panic!("{name}: {} {}", e.error_type(), e.message));

        let started = events
            .iter()
            .filter(|e| e.detail_type == "User Import Job Started")
            .count();
        let failed = events
            .iter()
            .filter(|e| e.detail_type == "User Import Job Start Failed")
            .count();
        assert_eq!(failed, 0, "{name}: {events:?}");
        if let Some(results) = response.get("Results").and_then(Value::as_array) {
            let test_event = event.get("Event") == Some(&json!("s3:TestEvent"));
            assert_eq!(results.is_empty(), test_event, "{name}: {response}");
            for result in results {
                assert_eq!(result["Outcome"], "Started", "{name}: {response}");
            }
            assert_eq!(started, results.len(), "{name}");
        } else if let Some(failures) = response.get("batchItemFailures") {
            assert_eq!(failures, &json!([]), "{name}");
            assert!(started >= 2, "{name}: {events:?}");
        } else if response.get("Terminal").is_some() {
            assert_eq!(response["Terminal"], json!(true), "{name}");
            assert!(
                events
                    .iter()
                    .any(|e| e.detail_type == "User Import Job Completed"),
                "{name}"
            );
        } else if response.get("Done").is_some() {
            // AddToGroups: the seeded job's memberships, all in one call.
            assert_eq!(response["Done"], json!(true), "{name}: {response}");
            assert!(
                events
                    .iter()
                    .any(|e| e.detail_type == "User Import Groups Added"),
                "{name}: {events:?}"
            );
            assert_eq!(
                h.emulator.user_groups("us-east-1_EXAMPLE01", "ana"),
                ["admins", "editors"],
                "{name}"
            );
        } else {
            assert_eq!(
                response["AlreadyStarted"],
                json!(false),
                "{name}: {response}"
            );
            assert_eq!(response["UserImportJob"]["Status"], "Pending", "{name}");
            assert_eq!(started, 1, "{name}");
        }
    }
}

/// With `events/env-create-mode.json`'s settings, every object sample runs
/// in create mode: the seeded object names only the pool, and the function
/// checks it, creates the job, uploads and starts it.
#[tokio::test]
async fn object_samples_run_in_create_mode_with_its_env_file() {
    let path = events_dir().join("env-create-mode.json");
    let env: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vars = &env["ImportStarterFunction"];
    // Through the function's own parser, as `sam local invoke` sets it (with
    // Lambda's AWS_REGION); only the emulator's path style and short
    // timeouts are the tests'.
    let parsed = cognito_import_starter::Config::from_lookup(|name| match name {
        "AWS_REGION" => Some("us-east-1".to_string()),
        _ => vars[name].as_str().map(str::to_string),
    })
    .expect("events/env-create-mode.json is a valid configuration");
    assert!(parsed.cloudwatch_logs_role_arn.is_some() && parsed.validate_csv);
    let config = cognito_import_starter::Config {
        s3_force_path_style: true,
        timeouts: test_config().timeouts,
        ..parsed
    };
    for name in [
        "s3-put-create-mode.json",
        "s3-put-bad-rows.json",
        "s3-put.json",
        "eventbridge-object-created.json",
    ] {
        let event: Value = samples()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e)
            .unwrap_or_else(|| panic!("events/{name} exists"));
        let h = harness_with(config.clone()).await;
        local::seed_for(&h.emulator, &h.app.config, &event);
        let (result, events) = local::invoke(&h.app, &h.emulator, event).await;
        let response =
            result.unwrap_or_else(|e| panic!("{name}: {} {}", e.error_type(), e.message));
        assert_eq!(
            response["Results"][0]["Outcome"], "Started",
            "{name}: {response}"
        );
        assert_eq!(h.emulator.count("CreateUserImportJob"), 1, "{name}");
        assert_eq!(h.emulator.count("UploadCsv"), 1, "{name}");
        assert_eq!(events.len(), 1, "{name}: {events:?}");
        assert_eq!(events[0].detail["CreatedJob"], json!(true), "{name}");
    }
}
