//! Every sample in `events/` runs through the real handler against the
//! emulator, seeded as the local runner seeds it, and succeeds.

mod common;

use std::path::Path;

use cognito_import_starter::local;
use common::*;
use serde_json::{json, Value};

fn samples() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut samples: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("events/ exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|x| x == "json"))
        .filter(|path| path.file_name().is_some_and(|n| n != "env.json"))
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
        samples.len() >= 8,
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
