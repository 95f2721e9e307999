//! The local runner's drop queue (`cargo run -p local -- [--follow]
//! events/sqs-fifo-three-drops.json` and `events/s3-put-three-parts.json`)
//! through the local crate's library: the emulated FIFO queue and event
//! source mapping deliver the sample's drops to the real handler, Cognito
//! runs one job at a time, and every file (or part) is imported in order.

use std::path::Path;

use cis_testkit::*;
use local::queue;
use serde_json::{json, Value};

fn sample(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("local/ is inside the repository")
        .join("events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("JSON")
}

const KEYS: [&str; 3] = [
    "imports/wave-1-customers.csv",
    "imports/wave-2-partners.csv",
    "imports/wave-3-staff.csv",
];

#[tokio::test]
async fn the_first_batch_starts_one_drop_and_lists_the_others() {
    let h = harness().await;
    let event = sample("sqs-fifo-three-drops.json");
    assert!(queue::is_fifo_batch(&event));
    local::seed_for(&h.emulator, &h.app.config, &event);
    queue::prepare(&h.emulator);

    let batch = queue::first_batch(&h.app, &h.emulator, &queue::drops_of(&event))
        .await
        .expect("a batch");

    let keys: Vec<&str> = batch.drops.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, KEYS);
    let response = batch.result.expect("a batch response");
    assert_eq!(
        response["batchItemFailures"].as_array().map(Vec::len),
        Some(2)
    );
    let started: Vec<&str> = batch
        .events
        .iter()
        .filter_map(|e| e.detail["Object"]["Key"].as_str())
        .collect();
    assert_eq!(started, [KEYS[0]]);
}

#[tokio::test]
async fn three_drops_are_imported_one_after_another_in_order() {
    let h = harness().await;
    let event = sample("sqs-fifo-three-drops.json");
    local::seed_for(&h.emulator, &h.app.config, &event);
    queue::prepare(&h.emulator);

    let run = queue::run(&h.app, &h.emulator, &queue::drops_of(&event), "results/").await;

    assert_eq!(run.started, KEYS);
    assert_eq!(run.max_active_jobs, 1);
    assert_eq!(run.left, 0);
    assert!(run.delivered.len() >= 3, "{}", run.delivered.len());
    for job in h.emulator.jobs() {
        assert_eq!(h.emulator.successful_starts(&job.pool_id, &job.job_id), 1);
    }
    // Each job was tracked to its end.
    assert_eq!(run.followed.len(), 3);
    for job in &run.followed {
        let tracked = job.track.as_ref().expect("tracked");
        assert_eq!(tracked["Terminal"], json!(true), "{tracked}");
        assert_eq!(tracked["UserImportJob"]["ImportedUsers"], 2);
    }
}

#[tokio::test]
async fn a_file_in_three_parts_is_imported_part_after_part() {
    let config = cognito_import_starter::Config {
        cloudwatch_logs_role_arn: Some("arn:aws:iam::123456789012:role/cognito-import-logs".into()),
        part_max_rows: 3,
        ..test_config()
    };
    let h = harness_with(config).await;
    let event = sample("s3-put-three-parts.json");
    assert!(local::drops_parts(&event));
    local::seed_for(&h.emulator, &h.app.config, &event);
    queue::prepare(&h.emulator);

    let run = queue::run(&h.app, &h.emulator, &queue::drops_of(&event), "results/").await;

    assert_eq!(run.max_active_jobs, 1);
    assert_eq!(run.left, 0);
    let parts: Vec<Value> = run
        .delivered
        .iter()
        .flat_map(|d| d.events.iter())
        .filter(|e| e.detail_type == "User Import Job Started")
        .map(|e| e.detail["Part"].clone())
        .collect();
    assert_eq!(
        parts,
        [
            json!({"Number": 1, "Count": 3, "FirstLine": 1, "LastLine": 3}),
            json!({"Number": 2, "Count": 3, "FirstLine": 4, "LastLine": 6}),
            json!({"Number": 3, "Count": 3, "FirstLine": 7, "LastLine": 9}),
        ]
    );
    // Track of each part: part 2's failed row (source line 5) and part 3's
    // skipped user (source line 8) on their source lines; the last part
    // sums up the drop.
    assert_eq!(run.followed.len(), 3);
    let completed = |i: usize| {
        run.followed[i]
            .events
            .iter()
            .find(|e| e.detail_type == "User Import Job Completed")
            .map(|e| e.detail.clone())
            .expect("a Completed event")
    };
    assert_eq!(completed(1)["Results"]["First"][0]["Line"], json!(5));
    assert_eq!(completed(2)["Results"]["First"][0]["Line"], json!(8));
    let drop = &completed(2)["Drop"];
    assert_eq!(drop["Parts"], json!(3));
    assert_eq!(
        (
            drop["ImportedUsers"].clone(),
            drop["SkippedUsers"].clone(),
            drop["FailedUsers"].clone()
        ),
        (json!(7), json!(1), json!(1))
    );
    assert!(completed(0).get("Drop").is_none());
    let report = run.followed[1]
        .report
        .as_ref()
        .and_then(|(_, c)| c.clone())
        .expect("report.csv");
    assert!(String::from_utf8_lossy(&report.body).contains("\r\n5,FAILED,"));
}
