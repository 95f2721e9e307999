//! The fault matrix (issue 11, SPEC sections 4-7, 10, 11, 12): every AWS
//! operation the function calls x every class of fault x each trigger
//! family, generated from the tables below, each cell with its own emulator
//! and the real handler over the real SDK.
//!
//! `Track` (direct only) runs on a finished job with a failed and a skipped
//! user, its log lines written, given the source object: the SPEC 12 path,
//! so the Track rows cover `FilterLogEvents`, the source's `GetObject`
//! (If-Match on its ETag) and the two `PutObject`s of the results files as
//! well as `DescribeUserImportJob`, `DescribeUserPool` and `PutEvents`. A
//! Track that fails emits no Completed event; a missing log (named 4xx of
//! `FilterLogEvents`) is an empty log, so the job is not terminal yet; a
//! source gone or changed (404, 412) still emits Completed, with
//! `Results.FilesError` and no files. After the faults are cleared, Track
//! emits Completed with `Results` naming both files, and both exist.
//!
//! The invariant checked in every cell (SPEC section 6, "Nothing is lost"):
//! the record ends with its event accepted by EventBridge, or its delivery
//! fails (S3: the invocation errs; SQS: its message is listed in
//! `batchItemFailures`; direct: the invocation errs with the SPEC
//! `errorType`). Never a success with nothing published; never a permanent
//! outcome for a transient fault. Then the faults are cleared and the same
//! event is delivered once more: it completes, and no job is started twice.
//! Faults the SPEC makes permanent end with their own type and failure event.
//!
//! The observed matrix is written to `tests/results/fault-matrix.md` (before
//! the test fails, if it fails); the test fails at the end listing every
//! cell that broke the invariant.
//!
//! Run with `cargo test -p cognito-import-starter --test fault_matrix`.

#[path = "fault_matrix/queue.rs"]
mod queue;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cis_emulator::{valid_csv, Emulator, Fault, FaultAction, PutEventEntry, DEFAULT_CSV_HEADER};
use cis_testkit::{app_for, s3_event, sqs_event, test_config, BUCKET, POOL};
use cognito_import_starter::{App, Config, ImportError};
use futures_util::stream::{self, StreamExt};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const KEY: &str = "imports/users.csv";
const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";
const MESSAGE_ID: &str = "m-1";
const STARTED: &str = "User Import Job Started";
const START_FAILED: &str = "User Import Job Start Failed";
const COMPLETED: &str = "User Import Job Completed";
/// SDK attempts per call (the first and one retry).
const MAX_ATTEMPTS: u32 = 2;
/// Cells run at once, each with its own emulator.
const PARALLEL_CELLS: usize = 16;

/// The permanent error types of SPEC sections 6 and 10; every other type
/// is retryable.
const PERMANENT: &[&str] = &[
    "UnsupportedEvent",
    "MissingImportMetadata",
    "InvalidImportMetadata",
    "UserPoolNotAllowed",
    "ObjectNotFound",
    "AccessDenied",
    "ResourceNotFoundException",
    "InvalidParameterException",
    "NotAuthorizedException",
    "ImportJobExpired",
    "InvalidCsv",
    "CsvTooLarge",
    "OperationNotEnabledException",
    "LimitExceededException",
];

fn is_permanent(error_type: &str) -> bool {
    PERMANENT.contains(&error_type)
}

// ---- the tables ----

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Trigger {
    S3,
    Sqs,
    Direct,
}

impl Trigger {
    const ALL: [Trigger; 3] = [Trigger::S3, Trigger::Sqs, Trigger::Direct];

    fn title(self) -> &'static str {
        match self {
            Trigger::S3 => "S3 notification (one record; answer: a summary, or an error to be retried)",
            Trigger::Sqs => "SQS batch (one message with one S3 notification; answer: batchItemFailures)",
            Trigger::Direct => "Direct invocation (`{\"Bucket\",\"Key\"}`, `{\"UserPoolId\",\"JobId\"}` for a started job, `{\"Action\":\"Track\",...}`)",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Trigger::S3 => "S3",
            Trigger::Sqs => "SQS",
            Trigger::Direct => "direct",
        }
    }
}

/// What the record is doing when the operation is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// Object metadata names pool and job, the job has its CSV.
    Plain,
    /// As `Plain`, the job already started: `StartUserImportJob` answers
    /// `PreconditionNotMetException` and the function describes the job.
    Started,
    /// Create mode: metadata names only the pool, the body is a valid CSV.
    Create,
    /// As `Create`, the file with bcrypt password hashes and its metadata
    /// naming the algorithm (SPEC section 15): every job created with it.
    CreateHashes,
    /// `{"Action": "Track", ..., "Object"}` on a finished job with a failed
    /// and a skipped user, its log written (direct only): SPEC 11 and 12.
    Track,
}

/// Which shape of error the operation's service sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Svc {
    S3,
    Cognito,
    /// The pre-signed CSV upload (S3-shaped errors).
    Upload,
    EventBridge,
    /// CloudWatch Logs (JSON errors, as Cognito's).
    Logs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Throttling,
    Named4xx,
    Unnamed4xx,
    Forbidden,
    /// S3 412 `PreconditionFailed`: the If-Match ETag no longer matches.
    PreconditionFailed,
    ServerError,
    Hang,
    Drop,
    LostResponse,
    FailedEntry,
    OperationNotEnabled,
    LimitExceeded,
}

const BASE_CLASSES: [Class; 8] = [
    Class::Throttling,
    Class::Named4xx,
    Class::Unnamed4xx,
    Class::Forbidden,
    Class::ServerError,
    Class::Hang,
    Class::Drop,
    Class::LostResponse,
];

impl Class {
    fn column(self) -> &'static str {
        match self {
            Class::Throttling => "throttling",
            Class::Named4xx => "named 4xx",
            Class::Unnamed4xx => "unnamed 4xx",
            Class::Forbidden => "403",
            Class::PreconditionFailed => "412",
            Class::ServerError => "5xx",
            Class::Hang => "hang",
            Class::Drop => "drop",
            Class::LostResponse => "lost response",
            Class::FailedEntry => "failed entry",
            Class::OperationNotEnabled => "OperationNotEnabledException",
            Class::LimitExceeded => "LimitExceededException",
        }
    }
}

struct Row {
    label: &'static str,
    /// The operation as the emulator journals it.
    operation: &'static str,
    scenario: Scenario,
    svc: Svc,
    /// Fault classes beyond [`BASE_CLASSES`].
    extra: &'static [Class],
}

impl Row {
    fn classes(&self) -> Vec<Class> {
        BASE_CLASSES.iter().chain(self.extra).copied().collect()
    }

    fn reached_by(&self, trigger: Trigger) -> bool {
        self.scenario != Scenario::Track || trigger == Trigger::Direct
    }
}

static ROWS: [Row; 22] = [
    Row {
        label: "HeadObject",
        operation: "HeadObject",
        scenario: Scenario::Plain,
        svc: Svc::S3,
        extra: &[],
    },
    Row {
        label: "StartUserImportJob",
        operation: "StartUserImportJob",
        scenario: Scenario::Plain,
        svc: Svc::Cognito,
        extra: &[Class::OperationNotEnabled],
    },
    Row {
        label: "PutEvents",
        operation: "PutEvents",
        scenario: Scenario::Plain,
        svc: Svc::EventBridge,
        extra: &[Class::FailedEntry],
    },
    Row {
        label: "DescribeUserImportJob (job already started)",
        operation: "DescribeUserImportJob",
        scenario: Scenario::Started,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "GetCSVHeader (create mode)",
        operation: "GetCSVHeader",
        scenario: Scenario::Create,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "GetObject (create mode)",
        operation: "GetObject",
        scenario: Scenario::Create,
        svc: Svc::S3,
        extra: &[],
    },
    Row {
        label: "ListUserImportJobs (create mode)",
        operation: "ListUserImportJobs",
        scenario: Scenario::Create,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "CreateUserImportJob (create mode)",
        operation: "CreateUserImportJob",
        scenario: Scenario::Create,
        svc: Svc::Cognito,
        extra: &[Class::OperationNotEnabled, Class::LimitExceeded],
    },
    Row {
        label: "UploadCsv (create mode, pre-signed PUT)",
        operation: "UploadCsv",
        scenario: Scenario::Create,
        svc: Svc::Upload,
        extra: &[],
    },
    Row {
        label: "StartUserImportJob (create mode)",
        operation: "StartUserImportJob",
        scenario: Scenario::Create,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "GetCSVHeader (create mode, password hashes)",
        operation: "GetCSVHeader",
        scenario: Scenario::CreateHashes,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "GetObject (create mode, password hashes)",
        operation: "GetObject",
        scenario: Scenario::CreateHashes,
        svc: Svc::S3,
        extra: &[],
    },
    Row {
        label: "ListUserImportJobs (create mode, password hashes)",
        operation: "ListUserImportJobs",
        scenario: Scenario::CreateHashes,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "CreateUserImportJob (create mode, password hashes)",
        operation: "CreateUserImportJob",
        scenario: Scenario::CreateHashes,
        svc: Svc::Cognito,
        extra: &[Class::OperationNotEnabled, Class::LimitExceeded],
    },
    Row {
        label: "UploadCsv (create mode, password hashes)",
        operation: "UploadCsv",
        scenario: Scenario::CreateHashes,
        svc: Svc::Upload,
        extra: &[],
    },
    Row {
        label: "StartUserImportJob (create mode, password hashes)",
        operation: "StartUserImportJob",
        scenario: Scenario::CreateHashes,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "DescribeUserImportJob (Track)",
        operation: "DescribeUserImportJob",
        scenario: Scenario::Track,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "DescribeUserPool (Track)",
        operation: "DescribeUserPool",
        scenario: Scenario::Track,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "FilterLogEvents (Track results)",
        operation: "FilterLogEvents",
        scenario: Scenario::Track,
        svc: Svc::Logs,
        extra: &[],
    },
    Row {
        label: "GetObject (Track results source)",
        operation: "GetObject",
        scenario: Scenario::Track,
        svc: Svc::S3,
        extra: &[Class::PreconditionFailed],
    },
    Row {
        label: "PutObject (Track results files)",
        operation: "PutObject",
        scenario: Scenario::Track,
        svc: Svc::S3,
        extra: &[],
    },
    Row {
        label: "PutEvents (Track)",
        operation: "PutEvents",
        scenario: Scenario::Track,
        svc: Svc::EventBridge,
        extra: &[Class::FailedEntry],
    },
];

/// The fault injected for a class at the row's operation (every matching
/// request, so the SDK's retries meet it too).
fn action(row: &Row, class: Class) -> FaultAction {
    let svc = row.svc;
    let s3_like = matches!(svc, Svc::S3 | Svc::Upload);
    match class {
        // A PutObject has no key to miss: its bucket is gone.
        Class::Named4xx if row.operation == "PutObject" => FaultAction::error(404, "NoSuchBucket"),
        Class::Named4xx if svc == Svc::Logs => FaultAction::error(400, "ResourceNotFoundException"),
        Class::ServerError if svc == Svc::Logs => {
            FaultAction::error(500, "ServiceUnavailableException")
        }
        Class::PreconditionFailed => FaultAction::error(412, "PreconditionFailed"),
        Class::Hang => FaultAction::Hang,
        Class::Drop => FaultAction::Drop,
        Class::LostResponse => FaultAction::LoseResponse,
        Class::FailedEntry => FaultAction::FailEntries {
            code: "InternalFailure".into(),
        },
        Class::Throttling if s3_like => FaultAction::error(503, "SlowDown"),
        Class::Throttling if svc == Svc::Cognito => {
            FaultAction::error(400, "TooManyRequestsException")
        }
        Class::Throttling => FaultAction::error(400, "ThrottlingException"),
        Class::Named4xx if s3_like => FaultAction::error(404, "NoSuchKey"),
        Class::Named4xx if svc == Svc::Cognito => {
            FaultAction::error(400, "ResourceNotFoundException")
        }
        Class::Named4xx => FaultAction::error(400, "AccessDeniedException"),
        Class::Unnamed4xx => FaultAction::error(400, "SomethingNewException"),
        Class::Forbidden if s3_like => FaultAction::error(403, "AccessDenied"),
        Class::Forbidden => FaultAction::error(403, "AccessDeniedException"),
        Class::ServerError if s3_like => FaultAction::error(500, "InternalError"),
        Class::ServerError if svc == Svc::Cognito => {
            FaultAction::error(500, "InternalErrorException")
        }
        Class::ServerError => FaultAction::error(500, "InternalException"),
        Class::OperationNotEnabled => FaultAction::error(400, "OperationNotEnabledException"),
        Class::LimitExceeded => FaultAction::error(400, "LimitExceededException"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Retryable(&'static str),
    Permanent(&'static str),
    /// Track: the Completed event goes out all the same, its `Results`
    /// with `FilesError` of this type and neither file (SPEC 12: the source
    /// gone or changed).
    FilesError(&'static str),
    /// Track: `"Terminal": false`, nothing emitted (SPEC 12: a log group or
    /// stream that does not exist is an empty log, behind the job's counts
    /// within 5 minutes of its end).
    NotTerminal,
}

/// What the SPEC makes of the fault at the row's operation (sections 6, 10
/// and 12).
fn expect(row: &Row, class: Class) -> Expect {
    let track = row.scenario == Scenario::Track;
    match (row.svc, class) {
        (Svc::Logs, Class::Named4xx) => Expect::NotTerminal,
        (Svc::Logs, Class::Forbidden) => Expect::Permanent("AccessDenied"),
        (Svc::S3, Class::Named4xx | Class::PreconditionFailed)
            if track && row.operation == "GetObject" =>
        {
            Expect::FilesError("ObjectNotFound")
        }
        _ => expect_of(row.svc, class),
    }
}

/// What the SPEC makes of the fault at a service (sections 6 and 10).
fn expect_of(svc: Svc, class: Class) -> Expect {
    match (svc, class) {
        // Any error of PutEvents: the event was not published (SPEC 6).
        (Svc::EventBridge, _) => Expect::Retryable("EventPublishFailed"),
        // "A failed upload is the retryable UploadFailed" (SPEC 10).
        (Svc::Upload, _) => Expect::Retryable("UploadFailed"),
        (Svc::S3, Class::Named4xx) => Expect::Permanent("ObjectNotFound"),
        (Svc::S3, Class::Forbidden) => Expect::Permanent("AccessDenied"),
        (Svc::Cognito, Class::Named4xx) => Expect::Permanent("ResourceNotFoundException"),
        (Svc::Cognito, Class::Forbidden) => Expect::Permanent("AccessDenied"),
        (Svc::Cognito, Class::Throttling) => Expect::Retryable("TooManyRequestsException"),
        (Svc::Cognito, Class::ServerError) => Expect::Retryable("InternalErrorException"),
        (Svc::Cognito, Class::OperationNotEnabled) => {
            Expect::Permanent("OperationNotEnabledException")
        }
        (Svc::Cognito, Class::LimitExceeded) => Expect::Permanent("LimitExceededException"),
        // Throttling and 5xx from S3, unnamed errors, timeouts, connections.
        _ => Expect::Retryable("ServiceUnavailable"),
    }
}

#[derive(Clone, Copy)]
struct Cell {
    trigger: Trigger,
    row: usize,
    class: Class,
    /// A permanent fault whose failure event EventBridge refuses too.
    unpublishable: bool,
}

impl Cell {
    fn row(&self) -> &'static Row {
        &ROWS[self.row]
    }

    fn id(&self) -> String {
        let more = if self.unpublishable {
            " + failure event refused"
        } else {
            ""
        };
        format!(
            "{} / {} / {}{more}",
            self.trigger.name(),
            self.row().label,
            self.class.column()
        )
    }

    fn expect(&self) -> Expect {
        let expected = expect(self.row(), self.class);
        match (self.unpublishable, expected, self.trigger) {
            // The caller holds the error; the unpublished event is logged.
            (true, Expect::Permanent(_), Trigger::Direct) => expected,
            (true, _, _) => Expect::Retryable("EventPublishFailed"),
            (false, _, _) => expected,
        }
    }
}

fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for trigger in Trigger::ALL {
        for (row, r) in ROWS.iter().enumerate() {
            if !r.reached_by(trigger) {
                continue;
            }
            for class in r.classes() {
                cells.push(Cell {
                    trigger,
                    row,
                    class,
                    unpublishable: false,
                });
                // SPEC 6: an unpublished failure event is never a permanent
                // failure of an S3 or SQS delivery, and direct invocations
                // keep their own type. (Track emits no failure event.)
                if matches!(expect(r, class), Expect::Permanent(_)) && r.scenario != Scenario::Track
                {
                    cells.push(Cell {
                        trigger,
                        row,
                        class,
                        unpublishable: true,
                    });
                }
            }
        }
    }
    cells
}

// ---- one cell's world ----

fn matrix_config(scenario: Scenario) -> Config {
    let mut config = test_config();
    config.timeouts.connect = Duration::from_millis(250);
    config.timeouts.attempt = Duration::from_millis(400);
    config.timeouts.operation = Duration::from_millis(1200);
    config.timeouts.upload = Duration::from_millis(1200);
    if scenario.is_create() {
        config.cloudwatch_logs_role_arn = Some(ROLE.to_string());
    }
    config
}

struct World {
    emulator: Emulator,
    app: App,
    payload: Value,
    scenario: Scenario,
    /// Track: the finished job and what its results files must hold.
    track: Option<TrackSeed>,
}

/// The job a Track cell follows.
struct TrackSeed {
    job_id: String,
    /// `failed.csv` as SPEC 12 has it: the header and the failed row.
    failed_csv: String,
}

/// The users of the Track job: `jdoe` exists already (`[SKIPPED]`), `pchen`
/// has a malformed email (`[FAILED]`), the others are imported.
const TRACK_USERS: [&str; 4] = ["alice", "jdoe", "pchen", "bob"];
const TRACK_FAILED: &str = "pchen";
const BROKEN_EMAIL: &str = "not-an-email";

/// The Track job's source: `valid_csv` with the failing user's email broken.
fn track_source() -> String {
    valid_csv(&TRACK_USERS).replace(&format!("{TRACK_FAILED}@example.com"), BROKEN_EMAIL)
}

/// Seeds a finished job run over [`track_source`] as Cognito runs it (its
/// log lines written), and the source object in the drop bucket. Returns
/// the seed and the Started event's `Object` for it (the ETag unquoted, as
/// S3 notifications and the Started event carry it).
fn seed_track(emulator: &Emulator) -> (TrackSeed, Value) {
    emulator.create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    emulator.add_user(POOL, "jdoe");
    let source = track_source();
    let job = emulator.create_import_job(POOL, "nightly", true);
    // Section 4's path: the object's metadata names the job, which Track
    // checks before it reads the object (SPEC section 16).
    let stored = emulator.put_object(
        BUCKET,
        KEY,
        source.as_str(),
        &[("user-pool-id", POOL), ("job-id", &job.job_id)],
    );
    emulator.set_job_csv(POOL, &job.job_id, source.as_str());
    emulator.set_job_status(POOL, &job.job_id, "Pending");
    let run = emulator
        .run_import_job(POOL, &job.job_id)
        .expect("the Track job runs");
    assert_eq!(
        (
            run.job.imported_users,
            run.job.skipped_users,
            run.job.failed_users
        ),
        (2, 1, 1),
        "the Track job's outcome: {:?}",
        run.lines
    );
    let lines: Vec<&str> = source.split_inclusive('\n').collect();
    let failed_row = lines
        .iter()
        .find(|l| l.contains(BROKEN_EMAIL))
        .expect("the failing row");
    let object = json!({
        "Bucket": BUCKET,
        "Key": KEY,
        "ETag": stored.etag.trim_matches('"'),
    });
    let seed = TrackSeed {
        job_id: job.job_id,
        failed_csv: format!("{}{failed_row}", lines[0]),
    };
    (seed, object)
}

impl Scenario {
    fn is_create(self) -> bool {
        matches!(self, Scenario::Create | Scenario::CreateHashes)
    }
}

/// `valid_csv` of two users with a `password_hash` column: one bcrypt hash,
/// one empty.
fn csv_with_hashes() -> String {
    const BCRYPT: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
    let mut lines: Vec<String> = valid_csv(&["alice", "bob"])
        .lines()
        .map(str::to_string)
        .collect();
    lines[0].push_str(",password_hash");
    lines[1].push_str(&format!(",{BCRYPT}"));
    lines[2].push(',');
    lines.join("\n") + "\n"
}

/// SPEC section 15 under faults: every job is created with the algorithm,
/// and every Started event says what its users' hashes are.
fn check_hashes(w: &World, violations: &mut Vec<String>) {
    for call in w.emulator.calls() {
        if call.operation == "CreateUserImportJob"
            && call.params["PasswordHashingAlgorithm"] != "BCRYPT"
        {
            violations.push("a job created without the password hashing algorithm".into());
        }
    }
    let expected = json!({"Algorithm": "BCRYPT", "Hashes": 1, "Empty": 1});
    for event in of_type(&w.emulator.events(), STARTED) {
        if event.detail["Passwords"] != expected {
            violations.push(format!("Started without Passwords: {}", event.detail));
        }
    }
}

/// Seeds the emulator for the scenario and builds the trigger's payload.
async fn world(scenario: Scenario, trigger: Trigger, config: Config) -> World {
    let emulator = Emulator::start().await.expect("emulator starts");
    let app = app_for(&emulator, config, MAX_ATTEMPTS).await;
    let mut job_id = None;
    let mut track = None;
    let mut object = Value::Null;
    match scenario {
        Scenario::Plain | Scenario::Started => {
            let job = emulator.create_import_job(POOL, "nightly", true);
            emulator.put_object(
                BUCKET,
                KEY,
                "cognito:username\n",
                &[("user-pool-id", POOL), ("job-id", &job.job_id)],
            );
            if scenario == Scenario::Started {
                emulator.set_job_status(POOL, &job.job_id, "Pending");
            }
            job_id = Some(job.job_id);
        }
        Scenario::Create => {
            emulator.create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
            emulator.put_object(
                BUCKET,
                KEY,
                valid_csv(&["alice", "bob"]),
                &[("user-pool-id", POOL)],
            );
        }
        Scenario::CreateHashes => {
            emulator.create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
            emulator.put_object(
                BUCKET,
                KEY,
                csv_with_hashes(),
                &[
                    ("user-pool-id", POOL),
                    ("password-hashing-algorithm", "bcrypt"),
                ],
            );
        }
        Scenario::Track => {
            let (seed, source) = seed_track(&emulator);
            job_id = Some(seed.job_id.clone());
            track = Some(seed);
            object = source;
        }
    }
    let notification = s3_event(&[("ObjectCreated:Put", KEY)]);
    let payload = match (trigger, scenario) {
        (_, Scenario::Track) => json!({
            "Action": "Track",
            "UserPoolId": POOL,
            "JobId": job_id.unwrap(),
            "Object": object,
        }),
        (Trigger::S3, _) => notification,
        (Trigger::Sqs, _) => sqs_event(&[(MESSAGE_ID, notification)]),
        (Trigger::Direct, Scenario::Started) => {
            json!({"UserPoolId": POOL, "JobId": job_id.unwrap()})
        }
        (Trigger::Direct, _) => json!({"Bucket": BUCKET, "Key": KEY}),
    };
    World {
        emulator,
        app,
        payload,
        scenario,
        track,
    }
}

async fn invoke(app: &App, payload: &Value, context: Context) -> Result<Value, ImportError> {
    app.handle(LambdaEvent::new(payload.clone(), context)).await
}

fn of_type(events: &[PutEventEntry], detail_type: &str) -> Vec<PutEventEntry> {
    events
        .iter()
        .filter(|e| e.detail_type == detail_type)
        .cloned()
        .collect()
}

/// How one delivery ended, as its trigger reports it.
#[derive(Debug)]
enum Ended {
    /// Completed: `Started`, `AlreadyStarted`, or `Completed` (Track).
    Success(String),
    /// The delivery fails, so that it comes again: the error type when the
    /// trigger shows one (not for a listed SQS message).
    Retry(Option<String>),
    /// A permanent failure, answered or reported.
    Permanent(String),
    /// Track answered `"Terminal": false`: the caller polls again.
    NotYet,
}

/// Reads a delivery's answer. `events` are the events accepted during it.
/// `Err` for an answer the trigger must never give.
fn ended(
    trigger: Trigger,
    scenario: Scenario,
    result: &Result<Value, ImportError>,
    events: &[PutEventEntry],
) -> Result<Ended, String> {
    let error_type = |e: &ImportError| e.error_type().to_string();
    match (trigger, result) {
        (Trigger::Direct, Err(e)) if is_permanent(e.error_type()) => {
            Ok(Ended::Permanent(error_type(e)))
        }
        (Trigger::Direct | Trigger::S3, Err(e)) => Ok(Ended::Retry(Some(error_type(e)))),
        (Trigger::Sqs, Err(e)) => Err(format!(
            "the whole batch failed ({}) instead of listing its message",
            e.error_type()
        )),
        (Trigger::Direct, Ok(v)) if scenario == Scenario::Track => match v["Terminal"].as_bool() {
            Some(true) => Ok(Ended::Success("Completed".into())),
            Some(false) => Ok(Ended::NotYet),
            None => Err(format!("Track answered Terminal={}", v["Terminal"])),
        },
        (Trigger::Direct, Ok(v)) => match v["AlreadyStarted"].as_bool() {
            Some(true) => Ok(Ended::Success("AlreadyStarted".into())),
            Some(false) => Ok(Ended::Success("Started".into())),
            None => Err("a direct answer without AlreadyStarted".to_string()),
        },
        (Trigger::S3, Ok(v)) => {
            let result = &v["Results"][0];
            match result["Outcome"].as_str() {
                Some(o @ ("Started" | "AlreadyStarted")) => Ok(Ended::Success(o.into())),
                Some("Failed") => {
                    let t = result["Error"]["Type"].as_str().unwrap_or("?").to_string();
                    if is_permanent(&t) {
                        Ok(Ended::Permanent(t))
                    } else {
                        Err(format!(
                            "summary answered with a retryable failure {t}: lost"
                        ))
                    }
                }
                _ => Err(format!("unexpected summary outcome {}", result["Outcome"])),
            }
        }
        (Trigger::Sqs, Ok(v)) => {
            let Some(failures) = v["batchItemFailures"].as_array() else {
                return Err("not a batch response".to_string());
            };
            if failures
                .iter()
                .any(|f| f["itemIdentifier"] == json!(MESSAGE_ID))
            {
                return Ok(Ended::Retry(None));
            }
            if !failures.is_empty() {
                return Err("an unknown itemIdentifier in batchItemFailures".to_string());
            }
            // Not listed: its event says how it ended.
            if let Some(failed) = of_type(events, START_FAILED).last() {
                let t = failed.detail["Error"]["Type"].as_str().unwrap_or("?");
                return Ok(Ended::Permanent(t.to_string()));
            }
            match of_type(events, STARTED).last() {
                Some(e) if e.detail["AlreadyStarted"] == json!(true) => {
                    Ok(Ended::Success("AlreadyStarted".into()))
                }
                Some(_) => Ok(Ended::Success("Started".into())),
                None => Err("message not listed and nothing published: lost".into()),
            }
        }
    }
}

/// The event a completed delivery must have had accepted.
fn success_event(scenario: Scenario) -> &'static str {
    if scenario == Scenario::Track {
        COMPLETED
    } else {
        STARTED
    }
}

/// No job started twice: jobs past `Created` and, in create mode, which
/// jobs of the derived name got the CSV. `must_be_started`: after the
/// redelivery exactly one (Track: the finished job, untouched).
fn check_jobs(w: &World, must_be_started: bool, violations: &mut Vec<String>) {
    let jobs = w.emulator.jobs();
    let started: Vec<_> = jobs.iter().filter(|j| j.status != "Created").collect();
    if started.len() > 1 {
        violations.push(format!("{} jobs started", started.len()));
    }
    if must_be_started && started.len() != 1 {
        violations.push(format!(
            "{} jobs started after the redelivery",
            started.len()
        ));
    }
    if w.scenario == Scenario::Track && jobs.iter().any(|j| j.status != "Succeeded") {
        violations.push("Track changed a job's status".into());
    }
    if w.scenario == Scenario::CreateHashes {
        check_hashes(w, violations);
    }
    if w.scenario.is_create() {
        let mut names: Vec<&str> = jobs.iter().map(|j| j.job_name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        if names.len() > 1 {
            violations.push(format!("jobs of several names: {names:?}"));
        }
        let uploaded: Vec<_> = jobs
            .iter()
            .filter(|j| w.emulator.uploaded_csv(&j.pool_id, &j.job_id).is_some())
            .collect();
        if uploaded.len() > 1 {
            violations.push(format!("{} jobs of that name got the CSV", uploaded.len()));
        }
        if let Some(job) = started.first() {
            if !uploaded.iter().any(|u| u.job_id == job.job_id) {
                violations.push("the started job never got the CSV".into());
            }
        }
    }
    let fresh = fresh_announcements(&of_type(&w.emulator.events(), STARTED));
    if fresh > 1 {
        violations.push(format!(
            "{fresh} different Started events with AlreadyStarted=false"
        ));
    }
}

/// Distinct `AlreadyStarted: false` announcements. The same entry accepted
/// twice (a `PutEvents` whose response was lost, sent again by the SDK) is
/// one announcement delivered twice, which consumers dedupe; two different
/// ones would mean two starts.
fn fresh_announcements<'a>(events: impl IntoIterator<Item = &'a PutEventEntry>) -> usize {
    let mut details: Vec<String> = events
        .into_iter()
        .filter(|e| e.detail["AlreadyStarted"] == json!(false))
        .map(|e| e.detail.to_string())
        .collect();
    details.sort_unstable();
    details.dedup();
    details.len()
}

struct CellReport {
    key: (Trigger, usize, Class, bool),
    text: String,
    violations: Vec<String>,
}

/// The Completed events among `events`, their `Results`.
fn completed_results(events: &[PutEventEntry]) -> Vec<Value> {
    of_type(events, COMPLETED)
        .into_iter()
        .map(|e| e.detail["Results"].clone())
        .collect()
}

/// `results/<job id>/failed.csv` and `report.csv`.
fn result_keys(seed: &TrackSeed) -> (String, String) {
    let prefix = format!("results/{}/", seed.job_id);
    (format!("{prefix}failed.csv"), format!("{prefix}report.csv"))
}

/// A Completed event whose source was gone or changed: `Results` with
/// `FilesError` of type `expected`, neither file named nor written.
fn check_files_error(
    w: &World,
    events: &[PutEventEntry],
    expected: &str,
    violations: &mut Vec<String>,
) {
    let Some(seed) = &w.track else { return };
    let Some(results) = completed_results(events).pop() else {
        return; // "nothing published" is reported by the caller
    };
    if results["FilesError"]["Type"] != json!(expected) {
        violations.push(format!(
            "Completed without FilesError {expected}: FilesError={}",
            results["FilesError"]
        ));
    }
    if results.get("FailedRows").is_some() || results.get("Report").is_some() {
        violations.push("FilesError and yet FailedRows/Report named".into());
    }
    if results["Failed"] != json!(1) || results["Skipped"] != json!(1) {
        violations.push(format!(
            "Results counts {}/{}, the log says 1 failed, 1 skipped",
            results["Failed"], results["Skipped"]
        ));
    }
    let (failed, report) = result_keys(seed);
    for key in [failed, report] {
        if w.emulator.object(BUCKET, &key).is_some() {
            violations.push(format!("{key} written though the source was gone"));
        }
    }
}

/// After the faults are cleared: the Completed event's `Results` names both
/// files, both exist, `failed.csv` holds the header and the failed row.
fn check_files_written(w: &World, events: &[PutEventEntry], violations: &mut Vec<String>) {
    let Some(seed) = &w.track else { return };
    let Some(results) = completed_results(events).pop() else {
        return; // "nothing published" is reported by the caller
    };
    let (failed, report) = result_keys(seed);
    let expected = json!({
        "Failed": 1,
        "Skipped": 1,
        "Complete": true,
        "FailedRows": {"Bucket": BUCKET, "Key": failed.clone()},
        "Report": {"Bucket": BUCKET, "Key": report.clone()},
    });
    for field in ["Failed", "Skipped", "Complete", "FailedRows", "Report"] {
        if results[field] != expected[field] {
            violations.push(format!(
                "redelivery: Results.{field} is {}, not {}",
                results[field], expected[field]
            ));
        }
    }
    if results.get("FilesError").is_some() {
        violations.push(format!("redelivery: FilesError {}", results["FilesError"]));
    }
    match w.emulator.object(BUCKET, &failed) {
        None => violations.push(format!("redelivery: {failed} not written")),
        Some(object) if object.body != seed.failed_csv.as_bytes() => violations.push(format!(
            "redelivery: {failed} is not the header and the failed row: {:?}",
            String::from_utf8_lossy(&object.body)
        )),
        Some(_) => {}
    }
    if w.emulator.object(BUCKET, &report).is_none() {
        violations.push(format!("redelivery: {report} not written"));
    }
}

async fn run_cell(cell: Cell) -> CellReport {
    let row = cell.row();
    let track = row.scenario == Scenario::Track;
    let w = world(row.scenario, cell.trigger, matrix_config(row.scenario)).await;
    let expected = cell.expect();
    let mut violations = Vec::new();

    let calls_before = w.emulator.count(row.operation);
    w.emulator
        .inject(Fault::new(row.operation, action(row, cell.class)));
    if cell.unpublishable {
        w.emulator.inject(Fault::new(
            "PutEvents",
            FaultAction::FailEntries {
                code: "InternalFailure".into(),
            },
        ));
    }
    let first = invoke(&w.app, &w.payload, Context::default()).await;
    let events = w.emulator.events();
    if w.emulator.count(row.operation) == calls_before {
        violations.push(format!(
            "the fault was never reached: no {} call",
            row.operation
        ));
    }

    let first_text = match ended(cell.trigger, row.scenario, &first, &events) {
        Err(broken) => {
            violations.push(broken.clone());
            format!("✗ {broken}")
        }
        Ok(end) => {
            let failure_events = of_type(&events, START_FAILED);
            if matches!(expected, Expect::Retryable(_)) && !failure_events.is_empty() {
                violations.push(format!(
                    "a failure event ({}) for a transient fault",
                    failure_events[0].detail["Error"]["Type"]
                ));
            }
            // SPEC 12: a Track that does not complete emits nothing. A
            // `PutEvents` whose response was lost did get its event in.
            let emitted = !of_type(&events, COMPLETED).is_empty();
            let lost_put = row.operation == "PutEvents" && cell.class == Class::LostResponse;
            if track && !matches!(end, Ended::Success(_)) && emitted && !lost_put {
                violations.push("a Completed event though Track did not complete".into());
            }
            match (&end, expected) {
                (Ended::Success(outcome), Expect::Permanent(x)) => violations.push(format!(
                    "succeeded ({outcome}) though the fault is permanent ({x})"
                )),
                (Ended::Success(outcome), Expect::NotTerminal) => violations.push(format!(
                    "{outcome} though the log is missing within 5 minutes of the end \
                     (SPEC 12: Terminal false, nothing emitted)"
                )),
                (Ended::Success(outcome), Expect::Retryable(x)) if track => {
                    violations.push(format!(
                        "{outcome} under a transient fault (SPEC 12: Track fails retryably, {x})"
                    ))
                }
                (Ended::Success(outcome), _) => {
                    if of_type(&events, success_event(row.scenario)).is_empty() {
                        violations.push(format!("success ({outcome}) with nothing published"));
                    }
                    if let Expect::FilesError(x) = expected {
                        check_files_error(&w, &events, x, &mut violations);
                    }
                }
                (Ended::Retry(t), Expect::Permanent(x)) => violations.push(format!(
                    "failed retryably ({}) though the SPEC makes it the permanent {x}",
                    t.as_deref().unwrap_or("listed")
                )),
                (Ended::Retry(Some(t)), Expect::Retryable(x)) if t != x => {
                    violations.push(format!("retryable {t}, the SPEC says {x}"))
                }
                (Ended::Retry(_), Expect::Retryable(_)) => {}
                (Ended::Permanent(t), Expect::Retryable(x)) => violations.push(format!(
                    "a permanent {t} for a transient fault (the SPEC says retryable {x})"
                )),
                (Ended::Permanent(t), Expect::Permanent(x)) => {
                    if t != x {
                        violations.push(format!("permanent {t}, the SPEC says {x}"));
                    }
                    let published = failure_events
                        .iter()
                        .any(|e| e.detail["Error"]["Type"] == json!(t));
                    if !track && !cell.unpublishable && !published {
                        violations.push(format!("no failure event for the permanent {t}"));
                    }
                }
                (Ended::NotYet, Expect::NotTerminal) => {}
                (Ended::Retry(t), Expect::FilesError(x)) => violations.push(format!(
                    "failed retryably ({}) though the SPEC emits Completed with FilesError {x}",
                    t.as_deref().unwrap_or("listed")
                )),
                (Ended::Permanent(t), Expect::FilesError(x)) => violations.push(format!(
                    "a permanent {t} though the SPEC emits Completed with FilesError {x}"
                )),
                (Ended::Retry(t), Expect::NotTerminal) => violations.push(format!(
                    "failed retryably ({}) though a missing log is an empty one \
                     (SPEC 12: Terminal false)",
                    t.as_deref().unwrap_or("listed")
                )),
                (Ended::Permanent(t), Expect::NotTerminal) => violations.push(format!(
                    "a permanent {t} though a missing log is an empty one (SPEC 12: Terminal false)"
                )),
                (Ended::NotYet, _) => {
                    violations.push(format!("Terminal false, the SPEC says {expected:?}"))
                }
            }
            match &end {
                Ended::Success(o) => match expected {
                    Expect::FilesError(_) if track => {
                        let error = completed_results(&events)
                            .pop()
                            .and_then(|r| r["FilesError"]["Type"].as_str().map(str::to_string))
                            .unwrap_or_else(|| "none".into());
                        format!("{o}, FilesError {error}")
                    }
                    _ => o.clone(),
                },
                Ended::Retry(Some(t)) => t.clone(),
                Ended::Retry(None) => "listed".into(),
                Ended::NotYet => "Terminal false, nothing emitted".into(),
                Ended::Permanent(t) if track => format!("{t} (permanent)"),
                Ended::Permanent(t) if cell.unpublishable => {
                    format!("{t} (permanent, event refused)")
                }
                Ended::Permanent(t) => format!("{t} (permanent, event)"),
            }
        }
    };
    check_jobs(&w, false, &mut violations);

    // The same event once more, without faults.
    w.emulator.clear_faults();
    let mark = w.emulator.events().len();
    let again = invoke(&w.app, &w.payload, Context::default()).await;
    let new_events: Vec<PutEventEntry> = w.emulator.events().split_off(mark);
    let again_text = match ended(cell.trigger, row.scenario, &again, &new_events) {
        Ok(Ended::Success(outcome)) => {
            if of_type(&new_events, success_event(row.scenario)).is_empty() {
                violations.push(format!("redelivery: {outcome} with nothing published"));
            }
            if track {
                check_files_written(&w, &new_events, &mut violations);
                format!("{outcome} + files")
            } else {
                outcome
            }
        }
        Ok(other) => {
            violations.push(format!(
                "redelivery without faults did not complete: {other:?}"
            ));
            format!("✗ {other:?}")
        }
        Err(broken) => {
            violations.push(format!("redelivery: {broken}"));
            format!("✗ {broken}")
        }
    };
    if !of_type(&new_events, START_FAILED).is_empty() {
        violations.push("redelivery without faults published a failure event".into());
    }
    check_jobs(&w, true, &mut violations);
    let mut seen = std::collections::BTreeSet::new();
    violations.retain(|v| seen.insert(v.clone()));

    let arrow = match first_text.as_str() {
        t if t.starts_with("Started") || t.starts_with("AlreadyStarted") => "again",
        t if t.starts_with("Completed") => "again",
        t if t.contains("permanent") => "again",
        t if t.starts_with("Terminal false") => "polled again",
        _ => "retried",
    };
    let mark = if violations.is_empty() { "" } else { "✗ " };
    CellReport {
        key: (cell.trigger, cell.row, cell.class, cell.unpublishable),
        text: format!("{mark}{first_text}, {arrow} → {again_text}"),
        violations,
    }
}

fn when(late: Option<Duration>) -> &'static str {
    if late.is_some() {
        "answered after the deadline"
    } else {
        "answered before the deadline"
    }
}

/// A delivery's answer without its random IDs, for the report.
fn brief(result: &Result<Value, ImportError>) -> String {
    match result {
        Err(e) => format!("error {}", e.error_type()),
        Ok(v) => {
            if let Some(failures) = v["batchItemFailures"].as_array() {
                format!("{} message(s) listed", failures.len())
            } else if let Some(results) = v["Results"].as_array() {
                let outcomes: Vec<&str> = results
                    .iter()
                    .map(|r| r["Outcome"].as_str().unwrap_or("?"))
                    .collect();
                format!("a summary {outcomes:?}")
            } else {
                "a success".to_string()
            }
        }
    }
}

// ---- deadline cells ----

/// A context whose deadline is `ms` milliseconds ahead.
fn context_with_deadline(ms: u64) -> (Context, Instant) {
    let mut context = Context::default();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    context.deadline = (now + Duration::from_millis(ms)).as_millis() as u64;
    (context, Instant::now() + Duration::from_millis(ms))
}

/// SDK timeouts longer than the deadline: only the deadline can end it.
fn deadline_config(max_concurrency: usize) -> Config {
    let mut config = test_config();
    config.max_concurrency = max_concurrency;
    config.timeouts.connect = Duration::from_secs(2);
    config.timeouts.attempt = Duration::from_secs(3);
    config.timeouts.operation = Duration::from_secs(5);
    config
}

struct DeadlineReport {
    label: &'static str,
    text: String,
    violations: Vec<String>,
}

const DEADLINE_RECORDS: usize = 5;
const DEADLINE_MS: u64 = 2000;
const START_DELAY: Duration = Duration::from_millis(600);

fn deadline_key(i: usize) -> String {
    format!("deadline/users-{i}.csv")
}

/// Every seeded job started once and announced.
fn check_all_started(emulator: &Emulator, violations: &mut Vec<String>) {
    let started = of_type(&emulator.events(), STARTED);
    // Jobs are named by their position (seeded in record order): their
    // IDs are random and the report is deterministic.
    for (i, job) in emulator.jobs().into_iter().enumerate() {
        if job.status == "Created" {
            violations.push(format!("redelivery: the job of record {i} never started"));
            continue;
        }
        let of_job: Vec<_> = started
            .iter()
            .filter(|e| e.detail["UserImportJob"]["JobId"] == json!(job.job_id))
            .collect();
        if of_job.is_empty() {
            violations.push(format!(
                "the job of record {i} started without a Started event"
            ));
        }
        let fresh = fresh_announcements(of_job.iter().copied());
        if fresh > 1 {
            violations.push(format!(
                "the job of record {i} announced as started {fresh} times"
            ));
        }
    }
}

/// 5 records, MAX_CONCURRENCY=1, each start delayed: not all fit before
/// the deadline. `sqs`: one message per record.
async fn deadline_batch(sqs: bool) -> DeadlineReport {
    let label = if sqs {
        "SQS, 5 messages, MAX_CONCURRENCY=1, StartUserImportJob delayed 600 ms, deadline in 2 s"
    } else {
        "S3, 5 records, MAX_CONCURRENCY=1, StartUserImportJob delayed 600 ms, deadline in 2 s"
    };
    let emulator = Emulator::start().await.expect("emulator starts");
    let app = app_for(&emulator, deadline_config(1), MAX_ATTEMPTS).await;
    let keys: Vec<String> = (0..DEADLINE_RECORDS).map(deadline_key).collect();
    for key in &keys {
        let job = emulator.create_import_job(POOL, "nightly", true);
        emulator.put_object(
            BUCKET,
            key,
            "cognito:username\n",
            &[("user-pool-id", POOL), ("job-id", &job.job_id)],
        );
    }
    let records: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| ("ObjectCreated:Put", k.as_str()))
        .collect();
    let ids: Vec<String> = (0..DEADLINE_RECORDS).map(|i| format!("m-{i}")).collect();
    let messages: Vec<(&str, Value)> = ids
        .iter()
        .zip(&keys)
        .map(|(id, k)| (id.as_str(), s3_event(&[("ObjectCreated:Put", k.as_str())])))
        .collect();
    let payload = if sqs {
        sqs_event(&messages)
    } else {
        s3_event(&records)
    };
    emulator.inject(Fault::new(
        "StartUserImportJob",
        FaultAction::Delay(START_DELAY),
    ));

    let mut violations = Vec::new();
    let (context, deadline) = context_with_deadline(DEADLINE_MS);
    let first = invoke(&app, &payload, context).await;
    let late = Instant::now().checked_duration_since(deadline);
    if let Some(late) = late {
        eprintln!("{label}: answered {late:?} after the deadline");
        violations.push("answered after the deadline".into());
    }
    let first_text;
    let mut redeliver = Some(payload.clone());
    if sqs {
        match &first {
            Ok(v) => {
                let listed: Vec<String> = v["batchItemFailures"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                if listed.is_empty() {
                    violations.push("nothing listed though not all records fit".into());
                }
                // Every message not listed has its Started event out.
                let started = of_type(&emulator.events(), STARTED);
                for (id, key) in ids.iter().zip(&keys) {
                    let announced = started
                        .iter()
                        .any(|e| e.detail["Object"]["Key"] == json!(key));
                    if !listed.contains(id) && !announced {
                        violations.push(format!("{id} not listed and nothing published: lost"));
                    }
                }
                let again: Vec<(&str, Value)> = messages
                    .iter()
                    .filter(|(id, _)| listed.iter().any(|l| l == id))
                    .cloned()
                    .collect();
                // Nothing listed: nothing comes again.
                redeliver = (!again.is_empty()).then(|| sqs_event(&again));
                first_text = "unfinished messages listed".to_string();
            }
            Err(e) => {
                violations.push(format!("the whole batch failed ({})", e.error_type()));
                first_text = format!("✗ batch failed {}", e.error_type());
            }
        }
    } else {
        match &first {
            Err(e) if e.error_type() == "ServiceUnavailable" => {
                first_text = "ServiceUnavailable".to_string()
            }
            Err(e) => {
                violations.push(format!(
                    "unfinished records failed as {}, not ServiceUnavailable",
                    e.error_type()
                ));
                first_text = format!("✗ {}", e.error_type());
            }
            Ok(v) => {
                let outcomes: Vec<&str> = v["Results"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .map(|x| x["Outcome"].as_str().unwrap_or("?"))
                            .collect()
                    })
                    .unwrap_or_default();
                violations.push(format!(
                    "a summary though not all records fit: {outcomes:?}"
                ));
                first_text = "✗ summary".to_string();
            }
        }
    }
    let failure_events = of_type(&emulator.events(), START_FAILED);
    if !failure_events.is_empty() {
        violations.push("a failure event for a record the deadline ended".into());
    }

    emulator.clear_faults();
    let again = match &redeliver {
        Some(payload) => invoke(&app, payload, Context::default()).await,
        None => Ok(json!({"batchItemFailures": []})),
    };
    let again_ok = match (&again, sqs) {
        (Ok(v), true) => v["batchItemFailures"].as_array().is_some_and(Vec::is_empty),
        (Ok(v), false) => v["Results"].as_array().is_some_and(|r| {
            r.len() == DEADLINE_RECORDS
                && r.iter()
                    .all(|x| matches!(x["Outcome"].as_str(), Some("Started" | "AlreadyStarted")))
        }),
        (Err(_), _) => false,
    };
    if !again_ok {
        violations.push(format!("redelivery did not complete: {}", brief(&again)));
    }
    check_all_started(&emulator, &mut violations);
    let mark = if violations.is_empty() { "" } else { "✗ " };
    let what = if sqs {
        "the listed messages"
    } else {
        "the event"
    };
    DeadlineReport {
        label,
        text: format!(
            "{mark}{}: {first_text}; {what} redelivered → all 5 started once and announced",
            when(late)
        ),
        violations,
    }
}

/// One record whose call hangs, SDK timeouts longer than the deadline.
async fn deadline_hang(track: bool) -> DeadlineReport {
    let label = if track {
        "direct Track, DescribeUserImportJob hangs, SDK timeouts 3 s/5 s, deadline in 1.5 s"
    } else {
        "direct `{\"Bucket\",\"Key\"}`, StartUserImportJob hangs, SDK timeouts 3 s/5 s, deadline in 1.5 s"
    };
    let emulator = Emulator::start().await.expect("emulator starts");
    let app = app_for(&emulator, deadline_config(10), MAX_ATTEMPTS).await;
    let job = emulator.create_import_job(POOL, "nightly", true);
    let payload = if track {
        emulator.create_user_pool(POOL, "customers", &[]);
        emulator.finish_job(POOL, &job.job_id, "Succeeded", 2, 0, 0, "done");
        emulator.inject(Fault::new("DescribeUserImportJob", FaultAction::Hang));
        json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id})
    } else {
        emulator.put_object(
            BUCKET,
            KEY,
            "cognito:username\n",
            &[("user-pool-id", POOL), ("job-id", &job.job_id)],
        );
        emulator.inject(Fault::new("StartUserImportJob", FaultAction::Hang));
        json!({"Bucket": BUCKET, "Key": KEY})
    };

    let mut violations = Vec::new();
    let (context, deadline) = context_with_deadline(1500);
    let first = invoke(&app, &payload, context).await;
    let late = Instant::now().checked_duration_since(deadline);
    if let Some(late) = late {
        eprintln!("{label}: answered {late:?} after the deadline");
        violations.push("answered after the deadline".into());
    }
    let first_text = match &first {
        Err(e) if !is_permanent(e.error_type()) => e.error_type().to_string(),
        Err(e) => {
            violations.push(format!("a permanent {} for a hang", e.error_type()));
            format!("✗ {}", e.error_type())
        }
        Ok(v) => {
            violations.push(format!("answered {} though the call hung", brief(&first)));
            let _ = v;
            "✗ success".to_string()
        }
    };
    if track && !of_type(&emulator.events(), COMPLETED).is_empty() {
        violations.push("a Completed event though Track failed".into());
    }

    emulator.clear_faults();
    let again = invoke(&app, &payload, Context::default()).await;
    let ok = match &again {
        Ok(v) if track => v["Terminal"] == json!(true),
        Ok(v) => v["UserImportJob"]["Status"].is_string(),
        Err(_) => false,
    };
    if !ok {
        violations.push(format!("redelivery did not complete: {}", brief(&again)));
    }
    let outcome = if track {
        if of_type(&emulator.events(), COMPLETED).is_empty() {
            violations.push("redelivery published no Completed event".into());
        }
        "Completed"
    } else {
        check_all_started(&emulator, &mut violations);
        "Started"
    };
    let mark = if violations.is_empty() { "" } else { "✗ " };
    DeadlineReport {
        label,
        text: format!("{mark}{}: {first_text}, retried → {outcome}", when(late)),
        violations,
    }
}

// ---- the report ----

fn render(
    reports: &[CellReport],
    deadlines: &[DeadlineReport],
    queue_reports: &[queue::QueueReport],
) -> String {
    let by_key: BTreeMap<_, _> = reports.iter().map(|r| (r.key, r)).collect();
    let mut out = String::new();
    out.push_str(
        "# Fault matrix\n\n\
         Generated by `tests/fault_matrix.rs`: do not edit. Regenerate with\n\
         `cargo test -p cognito-import-starter --test fault_matrix` (every run rewrites this file, then\n\
         fails listing each cell that broke the invariant).\n\n\
         **Invariant** (SPEC section 6): under the fault, each record ends with its event\n\
         accepted by EventBridge (`Started`, `AlreadyStarted`, `Start Failed`, `Completed`), or\n\
         its delivery fails (S3: the invocation errs; SQS: its message is in\n\
         `batchItemFailures`; direct: an error with the SPEC `errorType`, the record's own\n\
         even when its failure event could not be published). Never a success with nothing\n\
         published; never a permanent outcome (permanent type, failure event) for a\n\
         transient fault (throttling, 5xx, hang, drop, lost response, unnamed 4xx, failed\n\
         entry; any `PutEvents` fault is the retryable `EventPublishFailed`). Then the faults\n\
         are cleared and the same event is delivered once more: it completes, with no job\n\
         started twice (at most one job past `Created`; in create mode one job of the\n\
         derived name got the CSV and started). Faults the SPEC makes permanent end with\n\
         their own type and failure event.\n\n\
         **Track** (direct only; SPEC 11 and 12): every Track row follows a finished job with\n\
         one `[FAILED]` and one `[SKIPPED]` user, its log lines written, given the source object\n\
         (the Started event's `Object`, If-Match on its ETag), so it reads the log\n\
         (`FilterLogEvents`), streams the source (`GetObject`) and writes\n\
         `results/<job id>/failed.csv` and `report.csv` (`PutObject`). Under a transient fault\n\
         the Track fails retryably and emits no Completed event (a lost `PutEvents` response\n\
         excepted: the event got in); a missing log group or stream (`FilterLogEvents` named\n\
         4xx) is an empty log, so the job is `Terminal: false`, nothing emitted; the source\n\
         gone or changed (`GetObject` 404, 412) still emits Completed, its `Results` with\n\
         `FilesError` `ObjectNotFound` and no files; 403 is the permanent `AccessDenied`. After\n\
         the faults are cleared, Track emits Completed whose `Results` names both files\n\
         (`+ files`: both exist, `failed.csv` is the header and the failed row byte for byte).\n\n\
         Each cell: the first delivery's outcome (error type, `listed` for an SQS message in\n\
         `batchItemFailures`, or the outcome), then the redelivery's. `✗` marks a cell that\n\
         broke the invariant (listed at the end). Every fault applies to every request of the\n\
         operation (the SDK's retry included; 2 attempts, short timeouts).\n\n\
         Faults: throttling = Cognito 400 `TooManyRequestsException`, S3 and upload 503\n\
         `SlowDown`, EventBridge and CloudWatch Logs 400 `ThrottlingException`; named 4xx =\n\
         Cognito and CloudWatch Logs 400 `ResourceNotFoundException`, S3 and upload 404\n\
         `NoSuchKey` (`PutObject`: 404 `NoSuchBucket`), EventBridge 400 `AccessDeniedException`;\n\
         unnamed 4xx = 400 `SomethingNewException`; 403 = `AccessDenied` (S3, upload) or\n\
         `AccessDeniedException`; 412 = S3 `PreconditionFailed` (the ETag no longer matches);\n\
         5xx = 500 `InternalErrorException` (Cognito), `InternalError` (S3, upload),\n\
         `InternalException` (EventBridge), `ServiceUnavailableException` (CloudWatch Logs); hang = no answer past the attempt timeout; drop = connection closed\n\
         without a response, nothing done; lost response = the request is applied, then the\n\
         connection closed; failed entry = `PutEvents` answers with the entry failed.\n",
    );
    for trigger in Trigger::ALL {
        let rows: Vec<usize> = (0..ROWS.len())
            .filter(|&r| ROWS[r].reached_by(trigger))
            .collect();
        let mut columns: Vec<Class> = rows.iter().flat_map(|&r| ROWS[r].classes()).collect();
        columns.sort();
        columns.dedup();
        let _ = writeln!(out, "\n## {}\n", trigger.title());
        table(&mut out, &by_key, trigger, &rows, &columns, false);
        let permanent_rows: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&r| by_key.keys().any(|k| k.0 == trigger && k.1 == r && k.3))
            .collect();
        let mut permanent_columns: Vec<Class> = by_key
            .keys()
            .filter(|k| k.0 == trigger && k.3)
            .map(|k| k.2)
            .collect();
        permanent_columns.sort();
        permanent_columns.dedup();
        let _ = writeln!(
            out,
            "\nPermanent faults whose failure event EventBridge refuses too (failed entry):\n"
        );
        table(
            &mut out,
            &by_key,
            trigger,
            &permanent_rows,
            &permanent_columns,
            true,
        );
    }
    queue::render(&mut out, queue_reports);
    out.push_str("\n## The Lambda deadline ends the record\n\n| case | outcome |\n|---|---|\n");
    for d in deadlines {
        let _ = writeln!(out, "| {} | {} |", d.label, d.text);
    }
    let mut violations: Vec<String> = all_violations(reports, deadlines);
    violations.extend(queue::violations(queue_reports));
    let _ = writeln!(
        out,
        "\n## Cells that broke the invariant ({})\n",
        violations.len()
    );
    if violations.is_empty() {
        out.push_str("None.\n");
    }
    for v in &violations {
        let _ = writeln!(out, "- {v}");
    }
    out
}

fn table(
    out: &mut String,
    by_key: &BTreeMap<(Trigger, usize, Class, bool), &CellReport>,
    trigger: Trigger,
    rows: &[usize],
    columns: &[Class],
    unpublishable: bool,
) {
    out.push_str("| operation |");
    for c in columns {
        let _ = write!(out, " {} |", c.column());
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    for &r in rows {
        let _ = write!(out, "| {} |", ROWS[r].label);
        for &c in columns {
            let text = by_key
                .get(&(trigger, r, c, unpublishable))
                .map_or("–", |report| report.text.as_str());
            let _ = write!(out, " {text} |");
        }
        out.push('\n');
    }
}

fn all_violations(reports: &[CellReport], deadlines: &[DeadlineReport]) -> Vec<String> {
    let mut sorted: Vec<&CellReport> = reports.iter().collect();
    sorted.sort_by_key(|r| r.key);
    let mut out = Vec::new();
    for r in sorted {
        let (trigger, row, class, unpublishable) = r.key;
        let cell = Cell {
            trigger,
            row,
            class,
            unpublishable,
        };
        if !r.violations.is_empty() {
            out.push(format!("{}: {}", cell.id(), r.violations.join("; ")));
        }
    }
    for d in deadlines {
        if !d.violations.is_empty() {
            out.push(format!(
                "deadline / {}: {}",
                d.label,
                d.violations.join("; ")
            ));
        }
    }
    out
}

/// Runs the cells on `THREADS` threads, each with its own current-thread
/// runtime (the handler's future is not `Send`, so cells cannot be spawned
/// onto one multi-thread runtime), `PARALLEL_CELLS` at once in all.
fn run_cells(cells: Vec<Cell>) -> Vec<CellReport> {
    on_threads(cells, run_cell)
}

/// The queue and parts cells, likewise.
fn run_queue_cells(cells: Vec<(queue::Case, queue::Via, Class)>) -> Vec<queue::QueueReport> {
    on_threads(cells, |(case, via, class)| queue::run(case, via, class))
}

fn on_threads<C, R, F, Fut>(cells: Vec<C>, run: F) -> Vec<R>
where
    C: Copy + Send,
    R: Send,
    F: Fn(C) -> Fut + Sync,
    Fut: std::future::Future<Output = R>,
{
    const THREADS: usize = 2;
    let run = &run;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let share: Vec<C> = cells.iter().copied().skip(t).step_by(THREADS).collect();
                // A drop in parts nests the handler's future deeper than a
                // thread's default 2 MiB stack holds in a debug build.
                let builder = std::thread::Builder::new().stack_size(64 << 20);
                builder
                    .spawn_scoped(scope, move || {
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .expect("a tokio runtime");
                        runtime.block_on(
                            stream::iter(share)
                                .map(run)
                                .buffer_unordered(PARALLEL_CELLS / THREADS)
                                .collect::<Vec<_>>(),
                        )
                    })
                    .expect("a matrix thread starts")
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a matrix thread panicked"))
            .collect()
    })
}

#[test]
fn fault_matrix() {
    let began = Instant::now();
    let cells = cells();
    let queue_cells = queue::cells();
    let count = cells.len() + queue_cells.len();
    let reports = run_cells(cells);
    let queue_reports = run_queue_cells(queue_cells);
    let matrix_took = began.elapsed();

    // Timing-bound cells run after the matrix, so that its load does not
    // make them late.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let deadlines: Vec<DeadlineReport> = runtime.block_on(async {
        let (a, b, c, d) = tokio::join!(
            deadline_batch(false),
            deadline_batch(true),
            deadline_hang(false),
            deadline_hang(true),
        );
        vec![a, b, c, d]
    });

    let markdown = render(&reports, &deadlines, &queue_reports);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/results/fault-matrix.md");
    std::fs::create_dir_all(path.parent().unwrap()).expect("tests/results can be created");
    std::fs::write(&path, &markdown).expect("the fault matrix can be written");
    eprintln!(
        "fault matrix: {count} cells in {matrix_took:?}, {} deadline cells, {:?} in all; written to {}",
        deadlines.len(),
        began.elapsed(),
        path.display()
    );

    let mut violations = all_violations(&reports, &deadlines);
    violations.extend(queue::violations(&queue_reports));
    assert!(
        violations.is_empty(),
        "{} of {} cells broke the invariant (see {}):\n{}",
        violations.len(),
        count + deadlines.len(),
        path.display(),
        violations.join("\n")
    );
}
