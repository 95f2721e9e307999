//! SPEC section 12 at scale: `Track` of a finished job whose file has
//! 500,000 users (about 100 MB) of which 1% failed. The release binary runs as
//! Lambda runs it, through the emulated Runtime API on 127.0.0.1, against the
//! emulator: it reads the 5,000 `[FAILED]` lines from CloudWatch Logs, streams
//! the source once, writes `failed.csv` and `report.csv`, and publishes the
//! Completed event. Reported: the function process's peak RSS (VmHWM; target
//! at most 48 MiB) and the source bytes read per second of the invocation's
//! wall time (target at least 100 MB/s; the function's runtime is one
//! thread, so this is one core).
//!
//!   cargo build --release --locked -p cognito-import-starter
//!   cargo bench --bench track_results
//!
//! A benchmark, not a test: it asserts only that the files are right.

mod common;

use cis_emulator::runtime_api::RuntimeApi;
use cis_emulator::{Emulator, DEFAULT_CSV_HEADER};
use serde_json::json;

const POOL: &str = "us-east-1_BenchPool1";
const POOL_NAME: &str = "bench";
const JOB: &str = "import-Bench500k1";
const JOB_NAME: &str = "users-500k";
const BUCKET: &str = "bench-drop";
const KEY: &str = "imports/users-500k.csv";
const ROWS: usize = 500_000;
const ROW_BYTES: usize = 200;
/// Every hundredth row failed: 1%.
const FAILED_EVERY: usize = 100;
const REASON: &str = "The User Record does not set any of the auto verified attributes to true. \
                      (Example: email_verified to true).";
const TARGET_RSS_MIB: f64 = 48.0;
const TARGET_MB_S: f64 = 100.0;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    common::release_binary();
    let data = common::users_csv(ROWS, ROW_BYTES);
    let size = data.len();
    let failed_lines: Vec<usize> = (1..=ROWS).filter(|n| n % FAILED_EVERY == 0).collect();
    let expected_failed_csv = expected_failed_rows(&data, &failed_lines);

    let emulator = Emulator::start().await.expect("emulator starts");
    emulator.create_user_pool(POOL, POOL_NAME, DEFAULT_CSV_HEADER);
    let stored = emulator.put_object(BUCKET, KEY, data, &[("user-pool-id", POOL)]);
    emulator.insert_import_job(POOL, JOB, JOB_NAME, true);
    emulator.set_job_status(POOL, JOB, "Pending");
    let failed = failed_lines.len() as i64;
    emulator.finish_job(
        POOL,
        JOB,
        "Succeeded",
        ROWS as i64 - failed,
        0,
        failed,
        "Import Job Completed Successfully.",
    );
    let lines: Vec<String> = failed_lines
        .iter()
        .map(|n| format!("[FAILED] Line Number {n} - {REASON}"))
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    emulator.put_log_events(
        &format!("/aws/cognito/userpools/{POOL}/{POOL_NAME}"),
        &format!("{JOB}/{JOB_NAME}"),
        &lines,
    );
    let api = RuntimeApi::start().await.expect("runtime API starts");

    let child = common::start_function(&api, &emulator.endpoint(), &[]).await;
    let pid = child.id();
    let rss_after_init = common::peak_rss_kib(pid).unwrap_or_default();

    let etag = stored.etag.trim_matches('"');
    let event = json!({"Action": "Track", "UserPoolId": POOL, "JobId": JOB,
                       "Object": {"Bucket": BUCKET, "Key": KEY, "ETag": etag}});
    let common::Measured {
        response,
        elapsed,
        peak_rss_kib: peak,
    } = common::invoke_once(&api, child, event).await;
    assert_eq!(response["Terminal"], true, "{response}");
    let completed = emulator
        .events()
        .into_iter()
        .find(|e| e.detail_type == "User Import Job Completed")
        .expect("a Completed event");
    let results = &completed.detail["Results"];
    assert_eq!(results["Failed"], failed, "{results}");
    assert_eq!(results["Complete"], true, "{results}");
    let written = emulator
        .object(BUCKET, &format!("results/{JOB}/failed.csv"))
        .expect("failed.csv was written");
    assert!(written.body == expected_failed_csv, "failed.csv differs");
    let report = emulator
        .object(BUCKET, &format!("results/{JOB}/report.csv"))
        .expect("report.csv was written");
    let report_rows = report
        .body
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(report_rows, failed_lines.len() + 1);

    let mib = |kib: u64| kib as f64 / 1024.0;
    let seconds = elapsed.as_secs_f64();
    let rate = size as f64 / 1e6 / seconds;
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let report = format!(
        "# Track with results: 500,000 users, 1% failed\n\n\
         File: {size} bytes, {ROWS} data rows, {} `[FAILED]` lines in the job's log.\n\
         Release binary through the emulated Runtime API, emulator on 127.0.0.1 with no\n\
         added latency. The invocation reads the log (FilterLogEvents), streams the source\n\
         once and writes failed.csv ({} bytes) and report.csv ({} bytes).\n\n\
         | measure | value | target |\n|---|---|---|\n\
         | peak RSS after init | {:.1} MiB | |\n\
         | peak RSS over the invocation | {:.1} MiB | at most {TARGET_RSS_MIB} MiB ({}) |\n\
         | invocation wall time | {seconds:.2} s | |\n\
         | source read | {rate:.0} MB/s | at least {TARGET_MB_S} MB/s ({}) |\n\n\
         Machine: {}; {}.\n",
        failed_lines.len(),
        written.body.len(),
        report.body.len(),
        mib(rss_after_init),
        mib(peak),
        verdict(mib(peak) <= TARGET_RSS_MIB),
        verdict(rate >= TARGET_MB_S),
        common::machine(),
        common::now_utc(),
    );
    common::write_result("track-results.md", &report);
}

/// The header and the rows at `lines` (data rows count from 1), as the
/// function must write them.
fn expected_failed_rows(data: &[u8], lines: &[usize]) -> Vec<u8> {
    let wanted: std::collections::HashSet<usize> = lines.iter().copied().collect();
    let mut out = Vec::new();
    for (n, row) in data.split_inclusive(|&b| b == b'\n').enumerate() {
        if n == 0 || wanted.contains(&n) {
            out.extend_from_slice(row);
        }
    }
    out
}
