//! One cell of the start path (and of Track): its world, its deliveries
//! under the fault and after it, and the invariant's checks.

use std::time::Duration;

use cis_emulator::{valid_csv, Emulator, Fault, FaultAction, PutEventEntry, DEFAULT_CSV_HEADER};
use cis_testkit::{app_for, s3_event, sqs_event, test_config, BUCKET, POOL};
use cognito_import_starter::{App, Config, ImportError};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

use crate::tables::{
    action, is_permanent, Cell, Class, Expect, Scenario, Trigger, COMPLETED, KEY, MAX_ATTEMPTS,
    MESSAGE_ID, ROLE, STARTED, START_FAILED,
};
use crate::track::{result_keys, seed_track, TrackSeed};

pub fn matrix_config(scenario: Scenario) -> Config {
    let mut config = test_config();
    config.timeouts.connect = Duration::from_millis(250);
    config.timeouts.attempt = Duration::from_millis(400);
    config.timeouts.operation = Duration::from_millis(1200);
    config.timeouts.upload = Duration::from_millis(1200);
    if scenario.is_create() {
        config.cloudwatch_logs_role_arn = Some(ROLE.to_string());
    }
    config.create_missing_groups = scenario == Scenario::CreateGroups;
    config
}

pub struct World {
    pub emulator: Emulator,
    pub app: App,
    pub payload: Value,
    pub scenario: Scenario,
    /// Track: the finished job and what its results files must hold.
    pub track: Option<TrackSeed>,
}

/// `valid_csv` of two users with a `password_hash` column: one bcrypt hash,
/// one empty.
pub fn csv_with_hashes() -> String {
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
pub fn check_hashes(w: &World, violations: &mut Vec<String>) {
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

/// The group the pool has and the one the preflight creates.
pub const GROUP_KEPT: &str = "admins";
pub const GROUP_MISSING: &str = "editors";

/// `valid_csv` of two users with a `cognito:groups` column: alice in both
/// groups, bob in none.
pub fn csv_with_groups() -> String {
    let mut lines: Vec<String> = valid_csv(&["alice", "bob"])
        .lines()
        .map(str::to_string)
        .collect();
    lines[0].push_str(",cognito:groups");
    lines[1].push_str(&format!(",{GROUP_KEPT} {GROUP_MISSING}"));
    lines[2].push(',');
    lines.join("\n") + "\n"
}

/// SPEC section 17 under faults: no job before the missing group exists,
/// no job's CSV with the column, every Started event with the file's
/// `Groups`; once started, the missing group exists.
pub fn check_groups(w: &World, violations: &mut Vec<String>) {
    let jobs = w.emulator.jobs();
    let created = w.emulator.groups(POOL).contains(&GROUP_MISSING.to_string());
    if !jobs.is_empty() && !created {
        violations.push(format!("a job created before the group {GROUP_MISSING}"));
    }
    for job in &jobs {
        let uploaded = w.emulator.uploaded_csv(&job.pool_id, &job.job_id);
        if uploaded.is_some_and(|csv| String::from_utf8_lossy(&csv).contains("cognito:groups")) {
            violations.push("a job's CSV with the cognito:groups column".into());
        }
    }
    let expected = json!({"Memberships": 2, "Users": 1, "Names": 2});
    for event in of_type(&w.emulator.events(), STARTED) {
        if event.detail["Groups"] != expected {
            violations.push(format!("Started without Groups: {}", event.detail));
        }
    }
}

/// Seeds the emulator for the scenario and builds the trigger's payload.
pub async fn world(scenario: Scenario, trigger: Trigger, config: Config) -> World {
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
        Scenario::CreateGroups => {
            emulator.create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
            emulator.create_group(POOL, GROUP_KEPT);
            emulator.put_object(BUCKET, KEY, csv_with_groups(), &[("user-pool-id", POOL)]);
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

pub async fn invoke(app: &App, payload: &Value, context: Context) -> Result<Value, ImportError> {
    app.handle(LambdaEvent::new(payload.clone(), context)).await
}

pub fn of_type(events: &[PutEventEntry], detail_type: &str) -> Vec<PutEventEntry> {
    events
        .iter()
        .filter(|e| e.detail_type == detail_type)
        .cloned()
        .collect()
}

/// How one delivery ended, as its trigger reports it.
#[derive(Debug)]
pub enum Ended {
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
pub fn ended(
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
pub fn success_event(scenario: Scenario) -> &'static str {
    if scenario == Scenario::Track {
        COMPLETED
    } else {
        STARTED
    }
}

/// No job started twice: jobs past `Created` and, in create mode, which
/// jobs of the derived name got the CSV. `must_be_started`: after the
/// redelivery exactly one (Track: the finished job, untouched).
pub fn check_jobs(w: &World, must_be_started: bool, violations: &mut Vec<String>) {
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
    if w.scenario == Scenario::CreateGroups {
        check_groups(w, violations);
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
pub fn fresh_announcements<'a>(events: impl IntoIterator<Item = &'a PutEventEntry>) -> usize {
    let mut details: Vec<String> = events
        .into_iter()
        .filter(|e| e.detail["AlreadyStarted"] == json!(false))
        .map(|e| e.detail.to_string())
        .collect();
    details.sort_unstable();
    details.dedup();
    details.len()
}

pub struct CellReport {
    pub key: (Trigger, usize, Class, bool),
    pub text: String,
    pub violations: Vec<String>,
}

/// The Completed events among `events`, their `Results`.
pub fn completed_results(events: &[PutEventEntry]) -> Vec<Value> {
    of_type(events, COMPLETED)
        .into_iter()
        .map(|e| e.detail["Results"].clone())
        .collect()
}

/// A Completed event whose source was gone or changed: `Results` with
/// `FilesError` of type `expected`, neither file named nor written.
pub fn check_files_error(
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
pub fn check_files_written(w: &World, events: &[PutEventEntry], violations: &mut Vec<String>) {
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

pub async fn run_cell(cell: Cell) -> CellReport {
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

pub fn when(late: Option<Duration>) -> &'static str {
    if late.is_some() {
        "answered after the deadline"
    } else {
        "answered before the deadline"
    }
}

/// A delivery's answer without its random IDs, for the report.
pub fn brief(result: &Result<Value, ImportError>) -> String {
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
