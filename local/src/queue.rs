//! The drop queue, locally (SPEC sections 13 and 14): a sample's drops go
//! through the emulator's SQS FIFO queue and Lambda's event source mapping
//! to the real handler, with Cognito's one-active-job rule on and jobs that
//! run for a short while on their own, until the queue is empty; then every
//! job started is tracked as the template's state machine would.

use std::time::{Duration, Instant};

use cis_emulator::{Emulator, PutEventEntry, QueueOptions};
use cognito_import_starter::trigger::{self, Invocation};
use cognito_import_starter::{App, ImportError};
use serde_json::{json, Value};

use crate::{invoke, Followed};

/// The emulated queue's name (FIFO).
pub const QUEUE: &str = "local-drops.fifo";
/// One queue-second, in real time: `SLOT_WAIT_SECONDS=60` waits 300 ms.
pub const QUEUE_SECOND: Duration = Duration::from_millis(5);
/// How long each emulated import job runs.
pub const JOB_RUN: Duration = Duration::from_millis(300);
/// The event source mapping's batch size, as the template sets it.
pub const BATCH_SIZE: usize = 1;

/// One invocation of the handler by the event source mapping.
#[derive(Debug)]
pub struct Delivered {
    /// The keys of the batch's drops, in order, with each message's receive
    /// count.
    pub drops: Vec<(String, u32)>,
    pub result: Result<Value, ImportError>,
    pub events: Vec<PutEventEntry>,
}

/// A whole run of the queue.
#[derive(Debug)]
pub struct QueueRun {
    pub delivered: Vec<Delivered>,
    /// The object keys in the order their first jobs started.
    pub started: Vec<String>,
    /// The most jobs ever active at once (one, by Cognito's rule).
    pub max_active_jobs: usize,
    /// Messages left in the queue (none once it is drained).
    pub left: usize,
    pub followed: Vec<Followed>,
}

/// The bodies of the drops a sample holds: an SQS batch's message bodies,
/// or the sample itself (an S3 or EventBridge event becomes one message).
pub fn drops_of(event: &Value) -> Vec<String> {
    match trigger::parse(event) {
        Ok(Invocation::Sqs(_)) => event["Records"]
            .as_array()
            .map(|records| {
                records
                    .iter()
                    .filter_map(|r| r["body"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        _ => vec![event.to_string()],
    }
}

/// Whether the sample is a batch from a FIFO queue.
pub fn is_fifo_batch(event: &Value) -> bool {
    matches!(trigger::parse(event), Ok(Invocation::Sqs(messages)) if trigger::sqs::is_fifo(&messages))
}

/// Sets the emulator up as the drop queue needs it: one active job at a
/// time, jobs that run on their own, the FIFO queue.
pub fn prepare(emulator: &Emulator) {
    emulator.enforce_one_active_job(true);
    emulator.set_job_run_time(Some(JOB_RUN));
    emulator.create_queue(
        QUEUE,
        QueueOptions {
            fifo: true,
            // As the template sets it in create mode (SPEC section 16).
            visibility_timeout: 1080,
            max_receive_count: Some(1000),
            dead_letter_queue: Some("local-drops-dlq.fifo".into()),
            content_based_deduplication: true,
            second: QUEUE_SECOND,
        },
    );
}

/// Sends the drops and delivers one batch, as the event source mapping's
/// first poll would.
pub async fn first_batch(app: &App, emulator: &Emulator, drops: &[String]) -> Option<Delivered> {
    for body in drops {
        emulator.send_message(QUEUE, body, Some("drops"));
    }
    let batch = emulator.receive_batch(QUEUE, 10)?;
    let (result, events) = invoke(app, emulator, batch.clone()).await;
    emulator.complete_batch(QUEUE, &batch, result.as_ref().map_err(|_| ()));
    Some(Delivered {
        drops: keys_of(&batch),
        result,
        events,
    })
}

/// Sends the drops and runs the event source mapping until the queue is
/// empty, then tracks every job started once it has ended.
pub async fn run(
    app: &App,
    emulator: &Emulator,
    drops: &[String],
    results_prefix: &str,
) -> QueueRun {
    for body in drops {
        emulator.send_message(QUEUE, body, Some("drops"));
    }
    let delivered = std::sync::Mutex::new(Vec::new());
    let delivered_ref = &delivered;
    emulator
        .run_event_source(
            QUEUE,
            BATCH_SIZE,
            move |batch| async move {
                let (result, events) = invoke(app, emulator, batch.clone()).await;
                let answer = result.clone().map_err(|e| e.message);
                if let Ok(mut delivered) = delivered_ref.lock() {
                    delivered.push(Delivered {
                        drops: keys_of(&batch),
                        result,
                        events,
                    });
                }
                answer
            },
            true,
        )
        .await;
    let delivered = delivered.into_inner().unwrap_or_default();
    let started_events: Vec<PutEventEntry> = delivered
        .iter()
        .flat_map(|d| d.events.iter().cloned())
        .filter(|e| e.detail_type == "User Import Job Started")
        .filter(|e| e.detail["AlreadyStarted"] == json!(false))
        .collect();
    let mut started: Vec<String> = started_events
        .iter()
        .filter_map(|e| e.detail["Object"]["Key"].as_str().map(str::to_string))
        .collect();
    started.dedup();
    wait_for_the_jobs(emulator).await;
    let followed = crate::track_each(app, emulator, &started_events, results_prefix).await;
    QueueRun {
        delivered,
        started,
        max_active_jobs: emulator.max_active_jobs(),
        left: emulator.queue_messages(QUEUE).len(),
        followed,
    }
}

/// Until every started job has ended (a few run times at most).
async fn wait_for_the_jobs(emulator: &Emulator) {
    let until = Instant::now() + JOB_RUN * 20;
    while Instant::now() < until {
        let running = emulator
            .jobs()
            .iter()
            .any(|j| matches!(j.status.as_str(), "Pending" | "InProgress"));
        if !running {
            return;
        }
        tokio::time::sleep(JOB_RUN / 4).await;
    }
}

/// Each message's drop key (from its S3 or EventBridge body) and receive
/// count.
fn keys_of(batch: &Value) -> Vec<(String, u32)> {
    batch["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|record| {
            let body: Value = record["body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or_default();
            let key = body["detail"]["object"]["key"]
                .as_str()
                .or(body["Records"][0]["s3"]["object"]["key"].as_str())
                .unwrap_or("?")
                .to_string();
            let count = record["attributes"]["ApproximateReceiveCount"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            (key, count)
        })
        .collect()
}
