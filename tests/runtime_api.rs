//! The real binary run the way Lambda runs it: spawned with a clean
//! environment, talking to an emulated Lambda Runtime API for its
//! invocations and to the emulator of S3, Cognito and EventBridge through
//! `AWS_ENDPOINT_URL`. What is asserted is what a user would check: the
//! response or `errorType` Lambda receives, the jobs and events at the
//! emulator, and the logs the process writes.

use std::io::{Read, Write};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cis_emulator::runtime_api::{Invocation, RuntimeApi, SECRET_ACCESS_KEY};
use cis_emulator::{Emulator, Fault, FaultAction, ImportJob, PutEventEntry};
use cis_testkit::{created, s3_event, sqs_event, BUCKET, POOL};
use serde_json::{json, Value};

/// The session token of the TRACE test: never in a log either.
const SESSION_TOKEN: &str = "runtime-api-test-session-token";

const BINARY: &str = env!("CARGO_BIN_EXE_cognito-import-starter");
/// A bound, not a sleep: the debug binary normally reaches `/next` in well
/// under a second.
const INIT_WAIT: Duration = Duration::from_secs(20);
const INVOKE_TIMEOUT: Duration = Duration::from_secs(15);

/// The function's process; killed (and reaped) on drop.
struct Function {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// The threads draining the pipes.
    readers: Vec<JoinHandle<()>>,
    spawned_at: Instant,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The pipes are closed: the readers end with everything read.
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.save_output();
    }
}

fn capture(mut pipe: impl Read + Send + 'static) -> (Arc<Mutex<Vec<u8>>>, JoinHandle<()>) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    let reader = std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    (buffer, reader)
}

impl Function {
    /// Spawns the binary with only the variables Lambda (and the SPEC) set.
    fn spawn(api: &RuntimeApi, emulator: &Emulator, extra: &[(&str, &str)]) -> Function {
        let mut command = api.bootstrap_command(BINARY, &emulator.endpoint());
        command
            .env("AWS_MAX_ATTEMPTS", "2")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in extra {
            command.env(name, value);
        }
        let spawned_at = Instant::now();
        let mut child = command.spawn().expect("the function binary starts");
        let (stdout, out_reader) = capture(child.stdout.take().expect("stdout is piped"));
        let (stderr, err_reader) = capture(child.stderr.take().expect("stderr is piped"));
        Function {
            child,
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
            spawned_at,
        }
    }

    /// Appends what the process wrote (stdout, then stderr) to
    /// `target/test-logs/cognito-import-starter-<pid>.log`, which `.ci/run`
    /// scans with the in-process tests' logs.
    fn save_output(&self) {
        let dir = cis_testkit::test_log_dir();
        let path = dir.join(format!("cognito-import-starter-{}.log", self.child.id()));
        let written = std::fs::create_dir_all(&dir).and_then(|()| {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            file.write_all(&self.stdout.lock().unwrap())?;
            file.write_all(&self.stderr.lock().unwrap())
        });
        if let Err(error) = written {
            // Not a test failure in itself; `.ci/run` then finds fewer logs.
            eprintln!(
                "cannot save the function's output to {}: {error}",
                path.display()
            );
        }
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Everything the process wrote: what CloudWatch Logs would hold.
    fn output(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }

    /// Waits (bounded) for the process to exit.
    async fn exit(&mut self, wait: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + wait;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits (bounded) until the pipes are drained after exit.
    async fn settle_output(&self) {
        let mut last = usize::MAX;
        for _ in 0..50 {
            let now = self.stdout.lock().unwrap().len() + self.stderr.lock().unwrap().len();
            if now == last {
                return;
            }
            last = now;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The emulated AWS, the emulated Runtime API, and the function between them,
/// past its init (it has called `/next`).
struct Lambda {
    emulator: Emulator,
    api: RuntimeApi,
    function: Function,
    init: Duration,
}

impl Lambda {
    async fn start(extra: &[(&str, &str)]) -> Lambda {
        let emulator = Emulator::start().await.expect("emulator starts");
        let api = RuntimeApi::start().await.expect("runtime API starts");
        let function = Function::spawn(&api, &emulator, extra);
        let Some(first_next) = api.wait_first_next(INIT_WAIT).await else {
            panic!(
                "the function never called /next within {INIT_WAIT:?}; its output:\n{}",
                function.output()
            );
        };
        let init = first_next.duration_since(function.spawned_at);
        eprintln!("spawn to first /next: {init:?}");
        Lambda {
            emulator,
            api,
            function,
            init,
        }
    }

    async fn invoke_with(&self, payload: Value, timeout: Duration) -> Invocation {
        let id = self.api.enqueue(payload, timeout);
        match self.api.result(&id, timeout + Duration::from_secs(2)).await {
            Some(result) => result,
            None => panic!(
                "no response for {id} within the invocation's timeout; output:\n{}",
                self.function.output()
            ),
        }
    }

    async fn invoke(&self, payload: Value) -> Invocation {
        self.invoke_with(payload, INVOKE_TIMEOUT).await
    }

    async fn respond(&self, payload: Value) -> Value {
        match self.invoke(payload).await {
            Invocation::Response(value) => value,
            error => panic!(
                "expected a response, got {error:?}; output:\n{}",
                self.function.output()
            ),
        }
    }

    async fn fail(&self, payload: Value) -> (String, String) {
        match self.invoke(payload).await {
            Invocation::Error {
                error_type,
                error_message,
                raw,
                ..
            } => {
                // What lambda_runtime sends: a JSON Diagnostic.
                assert_eq!(raw["errorType"], json!(error_type));
                (error_type, error_message)
            }
            response => panic!(
                "expected an error, got {response:?}; output:\n{}",
                self.function.output()
            ),
        }
    }

    /// A job in `Created` with its CSV uploaded, and an object naming it.
    fn seed(&self, key: &str) -> ImportJob {
        let job = self.emulator.create_import_job(POOL, "nightly", true);
        self.emulator.put_object(
            BUCKET,
            key,
            "cognito:username\n",
            &[("user-pool-id", POOL), ("job-id", &job.job_id)],
        );
        job
    }

    fn status(&self, job: &ImportJob) -> String {
        self.emulator
            .job(POOL, &job.job_id)
            .map(|j| j.status)
            .unwrap_or_default()
    }

    fn events_of(&self, detail_type: &str) -> Vec<PutEventEntry> {
        self.emulator
            .events()
            .into_iter()
            .filter(|e| e.detail_type == detail_type)
            .collect()
    }

    /// SPEC 5 and 8: no pre-signed URL (the emulator's carry
    /// `X-Amz-Signature`) in anything the function wrote or published.
    fn assert_no_credentials(&self) {
        let output = self.function.output();
        for secret in [
            "X-Amz-Signature",
            "PreSignedUrl",
            SECRET_ACCESS_KEY,
            SESSION_TOKEN,
        ] {
            assert!(
                !output.contains(secret),
                "the logs carry {secret}:\n{output}"
            );
        }
        for event in self.emulator.events() {
            let detail = event.detail.to_string();
            assert!(!detail.contains("PreSignedUrl"), "event detail: {detail}");
            assert!(
                !detail.contains("X-Amz-Signature"),
                "event detail: {detail}"
            );
        }
    }

    /// The JSON log lines whose message is "record outcome", once there are
    /// `expected` of them (the pipe reader may lag the response a little).
    async fn outcome_lines(&self, expected: usize) -> Vec<Value> {
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            let lines: Vec<Value> = json_lines(&self.function.stdout())
                .into_iter()
                .filter(|line| line["fields"]["message"] == "record outcome")
                .collect();
            if lines.len() >= expected || Instant::now() >= until {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Every non-empty stdout line, each of which must be JSON.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"))
        })
        .collect()
}

fn assert_no_presigned_url(value: &Value) {
    let text = value.to_string();
    assert!(
        !text.contains("PreSignedUrl") && !text.contains("X-Amz-Signature"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_notification_starts_the_job_and_a_redelivery_is_already_started() {
    let lambda = Lambda::start(&[]).await;
    let job = lambda.seed("imports/users.csv");
    let event = created("imports/users.csv");

    let response = lambda.respond(event.clone()).await;

    assert_eq!(
        response,
        json!({"Results": [{
            "Outcome": "Started", "Bucket": BUCKET, "Key": "imports/users.csv",
            "UserPoolId": POOL, "JobId": job.job_id, "Status": "Pending"
        }]})
    );
    assert_eq!(lambda.status(&job), "Pending");
    let started = lambda.events_of("User Import Job Started");
    assert_eq!(started.len(), 1, "{:?}", lambda.emulator.events());
    assert_eq!(started[0].source, "cognito-import-starter");
    let detail = &started[0].detail;
    assert_eq!(detail["UserImportJob"]["JobId"], json!(job.job_id));
    assert_eq!(detail["UserImportJob"]["UserPoolId"], POOL);
    assert_eq!(detail["UserImportJob"]["Status"], "Pending");
    assert!(detail["UserImportJob"].get("PreSignedUrl").is_none());
    assert_eq!(detail["Object"]["Bucket"], BUCKET);
    assert_eq!(detail["Object"]["Key"], "imports/users.csv");
    assert_eq!(detail["AlreadyStarted"], json!(false));

    // At-least-once delivery: the same notification again.
    let again = lambda.respond(event).await;

    assert_eq!(again["Results"][0]["Outcome"], "AlreadyStarted");
    assert_eq!(again["Results"][0]["Status"], "Pending");
    let started = lambda.events_of("User Import Job Started");
    assert_eq!(started.len(), 2, "the record's event is emitted again");
    assert_eq!(started[1].detail["AlreadyStarted"], json!(true));
    assert_eq!(lambda.emulator.count("StartUserImportJob"), 2);
    assert_eq!(
        lambda.api.wait_next_calls(3, Duration::from_secs(2)).await,
        3,
        "two invocations, then polling again"
    );
    lambda.assert_no_credentials();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_batch_lists_only_the_throttled_message() {
    let lambda = Lambda::start(&[]).await;
    let good = lambda.seed("good.csv");
    let throttled = lambda.seed("throttled.csv");
    lambda.emulator.inject(
        Fault::new(
            "StartUserImportJob",
            FaultAction::error(400, "TooManyRequestsException"),
        )
        .matching(&throttled.job_id),
    );

    let response = lambda
        .respond(sqs_event(&[
            ("msg-good", created("good.csv")),
            ("msg-throttled", created("throttled.csv")),
        ]))
        .await;

    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "msg-throttled"}]})
    );
    assert_eq!(lambda.status(&good), "Pending");
    assert_eq!(lambda.status(&throttled), "Created");
    let throttled_calls = lambda
        .emulator
        .calls()
        .into_iter()
        .filter(|c| {
            c.operation == "StartUserImportJob" && c.params["JobId"] == json!(throttled.job_id)
        })
        .count();
    assert_eq!(throttled_calls, 2, "AWS_MAX_ATTEMPTS=2 is honoured");
    let started = lambda.events_of("User Import Job Started");
    assert_eq!(started.len(), 1);
    assert_eq!(
        started[0].detail["UserImportJob"]["JobId"],
        json!(good.job_id)
    );
    assert!(lambda.events_of("User Import Job Start Failed").is_empty());
    lambda.assert_no_credentials();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_invocations_answer_the_record_or_a_typed_error() {
    let lambda = Lambda::start(&[]).await;
    let job = lambda.emulator.create_import_job(POOL, "direct", true);

    let response = lambda
        .respond(json!({"UserPoolId": POOL, "JobId": job.job_id}))
        .await;

    assert_eq!(response["AlreadyStarted"], json!(false));
    assert_eq!(response["UserImportJob"]["JobId"], json!(job.job_id));
    assert_eq!(response["UserImportJob"]["UserPoolId"], POOL);
    assert_eq!(response["UserImportJob"]["Status"], "Pending");
    assert!(response.get("Object").is_none());
    assert_no_presigned_url(&response);
    assert_eq!(lambda.status(&job), "Pending");
    let started = lambda.events_of("User Import Job Started");
    assert_eq!(started.len(), 1);
    assert!(started[0].detail.get("Object").is_none());

    let (error_type, message) = lambda
        .fail(json!({"UserPoolId": POOL, "JobId": "import-doesnotexist"}))
        .await;
    assert_eq!(error_type, "ResourceNotFoundException", "{message}");
    assert!(!message.is_empty());

    let (error_type, message) = lambda.fail(json!({"hello": 1})).await;
    assert_eq!(error_type, "UnsupportedEvent", "{message}");

    // The function keeps serving after errors.
    assert_eq!(
        lambda.api.wait_next_calls(4, Duration::from_secs(2)).await,
        4
    );
    lambda.assert_no_credentials();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_without_its_csv_fails_the_invocation_with_csv_not_uploaded() {
    let lambda = Lambda::start(&[]).await;
    let job = lambda.emulator.create_import_job(POOL, "no-csv", false);
    lambda.emulator.put_object(
        BUCKET,
        "early.csv",
        "cognito:username\n",
        &[("user-pool-id", POOL), ("job-id", &job.job_id)],
    );

    let (error_type, message) = lambda.fail(created("early.csv")).await;

    assert_eq!(error_type, "CsvNotUploaded", "{message}");
    assert_eq!(lambda.status(&job), "Created");
    assert!(
        lambda.emulator.events().is_empty(),
        "a retryable failure emits nothing: {:?}",
        lambda.emulator.events()
    );
    lambda.assert_no_credentials();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_variable_stops_init_and_names_the_variable() {
    for (variable, value) in [("MAX_CONCURRENCY", "zero"), ("EMIT_PRESIGNED_URL", "maybe")] {
        let emulator = Emulator::start().await.expect("emulator starts");
        let api = RuntimeApi::start().await.expect("runtime API starts");
        let mut function = Function::spawn(&api, &emulator, &[(variable, value)]);

        let Some(status) = function.exit(Duration::from_secs(10)).await else {
            panic!(
                "{variable}={value}: the function did not exit; output:\n{}",
                function.output()
            );
        };
        function.settle_output().await;

        let output = function.output();
        assert!(!status.success(), "{variable}={value}: exit {status}");
        assert!(
            output.contains(variable),
            "{variable}={value}: the message does not name it:\n{output}"
        );
        assert_eq!(api.next_calls(), 0, "{variable}={value}: init never ended");
        assert!(emulator.calls().is_empty(), "no AWS call at init");
        let Some(body) = api.init_error() else {
            panic!(
                "{variable}={value}: exit {status}, /init/error not posted; output: {}",
                output.trim()
            );
        };
        assert_eq!(body["errorType"], "InvalidConfiguration", "{body}");
        assert!(
            body["errorMessage"]
                .as_str()
                .is_some_and(|m| m.contains(variable)),
            "{variable}={value}: /init/error does not name it: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_cognito_fails_before_the_deadline_with_service_unavailable() {
    let lambda = Lambda::start(&[]).await;
    let job = lambda.seed("hang.csv");
    lambda
        .emulator
        .inject(Fault::new("StartUserImportJob", FaultAction::Hang));
    let timeout = Duration::from_secs(3);

    let enqueued = Instant::now();
    let id = lambda.api.enqueue(created("hang.csv"), timeout);
    let answered = lambda.api.answered_at(&id, timeout * 2).await;

    let Some((result, at)) = answered else {
        panic!(
            "no answer within twice the timeout; output:\n{}",
            lambda.function.output()
        );
    };
    let took = at.duration_since(enqueued);
    eprintln!("hung Cognito: answered after {took:?} of {timeout:?}");
    assert!(took < timeout, "answered after the deadline: {took:?}");
    assert_eq!(
        result.error_type(),
        Some("ServiceUnavailable"),
        "{result:?}"
    );
    assert_eq!(lambda.status(&job), "Created");
    assert!(lambda.emulator.events().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_one_line_per_record_outcome_and_no_credentials() {
    let lambda = Lambda::start(&[]).await;
    let job = lambda.seed("logged.csv");
    lambda
        .emulator
        .put_object(BUCKET, "no-metadata.csv", "cognito:username\n", &[]);

    let response = lambda
        .respond(s3_event(&[
            ("ObjectCreated:Put", "logged.csv"),
            ("ObjectCreated:Put", "no-metadata.csv"),
        ]))
        .await;
    assert_eq!(response["Results"][0]["Outcome"], "Started");
    assert_eq!(response["Results"][1]["Outcome"], "Failed");
    assert_eq!(
        response["Results"][1]["Error"]["Type"],
        "MissingImportMetadata"
    );

    let lines = lambda.outcome_lines(2).await;
    assert_eq!(lines.len(), 2, "one line per record: {lines:#?}");
    let started = &lines[0]["fields"];
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(started["bucket"], BUCKET);
    assert_eq!(started["user_pool_id"], POOL);
    assert_eq!(started["job_id"], json!(job.job_id));
    assert_eq!(started["outcome"], "Started");
    assert_eq!(started["status"], "Pending");
    let failed = &lines[1]["fields"];
    assert_eq!(lines[1]["level"], "WARN");
    assert_eq!(failed["bucket"], BUCKET);
    assert_eq!(failed["outcome"], "Failed");
    assert_eq!(failed["error_type"], "MissingImportMetadata");
    assert_eq!(failed["retryable"], json!(false));

    // Every stdout line is JSON (json_lines panics otherwise).
    assert!(!json_lines(&lambda.function.stdout()).is_empty());
    lambda.assert_no_credentials();
    assert!(lambda.init < INIT_WAIT);

    // The key as S3 and the summary name it, so that a Logs Insights query
    // `filter key = "logged.csv"` finds the line (JSON escapes it already).
    assert_eq!(started["key"], "logged.csv");
    assert_eq!(failed["key"], "no-metadata.csv");
}

/// At `AWS_LAMBDA_LOG_LEVEL=TRACE` the AWS SDK would print every response
/// body (Cognito's `PreSignedUrl` among them) and every signed request; the
/// function holds the SDK at DEBUG, so the logs stay clean (SPEC 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_level_logs_hold_no_presigned_url_and_no_credentials() {
    let lambda = Lambda::start(&[
        ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
    ])
    .await;
    let notified = lambda.seed("traced.csv");
    let direct = lambda.emulator.create_import_job(POOL, "direct", true);

    let summary = lambda.respond(created("traced.csv")).await;
    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    let ids = json!({"UserPoolId": POOL, "JobId": direct.job_id});
    let response = lambda.respond(ids.clone()).await;
    assert_eq!(response["UserImportJob"]["Status"], "Pending", "{response}");
    // A redelivery: DescribeUserImportJob's record, URL included, is read.
    assert_eq!(lambda.respond(ids).await["AlreadyStarted"], json!(true));
    assert_eq!(lambda.status(&notified), "Pending");

    // Not vacuous: the process logged its three outcomes, and at TRACE and
    // DEBUG.
    let outcomes = lambda.outcome_lines(3).await;
    assert_eq!(outcomes.len(), 3, "{outcomes:#?}");
    let lines = json_lines(&lambda.function.stdout());
    for level in ["TRACE", "DEBUG"] {
        assert!(
            lines.iter().any(|line| line["level"] == level),
            "no {level} line in:\n{}",
            lambda.function.output()
        );
    }
    lambda.assert_no_credentials();
}

/// The Lambda binary writes its metrics to stdout as EMF lines,
/// one per record, each valid under the specification; with the namespace
/// empty, none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_writes_its_metrics_to_stdout_as_emf_lines() {
    let lambda = Lambda::start(&[]).await;
    lambda.seed("imports/users.csv");
    lambda.respond(created("imports/users.csv")).await;
    lambda.outcome_lines(1).await;
    lambda.function.settle_output().await;

    let emf: Vec<Value> = json_lines(&lambda.function.stdout())
        .into_iter()
        .filter(|line| line.get("_aws").is_some())
        .map(|line| {
            cis_testkit::emf::check(&line.to_string()).unwrap_or_else(|why| panic!("{why}: {line}"))
        })
        .collect();
    assert_eq!(emf.len(), 1, "{emf:?}");
    assert_eq!(emf[0]["Records"], json!(1));
    assert_eq!(emf[0]["Outcome"], json!("Started"));
    assert_eq!(
        emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        json!("CognitoImportStarter")
    );

    let quiet = Lambda::start(&[("METRICS_NAMESPACE", "")]).await;
    quiet.seed("imports/users.csv");
    quiet.respond(created("imports/users.csv")).await;
    quiet.outcome_lines(1).await;
    quiet.function.settle_output().await;
    assert!(!quiet.function.stdout().contains("\"_aws\""));
}
