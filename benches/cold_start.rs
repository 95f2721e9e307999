//! The cold-start benchmark (perf/README.md): runs three release binaries the
//! way Lambda runs them, through an emulated Lambda Runtime API on 127.0.0.1,
//! against the project's emulator of S3, Cognito and EventBridge with no added
//! latency, and compares them side by side, interleaved:
//!
//! - `cognito-import-starter`, the function;
//! - `echo-baseline`, a bare lambda_runtime echo function: the floor;
//! - `sdk-baseline`, an ordinary SDK function doing the same three calls.
//!
//! Measured: init (process start to the first `/runtime/invocation/next`,
//! median of many cold starts), the first invocation after a cold start, warm
//! latency of one S3 record (median, p99) and of a 10-record SQS batch, peak
//! RSS (VmHWM), binary and zipped size, and the AWS calls per invocation from
//! the emulator's journal. Prints a table with ratios to the floor and writes
//! it to `perf/results/cold-start.md` with the machine and the date.
//!
//! Run it through `perf/run`, which builds the binaries with the release
//! profile first; `cargo bench --bench cold_start -- --help` lists the
//! options. This is a benchmark, not a test: it asserts nothing about time.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use cis_emulator::runtime_api::{Invocation, RuntimeApi};
use cis_emulator::{Emulator, Fault, FaultAction};
use serde_json::{json, Value};

const POOL: &str = "us-east-1_BenchPool1";
const BUCKET: &str = "bench-drop";
const INIT_WAIT: Duration = Duration::from_secs(30);
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
const BATCH: usize = 10;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Function,
    Echo,
    Sdk,
}

struct Subject {
    kind: Kind,
    name: &'static str,
    label: &'static str,
    path: PathBuf,
}

struct Options {
    cold: usize,
    warm: usize,
    batches: usize,
    warmup: usize,
    bin_dir: PathBuf,
    out: PathBuf,
    note: Option<String>,
    /// Leave the machine's trust store as it is (no `SSL_CERT_FILE`).
    machine_certs: bool,
    /// Added to every AWS call the emulator answers, as a region's round
    /// trip would be.
    latency: Duration,
    /// The same three binaries built for arm64 as `cargo lambda build
    /// --release --arm64` builds them (perf/run, when it can): only their
    /// sizes are measured here.
    arm64_dir: Option<PathBuf>,
}

impl Options {
    fn parse() -> Options {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut options = Options {
            cold: 30,
            warm: 200,
            batches: 50,
            warmup: 10,
            bin_dir: root.join("target/cold-start/bin"),
            out: root.join("perf/results/cold-start.md"),
            note: None,
            machine_certs: false,
            latency: Duration::ZERO,
            arm64_dir: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .unwrap_or_else(|| usage(&format!("{name} needs a value")))
            };
            let mut count = |name: &str| {
                let text = value(name);
                text.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| usage(&format!("{name} {text}: not a positive count")))
            };
            match arg.as_str() {
                "--cold" => options.cold = count("--cold"),
                "--warm" => options.warm = count("--warm"),
                "--batches" => options.batches = count("--batches"),
                "--warmup" => options.warmup = count("--warmup"),
                "--bin-dir" => options.bin_dir = PathBuf::from(value("--bin-dir")),
                "--out" => options.out = PathBuf::from(value("--out")),
                "--note" => options.note = Some(value("--note")),
                "--machine-certs" => options.machine_certs = true,
                "--arm64-dir" => options.arm64_dir = Some(PathBuf::from(value("--arm64-dir"))),
                "--latency-ms" => {
                    options.latency = Duration::from_millis(count("--latency-ms") as u64)
                }
                // Added by `cargo bench` to every harness = false target.
                "--bench" => {}
                "--help" | "-h" => usage(""),
                other => usage(&format!("unknown argument {other}")),
            }
        }
        options
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("cold_start: {problem}");
    }
    eprintln!(
        "usage: perf/run [--cold N] [--warm N] [--batches N] [--warmup N] [--bin-dir DIR] [--out FILE] [--note TEXT]\n\
         \x20 --cold N     cold starts per binary (default 30)\n\
         \x20 --warm N     warm one-record invocations per binary (default 200)\n\
         \x20 --batches N  warm 10-record SQS batches per binary (default 50)\n\
         \x20 --warmup N   invocations before the warm measurements (default 10)\n\
         \x20 --bin-dir    where perf/run put the release binaries (default target/cold-start/bin)\n\
         \x20 --out FILE   the results file (default perf/results/cold-start.md)\n\
         \x20 --note TEXT  a line added to the results (e.g. the lever measured)\n\
         \x20 --machine-certs  no SSL_CERT_FILE: every binary reads this machine's whole trust store\n\
         \x20 --latency-ms N   add N ms to every AWS call (default 0)\n\
         \x20 --arm64-dir DIR  the three binaries built for arm64: their sizes are reported too"
    );
    std::process::exit(if problem.is_empty() { 0 } else { 2 });
}

/// A spawned binary, killed (and reaped) on drop. Its output is drained by a
/// thread (as Lambda's log capture does) and only the tail is kept.
struct Process {
    child: Child,
    tail: Arc<Mutex<VecDeque<u8>>>,
    spawned_at: Instant,
}

const TAIL: usize = 8192;

fn drain(mut pipe: impl Read + Send + 'static, tail: Arc<Mutex<VecDeque<u8>>>) {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
            tail.extend(&chunk[..n]);
            let excess = tail.len().saturating_sub(TAIL);
            tail.drain(..excess);
        }
    });
}

/// The root certificates every binary reads at init, as `SSL_CERT_FILE`.
/// On Lambda (provided.al2023) the trust store is one bundle, which
/// template.yaml names in `SSL_CERT_FILE`; a Debian machine's /etc/ssl/certs
/// also holds one file per root, which rustls-native-certs would read on top
/// of the bundle (about 4 ms here). Without `SSL_CERT_FILE` the three
/// binaries would be timed on this machine's trust store, not Lambda's.
static TRUST_BUNDLE: OnceLock<Option<PathBuf>> = OnceLock::new();

fn trust_bundle() -> Option<PathBuf> {
    [
        "/etc/pki/tls/certs/ca-bundle.crt", // Amazon Linux 2023, as in template.yaml
        "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|path| path.is_file())
}

impl Process {
    /// Spawns the binary with what Lambda sets (and nothing of this shell's
    /// environment): the Runtime API, the function's identity, region,
    /// credentials, and the emulator as every service's endpoint.
    fn spawn(path: &Path, api: &RuntimeApi, emulator: &Emulator) -> Process {
        // The rest of what a provided.al2023 bootstrap finds in its
        // environment, so that init reads what it reads on Lambda.
        let mut command = api.bootstrap_command(path, &emulator.endpoint());
        command
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_rust")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/25/[$LATEST]bench")
            .env("LAMBDA_TASK_ROOT", "/var/task")
            .env("_HANDLER", "bootstrap")
            .env("TZ", ":UTC")
            .env("LANG", "en_US.UTF-8")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_SESSION_TOKEN", "cold-start-bench-session-token");
        if let Some(bundle) = TRUST_BUNDLE.get().and_then(Option::as_ref) {
            command.env("SSL_CERT_FILE", bundle);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let spawned_at = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| fail(&format!("cannot start {}: {e}", path.display())));
        if let Some(stdout) = child.stdout.take() {
            drain(stdout, Arc::clone(&tail));
        }
        if let Some(stderr) = child.stderr.take() {
            drain(stderr, Arc::clone(&tail));
        }
        Process {
            child,
            tail,
            spawned_at,
        }
    }

    /// Peak resident set size so far, in KiB (`VmHWM`).
    fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// A field of `/proc/PID/status` in KiB: `VmHWM:`, or `RssAnon:` (heap
    /// and stacks) and `RssFile:` (pages of the binary and libraries), which
    /// tell where the resident set goes.
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// CPU time used so far by all its threads (the first field of each
    /// task's `schedstat`, in nanoseconds).
    fn cpu(&self) -> Duration {
        let dir = format!("/proc/{}/task", self.child.id());
        let nanos: u64 = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
            .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        Duration::from_nanos(nanos)
    }

    fn output(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&tail.iter().copied().collect::<Vec<u8>>()).into_owned()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fail(message: &str) -> ! {
    eprintln!("cold_start: {message}");
    std::process::exit(1);
}

/// A function process past its init, with its own Runtime API.
struct Running<'a> {
    subject: &'a Subject,
    api: RuntimeApi,
    process: Process,
    init: Duration,
    init_cpu: Duration,
    answered: usize,
}

impl<'a> Running<'a> {
    async fn start(subject: &'a Subject, emulator: &Emulator) -> Running<'a> {
        let api = RuntimeApi::start()
            .await
            .unwrap_or_else(|e| fail(&format!("runtime API: {e}")));
        let process = Process::spawn(&subject.path, &api, emulator);
        let Some(first_next) = api.wait_first_next(INIT_WAIT).await else {
            fail(&format!(
                "{} never called /next within {INIT_WAIT:?}; init error {:?}; output:\n{}",
                subject.name,
                api.init_error(),
                process.output()
            ));
        };
        let init = first_next.duration_since(process.spawned_at);
        // It is blocked in `/next` now: its CPU time is that of its init.
        let init_cpu = process.cpu();
        Running {
            subject,
            api,
            process,
            init,
            init_cpu,
            answered: 0,
        }
    }

    /// One invocation: from queueing it (the runtime is already waiting in
    /// `/next`) to the arrival of its response; and the CPU time it took.
    async fn invoke(&mut self, payload: Value) -> (Value, Duration, Duration) {
        let cpu_before = self.process.cpu();
        let queued = Instant::now();
        let id = self.api.enqueue(payload, INVOKE_TIMEOUT);
        let answer = self
            .api
            .answered_at(&id, INVOKE_TIMEOUT + Duration::from_secs(2))
            .await;
        self.answered += 1;
        // Back in `/next` (or about to be): what it spent on this one.
        self.api
            .wait_next_calls(self.answered + 1, Duration::from_secs(5))
            .await;
        let cpu = self.process.cpu().saturating_sub(cpu_before);
        match answer {
            Some((Invocation::Response(value), at)) => (value, at.duration_since(queued), cpu),
            Some((error, _)) => fail(&format!(
                "{} answered an error: {error:?}; output:\n{}",
                self.subject.name,
                self.process.output()
            )),
            None => fail(&format!(
                "{} did not answer; output:\n{}",
                self.subject.name,
                self.process.output()
            )),
        }
    }
}

/// S3 notification records and SQS batches, as the services send them.
fn s3_record(key: &str) -> Value {
    json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-25T09:30:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "import-drop",
               "bucket": {"name": BUCKET, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": format!("arn:aws:s3:::{BUCKET}")},
               "object": {"key": key, "size": 18, "eTag": "0123456789abcdef", "sequencer": "0A1B2C3D4E5F678901"}}
    })
}

fn sqs_batch(keys: &[String]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let body = json!({ "Records": [s3_record(key)] });
            json!({"messageId": format!("msg-{i}"), "receiptHandle": format!("AQEBmsg-{i}"),
                   "body": body.to_string(), "attributes": {"ApproximateReceiveCount": "1"},
                   "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                   "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:imports", "awsRegion": "us-east-1"})
        })
        .collect();
    json!({ "Records": records })
}

/// The emulator, seeded afresh for every invocation: each record names a new
/// job (in `Created`, CSV uploaded), so every start is a first start (the
/// happy path).
struct World {
    emulator: Emulator,
    seeded: usize,
    /// Records sent to the two SDK functions, to check the events at the end.
    started_records: usize,
}

#[derive(Clone, Copy, Default, Debug)]
struct Calls {
    head: usize,
    start: usize,
    describe: usize,
    put: usize,
}

impl Calls {
    fn minus(self, before: Calls) -> Calls {
        Calls {
            head: self.head - before.head,
            start: self.start - before.start,
            describe: self.describe - before.describe,
            put: self.put - before.put,
        }
    }

    fn max(self, other: Calls) -> Calls {
        Calls {
            head: self.head.max(other.head),
            start: self.start.max(other.start),
            describe: self.describe.max(other.describe),
            put: self.put.max(other.put),
        }
    }
}

impl World {
    fn seed(&mut self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                self.seeded += 1;
                let key = format!("imports/bench-{:06}.csv", self.seeded);
                let job = self.emulator.create_import_job(POOL, "bench", true);
                self.emulator.put_object(
                    BUCKET,
                    &key,
                    "cognito:username\n",
                    &[("user-pool-id", POOL), ("job-id", &job.job_id)],
                );
                key
            })
            .collect()
    }

    fn calls(&self) -> Calls {
        Calls {
            head: self.emulator.count("HeadObject"),
            start: self.emulator.count("StartUserImportJob"),
            describe: self.emulator.count("DescribeUserImportJob"),
            put: self.emulator.count("PutEvents"),
        }
    }

    /// One invocation of `n` records (one S3 notification record, or an SQS
    /// batch of `n` notifications); checks the answer and returns the
    /// latency and the AWS calls it made.
    async fn invoke(&mut self, running: &mut Running<'_>, n: usize) -> Measured {
        let keys = self.seed(n);
        let payload = if n == 1 {
            json!({ "Records": [s3_record(&keys[0])] })
        } else {
            sqs_batch(&keys)
        };
        let before = self.calls();
        let (answer, took, cpu) = running.invoke(payload.clone()).await;
        let calls = self.calls().minus(before);
        let ok = match running.subject.kind {
            Kind::Echo => answer == payload,
            Kind::Function | Kind::Sdk if n == 1 => {
                answer["Results"][0]["Outcome"] == "Started"
                    && answer["Results"][0]["Key"] == json!(keys[0])
            }
            Kind::Function | Kind::Sdk => answer == json!({ "batchItemFailures": [] }),
        };
        if !ok {
            fail(&format!(
                "{}: unexpected answer {answer}; output:\n{}",
                running.subject.name,
                running.process.output()
            ));
        }
        if running.subject.kind != Kind::Echo {
            self.started_records += n;
        }
        Measured { took, cpu, calls }
    }
}

struct Measured {
    took: Duration,
    cpu: Duration,
    calls: Calls,
}

#[derive(Default)]
struct Samples {
    init: Vec<Duration>,
    init_cpu: Vec<Duration>,
    first: Vec<Duration>,
    first_cpu: Vec<Duration>,
    warm_cpu: Vec<Duration>,
    batch_cpu: Vec<Duration>,
    rss_cold_kib: Vec<u64>,
    /// Resident after the first invocation: anonymous and file-backed.
    rss_anon_kib: Vec<u64>,
    rss_file_kib: Vec<u64>,
    warm: Vec<Duration>,
    batch: Vec<Duration>,
    rss_warm_kib: u64,
    /// Most calls seen in one invocation of one record, and of a batch.
    calls_one: Calls,
    calls_batch: Calls,
    binary: u64,
    zipped: Option<u64>,
    /// The arm64 build (as deployed), when there is one.
    arm64_binary: Option<u64>,
    arm64_zipped: Option<u64>,
}

fn median(samples: &[Duration]) -> Duration {
    percentile(samples, 50.0)
}

/// Nearest-rank percentile.
fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn median_u64(samples: &[u64]) -> u64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted
        .get(sorted.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Zips the binary as `bootstrap` (deflate), as `cargo lambda build
/// --output-format zip` and SAM do, unless a zip of this build is there.
fn zipped_size(binary: &Path) -> Option<u64> {
    let zip = binary.with_extension("zip");
    if !zip.exists() {
        let script = "import sys, zipfile\n\
            info = zipfile.ZipInfo('bootstrap', (1980, 1, 1, 0, 0, 0))\n\
            info.external_attr = 0o100755 << 16\n\
            info.compress_type = zipfile.ZIP_DEFLATED\n\
            with zipfile.ZipFile(sys.argv[2], 'w') as z, open(sys.argv[1], 'rb') as f:\n\
            \x20   z.writestr(info, f.read())\n";
        let status = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(binary)
            .arg(&zip)
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            return None;
        }
    }
    std::fs::metadata(&zip).ok().map(|m| m.len())
}

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name.trim() == "model name").then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The `[profile.release]` section of the root Cargo.toml, and the build
/// environment of `.cargo/config.toml`, for the record.
fn build_settings(root: &Path) -> String {
    let mut out = String::new();
    // The release profile with its per-package overrides, and any [env].
    for (file, prefix) in [
        ("Cargo.toml", "[profile.release"),
        (".cargo/config.toml", "[env]"),
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            if !line.trim().starts_with(prefix) {
                continue;
            }
            let mut body = Vec::new();
            while let Some(next) = lines.next_if(|next| !next.trim_start().starts_with('[')) {
                if !next.trim().is_empty() && !next.trim().starts_with('#') {
                    body.push(next.trim());
                }
            }
            let _ = writeln!(out, "{file} {} {}", line.trim(), body.join("; "));
        }
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = Options::parse();
    let bundle = if options.machine_certs {
        None
    } else {
        trust_bundle()
    };
    let _ = TRUST_BUNDLE.set(bundle);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let subjects = [
        (Kind::Function, "cognito-import-starter", "function"),
        (Kind::Echo, "echo-baseline", "echo (floor)"),
        (Kind::Sdk, "sdk-baseline", "ordinary SDK"),
    ]
    .map(|(kind, name, label)| Subject {
        kind,
        name,
        label,
        path: options.bin_dir.join(name),
    });
    for subject in &subjects {
        if !subject.path.is_file() {
            fail(&format!(
                "no {}: build the binaries with perf/run (or pass --bin-dir)",
                subject.path.display()
            ));
        }
    }
    // `cargo test` and `cargo bench` rebuild the package's binary with the
    // dev-dependencies' features (the emulator): not the Lambda binary.
    let function = std::fs::read(&subjects[0].path).unwrap_or_default();
    if memchr_find(&function, b"/_upload/") {
        fail("the function binary contains the emulator: build it with perf/run (cargo build --release)");
    }

    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let emulator = Emulator::start()
        .await
        .unwrap_or_else(|e| fail(&format!("emulator: {e}")));
    emulator.create_bucket(BUCKET, false);
    emulator.create_user_pool(POOL, "bench-pool", &["cognito:username", "email"]);
    if !options.latency.is_zero() {
        for operation in ["HeadObject", "StartUserImportJob", "PutEvents"] {
            emulator.inject(Fault::new(operation, FaultAction::Delay(options.latency)));
        }
    }
    let mut world = World {
        emulator,
        seeded: 0,
        started_records: 0,
    };
    let mut samples: [Samples; 3] = Default::default();
    let started = Instant::now();

    // Cold starts, interleaved: round r starts the binaries in a rotated
    // order, so no binary always follows the same one.
    eprintln!(
        "cold_start: {} cold starts of each binary ...",
        options.cold
    );
    for round in 0..options.cold {
        for i in 0..subjects.len() {
            let s = (round + i) % subjects.len();
            let mut running = Running::start(&subjects[s], &world.emulator).await;
            let first = world.invoke(&mut running, 1).await;
            let sample = &mut samples[s];
            sample.init.push(running.init);
            sample.init_cpu.push(running.init_cpu);
            sample.first.push(first.took);
            sample.first_cpu.push(first.cpu);
            let process = &running.process;
            sample.rss_cold_kib.push(process.peak_rss_kib());
            sample.rss_anon_kib.push(process.status_kib("RssAnon:"));
            sample.rss_file_kib.push(process.status_kib("RssFile:"));
            sample.calls_one = sample.calls_one.max(first.calls);
        }
    }

    // Warm: one process of each, all alive, invoked in turn.
    eprintln!(
        "cold_start: warm: {} one-record invocations and {} 10-record batches of each ...",
        options.warm, options.batches
    );
    let mut running = Vec::new();
    for subject in &subjects {
        running.push(Running::start(subject, &world.emulator).await);
    }
    for _ in 0..options.warmup {
        for process in running.iter_mut() {
            world.invoke(process, 1).await;
            world.invoke(process, BATCH).await;
        }
    }
    for round in 0..options.warm {
        for i in 0..running.len() {
            let s = (round + i) % running.len();
            let one = world.invoke(&mut running[s], 1).await;
            samples[s].warm.push(one.took);
            samples[s].warm_cpu.push(one.cpu);
            samples[s].calls_one = samples[s].calls_one.max(one.calls);
        }
    }
    for round in 0..options.batches {
        for i in 0..running.len() {
            let s = (round + i) % running.len();
            let batch = world.invoke(&mut running[s], BATCH).await;
            samples[s].batch.push(batch.took);
            samples[s].batch_cpu.push(batch.cpu);
            samples[s].calls_batch = samples[s].calls_batch.max(batch.calls);
        }
    }
    for (s, process) in running.iter().enumerate() {
        samples[s].rss_warm_kib = process.process.peak_rss_kib();
    }
    drop(running);

    let started_events = world
        .emulator
        .events()
        .iter()
        .filter(|e| e.detail_type == "User Import Job Started")
        .count();
    if started_events != world.started_records {
        fail(&format!(
            "{} Started events for {} records started",
            started_events, world.started_records
        ));
    }
    for (s, subject) in subjects.iter().enumerate() {
        samples[s].binary = std::fs::metadata(&subject.path)
            .map(|m| m.len())
            .unwrap_or(0);
        samples[s].zipped = zipped_size(&subject.path);
        if let Some(dir) = &options.arm64_dir {
            let path = dir.join(subject.name);
            samples[s].arm64_binary = std::fs::metadata(&path).ok().map(|m| m.len());
            samples[s].arm64_zipped = samples[s].arm64_binary.and_then(|_| zipped_size(&path));
        }
    }

    let report = report(
        &options,
        &subjects,
        &samples,
        &root,
        &loadavg,
        started.elapsed(),
    );
    println!("{report}");
    if let Some(dir) = options.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&options.out, &report) {
        Ok(()) => eprintln!("cold_start: wrote {}", options.out.display()),
        Err(e) => fail(&format!("cannot write {}: {e}", options.out.display())),
    }
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

struct Row {
    metric: &'static str,
    unit: &'static str,
    values: [f64; 3],
}

fn report(
    options: &Options,
    subjects: &[Subject; 3],
    samples: &[Samples; 3],
    root: &Path,
    loadavg: &str,
    took: Duration,
) -> String {
    let each = |f: &dyn Fn(&Samples) -> f64| -> [f64; 3] {
        [f(&samples[0]), f(&samples[1]), f(&samples[2])]
    };
    let mib = |kib: u64| kib as f64 / 1024.0;
    let mb = |bytes: u64| bytes as f64 / 1_000_000.0;
    let init = each(&|s| ms(median(&s.init)));
    let first = each(&|s| ms(median(&s.first)));
    let warm = each(&|s| ms(median(&s.warm)));
    let batch = each(&|s| ms(median(&s.batch)));
    let rss_cold = each(&|s| mib(median_u64(&s.rss_cold_kib)));
    let rss_warm = each(&|s| mib(s.rss_warm_kib));
    let zipped = each(&|s| s.zipped.map(mb).unwrap_or(f64::NAN));
    let row = |metric, unit, values| Row {
        metric,
        unit,
        values,
    };
    let mut rows = vec![
        row("init after exec, median", "ms", init),
        row(
            "init after exec, p90",
            "ms",
            each(&|s| ms(percentile(&s.init, 90.0))),
        ),
        row(
            "CPU time of init, median",
            "ms",
            each(&|s| ms(median(&s.init_cpu))),
        ),
        row("first invocation after a cold start, median", "ms", first),
        row(
            "CPU time of the first invocation, median",
            "ms",
            each(&|s| ms(median(&s.first_cpu))),
        ),
        row("warm, 1 S3 record, median", "ms", warm),
        row(
            "warm, 1 S3 record, p99",
            "ms",
            each(&|s| ms(percentile(&s.warm, 99.0))),
        ),
        row(
            "CPU time of a warm 1-record invocation, median",
            "ms",
            each(&|s| ms(median(&s.warm_cpu))),
        ),
        row("warm, 10-record SQS batch, median", "ms", batch),
        row(
            "warm, 10-record SQS batch, p99",
            "ms",
            each(&|s| ms(percentile(&s.batch, 99.0))),
        ),
        row(
            "CPU time of a warm 10-record batch, median",
            "ms",
            each(&|s| ms(median(&s.batch_cpu))),
        ),
        row(
            "peak RSS, cold start + first invocation, median",
            "MiB",
            rss_cold,
        ),
        row("peak RSS, after the warm run", "MiB", rss_warm),
        row(
            "of the RSS after the first invocation: anonymous (heap, stacks), median",
            "MiB",
            each(&|s| mib(median_u64(&s.rss_anon_kib))),
        ),
        row(
            "of the RSS after the first invocation: file-backed (binary, libraries), median",
            "MiB",
            each(&|s| mib(median_u64(&s.rss_file_kib))),
        ),
        row("binary size", "MB", each(&|s| mb(s.binary))),
        row("zipped bootstrap", "MB", zipped),
    ];
    let arm64_zipped = each(&|s| s.arm64_zipped.map(mb).unwrap_or(f64::NAN));
    let has_arm64 = samples.iter().any(|s| s.arm64_zipped.is_some());
    if has_arm64 {
        rows.push(row(
            "binary size, arm64 as deployed (target-cpu=neoverse-n1)",
            "MB",
            each(&|s| s.arm64_binary.map(mb).unwrap_or(f64::NAN)),
        ));
        rows.push(row(
            "zipped bootstrap, arm64 as deployed (target-cpu=neoverse-n1)",
            "MB",
            arm64_zipped,
        ));
    }

    let mut out = String::new();
    let date = command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let _ = writeln!(out, "# Cold-start benchmark\n");
    let _ = writeln!(
        out,
        "Written by `perf/run` (benches/cold_start.rs); see perf/README.md for what is measured and how.\n"
    );
    let _ = writeln!(out, "- date: {date}");
    let _ = writeln!(out, "- machine: `{}`", command_line("uname", &["-a"]));
    let _ = writeln!(
        out,
        "- CPU: {} ({} online), load average at start: {}",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = writeln!(out, "- rustc: {}", command_line("rustc", &["-V"]));
    for line in build_settings(root).lines() {
        let _ = writeln!(out, "- build: `{line}`");
    }
    if let Some(dir) = &options.arm64_dir {
        let _ = writeln!(
            out,
            "- arm64: the three also built by `cargo lambda build --release --arm64` (aarch64, `target-cpu=neoverse-n1`, as SAM's rust-cargolambda builds the function for template.yaml) into {}; sizes only, nothing here runs them",
            dir.display()
        );
    }
    let _ = writeln!(
        out,
        "- runs: {} cold starts of each binary, {} warm one-record invocations and {} warm 10-record SQS batches of each (after {} warm-up rounds), interleaved; {:.0} s in all",
        options.cold,
        options.warm,
        options.batches,
        options.warmup,
        took.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "- emulator and Lambda Runtime API on 127.0.0.1, {}; AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 (no memory or CPU limit is applied)",
        if options.latency.is_zero() {
            "no added latency".to_string()
        } else {
            format!("{} ms added to every HeadObject, StartUserImportJob and PutEvents", options.latency.as_millis())
        }
    );
    let trust = match TRUST_BUNDLE.get().and_then(Option::as_ref) {
        Some(bundle) => format!(
            "every binary reads its root certificates from SSL_CERT_FILE={} (one bundle, as on Lambda)",
            bundle.display()
        ),
        None => "every binary reads this machine's whole trust store (--machine-certs, or no bundle found)".to_string(),
    };
    let _ = writeln!(out, "- trust store: {trust}");
    if let Some(note) = &options.note {
        let _ = writeln!(out, "- note: {note}");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| metric | {} | {} | {} | function / floor | ordinary / floor |",
        subjects[0].label, subjects[1].label, subjects[2].label
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for row in &rows {
        let [f, e, s] = row.values;
        let _ = writeln!(
            out,
            "| {} | {:.2} {unit} | {:.2} {unit} | {:.2} {unit} | {:.2}x | {:.2}x |",
            row.metric,
            f,
            e,
            s,
            f / e,
            s / e,
            unit = row.unit
        );
    }
    let calls = |c: Calls| {
        format!(
            "{} HeadObject, {} StartUserImportJob, {} PutEvents",
            c.head, c.start, c.put
        )
    };
    let _ = writeln!(
        out,
        "| AWS calls, most in one invocation of 1 record | {} | none | {} | | |",
        calls(samples[0].calls_one),
        calls(samples[2].calls_one)
    );
    let _ = writeln!(
        out,
        "| AWS calls, most in one invocation of 10 records | {} | none | {} | | |",
        calls(samples[0].calls_batch),
        calls(samples[2].calls_batch)
    );

    // The cold-start targets (perf/README.md).
    let f = &samples[0];
    let calls_ok = |c: Calls, n: usize| {
        c.head <= n && c.start <= n && c.put <= n.div_ceil(BATCH) && c.describe == 0
    };
    let targets = [
        (
            format!(
                "init after exec at most 3x the floor: {:.2}x",
                init[0] / init[1]
            ),
            init[0] <= 3.0 * init[1],
        ),
        (
            format!(
                "peak RSS at most 2x the floor: {:.2}x after a cold start, {:.2}x after the warm run",
                rss_cold[0] / rss_cold[1],
                rss_warm[0] / rss_warm[1]
            ),
            rss_cold[0] <= 2.0 * rss_cold[1] && rss_warm[0] <= 2.0 * rss_warm[1],
        ),
        // template.yaml deploys arm64: that bootstrap is the one that ships.
        if has_arm64 {
            (
                format!(
                    "zipped bootstrap at most 2.5 MB: {:.3} MB for arm64 as deployed ({:.3} MB for this machine's x86_64)",
                    arm64_zipped[0], zipped[0]
                ),
                arm64_zipped[0] <= 2.5,
            )
        } else {
            (
                format!(
                    "zipped bootstrap at most 2.5 MB: {:.3} MB for this machine's x86_64 (no arm64 build)",
                    zipped[0]
                ),
                zipped[0] <= 2.5,
            )
        },
        (
            format!(
                "first invocation after a cold start no slower than the ordinary SDK function's: {:.2} ms against {:.2} ms",
                first[0], first[2]
            ),
            first[0] <= first[2],
        ),
        (
            format!(
                "warm 10-record batch at most 2x one record: {:.2} ms against {:.2} ms ({:.2}x)",
                batch[0],
                warm[0],
                batch[0] / warm[0]
            ),
            batch[0] <= 2.0 * warm[0],
        ),
        (
            format!(
                "per invocation of N records at most N HeadObject, N StartUserImportJob, ceil(N/10) PutEvents (and no DescribeUserImportJob): N=1: {}; N=10: {}",
                calls(f.calls_one),
                calls(f.calls_batch)
            ),
            calls_ok(f.calls_one, 1) && calls_ok(f.calls_batch, BATCH),
        ),
    ];
    let _ = writeln!(out, "\nTargets, as ratios to the floor in this run:\n");
    for (text, met) in &targets {
        let _ = writeln!(out, "- [{}] {text}", if *met { "x" } else { " " });
    }
    let met = targets.iter().filter(|(_, met)| *met).count();
    let _ = writeln!(out, "\n{met} of {} targets met.", targets.len());
    out
}
