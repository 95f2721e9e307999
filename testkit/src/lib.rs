//! Shared setup for the integration tests of the function (`tests/`) and of
//! the local runner (`local/tests/`): a fresh emulator per test on 127.0.0.1
//! and the real handler built against it through the real SDK, the test
//! logs, and the EMF check ([`emf`]).

pub mod emf;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use cis_emulator::{Call, Emulator, ImportJob, PutEventEntry, StoredObject};
use cognito_import_starter::config::Timeouts;
use cognito_import_starter::{aws, App, Config, ErrorKind, ImportError};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use tracing_subscriber::{fmt, EnvFilter};

pub const POOL: &str = "us-east-1_TestPool1";
pub const BUCKET: &str = "drop-bucket";

pub struct Harness {
    pub emulator: Emulator,
    pub app: App,
    /// Every EMF line the app wrote, parsed (each checked against the
    /// specification as it was written).
    pub metrics: MetricLines,
}

pub type MetricLines = std::sync::Arc<Mutex<Vec<Value>>>;

/// Short timeouts and quick retries keep fault tests fast; the SDK's
/// standard retry mode is kept, as in production.
pub fn test_config() -> Config {
    Config {
        s3_force_path_style: true,
        timeouts: Timeouts {
            connect: Duration::from_millis(500),
            attempt: Duration::from_millis(800),
            operation: Duration::from_secs(3),
            upload: Duration::from_secs(3),
        },
        ..Config::default()
    }
}

/// What the test binaries log: everything of this crate, the SDK's debug
/// lines. Not the SDK at TRACE: `aws_smithy_runtime`'s trace lines print
/// Cognito's responses, pre-signed URL included (see `.ci/run`). `TEST_LOG`
/// (an `EnvFilter` directive list) overrides it.
pub const TEST_LOG_FILTER: &str = "info,cognito_import_starter=trace,aws_config=debug,\
    aws_sdk_s3=trace,aws_sdk_cognitoidentityprovider=trace,aws_sdk_eventbridge=trace,\
    aws_smithy_runtime=debug,aws_smithy_runtime_api=debug,aws_smithy_http_client=debug,\
    aws_sigv4=debug";

/// `target/test-logs/` at the repository's root (the workspace's, above this
/// crate): `.ci/run` empties it before the tests and scans it after them.
pub fn test_log_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or(manifest);
    root.join("target").join("test-logs")
}

/// This test binary's log file: `target/test-logs/<binary>-<pid>.log`.
pub fn test_log_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        let stem = exe
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("tests")
            .to_string();
        // Cargo names test binaries `<name>-<16 hex digits>`.
        let name = match stem.rsplit_once('-') {
            Some((name, hash))
                if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                name.to_string()
            }
            _ => stem,
        };
        test_log_dir().join(format!("{name}-{}.log", std::process::id()))
    })
}

/// Installs, once per test binary, a subscriber writing JSON lines to
/// [`test_log_path`] at [`TEST_LOG_FILTER`]. The harness constructors call it.
pub fn init_test_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let path = test_log_path();
        std::fs::create_dir_all(test_log_dir()).expect("target/test-logs can be created");
        let file = std::fs::File::create(path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        let filter = std::env::var("TEST_LOG")
            .map(EnvFilter::new)
            .unwrap_or_else(|_| EnvFilter::new(TEST_LOG_FILTER));
        // Another subscriber already set (none in this suite) only means
        // these lines go there instead.
        let _ = fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(Mutex::new(file))
            .try_init();
    });
}

/// What this test binary has logged so far (every line is written through
/// at once).
pub fn test_logs() -> String {
    init_test_logs();
    std::fs::read_to_string(test_log_path()).unwrap_or_default()
}

pub async fn harness() -> Harness {
    harness_with(test_config()).await
}

pub async fn harness_with(config: Config) -> Harness {
    let emulator = Emulator::start().await.expect("emulator starts");
    let (app, metrics) = app_with_metrics(&emulator, config, 3).await;
    Harness {
        emulator,
        app,
        metrics,
    }
}

/// The secret access key of every in-process test's SDK clients: never in a
/// log (SPEC 8).
pub const TEST_SECRET_ACCESS_KEY: &str = "test-secret";

pub async fn app_for(emulator: &Emulator, config: Config, max_attempts: u32) -> App {
    app_with_metrics(emulator, config, max_attempts).await.0
}

/// This test binary's EMF lines: `target/test-logs/<binary>-<pid>.emf`.
pub fn test_emf_path() -> PathBuf {
    test_log_path().with_extension("emf")
}

/// The app's metrics go to a sink that checks every line against the EMF
/// specification (a line that breaks it fails the test that wrote it),
/// keeps it for the test, and appends it to [`test_emf_path`].
pub fn capture_metrics(app: &mut App) -> MetricLines {
    let lines: MetricLines = Default::default();
    if app.metrics.is_some() {
        let kept = std::sync::Arc::clone(&lines);
        let config = &app.config;
        let sink = cognito_import_starter::aws::metrics::MetricsOut::Lines(std::sync::Arc::new(
            move |line: &str| {
                let value =
                    emf::check(line).unwrap_or_else(|why| panic!("not EMF ({why}): {line}"));
                kept.lock().unwrap_or_else(|p| p.into_inner()).push(value);
                use std::io::Write;
                if let Ok(mut file) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(test_emf_path())
                {
                    let _ = writeln!(file, "{line}");
                }
            },
        ));
        app.metrics = Some(cognito_import_starter::aws::metrics::Metrics::new(
            &config.metrics_namespace,
            config.metrics_pool_dimension.into(),
            sink,
        ));
    }
    lines
}

pub async fn app_with_metrics(
    emulator: &Emulator,
    config: Config,
    max_attempts: u32,
) -> (App, MetricLines) {
    init_test_logs();
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .http_client(aws::http_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST",
            TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "tests",
        )))
        .endpoint_url(emulator.endpoint())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .timeout_config(aws::timeout_config(&config.timeouts))
        .load()
        .await;
    let mut app = App::new(config, &sdk);
    let lines = capture_metrics(&mut app);
    (app, lines)
}

impl Harness {
    pub async fn invoke(&self, payload: Value) -> Result<Value, ImportError> {
        self.app
            .handle(LambdaEvent::new(payload, Context::default()))
            .await
    }

    /// Like Lambda: the invocation's deadline `left` from now.
    pub async fn invoke_with_deadline(
        &self,
        payload: Value,
        left: Duration,
    ) -> Result<Value, ImportError> {
        let deadline = std::time::SystemTime::now() + left;
        let millis = deadline
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        let mut context = Context::default();
        context.deadline = millis;
        self.app.handle(LambdaEvent::new(payload, context)).await
    }

    /// Writes Cognito's per-user lines of `job` (in a pool named
    /// `pool_name`) to its log stream, as Cognito does when a job ends.
    pub fn log_user_lines(&self, pool_name: &str, job: &ImportJob, lines: &[&str]) {
        self.emulator.put_log_events(
            &format!("/aws/cognito/userpools/{}/{pool_name}", job.pool_id),
            &format!("{}/{}", job.job_id, job.job_name),
            lines,
        );
    }

    /// A job in `Created` with its CSV uploaded, and an object whose
    /// metadata names it.
    pub fn seed(&self, key: &str) -> (StoredObject, ImportJob) {
        let job = self.emulator.create_import_job(POOL, "nightly", true);
        let object = self.emulator.put_object(
            BUCKET,
            key,
            "cognito:username\n",
            &[("user-pool-id", POOL), ("job-id", &job.job_id)],
        );
        (object, job)
    }

    pub fn events(&self) -> Vec<PutEventEntry> {
        self.emulator.events()
    }

    pub fn events_of(&self, detail_type: &str) -> Vec<PutEventEntry> {
        self.events()
            .into_iter()
            .filter(|e| e.detail_type == detail_type)
            .collect()
    }

    /// The first call of `operation` the emulator received.
    pub fn first_call(&self, operation: &str) -> Call {
        let calls = self.emulator.calls();
        let call = calls.iter().find(|c| c.operation == operation);
        call.cloned()
            .unwrap_or_else(|| panic!("no {operation} call among {calls:?}"))
    }

    pub fn status(&self, job: &ImportJob) -> String {
        self.emulator
            .job(&job.pool_id, &job.job_id)
            .map(|j| j.status)
            .unwrap_or_default()
    }
}

/// An S3 notification of one `ObjectCreated:Put` (key URL-encoded by the caller).
pub fn created(key: &str) -> Value {
    s3_event(&[("ObjectCreated:Put", key)])
}

/// An S3 notification as S3 sends it (keys URL-encoded by the caller).
pub fn s3_event(records: &[(&str, &str)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(event_name, key)| s3_record(event_name, BUCKET, key, None))
        .collect();
    json!({ "Records": records })
}

pub fn s3_record(event_name: &str, bucket: &str, key: &str, version: Option<&str>) -> Value {
    let mut object = json!({"key": key, "size": 18, "eTag": "0123456789abcdef", "sequencer": "0A1B2C3D4E5F678901"});
    if let Some(version) = version {
        object["versionId"] = json!(version);
    }
    json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-25T09:30:00.000Z", "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "import-drop",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": object}
    })
}

pub fn eventbridge_event(bucket: &str, key: &str, version: Option<&str>) -> Value {
    let mut object = json!({"key": key, "size": 18, "etag": "0123456789abcdef", "sequencer": "0A1B2C3D4E5F678901"});
    if let Some(version) = version {
        object["version-id"] = json!(version);
    }
    json!({
        "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
        "source": "aws.s3", "account": "123456789012", "time": "2026-11-25T09:30:00Z", "region": "us-east-1",
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {"version": "0", "bucket": {"name": bucket}, "object": object,
                   "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "reason": "PutObject"}
    })
}

pub fn sqs_event(bodies: &[(&str, Value)]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| {
            json!({"messageId": id, "receiptHandle": format!("AQEB{id}"), "body": body.to_string(),
                   "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                   "md5OfBody": "", "eventSource": "aws:sqs",
                   "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:imports", "awsRegion": "us-east-1"})
        })
        .collect();
    json!({ "Records": records })
}

/// The error type a user matches on, with the message for the failure output.
pub fn error_type(result: &Result<Value, ImportError>) -> &'static str {
    match result {
        Ok(value) => panic!("expected an error, got {value}"),
        Err(error) => error.error_type(),
    }
}

pub fn kind(result: &Result<Value, ImportError>) -> ErrorKind {
    match result {
        Ok(value) => panic!("expected an error, got {value}"),
        Err(error) => error.kind,
    }
}
