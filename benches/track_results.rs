//! SPEC sections 12 and 16 at scale: `Track` of a finished job, the release
//! binary run as Lambda runs it, through the emulated Runtime API on
//! 127.0.0.1, against the emulator: it reads the `[FAILED]` lines from
//! CloudWatch Logs, streams the source once, streams `failed.csv` and
//! `report.csv` to S3 (multipart past 8 MiB) and publishes the Completed
//! event. Three jobs, each in a fresh function process:
//!
//! - 500,000 users (about 100 MB) of which 1% failed: peak RSS (VmHWM;
//!   target at most 48 MiB) and the source bytes read per second of the
//!   invocation's wall time (target at least 100 MB/s; one core);
//! - 10,000 and 500,000 users that all failed (SPEC section 16: Track's
//!   memory is bounded whatever fails): peak RSS, target under 64 MiB and
//!   flat between the two.
//!
//!   cargo build --release --locked -p cognito-import-starter
//!   cargo bench --bench track_results [-- --only 1pct|10k|500k]
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
const ROW_BYTES: usize = 200;
const REASON: &str = "The User Record does not set any of the auto verified attributes to true. \
                      (Example: email_verified to true).";
const TARGET_RSS_MIB: f64 = 48.0;
const TARGET_ALL_FAILED_RSS_MIB: f64 = 64.0;
const TARGET_MB_S: f64 = 100.0;

/// One tracked job: `rows` users, every `failed_every`th of which failed.
struct Case {
    name: &'static str,
    rows: usize,
    failed_every: usize,
}

const CASES: [Case; 3] = [
    Case {
        name: "1pct",
        rows: 500_000,
        failed_every: 100,
    },
    Case {
        name: "10k",
        rows: 10_000,
        failed_every: 1,
    },
    Case {
        name: "500k",
        rows: 500_000,
        failed_every: 1,
    },
];

/// What one case measured.
struct Row {
    rows: usize,
    failed: usize,
    size: usize,
    failed_csv: usize,
    report_csv: usize,
    rss_after_init_mib: f64,
    peak_mib: f64,
    seconds: f64,
    parts: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    common::release_binary();
    let only = common::only();
    let mut measured = Vec::new();
    for case in CASES
        .iter()
        .filter(|c| only.as_deref().is_none_or(|o| o == c.name))
    {
        measured.push((case.name, run(case).await));
    }
    common::write_result("track-results.md", &report(&measured));
}

async fn run(case: &Case) -> Row {
    let data = common::users_csv(case.rows, ROW_BYTES);
    let size = data.len();
    let failed_lines: Vec<usize> = (1..=case.rows)
        .filter(|n| n % case.failed_every == 0)
        .collect();
    let expected_failed_csv = expected_failed_rows(&data, &failed_lines);

    let emulator = Emulator::start().await.expect("emulator starts");
    emulator.create_user_pool(POOL, POOL_NAME, DEFAULT_CSV_HEADER);
    let stored = emulator.put_object(
        BUCKET,
        KEY,
        data,
        &[("user-pool-id", POOL), ("job-id", JOB)],
    );
    emulator.insert_import_job(POOL, JOB, JOB_NAME, true);
    emulator.set_job_status(POOL, JOB, "Pending");
    let failed = failed_lines.len() as i64;
    emulator.finish_job(
        POOL,
        JOB,
        "Succeeded",
        case.rows as i64 - failed,
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
    let rss_after_init = common::peak_rss_kib(child.id()).unwrap_or_default();

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
    let failed_key = format!("results/{JOB}/failed.csv");
    let written = emulator
        .object(BUCKET, &failed_key)
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
    let parts = emulator
        .calls()
        .iter()
        .filter(|c| c.operation == "UploadPart")
        .count();
    let mib = |kib: u64| kib as f64 / 1024.0;
    Row {
        rows: case.rows,
        failed: failed_lines.len(),
        size,
        failed_csv: written.body.len(),
        report_csv: report.body.len(),
        rss_after_init_mib: mib(rss_after_init),
        peak_mib: mib(peak),
        seconds: elapsed.as_secs_f64(),
        parts,
    }
}

fn report(measured: &[(&str, Row)]) -> String {
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let mut out = String::from(
        "# Track with results\n\n\
         Release binary through the emulated Runtime API, emulator on 127.0.0.1 with no\n\
         added latency. Each invocation reads the job's log (FilterLogEvents), streams the\n\
         source once and streams failed.csv and report.csv to S3 (one PutObject each up to\n\
         8 MiB, else a multipart upload of 8 MiB parts). Each job in a fresh process.\n\n\
         | job | source | failed.csv | report.csv | UploadPart calls | peak RSS after init | \
         peak RSS over the invocation | wall time | source read |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for (name, row) in measured {
        let target = if *name == "1pct" {
            TARGET_RSS_MIB
        } else {
            TARGET_ALL_FAILED_RSS_MIB
        };
        let rate = row.size as f64 / 1e6 / row.seconds;
        let rate_note = if *name == "1pct" {
            format!(
                " (target at least {TARGET_MB_S} MB/s: {})",
                verdict(rate >= TARGET_MB_S)
            )
        } else {
            String::new()
        };
        out.push_str(&format!(
            "| {} users, {} failed | {} bytes | {} bytes | {} bytes | {} | {:.1} MiB | \
             {:.1} MiB (target at most {target} MiB: {}) | {:.2} s | {rate:.0} MB/s{rate_note} |\n",
            row.rows,
            row.failed,
            row.size,
            row.failed_csv,
            row.report_csv,
            row.parts,
            row.rss_after_init_mib,
            row.peak_mib,
            verdict(row.peak_mib <= target),
            row.seconds,
        ));
    }
    out.push_str(&format!(
        "\nMachine: {}; {}.\n",
        common::machine(),
        common::now_utc()
    ));
    out
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
