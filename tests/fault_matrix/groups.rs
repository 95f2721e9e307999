//! The fault matrix's cells for SPEC section 17's `AddToGroups` (direct
//! only: the state machine calls it after `Track`): every call the stage
//! makes x every fault class, on a finished job whose log reports three
//! users imported, one existing and one failed, its file naming their
//! groups, one of them a group the pool does not have (so that a normal run
//! records one failure and writes its objects).
//!
//! Each cell: the first call under the fault, checked against what the SPEC
//! makes of it (`Done: false` and a cursor, a retryable or permanent error
//! of its type, or every membership recorded as failed); then the faults are
//! cleared and the state machine's loop goes on (the next call with `From`
//! while `Done` is false, the same request again after an error, at most
//! [`MAX_CALLS`] calls). At its end every membership of the users Cognito's
//! log reports `[SUCCEEDED]` or `[SKIPPED]` is in the pool (none of the
//! `[FAILED]` user's, never asked for), every `User Import Groups Added`
//! event counts what was added and what failed, and groups-failed.csv holds
//! the failures.

use std::fmt::Write as _;

use cis_emulator::{Emulator, Fault, PutEventEntry};
use cis_testkit::{app_for, BUCKET, POOL};
use cognito_import_starter::{App, ImportError};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

use crate::start::{matrix_config, of_type};
use crate::tables::{
    action, expect_of, is_permanent, Class, Expect, Row, Scenario, Svc, BASE_CLASSES, KEY,
    MAX_ATTEMPTS,
};

pub const GROUPS_ADDED: &str = "User Import Groups Added";
const POOL_NAME: &str = "customers";
const JOB_NAME: &str = "nightly";
const ADD: &str = "AdminAddUserToGroup";
/// Calls of the state machine's loop once the faults are cleared.
const MAX_CALLS: usize = 10;

/// ana, dee and fay imported, bo there already, cy refused; dee names no group,
/// fay names `ghost`, which the pool does not have.
const SOURCE: &str = "cognito:username,email,cognito:groups\n\
    ana,ana@example.com,admins editors\n\
    bo,bo@example.com,editors\n\
    cy,bad,admins\n\
    dee,dee@example.com,\n\
    fay,fay@example.com,admins ghost\n";

const LOG: [&str; 5] = [
    "[SUCCEEDED] Line Number 1 - The import succeeded.",
    "[SKIPPED] Line Number 2 - The user already exists.",
    "[FAILED] Line Number 3 - Invalid email address format.",
    "[SUCCEEDED] Line Number 4 - The import succeeded.",
    "[SUCCEEDED] Line Number 5 - The import succeeded.",
];

const USERS: [&str; 5] = ["ana", "bo", "cy", "dee", "fay"];
const FAILED_USER: &str = "cy";

/// Every membership the calls ask for, in the file's order: the rows of
/// the imported and existing users.
const ASKED: [(u64, &str, &str); 5] = [
    (1, "ana", "admins"),
    (1, "ana", "editors"),
    (2, "bo", "editors"),
    (5, "fay", "admins"),
    (5, "fay", "ghost"),
];

/// A groups row: the operation, its service's error shape, and which of
/// its requests the fault hits (a key or body substring).
pub struct GroupRow {
    pub label: &'static str,
    pub operation: &'static str,
    pub svc: Svc,
    pub matching: Option<&'static str>,
    pub extra: &'static [Class],
}

impl GroupRow {
    fn classes(&self) -> Vec<Class> {
        BASE_CLASSES.iter().chain(self.extra).copied().collect()
    }

    fn as_row(&self) -> Row {
        Row {
            label: self.label,
            operation: self.operation,
            scenario: Scenario::Plain,
            svc: self.svc,
            extra: self.extra,
        }
    }
}

pub static GROUP_ROWS: [GroupRow; 9] = [
    GroupRow {
        label: "DescribeUserImportJob (AddToGroups)",
        operation: "DescribeUserImportJob",
        svc: Svc::Cognito,
        matching: None,
        extra: &[],
    },
    GroupRow {
        label: "HeadObject (AddToGroups source check)",
        operation: "HeadObject",
        svc: Svc::S3,
        matching: None,
        extra: &[],
    },
    GroupRow {
        label: "DescribeUserPool (AddToGroups log)",
        operation: "DescribeUserPool",
        svc: Svc::Cognito,
        matching: None,
        extra: &[],
    },
    GroupRow {
        label: "FilterLogEvents (AddToGroups)",
        operation: "FilterLogEvents",
        svc: Svc::Logs,
        matching: None,
        extra: &[],
    },
    GroupRow {
        label: "GetObject (AddToGroups rows)",
        operation: "GetObject",
        svc: Svc::S3,
        matching: Some(KEY),
        extra: &[Class::PreconditionFailed],
    },
    GroupRow {
        label: "AdminAddUserToGroup",
        operation: ADD,
        svc: Svc::Cognito,
        matching: None,
        extra: &[Class::UserNotFound, Class::NotAuthorized],
    },
    GroupRow {
        label: "PutObject (groups-failed call object)",
        operation: "PutObject",
        svc: Svc::S3,
        matching: Some("groups-failed/"),
        extra: &[],
    },
    GroupRow {
        label: "PutObject (groups-failed.csv)",
        operation: "PutObject",
        svc: Svc::S3,
        matching: Some("groups-failed.csv"),
        extra: &[],
    },
    GroupRow {
        label: "PutEvents (Groups Added)",
        operation: "PutEvents",
        svc: Svc::EventBridge,
        matching: None,
        extra: &[Class::FailedEntry],
    },
];

/// Every groups cell: (row, class).
pub fn cells() -> Vec<(usize, Class)> {
    GROUP_ROWS
        .iter()
        .enumerate()
        .flat_map(|(row, r)| r.classes().into_iter().map(move |class| (row, class)))
        .collect()
}

/// What SPEC section 17 makes of the first call under the fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupsExpect {
    /// `{"Done": false, "From": ...}`: Cognito throttled, failed or did
    /// not answer, after the SDK's retries; the next call goes on.
    Later,
    /// The call fails with this retryable type; the same call again
    /// converges.
    Retryable(&'static str),
    /// The call fails with this permanent type.
    Permanent(&'static str),
    /// Every membership asked for is recorded as failed with this code
    /// (never retried), and the call is done.
    Recorded(&'static str),
}

impl GroupsExpect {
    /// What the SPEC says, for a violation's message.
    fn says(self) -> String {
        match self {
            GroupsExpect::Later => "the call ends early (Done false)".into(),
            GroupsExpect::Retryable(t) => format!("the call fails with the retryable {t}"),
            GroupsExpect::Permanent(t) => format!("the call fails with the permanent {t}"),
            GroupsExpect::Recorded(code) => format!("every membership is recorded ({code})"),
        }
    }
}

pub fn expect(row: &GroupRow, class: Class) -> GroupsExpect {
    match (row.operation, class) {
        (
            ADD,
            Class::Throttling
            | Class::ServerError
            | Class::Hang
            | Class::Drop
            | Class::LostResponse,
        ) => GroupsExpect::Later,
        (ADD, Class::Named4xx) => GroupsExpect::Recorded("ResourceNotFoundException"),
        (ADD, Class::UserNotFound) => GroupsExpect::Recorded("UserNotFoundException"),
        (ADD, Class::NotAuthorized) => GroupsExpect::Permanent("NotAuthorizedException"),
        // A missing log is an empty one, behind the job's counts within
        // Track's grace: the job is not finished yet for the groups.
        ("FilterLogEvents", Class::Named4xx) => GroupsExpect::Retryable("ImportNotFinished"),
        ("FilterLogEvents", Class::Forbidden) => GroupsExpect::Permanent("AccessDenied"),
        ("GetObject", Class::PreconditionFailed) => GroupsExpect::Permanent("ObjectNotFound"),
        _ => match expect_of(row.svc, class) {
            Expect::Retryable(t) => GroupsExpect::Retryable(t),
            Expect::Permanent(t) => GroupsExpect::Permanent(t),
            // `expect_of` names no other outcome.
            _ => GroupsExpect::Retryable("ServiceUnavailable"),
        },
    }
}

pub struct GroupsReport {
    pub key: (usize, Class),
    pub text: String,
    pub violations: Vec<String>,
}

/// The world of a cell: the pool's users and groups, the finished job and
/// its log, the file on section 4's path (its metadata names the job).
async fn world() -> (Emulator, App, Value) {
    let emulator = Emulator::start().await.expect("emulator starts");
    let mut config = matrix_config(Scenario::Plain);
    config.groups_rps = 1000;
    let app = app_for(&emulator, config, MAX_ATTEMPTS).await;
    emulator.create_user_pool(POOL, POOL_NAME, &[]);
    for user in USERS {
        emulator.add_user(POOL, user);
    }
    for group in ["admins", "editors"] {
        emulator.create_group(POOL, group);
    }
    let job = emulator.create_import_job(POOL, JOB_NAME, true);
    emulator.finish_job(
        POOL,
        &job.job_id,
        "Succeeded",
        3,
        1,
        1,
        "Import Job Completed Successfully.",
    );
    emulator.put_log_events(
        &format!("/aws/cognito/userpools/{POOL}/{POOL_NAME}"),
        &format!("{}/{JOB_NAME}", job.job_id),
        &LOG,
    );
    let stored = emulator.put_object(
        BUCKET,
        KEY,
        SOURCE,
        &[("user-pool-id", POOL), ("job-id", &job.job_id)],
    );
    let payload = json!({
        "Action": "AddToGroups",
        "UserPoolId": POOL,
        "JobId": job.job_id,
        "Object": {"Bucket": BUCKET, "Key": KEY, "ETag": stored.etag.trim_matches('"')},
    });
    (emulator, app, payload)
}

async fn invoke(app: &App, payload: &Value) -> Result<Value, ImportError> {
    app.handle(LambdaEvent::new(payload.clone(), Context::default()))
        .await
}

/// How one call ended.
#[derive(Debug)]
enum Answer {
    Done(Value),
    Later(Value),
    Failed(String),
}

fn answer(result: &Result<Value, ImportError>) -> Result<Answer, String> {
    match result {
        Err(e) => Ok(Answer::Failed(e.error_type().to_string())),
        Ok(v) => match (v["Done"].as_bool(), v.get("From")) {
            (Some(true), _) => Ok(Answer::Done(v["Groups"].clone())),
            (Some(false), Some(from)) if from.is_object() => Ok(Answer::Later(from.clone())),
            _ => Err(format!("an answer neither done nor with a cursor: {v}")),
        },
    }
}

pub async fn run(row_index: usize, class: Class) -> GroupsReport {
    let row = &GROUP_ROWS[row_index];
    let (emulator, app, payload) = world().await;
    let expected = expect(row, class);
    let mut violations = Vec::new();

    let before = emulator.count(row.operation);
    let mut fault = Fault::new(row.operation, action(&row.as_row(), class));
    if let Some(substring) = row.matching {
        fault = fault.matching(substring);
    }
    emulator.inject(fault);
    let first = invoke(&app, &payload).await;
    if emulator.count(row.operation) == before {
        violations.push(format!(
            "the fault was never reached: no {} call",
            row.operation
        ));
    }
    let lost_put = row.operation == "PutEvents" && class == Class::LostResponse;
    let (first_text, next) = check_first(
        &first,
        &payload,
        expected,
        lost_put,
        &emulator.events(),
        &mut violations,
    );

    // The faults cleared, the state machine's loop goes on.
    emulator.clear_faults();
    let loop_text = match next {
        Some(request) => state_machine(&app, request, &mut violations).await,
        None => String::new(),
    };
    let recorded = match expected {
        GroupsExpect::Recorded(code) => Some(code),
        _ => None,
    };
    let job_id = payload["JobId"].as_str().unwrap_or_default();
    check_end(&emulator, job_id, recorded, &mut violations);
    if recorded.is_some() && emulator.count(ADD) != ASKED.len() {
        violations.push(format!(
            "{} AdminAddUserToGroup calls for {} memberships: a refused one was retried",
            emulator.count(ADD),
            ASKED.len()
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    violations.retain(|v| seen.insert(v.clone()));
    let mark = if violations.is_empty() { "" } else { "✗ " };
    GroupsReport {
        key: (row_index, class),
        text: format!("{mark}{first_text}{loop_text}"),
        violations,
    }
}

/// The state machine's loop without faults, from `request`: the next call
/// with `From` while `Done` is false, the same call again after an error.
/// One call must finish: the cursor (or the retried call) goes on from where
/// the fault stopped it.
async fn state_machine(app: &App, mut request: Value, violations: &mut Vec<String>) -> String {
    for calls in 1..=MAX_CALLS {
        match answer(&invoke(app, &request).await) {
            Ok(Answer::Done(groups)) => {
                check_groups("the last answer", &groups, None, violations);
                if calls > 1 {
                    violations.push(format!("{calls} calls without faults to be done, not 1"));
                }
                return format!(" → done in {calls}");
            }
            Ok(Answer::Later(from)) => request["From"] = from,
            Ok(Answer::Failed(t)) => {
                violations.push(format!("call {calls} without faults failed: {t}"));
                if is_permanent(&t) {
                    return format!(" → {t}");
                }
            }
            Err(broken) => {
                violations.push(format!("call {calls} without faults: {broken}"));
                return " → broken".into();
            }
        }
    }
    violations.push(format!("not done after {MAX_CALLS} calls without faults"));
    " → not done".into()
}

/// Checks the first call under the fault; its text for the report and the
/// request the state machine sends next (none once done).
fn check_first(
    first: &Result<Value, ImportError>,
    payload: &Value,
    expected: GroupsExpect,
    lost_put: bool,
    events: &[PutEventEntry],
    violations: &mut Vec<String>,
) -> (String, Option<Value>) {
    let emitted = !of_type(events, GROUPS_ADDED).is_empty();
    let answer = match answer(first) {
        Ok(answer) => answer,
        Err(broken) => {
            violations.push(broken.clone());
            return (broken, None);
        }
    };
    // A `PutEvents` whose response was lost did get its event in.
    if !matches!(answer, Answer::Done(_)) && emitted && !lost_put {
        violations.push("Groups Added emitted by a call that was not done".into());
    }
    let with_from = |from: Value| {
        let mut next = payload.clone();
        next["From"] = from;
        Some(next)
    };
    match (answer, expected) {
        (Answer::Later(from), GroupsExpect::Later) => ("Done false".into(), with_from(from)),
        (Answer::Done(groups), GroupsExpect::Recorded(code)) => {
            check_groups("the call under the fault", &groups, Some(code), violations);
            (format!("done, {} recorded", ASKED.len()), None)
        }
        (Answer::Failed(t), GroupsExpect::Retryable(x) | GroupsExpect::Permanent(x)) => {
            if t != x {
                violations.push(format!("fails with {t}, the SPEC says {x}"));
            }
            let text = if is_permanent(&t) {
                format!("{t} (permanent), again")
            } else {
                format!("{t}, retried")
            };
            (text, Some(payload.clone()))
        }
        (Answer::Later(from), other) => {
            violations.push(format!("Done false, the SPEC says {}", other.says()));
            ("Done false".into(), with_from(from))
        }
        (Answer::Done(_), other) => {
            violations.push(format!(
                "done under the fault, the SPEC says {}",
                other.says()
            ));
            ("done".into(), None)
        }
        (Answer::Failed(t), other) => {
            violations.push(format!("fails with {t}, the SPEC says {}", other.says()));
            (t, Some(payload.clone()))
        }
    }
}

/// The memberships not added, as (line, user, group, reason's code):
/// `fay`'s `ghost` in a normal run, every one asked for when each was
/// refused with `code`.
fn failures(recorded: Option<&str>) -> Vec<(u64, &'static str, &'static str, &str)> {
    match recorded {
        Some(code) => ASKED.iter().map(|&(l, u, g)| (l, u, g, code)).collect(),
        None => vec![(5, "fay", "ghost", "ResourceNotFoundException")],
    }
}

/// `Groups` of an answer or an event: `Added`, `Failed` and `First` as the
/// run must have found them.
fn check_groups(what: &str, groups: &Value, recorded: Option<&str>, violations: &mut Vec<String>) {
    let failures = failures(recorded);
    let added = ASKED.len() - failures.len();
    if groups["Added"] != json!(added) || groups["Failed"] != json!(failures.len()) {
        violations.push(format!(
            "{what}: Added {} and Failed {}, not {added} and {}",
            groups["Added"],
            groups["Failed"],
            failures.len()
        ));
    }
    let first = groups["First"].as_array().cloned().unwrap_or_default();
    let right = first.len() == failures.len()
        && first
            .iter()
            .zip(&failures)
            .all(|(f, &(line, _, group, code))| {
                f["Line"] == json!(line)
                    && f["Group"] == json!(group)
                    && f["Reason"].as_str().is_some_and(|r| r.starts_with(code))
            });
    if !right {
        violations.push(format!("{what}: First is {}", groups["First"]));
    }
}

/// At the loop's end: the memberships, the events, groups-failed.csv.
fn check_end(
    emulator: &Emulator,
    job_id: &str,
    recorded: Option<&str>,
    violations: &mut Vec<String>,
) {
    for user in USERS {
        let expected: Vec<&str> = match recorded {
            Some(_) => Vec::new(),
            None => ASKED
                .iter()
                .filter(|&&(_, u, g)| u == user && g != "ghost")
                .map(|&(_, _, g)| g)
                .collect(),
        };
        let found = emulator.user_groups(POOL, user);
        if found != expected {
            violations.push(format!("{user} is in {found:?}, not {expected:?}"));
        }
    }
    let asked_for_failed = emulator
        .calls()
        .iter()
        .any(|c| c.operation == ADD && c.params["Username"] == json!(FAILED_USER));
    if asked_for_failed {
        violations.push(format!(
            "AdminAddUserToGroup for {FAILED_USER}, whose import failed"
        ));
    }
    let events = of_type(&emulator.events(), GROUPS_ADDED);
    if events.is_empty() {
        violations.push("no Groups Added event".into());
    }
    for event in &events {
        check_groups(
            "Groups Added",
            &event.detail["Groups"],
            recorded,
            violations,
        );
        if event.detail["UserImportJob"]["JobId"] != json!(job_id) {
            violations.push(format!("Groups Added of {}", event.detail["UserImportJob"]));
        }
    }
    check_failed_csv(emulator, job_id, recorded, violations);
}

/// `results/<job id>/groups-failed.csv`: the header and a row for each
/// membership not added, in line order.
fn check_failed_csv(
    emulator: &Emulator,
    job_id: &str,
    recorded: Option<&str>,
    violations: &mut Vec<String>,
) {
    let key = format!("results/{job_id}/groups-failed.csv");
    let Some(object) = emulator.object(BUCKET, &key) else {
        violations.push(format!("{key} not written"));
        return;
    };
    let body = String::from_utf8_lossy(&object.body).to_string();
    let mut lines = body.lines();
    let header = lines.next();
    let rows: Vec<&str> = lines.collect();
    let failures = failures(recorded);
    let right = header == Some("line,username,group,reason")
        && rows.len() == failures.len()
        && rows
            .iter()
            .zip(&failures)
            .all(|(row, (line, user, group, code))| {
                row.starts_with(&format!("{line},{user},{group},{code}"))
            });
    if !right {
        violations.push(format!("{key} is {body:?}"));
    }
}

pub fn render(out: &mut String, reports: &[GroupsReport]) {
    out.push_str(
        "\n## Groups come along: AddToGroups (SPEC 17; direct only)\n\n\
         `{\"Action\":\"AddToGroups\",...}` on a finished job whose log reports three users \
         imported, one existing and one `[FAILED]`; its file names their groups, one of \
         them (`ghost`) a group the pool does not have, so a run without faults adds 4 \
         memberships, records 1 (`ResourceNotFoundException`) and writes the call's \
         `groups-failed/` object and `groups-failed.csv`. Each cell: the first call under \
         the fault (`Done false` with its cursor, the error it fails with, or `done, 5 \
         recorded` when Cognito refuses every membership: recorded, never retried, the \
         state machine's loop ends), then, the faults cleared, the state machine's loop \
         (the next call with `From` while `Done` is false, the same call again after an \
         error) until `Done: true`. At its end: every membership of the imported and \
         existing users is in the pool (none when all were refused), none was asked for the \
         `[FAILED]` user, every `User Import Groups Added` event counts `Added` and \
         `Failed` right and names the failures in `First`, and groups-failed.csv holds \
         them. AdminAddUserToGroup: named 4xx = `ResourceNotFoundException` (a group \
         deleted since), throttling, 5xx, hang, drop and lost response end the call early \
         (`Done false`), an error of another type fails the call with it.\n\n",
    );
    let mut columns: Vec<Class> = GROUP_ROWS.iter().flat_map(GroupRow::classes).collect();
    columns.sort();
    columns.dedup();
    out.push_str("| operation |");
    for c in &columns {
        let _ = write!(out, " {} |", c.column());
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    for (index, row) in GROUP_ROWS.iter().enumerate() {
        let _ = write!(out, "| {} |", row.label);
        for &c in &columns {
            let text = reports
                .iter()
                .find(|r| r.key == (index, c))
                .map_or("–", |r| r.text.as_str());
            let _ = write!(out, " {text} |");
        }
        out.push('\n');
    }
}

pub fn violations(reports: &[GroupsReport]) -> Vec<String> {
    let mut sorted: Vec<&GroupsReport> = reports
        .iter()
        .filter(|r| !r.violations.is_empty())
        .collect();
    sorted.sort_by_key(|r| r.key);
    sorted
        .into_iter()
        .map(|r| {
            format!(
                "direct / {} / {}: {}",
                GROUP_ROWS[r.key.0].label,
                r.key.1.column(),
                r.violations.join("; ")
            )
        })
        .collect()
}
