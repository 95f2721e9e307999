//! The drop queue under a burst (SPEC sections 13 and 14): 1,000 files
//! dropped at once across 3 pools, plus one file in parts among them, go
//! through an emulated SQS FIFO queue (one message group, visibility,
//! receive counts, a dead-letter queue after 1,000 receives) and Lambda's
//! event source mapping (batches of 1, as the template sets it, or 10) to the release
//! binary, served through the emulated Runtime API, against the emulator
//! with Cognito's one-active-job rule and jobs that run on their own.
//!
//! Checked (the benchmark stops if one fails): every file imported, in the
//! order its event reached the queue; at most one job active at any moment;
//! no job started twice; nothing in the dead-letter queue. Reported:
//! invocations and Cognito calls per file (the waiting tries apart), and the
//! wall time against the sum of the jobs' run times.
//!
//! Time is scaled: one queue-second is `QUEUE_SECOND` of real time, so the
//! function's `SLOT_WAIT_SECONDS=60` is a 300 ms wait; jobs run `JOB_RUN`.
//!
//!   cargo build --release --locked -p cognito-import-starter
//!   cargo bench --bench drop_queue [-- --files N] [--batch N]
//!
//! A benchmark, not a test: nothing here fails on a time.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cis_emulator::runtime_api::RuntimeApi;
use cis_emulator::{valid_csv, Emulator, QueueOptions, DEFAULT_CSV_HEADER};
use serde_json::json;

const POOLS: [&str; 3] = [
    "us-east-1_BenchPool1",
    "us-east-1_BenchPool2",
    "us-east-1_BenchPool3",
];
const BUCKET: &str = "bench-drop";
const QUEUE: &str = "bench-drops.fifo";
const DLQ: &str = "bench-drops-dlq.fifo";
const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";
/// The real length of one queue-second.
const QUEUE_SECOND: Duration = Duration::from_millis(5);
/// How long each job runs.
const JOB_RUN: Duration = Duration::from_millis(250);
const SLOT_WAIT_SECONDS: u32 = 60;
/// The multi-part file: its parts and rows a part.
const PARTS: usize = 4;
const PART_ROWS: usize = 3;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn drop_event(key: &str) -> String {
    json!({
        "version": "0", "id": format!("bench-{key}"), "detail-type": "Object Created",
        "source": "aws.s3", "account": "123456789012", "time": "2026-12-02T09:30:00Z",
        "region": "us-east-1", "resources": [format!("arn:aws:s3:::{BUCKET}")],
        "detail": {"version": "0", "bucket": {"name": BUCKET},
                   "object": {"key": key, "size": 100}, "reason": "PutObject"}
    })
    .to_string()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    common::release_binary();
    let files = arg("--files", 1000);
    // The event source mapping's batch size: the template's (1), or up to
    // the FIFO maximum of 10.
    let batch = arg("--batch", 1);
    let emulator = Emulator::start().await.expect("emulator starts");
    emulator.enforce_one_active_job(true);
    emulator.set_job_run_time(Some(JOB_RUN));
    for pool in POOLS {
        emulator.create_user_pool(pool, "bench", DEFAULT_CSV_HEADER);
    }
    emulator.create_queue(
        QUEUE,
        QueueOptions {
            fifo: true,
            visibility_timeout: 1800,
            max_receive_count: Some(1000),
            dead_letter_queue: Some(DLQ.into()),
            content_based_deduplication: true,
            second: QUEUE_SECOND,
        },
    );
    // The files, in the order their events reach the queue: named jobs of
    // the three pools in turn, and, a third of the way in, one file in
    // parts (create mode).
    let mut order: Vec<String> = Vec::new();
    let parts_at = files / 3;
    for i in 0..files {
        if i == parts_at {
            let key = "drop/parts.csv".to_string();
            let users: Vec<String> = (0..PARTS * PART_ROWS).map(|n| format!("p{n}")).collect();
            let names: Vec<&str> = users.iter().map(String::as_str).collect();
            emulator.put_object(
                BUCKET,
                &key,
                valid_csv(&names),
                &[("user-pool-id", POOLS[0])],
            );
            emulator.send_message(QUEUE, &drop_event(&key), Some("drops"));
            order.push(key);
        }
        let pool = POOLS[i % POOLS.len()];
        let key = format!("drop/file-{i:04}.csv");
        let job = emulator.create_import_job(pool, &key, true);
        emulator.set_job_csv(pool, &job.job_id, valid_csv(&[&format!("u{i}")]));
        emulator.put_object(
            BUCKET,
            &key,
            "x",
            &[("user-pool-id", pool), ("job-id", &job.job_id)],
        );
        emulator.send_message(QUEUE, &drop_event(&key), Some("drops"));
        order.push(key);
    }

    let api = RuntimeApi::start().await.expect("runtime API starts");
    let slot_wait = SLOT_WAIT_SECONDS.to_string();
    let part_rows = PART_ROWS.to_string();
    let allowed = POOLS.join(",");
    let child = common::start_function(
        &api,
        &emulator.endpoint(),
        &[
            ("SLOT_WAIT_SECONDS", slot_wait.as_str()),
            ("ALLOWED_USER_POOL_IDS", allowed.as_str()),
            ("CLOUDWATCH_LOGS_ROLE_ARN", ROLE),
            ("PART_MAX_ROWS", part_rows.as_str()),
            ("METRICS_NAMESPACE", ""),
        ],
    )
    .await;

    let started = Instant::now();
    let api = &api;
    let stats = emulator
        .run_event_source(
            QUEUE,
            batch,
            move |event| common::invoke_through(api, event, Duration::from_secs(60)),
            true,
        )
        .await;
    let wall = started.elapsed();
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();

    // ---- what must hold ----
    let jobs = emulator.jobs();
    let imported: Vec<&cis_emulator::ImportJob> =
        jobs.iter().filter(|j| j.start_date_ms.is_some()).collect();
    let mut by_start = imported.clone();
    by_start.sort_by_key(|j| j.start_date_ms);
    let key_of = |name: &str| {
        if name.starts_with("s3-") {
            "drop/parts.csv".to_string()
        } else {
            name.to_string()
        }
    };
    let mut start_order: Vec<String> = by_start.iter().map(|j| key_of(&j.job_name)).collect();
    start_order.dedup();
    assert_eq!(start_order, order, "files imported in queue order");
    assert_eq!(
        imported.len(),
        files + PARTS,
        "every file (and every part) imported"
    );
    for job in &imported {
        assert_eq!(
            emulator.successful_starts(&job.pool_id, &job.job_id),
            1,
            "{} started once",
            job.job_id
        );
    }
    assert_eq!(emulator.max_active_jobs(), 1, "one job active at a time");
    assert!(
        emulator.queue_messages(DLQ).is_empty(),
        "nothing dead-lettered"
    );
    assert!(
        emulator.queue_messages(QUEUE).is_empty(),
        "the queue drained"
    );

    // ---- what it cost ----
    let calls = emulator.calls();
    let mut cognito: BTreeMap<String, usize> = BTreeMap::new();
    for call in calls.iter().filter(|c| c.service == "cognito-idp") {
        *cognito.entry(call.operation.clone()).or_default() += 1;
    }
    let waits: Vec<i64> = calls
        .iter()
        .filter(|c| c.operation == "ChangeMessageVisibility")
        .filter_map(|c| c.params["VisibilityTimeout"].as_i64())
        .collect();
    let waiting_tries = waits.len();
    let longest_wait = waits.iter().copied().max().unwrap_or(0);
    let total_cognito: usize = cognito.values().sum();
    // A waiting try of a named job: the refused start, the Describe and a
    // listing of each pool; the rest is what the starts cost.
    let per_wait = 2 + POOLS.len();
    let beyond_waits = total_cognito.saturating_sub(waiting_tries * per_wait);
    let sum_of_runs = JOB_RUN * (files + PARTS) as u32;
    let drops = files + 1;
    let calls_table: String = cognito
        .iter()
        .map(|(op, n)| format!("| {op} | {n} |\n"))
        .collect();
    let report = format!(
        "# Drop queue burst\n\n\
         {files} single-part drops across {} pools and one drop of {PARTS} parts (create mode, \
         PART_MAX_ROWS={PART_ROWS}) sent at once to an emulated SQS FIFO queue (one message group, \
         visibility 1800 queue-seconds, maxReceiveCount 1000 to a FIFO dead-letter queue), \
         delivered by an emulated event source mapping (batches of {batch}, one at a time) to the \
         release binary through the emulated Runtime API. Cognito (emulated) runs one job at a \
         time; each job runs {} ms. One queue-second is {} ms, so SLOT_WAIT_SECONDS={SLOT_WAIT_SECONDS} \
         is a {} ms wait.\n\n\
         Held: every drop imported in queue order, at most one job active at any moment \
         (max_active_jobs = 1), no job started twice, nothing in the dead-letter queue.\n\n\
         | measure | value |\n|---|---|\n\
         | invocations | {} ({:.2} per drop) |\n\
         | messages received | {} |\n\
         | waiting tries (ChangeMessageVisibility) | {waiting_tries} ({:.2} per drop) |\n\
         | longest wait set | {longest_wait} queue-seconds |\n\
         | Cognito calls | {total_cognito} ({:.2} per drop) |\n\
         | Cognito calls beyond the waiting tries ({per_wait} a try) | {beyond_waits} ({:.2} per drop; target at most 3) |\n\
         | wall time | {:.1} s |\n\
         | sum of the jobs' run times | {:.1} s |\n\
         | wall / sum of run times | {:.2} |\n\n\
         Cognito calls by operation:\n\n| operation | calls |\n|---|---:|\n{calls_table}\n\
         Machine: {}; {}.\n",
        POOLS.len(),
        JOB_RUN.as_millis(),
        QUEUE_SECOND.as_millis(),
        QUEUE_SECOND.as_millis() as u64 * u64::from(SLOT_WAIT_SECONDS),
        stats.invocations,
        stats.invocations as f64 / drops as f64,
        stats.messages_received,
        waiting_tries as f64 / drops as f64,
        total_cognito as f64 / drops as f64,
        beyond_waits as f64 / drops as f64,
        wall.as_secs_f64(),
        sum_of_runs.as_secs_f64(),
        wall.as_secs_f64() / sum_of_runs.as_secs_f64(),
        common::machine(),
        common::now_utc(),
    );
    common::write_result("drop-queue.md", &report);
}
