//! What the benchmarks share: where and when they ran, the generated user
//! files, the peak RSS of the function's process.
#![allow(dead_code)] // each benchmark uses its own part of this module

use std::process::Command;

/// The CPU model and how many cores this process may use.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}

/// Now, in UTC, to the minute.
pub fn now_utc() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default()
}

/// A valid file: the default header, then `rows` users (`user0000000`...)
/// padded with a `profile` value to `row_bytes` each, line end included.
pub fn users_csv(rows: usize, row_bytes: usize) -> Vec<u8> {
    let header = cis_emulator::DEFAULT_CSV_HEADER.join(",");
    let mut data = Vec::with_capacity(header.len() + 1 + rows * row_bytes);
    data.extend_from_slice(header.as_bytes());
    data.push(b'\n');
    let mut row = String::with_capacity(row_bytes);
    for n in 0..rows {
        row.clear();
        for (i, column) in cis_emulator::DEFAULT_CSV_HEADER.iter().enumerate() {
            if i > 0 {
                row.push(',');
            }
            match *column {
                "cognito:username" => row.push_str(&format!("user{n:07}")),
                "email" => row.push_str(&format!("user{n:07}@example.com")),
                "email_verified" => row.push_str("true"),
                "phone_number_verified" => row.push_str("false"),
                "cognito:mfa_enabled" => row.push_str("false"),
                "birthdate" => row.push_str("02/29/2000"),
                "updated_at" => row.push_str("1764063000"),
                "profile" => row.push_str("{profile}"),
                _ => {}
            }
        }
        let pad = row_bytes.saturating_sub(row.len() - "{profile}".len() + 1);
        let row = row.replace("{profile}", &"p".repeat(pad));
        data.extend_from_slice(row.as_bytes());
        data.push(b'\n');
    }
    data
}

/// The process's peak resident set (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// A `/proc/<pid>/status` figure in KiB (`VmHWM:`, `RssAnon:`...).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The case named by `--only <name>` on the command line, if any.
pub fn only() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// `target/release/cognito-import-starter`, or exit 2 saying how to build it.
pub fn release_binary() -> std::path::PathBuf {
    let binary = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/release/cognito-import-starter");
    if !binary.exists() {
        eprintln!(
            "no {}: run `cargo build --release --locked -p cognito-import-starter` first",
            binary.display()
        );
        std::process::exit(2);
    }
    binary
}

/// The release function, started as Lambda starts it against `api` and the
/// emulator at `endpoint` (with `env` added), once it has asked for its
/// first invocation; its output is dropped.
pub async fn start_function(
    api: &cis_emulator::runtime_api::RuntimeApi,
    endpoint: &str,
    env: &[(&str, &str)],
) -> std::process::Child {
    use std::process::Stdio;
    let mut command = api.bootstrap_command(release_binary(), endpoint);
    command.env("AWS_LAMBDA_LOG_FORMAT", "JSON");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the function starts");
    if api
        .wait_first_next(std::time::Duration::from_secs(20))
        .await
        .is_none()
    {
        let _ = child.kill();
        panic!("the function never asked for an invocation");
    }
    child
}

/// Prints `report` and writes it to `perf/results/<file>`.
pub fn write_result(file: &str, report: &str) {
    println!("{report}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("perf/results")
        .join(file);
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&out, report) {
        Ok(()) => println!("written to {}", out.display()),
        Err(error) => eprintln!("could not write {}: {error}", out.display()),
    }
}

/// What one measured invocation gave.
pub struct Measured {
    pub response: serde_json::Value,
    pub elapsed: std::time::Duration,
    /// Peak RSS of the function's process over its whole life, KiB.
    pub peak_rss_kib: u64,
}

/// Sends `event` to the function `child` serves (5 minutes at most), takes
/// its wall time and peak RSS, stops it, and panics unless it answered.
pub async fn invoke_once(
    api: &cis_emulator::runtime_api::RuntimeApi,
    mut child: std::process::Child,
    event: serde_json::Value,
) -> Measured {
    use std::time::{Duration, Instant};
    let started = Instant::now();
    let id = api.enqueue(event, Duration::from_secs(300));
    let result = api.result(&id, Duration::from_secs(310)).await;
    let elapsed = started.elapsed();
    let peak_rss_kib = peak_rss_kib(child.id()).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    let response = result
        .as_ref()
        .and_then(|r| r.response().cloned())
        .unwrap_or_else(|| panic!("the invocation failed: {result:?}"));
    Measured {
        response,
        elapsed,
        peak_rss_kib,
    }
}

/// Sends `event` to the function through the emulated Runtime API and waits
/// for its answer (`timeout` at most), as Lambda's event source mapping
/// does: the response, or what went wrong.
pub async fn invoke_through(
    api: &cis_emulator::runtime_api::RuntimeApi,
    event: serde_json::Value,
    timeout: std::time::Duration,
) -> Result<serde_json::Value, String> {
    let id = api.enqueue(event, timeout);
    match api
        .result(&id, timeout + std::time::Duration::from_secs(10))
        .await
    {
        Some(result) => result
            .response()
            .cloned()
            .ok_or_else(|| format!("{:?}", result.error_type())),
        None => Err("no answer".into()),
    }
}
