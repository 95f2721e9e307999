//! A migration in one drop (SPEC section 14): a file of 5,000,000 users (10
//! parts of 500,000) through the emulated FIFO queue and event source
//! mapping to the release binary (emulated Runtime API), against the
//! emulator with Cognito's one-active-job rule and jobs that run on their
//! own, until every part has started. Beside it, the same run with a file of
//! one part, for the memory: it must not grow with the file.
//!
//! Reported: the preflight's rate (the first receive reads the whole file
//! and uploads part 1; the second uploads part 2 alone: the difference is
//! the preflight), the bytes read from S3 over the whole drop as a ratio of
//! the file's size (target at most 2.2), the function's peak RSS for the
//! 1-part and the 10-part file (target within 10% of each other), and the
//! wall time over the sum of the jobs' run times.
//!
//!   cargo build --release --locked -p cognito-import-starter
//!   cargo bench --bench parts [-- --rows N]
//!
//! A benchmark, not a test: it checks only that every part started once.

mod common;

use std::time::{Duration, Instant};

use cis_emulator::runtime_api::RuntimeApi;
use cis_emulator::{Emulator, QueueOptions, DEFAULT_CSV_HEADER};
use serde_json::json;

const POOL: &str = "us-east-1_BenchPool1";
const BUCKET: &str = "bench-drop";
const KEY: &str = "imports/migration.csv";
const QUEUE: &str = "bench-drops.fifo";
const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";
/// A row's bytes, its line end included: 500,000 rows are 100 MB.
const ROW_BYTES: usize = 200;
const PART_ROWS: usize = 500_000;
const QUEUE_SECOND: Duration = Duration::from_millis(5);
/// Long against the waits (at most 900 queue-seconds, 4.5 s here), as an
/// import of 500,000 users is against 15 minutes.
const JOB_RUN: Duration = Duration::from_secs(5);
const SLOT_WAIT_SECONDS: u32 = 60;

fn rows_arg() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(10 * PART_ROWS)
}

/// What one drop through the queue gave.
struct Run {
    size: u64,
    parts: usize,
    receives: Vec<Duration>,
    wall: Duration,
    read: u64,
    peak_rss_kib: u64,
}

async fn run(rows: usize) -> Run {
    let data = common::users_csv(rows, ROW_BYTES);
    let size = data.len() as u64;
    let emulator = Emulator::start().await.expect("emulator starts");
    emulator.enforce_one_active_job(true);
    emulator.set_job_run_time(Some(JOB_RUN));
    emulator.set_light_job_runs(true);
    emulator.create_user_pool(POOL, "bench", DEFAULT_CSV_HEADER);
    emulator.put_object(BUCKET, KEY, data, &[("user-pool-id", POOL)]);
    emulator.create_queue(
        QUEUE,
        QueueOptions {
            fifo: true,
            visibility_timeout: 5400,
            max_receive_count: Some(1000),
            content_based_deduplication: true,
            second: QUEUE_SECOND,
            ..QueueOptions::default()
        },
    );
    let event = json!({
        "version": "0", "id": "bench", "detail-type": "Object Created", "source": "aws.s3",
        "account": "123456789012", "time": "2026-12-02T09:30:00Z", "region": "us-east-1",
        "resources": [], "detail": {"bucket": {"name": BUCKET}, "object": {"key": KEY, "size": size}}
    });
    emulator.send_message(QUEUE, &event.to_string(), Some("drops"));

    let api = RuntimeApi::start().await.expect("runtime API starts");
    let slot_wait = SLOT_WAIT_SECONDS.to_string();
    let mut child = common::start_function(
        &api,
        &emulator.endpoint(),
        &[
            ("CLOUDWATCH_LOGS_ROLE_ARN", ROLE),
            ("SLOT_WAIT_SECONDS", slot_wait.as_str()),
            ("METRICS_NAMESPACE", ""),
        ],
    )
    .await;
    let pid = child.id();
    let api = &api;
    let started = Instant::now();
    let receives = std::sync::Mutex::new(Vec::new());
    let receives_ref = &receives;
    emulator
        .run_event_source(
            QUEUE,
            10,
            move |event| async move {
                let sent = Instant::now();
                let answer = common::invoke_through(api, event, Duration::from_secs(600)).await;
                if let Ok(mut receives) = receives_ref.lock() {
                    receives.push(sent.elapsed());
                }
                answer
            },
            true,
        )
        .await;
    let wall = started.elapsed();
    let peak_rss_kib = common::peak_rss_kib(pid).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();

    let jobs: Vec<cis_emulator::ImportJob> = emulator
        .jobs()
        .into_iter()
        .filter(|j| j.start_date_ms.is_some())
        .collect();
    for job in &jobs {
        assert_eq!(emulator.successful_starts(POOL, &job.job_id), 1, "{job:?}");
    }
    assert_eq!(emulator.max_active_jobs(), 1);
    Run {
        size,
        parts: jobs.len(),
        receives: receives.into_inner().unwrap_or_default(),
        wall,
        read: emulator.s3_bytes_served(BUCKET, KEY),
        peak_rss_kib,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    common::release_binary();
    let rows = rows_arg();
    let one = run(PART_ROWS.min(rows)).await;
    let many = run(rows).await;
    assert_eq!(many.parts, rows.div_ceil(PART_ROWS), "every part started");

    let mb = |bytes: u64| bytes as f64 / 1e6;
    let mib = |kib: u64| kib as f64 / 1024.0;
    // The first receive checks the whole file and uploads part 1; the
    // longest later one uploads a part (the others find the slot busy): the
    // difference is the preflight.
    let first = many.receives.first().copied().unwrap_or_default();
    let upload = many
        .receives
        .iter()
        .skip(1)
        .max()
        .copied()
        .unwrap_or_default();
    let preflight = first.saturating_sub(upload).max(Duration::from_millis(1));
    let ratio = many.read as f64 / many.size as f64;
    let rss_growth = many.peak_rss_kib as f64 / one.peak_rss_kib.max(1) as f64 - 1.0;
    let sum_of_runs = JOB_RUN * many.parts as u32;
    let report = format!(
        "# A migration in one drop\n\n\
         A file of {rows} users ({:.0} MB, {ROW_BYTES} bytes a row) cut into {} parts of \
         {PART_ROWS}, through an emulated SQS FIFO queue and event source mapping to the release \
         binary (emulated Runtime API), Cognito (emulated) running one job at a time, each for \
         {} ms; SLOT_WAIT_SECONDS={SLOT_WAIT_SECONDS}, one queue-second {} ms. Beside it, a file \
         of one part ({PART_ROWS} users, {:.0} MB). Every part started once, one job active at a \
         time.\n\n\
         | measure | value | target |\n|---|---|---|\n\
         | preflight (the first receive less the longest later one) | {:.0} MB/s ({:.2} s) | |\n\
         | first receive (preflight, plan, part 1) | {:.2} s | |\n\
         | the longest later receive (plan, a part uploaded and started) | {:.2} s | |\n\
         | receives (a part each, or a wait for the running one) | {} | |\n\
         | bytes read from S3 over the drop / file size | {ratio:.3} | at most 2.2 ({}) |\n\
         | peak RSS, 1-part file | {:.1} MiB | |\n\
         | peak RSS, {}-part file | {:.1} MiB | within 10% of the 1-part file's ({:+.1}%: {}) |\n\
         | wall time | {:.1} s | |\n\
         | sum of the jobs' run times | {:.1} s | |\n\
         | wall / sum of run times | {:.2} | |\n\n\
         Machine: {}; {}.\n",
        mb(many.size),
        many.parts,
        JOB_RUN.as_millis(),
        QUEUE_SECOND.as_millis(),
        mb(one.size),
        mb(many.size) / preflight.as_secs_f64(),
        preflight.as_secs_f64(),
        first.as_secs_f64(),
        upload.as_secs_f64(),
        many.receives.len(),
        if ratio <= 2.2 { "met" } else { "NOT met" },
        mib(one.peak_rss_kib),
        many.parts,
        mib(many.peak_rss_kib),
        rss_growth * 100.0,
        if rss_growth.abs() <= 0.10 {
            "met"
        } else {
            "NOT met"
        },
        many.wall.as_secs_f64(),
        sum_of_runs.as_secs_f64(),
        many.wall.as_secs_f64() / sum_of_runs.as_secs_f64(),
        common::machine(),
        common::now_utc(),
    );
    common::write_result("parts.md", &report);
}
