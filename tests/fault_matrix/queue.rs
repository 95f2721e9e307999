//! The fault matrix's cells for SPEC sections 13 and 14: the import slot,
//! the drop queue's visibility calls, and every step of a file in parts,
//! each crossed with the fault classes, through the emulator's SQS queue
//! (messages received as Lambda's event source mapping receives them) or
//! the S3 trigger. Invariant, per delivery: the record ends with its event
//! accepted, or its delivery fails so that it comes again, and a transient
//! fault never ends it permanently; then the faults are cleared and the
//! message comes again (Cognito finishing the running job between
//! receives) until the drop is done: every job started once, every started
//! job announced, the parts in order. And every delivery from the FIFO
//! queue that ends retryably has set its head's wait (SPEC section 16:
//! `ChangeMessageVisibility` on the message that failed, `SLOT_WAIT_SECONDS`
//! x its receive count), whatever the error.

use std::fmt::Write as _;

use cis_emulator::{valid_csv, Call, Emulator, Fault, QueueOptions, DEFAULT_CSV_HEADER};
use cognito_import_starter::{App, Config, ImportError};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

use cis_testkit::{app_for, eventbridge_event, s3_event, BUCKET, POOL};

use crate::start::{matrix_config, of_type};
use crate::tables::{
    action, expect_of, is_permanent, Class, Expect, Row, Scenario, Svc, BASE_CLASSES, KEY,
    MAX_ATTEMPTS, ROLE, STARTED, START_FAILED,
};

const HOLDER_POOL: &str = "us-east-1_OtherPool2";
const QUEUE: &str = "matrix-drops.fifo";
const SLOT_WAIT_SECONDS: u32 = 60;
/// The file in parts: 3 rows, one a part.
const PART_USERS: [&str; 3] = ["ann", "ben", "cid"];

/// What the record is doing when the operation is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Case {
    /// A named job, refused: the function lists jobs for the slot's holder.
    SlotListing,
    /// A named job waits for the slot: its message's visibility is set.
    SlotVisibility,
    /// A FIFO batch: the message behind the waiting one is released.
    Release,
    /// Create mode, 3 parts: a step of part `k`.
    Part(Step, u64),
    /// A named job, the slot free: a step of its one start.
    Named(Op),
}

/// The calls of a named drop's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Head,
    Start,
    Publish,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Create,
    Upload,
    RangedRead,
    Start,
    Publish,
    RecordPlan,
    Visibility,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Via {
    S3,
    Sqs,
}

impl Case {
    pub fn label(self) -> String {
        match self {
            Case::SlotListing => {
                "ListUserImportJobs (the slot's holder, after a refused start)".into()
            }
            Case::SlotVisibility => {
                "ChangeMessageVisibility (a message waiting for the slot)".into()
            }
            Case::Release => {
                "ChangeMessageVisibilityBatch (a FIFO message held back behind it)".into()
            }
            Case::Part(step, k) => {
                let op = match step {
                    Step::Create => "CreateUserImportJob",
                    Step::Upload => "UploadCsv",
                    Step::RangedRead => "GetObject (ranged)",
                    Step::Start => "StartUserImportJob",
                    Step::Publish => "PutEvents (the part's Started event)",
                    Step::RecordPlan => "PutObject (the plan)",
                    Step::Visibility => "ChangeMessageVisibility (ImportPartsRemaining)",
                };
                format!("part {k} of 3: {op}")
            }
            Case::Named(op) => match op {
                Op::Head => "HeadObject (a named drop, the slot free)",
                Op::Start => "StartUserImportJob (a named drop, the slot free)",
                Op::Publish => "PutEvents (a named drop's Started event)",
            }
            .into(),
        }
    }

    fn operation(self) -> &'static str {
        match self {
            Case::SlotListing => "ListUserImportJobs",
            Case::SlotVisibility | Case::Part(Step::Visibility, _) => "ChangeMessageVisibility",
            Case::Release => "ChangeMessageVisibilityBatch",
            Case::Named(Op::Head) => "HeadObject",
            Case::Named(Op::Start) => "StartUserImportJob",
            Case::Named(Op::Publish) => "PutEvents",
            Case::Part(step, _) => match step {
                Step::Create => "CreateUserImportJob",
                Step::Upload => "UploadCsv",
                Step::RangedRead => "GetObject",
                Step::Start => "StartUserImportJob",
                Step::Publish => "PutEvents",
                Step::RecordPlan => "PutObject",
                Step::Visibility => unreachable!(),
            },
        }
    }

    fn svc(self) -> Svc {
        match self {
            Case::SlotListing => Svc::Cognito,
            // SQS speaks JSON errors, as Cognito does; its faults are
            // never more than logged.
            Case::SlotVisibility | Case::Release | Case::Part(Step::Visibility, _) => Svc::Logs,
            Case::Named(Op::Head) => Svc::S3,
            Case::Named(Op::Start) => Svc::Cognito,
            Case::Named(Op::Publish) => Svc::EventBridge,
            Case::Part(step, _) => match step {
                Step::Create | Step::Start => Svc::Cognito,
                Step::Upload => Svc::Upload,
                Step::RangedRead | Step::RecordPlan => Svc::S3,
                Step::Publish => Svc::EventBridge,
                Step::Visibility => unreachable!(),
            },
        }
    }

    fn vias(self) -> &'static [Via] {
        match self {
            Case::SlotListing => &[Via::S3, Via::Sqs],
            Case::Part(step, _) if step != Step::Visibility => &[Via::S3, Via::Sqs],
            _ => &[Via::Sqs],
        }
    }

    /// What the SPEC makes of the fault at the first delivery.
    fn expect(self, class: Class) -> Expect {
        match (self, class) {
            // Only logged: the message is listed for the slot all the same.
            (Case::SlotVisibility | Case::Release, _) => Expect::Retryable("ImportSlotBusy"),
            (Case::Part(Step::Visibility, _), _) => Expect::Retryable("ImportPartsRemaining"),
            // The refused start is the outcome; the listing only explains it.
            (Case::SlotListing, _) => Expect::Retryable("CsvNotUploaded"),
            // The pinned read of part 2 finds the key without its object
            // after part 1 started.
            (Case::Part(Step::RangedRead, _), Class::Named4xx) => {
                Expect::Permanent("ObjectChanged")
            }
            (Case::Part(_, _) | Case::Named(_), _) => expect_of(self.svc(), class),
        }
    }
}

/// Every queue and parts cell.
pub fn cells() -> Vec<(Case, Via, Class)> {
    let mut cases = vec![
        Case::SlotListing,
        Case::SlotVisibility,
        Case::Release,
        Case::Named(Op::Head),
        Case::Named(Op::Start),
        Case::Named(Op::Publish),
    ];
    for k in [1, 2] {
        for step in [
            Step::Create,
            Step::Upload,
            Step::RangedRead,
            Step::Start,
            Step::Publish,
            Step::RecordPlan,
            Step::Visibility,
        ] {
            // Part 1's bytes follow the header: the preflight's read comes
            // first; part 2's ranged read is the one to fault.
            if step == Step::RangedRead && k == 1 {
                continue;
            }
            cases.push(Case::Part(step, k));
        }
    }
    let mut cells = Vec::new();
    for case in cases {
        for &via in case.vias() {
            for class in BASE_CLASSES {
                cells.push((case, via, class));
            }
        }
    }
    cells
}

/// One cell's world: the emulator, the app, and how a delivery is made.
struct World {
    emulator: Emulator,
    app: App,
    via: Via,
    case: Case,
    holder: Option<String>,
}

impl World {
    async fn new(case: Case, via: Via) -> World {
        let parts = matches!(case, Case::Part(..));
        let mut config: Config = matrix_config(if parts {
            Scenario::Create
        } else {
            Scenario::Plain
        });
        if parts {
            config.cloudwatch_logs_role_arn = Some(ROLE.to_string());
            config.part_max_rows = 1;
        }
        config.allowed_user_pool_ids = Some(vec![POOL.into(), HOLDER_POOL.into()]);
        // The default: each delivery expires the queue's visibilities first,
        // so the waits only show in the calls.
        config.slot_wait_seconds = SLOT_WAIT_SECONDS;
        let emulator = Emulator::start().await.expect("emulator starts");
        let app = app_for(&emulator, config, MAX_ATTEMPTS).await;
        emulator.enforce_one_active_job(true);
        emulator.create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
        emulator.create_user_pool(HOLDER_POOL, "partners", DEFAULT_CSV_HEADER);
        emulator.create_queue(
            QUEUE,
            QueueOptions {
                fifo: true,
                visibility_timeout: 300,
                content_based_deduplication: true,
                ..QueueOptions::default()
            },
        );
        let mut world = World {
            emulator,
            app,
            via,
            case,
            holder: None,
        };
        world.seed();
        world
    }

    fn seed(&mut self) {
        let e = &self.emulator;
        let named = |key: &str| {
            let job = e.create_import_job(POOL, key, true);
            e.put_object(
                BUCKET,
                key,
                "cognito:username\n",
                &[("user-pool-id", POOL), ("job-id", &job.job_id)],
            );
        };
        match self.case {
            Case::SlotListing | Case::SlotVisibility | Case::Named(_) => named(KEY),
            Case::Release => {
                named(KEY);
                named("imports/behind.csv");
            }
            Case::Part(..) => {
                e.put_object(
                    BUCKET,
                    KEY,
                    valid_csv(&PART_USERS),
                    &[("user-pool-id", POOL)],
                );
            }
        }
        if !matches!(self.case, Case::Part(..) | Case::Named(_)) {
            let holder = e.create_import_job(HOLDER_POOL, "holder", true);
            e.set_job_status(HOLDER_POOL, &holder.job_id, "InProgress");
            self.holder = Some(holder.job_id);
        }
        let keys: &[&str] = match self.case {
            Case::Release => &[KEY, "imports/behind.csv"],
            _ => &[KEY],
        };
        for key in keys {
            let body = eventbridge_event(BUCKET, key, None).to_string();
            e.send_message(QUEUE, &body, Some("drops"));
        }
    }

    /// One delivery of the drop: a batch received from the queue, or the S3
    /// notification.
    async fn deliver(&self) -> Delivery {
        let before = self.emulator.events().len();
        let (result, listed, head) = match self.via {
            Via::S3 => {
                let event = s3_event(&[("ObjectCreated:Put", KEY)]);
                (invoke(&self.app, event).await, Vec::new(), None)
            }
            Via::Sqs => {
                self.emulator.expire_visibility(QUEUE);
                let Some(batch) = self.emulator.receive_batch(QUEUE, 10) else {
                    return Delivery::empty();
                };
                let calls = self.emulator.calls().len();
                let result = invoke(&self.app, batch.clone()).await;
                let head = head_wait(&batch, &result, &self.emulator.calls()[calls..]);
                self.emulator
                    .complete_batch(QUEUE, &batch, result.as_ref().map_err(|_| ()));
                let listed = result
                    .as_ref()
                    .ok()
                    .and_then(|r| r["batchItemFailures"].as_array().cloned())
                    .unwrap_or_default();
                (
                    result,
                    listed
                        .into_iter()
                        .map(|f| f["itemIdentifier"].to_string())
                        .collect(),
                    head,
                )
            }
        };
        Delivery {
            result,
            listed,
            events: self.emulator.events().split_off(before),
            head,
        }
    }

    /// What Cognito does between receives: a running job ends.
    fn time_passes(&self) {
        for job in self.emulator.jobs() {
            if matches!(job.status.as_str(), "Pending" | "InProgress") {
                self.emulator
                    .set_job_status(&job.pool_id, &job.job_id, "Succeeded");
            }
        }
    }
}

struct Delivery {
    result: Result<Value, ImportError>,
    listed: Vec<String>,
    events: Vec<cis_emulator::PutEventEntry>,
    /// From the queue, the message that came back first.
    head: Option<HeadWait>,
}

/// The first message of a FIFO batch to come back (the first listed, or
/// the first of a batch that failed whole), and the wait its invocation set.
struct HeadWait {
    receive_count: i64,
    /// `VisibilityTimeout` of the `ChangeMessageVisibility` call on it.
    seconds: Option<i64>,
}

fn head_wait(
    batch: &Value,
    result: &Result<Value, ImportError>,
    calls: &[Call],
) -> Option<HeadWait> {
    let records = batch["Records"].as_array()?;
    let head = match result {
        Ok(answer) => {
            let first = &answer["batchItemFailures"].as_array()?.first()?["itemIdentifier"];
            records.iter().find(|r| r["messageId"] == *first)?
        }
        Err(_) => records.first()?,
    };
    let seconds = calls
        .iter()
        .filter(|c| c.operation == "ChangeMessageVisibility")
        .filter(|c| c.params["ReceiptHandle"] == head["receiptHandle"])
        .find_map(|c| c.params["VisibilityTimeout"].as_i64());
    let receive_count = head["attributes"]["ApproximateReceiveCount"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    Some(HeadWait {
        receive_count,
        seconds,
    })
}

impl Delivery {
    fn empty() -> Delivery {
        Delivery {
            result: Ok(json!({"batchItemFailures": []})),
            listed: Vec::new(),
            events: Vec::new(),
            head: None,
        }
    }

    /// SPEC section 16: a delivery from the queue that ends retryably has
    /// set its head's wait, `SLOT_WAIT_SECONDS` x its receive count (at most
    /// 900 s), less the whole seconds its invocation ran. The wait, if any.
    fn check_wait(&self, via: Via, when: &str, violations: &mut Vec<String>) -> Option<i64> {
        if via != Via::Sqs || !matches!(self.end(), Ok(Some(_))) {
            return None;
        }
        let Some(head) = &self.head else {
            violations.push(format!(
                "{when}: failed retryably, and no message came back"
            ));
            return None;
        };
        let most = (i64::from(SLOT_WAIT_SECONDS) * head.receive_count).min(900);
        match head.seconds {
            None => violations.push(format!(
                "{when}: failed retryably, and no wait was set (SPEC 16)"
            )),
            Some(s) if !(1..=most).contains(&s) => {
                violations.push(format!("{when}: waits {s} s, not 1 to {most}"))
            }
            Some(_) => {}
        }
        head.seconds
    }

    /// How the delivery ended: `Ok(Some(type))` failed retryably (the type
    /// when the trigger shows it), `Ok(None)` done, `Err(type)` permanent.
    fn end(&self) -> Result<Option<String>, String> {
        let failed = of_type(&self.events, START_FAILED);
        match &self.result {
            Err(e) if is_permanent(e.error_type()) => Err(e.error_type().to_string()),
            Err(e) => Ok(Some(e.error_type().to_string())),
            Ok(_) if !self.listed.is_empty() => Ok(Some("listed".into())),
            Ok(v) => match failed.last() {
                Some(f) => Err(f.detail["Error"]["Type"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string()),
                None if v["Results"][0]["Error"]["Type"].is_string() => Err(v["Results"][0]
                    ["Error"]["Type"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string()),
                None => Ok(None),
            },
        }
    }
}

async fn invoke(app: &App, event: Value) -> Result<Value, ImportError> {
    app.handle(LambdaEvent::new(event, Context::default()))
        .await
}

pub struct QueueReport {
    pub key: (Case, Via, Class),
    pub text: String,
    pub violations: Vec<String>,
}

/// Part 1 started and done, so that part 2's steps meet the fault.
async fn to_part(w: &World, k: u64, violations: &mut Vec<String>) {
    for _ in 1..k {
        let d = w.deliver().await;
        if !matches!(d.end(), Ok(Some(_))) {
            violations.push(format!("getting to part {k}: {:?}", d.end()));
        }
        w.time_passes();
    }
}

pub async fn run(case: Case, via: Via, class: Class) -> QueueReport {
    let w = World::new(case, via).await;
    let mut violations = Vec::new();
    if let Case::Part(_, k) = case {
        to_part(&w, k, &mut violations).await;
    }
    let row = Row {
        label: "",
        operation: case.operation(),
        scenario: Scenario::Plain,
        svc: case.svc(),
        extra: &[],
    };
    let before = w.emulator.count(case.operation());
    let mut fault = Fault::new(case.operation(), action(&row, class));
    if matches!(case, Case::Part(Step::RangedRead, _)) {
        fault = fault.matching(KEY);
    }
    if matches!(case, Case::Part(Step::RecordPlan, _)) {
        fault = fault.matching("plans/");
    }
    w.emulator.inject(fault);
    let first = w.deliver().await;
    if w.emulator.count(case.operation()) == before {
        violations.push(format!(
            "the fault was never reached: no {} call",
            case.operation()
        ));
    }
    let expected = case.expect(class);
    let mut first_text = check_first(&first, expected, via, &mut violations);
    if let Some(seconds) = first.check_wait(via, "first delivery", &mut violations) {
        first_text = format!("{first_text}, waits {seconds} s");
    }

    // The faults cleared, the message comes again until the drop is done.
    w.emulator.clear_faults();
    if let Some(holder) = &w.holder {
        w.emulator.set_job_status(HOLDER_POOL, holder, "Succeeded");
    }
    let mut rounds = 0;
    let done = loop {
        if via == Via::Sqs && queue_empty(&w) {
            break true;
        }
        if rounds == 10 {
            violations.push("not done after 10 redeliveries".into());
            break false;
        }
        rounds += 1;
        w.time_passes();
        let d = w.deliver().await;
        d.check_wait(via, &format!("redelivery {rounds}"), &mut violations);
        match d.end() {
            Ok(None) if via == Via::S3 => break true,
            Ok(_) => {}
            Err(_) if permanent_ok(expected) => break true,
            Err(t) => {
                violations.push(format!("redelivery {rounds}: permanent {t}"));
                break false;
            }
        }
    };
    check_drop(&w, expected, &mut violations);
    let mark = if violations.is_empty() { "" } else { "✗ " };
    QueueReport {
        key: (case, via, class),
        text: format!(
            "{mark}{first_text} → {}",
            if done {
                format!("done in {rounds}")
            } else {
                "✗ not done".into()
            }
        ),
        violations,
    }
}

fn queue_empty(w: &World) -> bool {
    w.emulator.queue_messages(QUEUE).is_empty()
}

fn permanent_ok(expected: Expect) -> bool {
    matches!(expected, Expect::Permanent(_))
}

fn check_first(
    first: &Delivery,
    expected: Expect,
    via: Via,
    violations: &mut Vec<String>,
) -> String {
    let failure_events = of_type(&first.events, START_FAILED);
    match (first.end(), expected) {
        (Ok(Some(t)), Expect::Retryable(x)) => {
            if !failure_events.is_empty() {
                violations.push(format!(
                    "a failure event ({}) for a transient fault",
                    failure_events[0].detail["Error"]["Type"]
                ));
            }
            if via == Via::S3 && !x.is_empty() && t != x {
                violations.push(format!("retryable {t}, the SPEC says {x}"));
            }
            t
        }
        (Ok(None), Expect::Retryable(x)) => {
            violations.push(format!("succeeded though the SPEC says retryable {x}"));
            "✗ done".into()
        }
        (Ok(Some(t)), Expect::Permanent(x)) => {
            violations.push(format!(
                "retryable {t} though the SPEC makes it the permanent {x}"
            ));
            format!("✗ {t}")
        }
        (Err(t), Expect::Permanent(x)) => {
            if t != x {
                violations.push(format!("permanent {t}, the SPEC says {x}"));
            }
            if failure_events.is_empty() {
                violations.push(format!("no failure event for the permanent {t}"));
            }
            format!("{t} (permanent, event)")
        }
        (Err(t), _) => {
            violations.push(format!("a permanent {t} for a transient fault"));
            format!("✗ {t}")
        }
        (Ok(None), _) => {
            violations.push(format!("succeeded, the SPEC says {expected:?}"));
            "✗ done".into()
        }
        (_, other) => {
            violations.push(format!("unexpected {other:?}"));
            "✗".into()
        }
    }
}

/// After the drop is done: every job started at most once, every started
/// job announced, a file in parts started part after part (unless a
/// permanent fault ended it).
fn check_drop(w: &World, expected: Expect, violations: &mut Vec<String>) {
    let jobs = w.emulator.jobs();
    let started = of_type(&w.emulator.events(), STARTED);
    for job in jobs.iter().filter(|j| j.start_date_ms.is_some()) {
        if w.emulator.successful_starts(&job.pool_id, &job.job_id) > 1 {
            violations.push(format!("{} started twice", job.job_name));
        }
        if job.pool_id == HOLDER_POOL {
            continue;
        }
        let announced = started
            .iter()
            .any(|e| e.detail["UserImportJob"]["JobId"] == json!(job.job_id));
        if !announced {
            violations.push(format!("{} started, never announced", job.job_name));
        }
    }
    if w.emulator.max_active_jobs() > 1 {
        violations.push("two jobs active at once".into());
    }
    if !matches!(w.case, Case::Part(..)) {
        let ours = jobs
            .iter()
            .filter(|j| j.pool_id == POOL && j.start_date_ms.is_some())
            .count();
        let wanted = match w.case {
            Case::Release => 2,
            _ if permanent_ok(expected) => 0,
            _ => 1,
        };
        if ours != wanted {
            violations.push(format!("{ours} of {wanted} drops imported"));
        }
        return;
    }
    // The parts' jobs in the order they started (a part whose first event
    // was lost is announced later, `AlreadyStarted: true`).
    let mut parts: Vec<(i64, u64)> = jobs
        .iter()
        .filter(|j| j.pool_id == POOL)
        .filter_map(|j| Some((j.start_date_ms?, part_number(&j.job_name)?)))
        .collect();
    parts.sort();
    let numbers: Vec<u64> = parts.iter().map(|(_, n)| *n).collect();
    if !permanent_ok(expected) && numbers != [1, 2, 3] {
        violations.push(format!("parts started {numbers:?}, not 1, 2, 3"));
    }
    let with_part = started
        .iter()
        .all(|e| e.detail["Part"]["Count"] == json!(3));
    if !with_part {
        violations.push("a part's Started event without its Part".into());
    }
}

/// `k` of a part's job name `s3-<hex>-p<k>of<n>-...`.
fn part_number(name: &str) -> Option<u64> {
    let rest = name.get(20..)?.strip_prefix('p')?;
    rest.split_once("of")?.0.parse().ok()
}

pub fn render(out: &mut String, reports: &[QueueReport]) {
    out.push_str(
        "\n## The drop queue and files in parts (SPEC 13 and 14)\n\n\
         Cognito's one-active-job rule on. Slot rows: a named job whose start is refused \
         because a job of another pool of the allowlist runs; the listing that looks for it, \
         and the visibility calls of the waiting message (and of the one a FIFO batch held \
         back behind it), faulted. Named-drop rows: a named job, the slot free, through \
         the FIFO queue, a fault at one call of its start. Part rows: create mode, a file of 3 rows with \
         PART_MAX_ROWS=1 (3 parts), a fault at one step of part 1 or 2 (part 2: part 1 \
         started and done first). Each cell: the first delivery under the fault, then, the \
         faults cleared (and the slot's holder, or the running part, done between receives), \
         deliveries until the drop is done: every job started once and announced, one job \
         active at a time, parts started in order 1, 2, 3 (unless a permanent fault ended the \
         drop). SQS cells receive from an emulated FIFO queue as Lambda's event source \
         mapping does, and every delivery that ends retryably must have set the wait of \
         the message that failed (SPEC 16: `ChangeMessageVisibility`, `SLOT_WAIT_SECONDS`=60 \
         x its receive count, less the whole seconds its invocation ran), whatever the \
         error: `waits N s` is the first delivery's.\n\n",
    );
    let mut rows: Vec<(Case, Via)> = reports.iter().map(|r| (r.key.0, r.key.1)).collect();
    rows.sort();
    rows.dedup();
    out.push_str("| operation | trigger |");
    for c in BASE_CLASSES {
        let _ = write!(out, " {} |", c.column());
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(BASE_CLASSES.len()));
    out.push('\n');
    for (case, via) in rows {
        let _ = write!(out, "| {} | {:?} |", case.label(), via);
        for c in BASE_CLASSES {
            let text = reports
                .iter()
                .find(|r| r.key == (case, via, c))
                .map_or("–", |r| r.text.as_str());
            let _ = write!(out, " {text} |");
        }
        out.push('\n');
    }
}

pub fn violations(reports: &[QueueReport]) -> Vec<String> {
    reports
        .iter()
        .filter(|r| !r.violations.is_empty())
        .map(|r| {
            format!(
                "{:?} / {} / {}: {}",
                r.key.1,
                r.key.0.label(),
                r.key.2.column(),
                r.violations.join("; ")
            )
        })
        .collect()
}
