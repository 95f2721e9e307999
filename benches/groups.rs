//! SPEC section 17 at scale: `{"Action": "AddToGroups", ...}` after a
//! finished job, the release binary run as Lambda runs it, through the
//! emulated Runtime API on 127.0.0.1, against the emulator. The job's
//! source has a `cognito:groups` column, every user in two groups, and the
//! job's log a `[SUCCEEDED]` or `[SKIPPED]` line per row; the users and the
//! groups are in the emulated pool. The function is called, as the state
//! machine calls it, again with the `From` it answers until `"Done": true`,
//! at `GROUPS_RPS=1000` (the most the configuration takes). Two jobs, each
//! in a fresh function process: 10,000 and 100,000 users. Per job: the
//! memberships added, the `AdminAddUserToGroup` calls a second achieved
//! against the rate set, the `GetObject` bytes over the file's size (target
//! at most 1.2), the peak RSS (VmHWM; target flat between the two jobs) and
//! the CPU time of the function and of the emulator's process.
//!
//!   cargo build --release --locked -p cognito-import-starter
//!   cargo bench --bench groups [-- --only 10k|100k]
//!
//! A benchmark, not a test: it asserts only that every membership is in the
//! emulator and that the calls ended with `"Done": true`.

mod common;

use std::time::Duration;

use cis_emulator::runtime_api::RuntimeApi;
use cis_emulator::{Emulator, DEFAULT_CSV_HEADER};
use serde_json::{json, Value};

const POOL: &str = "us-east-1_BenchPool1";
const POOL_NAME: &str = "bench";
const JOB: &str = "import-BenchGroups1";
const JOB_NAME: &str = "users-groups";
const BUCKET: &str = "bench-drop";
const KEY: &str = "imports/users-groups.csv";
const ROW_BYTES: usize = 200;
const GROUPS: usize = 10;
const GROUPS_RPS: u32 = 1000;
/// Each invocation's deadline: shorter than create mode's 900 s, so that
/// the larger job takes several calls and the cursor is followed.
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(60);
/// Every `SKIPPED_EVERY`th user existed already (`[SKIPPED]`).
const SKIPPED_EVERY: usize = 10;
const TARGET_BYTES_RATIO: f64 = 1.2;
const ADD: &str = "AdminAddUserToGroup";

struct Case {
    name: &'static str,
    users: usize,
}

const CASES: [Case; 2] = [
    Case {
        name: "10k",
        users: 10_000,
    },
    Case {
        name: "100k",
        users: 100_000,
    },
];

/// What one job measured.
struct Row {
    users: usize,
    memberships: usize,
    size: u64,
    invocations: usize,
    added: u64,
    add_calls: usize,
    seconds: f64,
    bytes_served: u64,
    bytes_consumed: u64,
    get_objects: usize,
    log_reads: usize,
    rss_after_init_mib: f64,
    peak_mib: f64,
    /// The peak RSS after each call, MiB.
    peaks_mib: Vec<f64>,
    /// `RssAnon` and `RssFile` after the last call, MiB.
    anon_file_mib: (f64, f64),
    function_cpu: f64,
    emulator_cpu: f64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    common::release_binary();
    let only = common::only();
    let load_before = load_average();
    let mut measured = Vec::new();
    for case in CASES
        .iter()
        .filter(|c| only.as_deref().is_none_or(|o| o == c.name))
    {
        let row = run(case).await;
        println!(
            "{}: {} memberships in {:.1} s",
            case.name, row.added, row.seconds
        );
        measured.push(row);
    }
    let load = format!("{load_before} before, {} after", load_average());
    common::write_result("groups.md", &report(&measured, &load));
}

/// User `n`'s two groups, never the same twice.
fn groups_of(n: usize) -> [String; 2] {
    let first = n % GROUPS;
    let second = (first + 1 + (n / GROUPS) % (GROUPS - 1)) % GROUPS;
    [format!("group-{first}"), format!("group-{second}")]
}

/// The common file of `users` users with a `cognito:groups` column added.
fn users_with_groups(users: usize) -> Vec<u8> {
    let plain = common::users_csv(users, ROW_BYTES);
    let mut data = Vec::with_capacity(plain.len() + users * 20);
    for (n, line) in plain.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        data.extend_from_slice(line);
        match n {
            0 => data.extend_from_slice(b",cognito:groups"),
            n => data.extend_from_slice(format!(",{}", groups_of(n - 1).join(" ")).as_bytes()),
        }
        data.push(b'\n');
    }
    data
}

fn username(n: usize) -> String {
    format!("user{n:07}")
}

/// The pool with its users and groups, the job finished with its log, and
/// the file on section 4's path.
fn seed(emulator: &Emulator, users: usize, data: Vec<u8>) -> String {
    emulator.create_user_pool(POOL, POOL_NAME, DEFAULT_CSV_HEADER);
    for n in 0..users {
        emulator.add_user(POOL, &username(n));
    }
    for group in 0..GROUPS {
        emulator.create_group(POOL, &format!("group-{group}"));
    }
    let stored = emulator.put_object(
        BUCKET,
        KEY,
        data,
        &[("user-pool-id", POOL), ("job-id", JOB)],
    );
    emulator.insert_import_job(POOL, JOB, JOB_NAME, true);
    emulator.set_job_status(POOL, JOB, "Pending");
    let skipped = users / SKIPPED_EVERY;
    emulator.finish_job(
        POOL,
        JOB,
        "Succeeded",
        (users - skipped) as i64,
        skipped as i64,
        0,
        "Import Job Completed Successfully.",
    );
    let lines: Vec<String> = (1..=users)
        .map(|line| {
            if line % SKIPPED_EVERY == 0 {
                format!("[SKIPPED] Line Number {line} - The user already exists.")
            } else {
                format!("[SUCCEEDED] Line Number {line} - The import succeeded.")
            }
        })
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    emulator.put_log_events(
        &format!("/aws/cognito/userpools/{POOL}/{POOL_NAME}"),
        &format!("{JOB}/{JOB_NAME}"),
        &lines,
    );
    stored.etag.trim_matches('"').to_string()
}

async fn run(case: &Case) -> Row {
    let data = users_with_groups(case.users);
    let size = data.len() as u64;
    let emulator = Emulator::start().await.expect("emulator starts");
    let etag = seed(&emulator, case.users, data);
    let api = RuntimeApi::start().await.expect("runtime API starts");
    let rps = GROUPS_RPS.to_string();
    let child = common::start_function(&api, &emulator.endpoint(), &[("GROUPS_RPS", &rps)]).await;
    let pid = child.id();
    let rss_after_init = common::peak_rss_kib(pid).unwrap_or_default();

    let (function_cpu, emulator_cpu) = (cpu_seconds(pid), cpu_seconds(std::process::id()));
    let mut from = Value::Null;
    let mut invocations = 0;
    let mut seconds = 0.0;
    let mut peaks = Vec::new();
    let last = loop {
        let mut event = json!({"Action": "AddToGroups", "UserPoolId": POOL, "JobId": JOB,
                               "Object": {"Bucket": BUCKET, "Key": KEY, "ETag": etag}});
        if !from.is_null() {
            event["From"] = from.clone();
        }
        let started = std::time::Instant::now();
        let response = common::invoke_through(&api, event, LAMBDA_TIMEOUT)
            .await
            .unwrap_or_else(|error| panic!("AddToGroups call {invocations} failed: {error}"));
        seconds += started.elapsed().as_secs_f64();
        invocations += 1;
        peaks.push(common::peak_rss_kib(pid).unwrap_or_default());
        if response["Done"] == true {
            break response;
        }
        assert_eq!(response["Done"], false, "{response}");
        from = response["From"].clone();
        assert!(
            invocations < 100,
            "no end after {invocations} calls: {response}"
        );
    };
    let function_cpu = cpu_seconds(pid) - function_cpu;
    let emulator_cpu = cpu_seconds(std::process::id()) - emulator_cpu;
    let peak = common::peak_rss_kib(pid).unwrap_or_default();
    let kib = |field| common::status_kib(pid, field).unwrap_or_default();
    let anon_file = (kib("RssAnon:"), kib("RssFile:"));
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();

    let memberships = 2 * case.users;
    assert_eq!(last["Groups"]["Added"], memberships, "{last}");
    assert_eq!(last["Groups"]["Failed"], 0, "{last}");
    for n in 0..case.users {
        let mut expected = groups_of(n).to_vec();
        expected.sort();
        assert_eq!(
            emulator.user_groups(POOL, &username(n)),
            expected,
            "user {n}"
        );
    }
    let added_events = emulator
        .events()
        .into_iter()
        .filter(|e| e.detail_type == "User Import Groups Added")
        .count();
    assert_eq!(added_events, 1);
    let calls = emulator.calls();
    let ranges: Vec<u64> = calls
        .iter()
        .filter(|c| c.operation == "GetObject" && c.params["Key"] == KEY)
        .filter_map(|c| range_start(&c.params["Range"]))
        .collect();
    let mib = |kib: u64| kib as f64 / 1024.0;
    Row {
        users: case.users,
        memberships,
        size,
        invocations,
        added: last["Groups"]["Added"].as_u64().unwrap_or_default(),
        add_calls: calls.iter().filter(|c| c.operation == ADD).count(),
        seconds,
        bytes_served: emulator.s3_bytes_served(BUCKET, KEY),
        bytes_consumed: consumed(&ranges, size),
        get_objects: calls.iter().filter(|c| c.operation == "GetObject").count(),
        log_reads: calls
            .iter()
            .filter(|c| c.operation == "FilterLogEvents")
            .count(),
        rss_after_init_mib: mib(rss_after_init),
        peak_mib: mib(peak),
        peaks_mib: peaks.into_iter().map(mib).collect(),
        anon_file_mib: (mib(anon_file.0), mib(anon_file.1)),
        function_cpu,
        emulator_cpu,
    }
}

/// The first byte of a `bytes=first-[last]` range; 0 for a whole read.
fn range_start(range: &Value) -> Option<u64> {
    match range.as_str() {
        None => Some(0),
        Some(range) => range
            .strip_prefix("bytes=")?
            .split('-')
            .next()?
            .parse()
            .ok(),
    }
}

/// The bytes the calls went through: each read from its first byte up to
/// where the next one began (the last to the end), so a byte read by two
/// calls counts twice.
fn consumed(starts: &[u64], size: u64) -> u64 {
    let ends = starts.iter().skip(1).copied().chain([size]);
    starts
        .iter()
        .zip(ends)
        .map(|(start, end)| end.saturating_sub(*start))
        .sum()
}

/// CPU time used so far by all the threads of process `pid`, in seconds
/// (the first field of each task's `schedstat`).
fn cpu_seconds(pid: u32) -> f64 {
    let nanos: u64 = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    nanos as f64 / 1e9
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

fn report(measured: &[Row], load: &str) -> String {
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let mut out = format!(
        "# AddToGroups\n\n\
         Release binary through the emulated Runtime API, emulator on 127.0.0.1 with no\n\
         added latency. A finished job whose source has a `cognito:groups` column (every\n\
         user in 2 of {GROUPS} groups, rows of about {ROW_BYTES} bytes), its log a line per row\n\
         (one in {SKIPPED_EVERY} `[SKIPPED]`), the users and the groups in the pool. The function\n\
         is called with `GROUPS_RPS={GROUPS_RPS}` and a {}-second deadline, again with the `From`\n\
         it answers until `\"Done\": true`; each job in a fresh process. Every membership\n\
         was read back from the emulator.\n\n\
         | job | memberships added | AddToGroups calls (Done at the end) | \
         AdminAddUserToGroup calls | wall time | calls a second (set: {GROUPS_RPS}) | \
         GetObject bytes served / file | bytes the calls went through / file | \
         GetObject, FilterLogEvents calls | peak RSS after init | peak RSS over the calls | \
         CPU: function, emulator's process |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
        LAMBDA_TIMEOUT.as_secs()
    );
    for row in measured {
        let served = row.bytes_served as f64 / row.size as f64;
        let through = row.bytes_consumed as f64 / row.size as f64;
        out.push_str(&format!(
            "| {} users, {} bytes | {} of {} | {} (true) | {} | {:.1} s | {:.0} | \
             {} / {} = {served:.2} (target at most {TARGET_BYTES_RATIO}: {}) | {through:.2} | \
             {}, {} | {:.1} MiB | {:.1} MiB | {:.1} s, {:.1} s |\n",
            row.users,
            row.size,
            row.added,
            row.memberships,
            row.invocations,
            row.add_calls,
            row.seconds,
            row.add_calls as f64 / row.seconds,
            row.bytes_served,
            row.size,
            verdict(served <= TARGET_BYTES_RATIO),
            row.get_objects,
            row.log_reads,
            row.rss_after_init_mib,
            row.peak_mib,
            row.function_cpu,
            row.emulator_cpu,
        ));
    }
    out.push_str("\nPeak RSS after each call, and RssAnon and RssFile after the last:\n\n");
    for row in measured {
        let peaks: Vec<String> = row.peaks_mib.iter().map(|p| format!("{p:.1}")).collect();
        out.push_str(&format!(
            "- {} users: {} MiB; RssAnon {:.1} MiB, RssFile {:.1} MiB\n",
            row.users,
            peaks.join(", "),
            row.anon_file_mib.0,
            row.anon_file_mib.1,
        ));
    }
    if let [small, large] = measured {
        let growth = large.peak_mib - small.peak_mib;
        out.push_str(&format!(
            "\nPeak RSS from {} to {} users: {growth:+.1} MiB ({:+.0}%; target flat, within \
             10% or 3 MiB: {}).\n",
            small.users,
            large.users,
            100.0 * growth / small.peak_mib,
            verdict(growth.abs() <= 3.0 || growth.abs() <= 0.1 * small.peak_mib),
        ));
    }
    out.push_str(&format!(
        "\nMachine: {}; load average {load}; {}.\n",
        common::machine(),
        common::now_utc()
    ));
    out
}
