//! Create mode end to end on the largest file Cognito takes (about 100 MB,
//! 500,000 users): the release binary runs as Lambda runs it, through the
//! emulated Runtime API on 127.0.0.1, against the emulator; the function
//! checks the file (one streamed read), creates the job, uploads it (a
//! second streamed read, piped into the PUT) and starts it. Reported: the
//! function process's peak RSS (VmHWM; target at most 48 MiB, so a 128 MB
//! Lambda has room) and the wall time of the invocation.
//!
//!   cargo build --release --locked --bin cognito-import-starter
//!   cargo bench --bench create_mode
//!
//! A benchmark, not a test: it asserts only that the import happened.

mod common;

use cis_emulator::runtime_api::RuntimeApi;
use cis_emulator::{Emulator, DEFAULT_CSV_HEADER};
use serde_json::json;

const POOL: &str = "us-east-1_BenchPool1";
const BUCKET: &str = "bench-drop";
const KEY: &str = "imports/users-500k.csv";
const ROWS: usize = 500_000;
/// Bytes of a data row, its line end included: 500,001 lines in 100 MB.
const ROW_BYTES: usize = 200;
const TARGET_RSS_MIB: f64 = 48.0;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    common::release_binary();
    let data = common::users_csv(ROWS, ROW_BYTES);
    let size = data.len();
    assert!(
        size as u64 <= 104_857_600,
        "the file must stay within Cognito's limit"
    );

    let emulator = Emulator::start().await.expect("emulator starts");
    emulator.create_user_pool(POOL, "bench", DEFAULT_CSV_HEADER);
    emulator.put_object(BUCKET, KEY, data, &[("user-pool-id", POOL)]);
    let api = RuntimeApi::start().await.expect("runtime API starts");

    let child = common::start_function(
        &api,
        &emulator.endpoint(),
        &[(
            "CLOUDWATCH_LOGS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/cognito-import-logs",
        )],
    )
    .await;
    let pid = child.id();
    let rss_after_init = common::peak_rss_kib(pid).unwrap_or_default();

    let event = json!({"Records": [{
        "eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "awsRegion": "us-east-1",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": KEY, "size": size}}
    }]});
    let common::Measured {
        response,
        elapsed,
        peak_rss_kib: peak,
    } = common::invoke_once(&api, child, event).await;
    assert_eq!(response["Results"][0]["Outcome"], "Started", "{response}");
    let job = emulator
        .jobs()
        .into_iter()
        .find(|job| job.pool_id == POOL)
        .expect("a job was created");
    let uploaded = emulator
        .uploaded_csv(POOL, &job.job_id)
        .map(|csv| csv.len())
        .unwrap_or_default();
    assert_eq!(uploaded, size, "the whole file reached the pre-signed URL");

    let mib = |kib: u64| kib as f64 / 1024.0;
    let seconds = elapsed.as_secs_f64();
    let report = format!(
        "# Create mode end to end\n\n\
         File: {size} bytes, {ROWS} data rows (generated, valid). Release binary through the\n\
         emulated Runtime API, emulator on 127.0.0.1 with no added latency.\n\n\
         | measure | value | target |\n|---|---|---|\n\
         | peak RSS after init | {:.1} MiB | |\n\
         | peak RSS over the invocation | {:.1} MiB | at most {TARGET_RSS_MIB} MiB ({}) |\n\
         | invocation wall time | {seconds:.2} s | |\n\
         | bytes moved (check read + upload read + PUT) | {:.0} MB/s | |\n\n\
         Machine: {}; {}.\n",
        mib(rss_after_init),
        mib(peak),
        if mib(peak) <= TARGET_RSS_MIB {
            "met"
        } else {
            "NOT met"
        },
        (3 * size) as f64 / 1e6 / seconds,
        common::machine(),
        common::now_utc(),
    );
    common::write_result("create-mode.md", &report);
}
