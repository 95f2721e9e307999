//! A seeded chaos run (SPEC sections 4-6): ~30 imports delivered through a
//! mix of S3 notifications, EventBridge events and SQS batches, with random
//! transient faults and duplicate deliveries, redelivered as Lambda and SQS
//! would. In the end every job is started once, every job has its Started
//! event, and nothing failed permanently.
//!
//! Replay a run with `CHAOS_SEED=<n> cargo test --test chaos`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use cis_emulator::{Fault, FaultAction};
use cis_testkit::*;
use serde_json::Value;

const IMPORTS: usize = 30;
const CHAOS_ROUNDS: usize = 6;
const CALM_ROUNDS: usize = 4;
const DEFAULT_SEED: u64 = 0x5EED_C0DE_2026_0001;

/// xorshift64*: tiny, deterministic, good enough to pick faults.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.range(0, i as u64) as usize;
            items.swap(i, j);
        }
    }
}

/// Prints the seed when the test fails, so that the run can be replayed.
struct SeedGuard(u64);

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("chaos test failed; replay with CHAOS_SEED={}", self.0);
        }
    }
}

fn seed() -> u64 {
    match std::env::var("CHAOS_SEED") {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("CHAOS_SEED must be a u64, got {text:?}")),
        _ => DEFAULT_SEED,
    }
}

/// The object key of import `i`: with a space, so S3 notifications must be
/// decoded (`+`) while EventBridge keys come as they are.
fn key(i: usize) -> String {
    format!("chaos/users {i:02}.csv")
}

fn encoded(key: &str) -> String {
    key.replace(' ', "+")
}

#[derive(Clone, Debug)]
enum Delivery {
    /// One S3 notification with these imports as records.
    S3(Vec<usize>),
    EventBridge(usize),
    /// (message ID, body is an EventBridge event rather than an S3 notification, imports)
    Sqs(Vec<(String, bool, Vec<usize>)>),
}

impl Delivery {
    fn payload(&self) -> Value {
        match self {
            Delivery::S3(imports) => s3_body(imports),
            Delivery::EventBridge(i) => eventbridge_event(BUCKET, &key(*i), None),
            Delivery::Sqs(messages) => {
                let bodies: Vec<(&str, Value)> = messages
                    .iter()
                    .map(|(id, eventbridge, imports)| {
                        let body = if *eventbridge {
                            eventbridge_event(BUCKET, &key(imports[0]), None)
                        } else {
                            s3_body(imports)
                        };
                        (id.as_str(), body)
                    })
                    .collect();
                sqs_event(&bodies)
            }
        }
    }
}

fn s3_body(imports: &[usize]) -> Value {
    let keys: Vec<String> = imports.iter().map(|&i| encoded(&key(i))).collect();
    let records: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| ("ObjectCreated:Put", k.as_str()))
        .collect();
    s3_event(&records)
}

/// Splits the imports into deliveries of random kinds and sizes.
fn plan(rng: &mut Rng) -> Vec<Delivery> {
    let mut order: Vec<usize> = (0..IMPORTS).collect();
    rng.shuffle(&mut order);
    let mut rest = order.as_slice();
    let mut deliveries = Vec::new();
    let mut next_message = 0;
    fn take(rest: &mut &[usize], n: u64) -> Vec<usize> {
        let n = (n as usize).min(rest.len());
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        head.to_vec()
    }
    while !rest.is_empty() {
        match rng.range(0, 2) {
            0 => {
                let n = rng.range(1, 3);
                deliveries.push(Delivery::S3(take(&mut rest, n)));
            }
            1 => deliveries.push(Delivery::EventBridge(take(&mut rest, 1)[0])),
            _ => {
                let mut messages = Vec::new();
                for _ in 0..rng.range(1, 4) {
                    if rest.is_empty() {
                        break;
                    }
                    next_message += 1;
                    let id = format!("msg-{next_message:03}");
                    let eventbridge = rng.percent(40);
                    let n = if eventbridge { 1 } else { rng.range(1, 2) };
                    messages.push((id, eventbridge, take(&mut rest, n)));
                }
                deliveries.push(Delivery::Sqs(messages));
            }
        }
    }
    deliveries
}

/// A random transient fault, spent after a few requests.
fn random_fault(rng: &mut Rng) -> Fault {
    let times = rng.range(1, 3) as u32;
    let fault = match rng.range(0, 9) {
        0 => Fault::new(
            "StartUserImportJob",
            FaultAction::error(400, "TooManyRequestsException"),
        ),
        1 => Fault::new(
            "StartUserImportJob",
            FaultAction::error(500, "InternalErrorException"),
        ),
        2 => Fault::new(
            "DescribeUserImportJob",
            FaultAction::error(400, "TooManyRequestsException"),
        ),
        3 => Fault::new(
            "DescribeUserImportJob",
            FaultAction::error(500, "InternalErrorException"),
        ),
        4 => Fault::new("HeadObject", FaultAction::error(503, "SlowDown")),
        5 => Fault::new("HeadObject", FaultAction::Drop),
        6 => Fault::new("StartUserImportJob", FaultAction::LoseResponse),
        7 => Fault::new(
            "PutEvents",
            FaultAction::FailEntries {
                code: "ThrottlingException".into(),
            },
        ),
        _ => {
            let operation =
                ["HeadObject", "StartUserImportJob", "PutEvents"][rng.range(0, 2) as usize];
            Fault::new(
                operation,
                FaultAction::Delay(Duration::from_millis(rng.range(50, 150))),
            )
        }
    };
    fault.times(times)
}

/// Delivers once. Returns what must be delivered again (nothing on success).
async fn deliver(h: &Harness, delivery: &Delivery, seed: u64) -> Option<Delivery> {
    let result = h.invoke(delivery.payload()).await;
    match (delivery, result) {
        (_, Err(error)) => {
            assert!(
                error.is_retryable(),
                "seed {seed}: {delivery:?} failed permanently: {error:?}"
            );
            Some(delivery.clone())
        }
        (Delivery::Sqs(messages), Ok(response)) => {
            let failed: BTreeSet<&str> = response["batchItemFailures"]
                .as_array()
                .unwrap_or_else(|| panic!("seed {seed}: not a batch response: {response}"))
                .iter()
                .map(|f| f["itemIdentifier"].as_str().expect("itemIdentifier"))
                .collect();
            let again: Vec<_> = messages
                .iter()
                .filter(|(id, _, _)| failed.contains(id.as_str()))
                .cloned()
                .collect();
            assert_eq!(
                again.len(),
                failed.len(),
                "seed {seed}: unknown itemIdentifier in {response}"
            );
            (!again.is_empty()).then_some(Delivery::Sqs(again))
        }
        (_, Ok(response)) => {
            for result in response["Results"].as_array().expect("Results") {
                let outcome = result["Outcome"].as_str().unwrap_or_default();
                assert!(
                    outcome == "Started" || outcome == "AlreadyStarted",
                    "seed {seed}: {delivery:?} succeeded with {result}"
                );
            }
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_every_import_starts_once_and_is_announced() {
    let seed = seed();
    let _guard = SeedGuard(seed);
    eprintln!("chaos seed: CHAOS_SEED={seed}");
    let began = Instant::now();
    let mut rng = Rng::new(seed);

    let h = harness().await;
    let jobs: Vec<_> = (0..IMPORTS).map(|i| h.seed(&key(i)).1).collect();

    let mut pending = plan(&mut rng);
    let mut invocations = 0;
    for _ in 0..CHAOS_ROUNDS {
        if pending.is_empty() {
            break;
        }
        for _ in 0..rng.range(2, 6) {
            h.emulator.inject(random_fault(&mut rng));
        }
        rng.shuffle(&mut pending);
        let mut next = Vec::new();
        for delivery in &pending {
            invocations += 1;
            if let Some(again) = deliver(&h, delivery, seed).await {
                next.push(again);
            } else if rng.percent(15) {
                // At-least-once delivery: the same event again later.
                next.push(delivery.clone());
            }
            if rng.percent(20) {
                h.emulator.inject(random_fault(&mut rng));
            }
        }
        pending = next;
    }

    h.emulator.clear_faults();
    for _ in 0..CALM_ROUNDS {
        let mut next = Vec::new();
        for delivery in &pending {
            invocations += 1;
            if let Some(again) = deliver(&h, delivery, seed).await {
                next.push(again);
            }
        }
        pending = next;
    }
    assert!(
        pending.is_empty(),
        "seed {seed}: still failing without faults: {pending:?}"
    );

    // Every job was started.
    for job in &jobs {
        let now = h
            .emulator
            .job(&job.pool_id, &job.job_id)
            .expect("the job exists");
        assert_ne!(
            now.status, "Created",
            "seed {seed}: {} never started",
            job.job_id
        );
        assert!(
            now.start_date_ms.is_some(),
            "seed {seed}: {} has no start date",
            job.job_id
        );
    }

    // Every job announced, none announced as failed, none started twice.
    let failed = h.events_of("User Import Job Start Failed");
    assert!(failed.is_empty(), "seed {seed}: failure events: {failed:?}");
    let mut started: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for event in h.events_of("User Import Job Started") {
        let job_id = event.detail["UserImportJob"]["JobId"]
            .as_str()
            .expect("JobId in the event")
            .to_string();
        let counts = started.entry(job_id).or_default();
        counts.0 += 1;
        match event.detail["AlreadyStarted"].as_bool() {
            Some(false) => counts.1 += 1,
            Some(true) => {}
            None => panic!("seed {seed}: AlreadyStarted missing in {}", event.detail),
        }
    }
    for job in &jobs {
        let (events, fresh) = started.get(&job.job_id).copied().unwrap_or_default();
        assert!(
            events >= 1,
            "seed {seed}: no Started event for {}",
            job.job_id
        );
        assert!(
            fresh <= 1,
            "seed {seed}: {} announced {fresh} times with AlreadyStarted=false",
            job.job_id
        );
    }
    assert_eq!(
        started.len(),
        IMPORTS,
        "seed {seed}: events for unknown jobs: {started:?}"
    );
    assert!(h.emulator.count("StartUserImportJob") >= IMPORTS);

    let calls = h.emulator.calls();
    let faulted = calls
        .iter()
        .filter(|c| c.status == 0 || c.status >= 400)
        .count();
    let (events, fresh): (usize, usize) = started
        .values()
        .fold((0, 0), |(e, f), (ce, cf)| (e + ce, f + cf));
    eprintln!(
        "chaos seed {seed}: {invocations} invocations, {} calls ({faulted} failed or unanswered, \
         refusals of repeated starts included), {} StartUserImportJob, {events} Started events \
         ({fresh} with AlreadyStarted=false), {:?}",
        calls.len(),
        h.emulator.count("StartUserImportJob"),
        began.elapsed()
    );
}
