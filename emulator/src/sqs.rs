//! Emulated SQS: queues driven through the Rust API as Lambda's event source
//! mapping drives them (send, receive a batch, delete what the function did
//! not list), and, over HTTP (awsJson1_0, `AmazonSQS.<Operation>`), the
//! calls the function makes itself: `ChangeMessageVisibility` and
//! `ChangeMessageVisibilityBatch`. A queue is named by its URL's last path
//! segment, whatever the host, as the function builds the URL from the
//! event's ARN.
//!
//! FIFO semantics as SQS has them: a group's messages in send order, and a
//! group with any message in flight delivers nothing ("inflight messages
//! block delivery of available messages within the same message group").
//! Time: a queue's visibility timeouts are in queue-seconds, each
//! [`QueueOptions::second`] of real time, so that tests and benchmarks run a
//! 60 s wait in milliseconds.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::util;
use super::wire::{json_error, json_response, Resp};
use super::{Emulator, Inner, State, ACCOUNT_ID, REGION};

/// The operations answered over HTTP.
pub(crate) const OPERATIONS: &[&str] = &["ChangeMessageVisibility", "ChangeMessageVisibilityBatch"];

/// Content-based deduplication's window, in queue-seconds.
const DEDUPLICATION_SECONDS: u32 = 300;
/// SQS's longest visibility timeout, in seconds.
const MAX_VISIBILITY: i64 = 43_200;

/// How a queue behaves.
#[derive(Clone, Debug)]
pub struct QueueOptions {
    /// A FIFO queue (its name must end in `.fifo`).
    pub fifo: bool,
    /// The queue's visibility timeout, in queue-seconds.
    pub visibility_timeout: u32,
    /// After this many receives a message moves to `dead_letter_queue`.
    pub max_receive_count: Option<u32>,
    /// The name of the dead-letter queue (created if missing).
    pub dead_letter_queue: Option<String>,
    /// Drop a message whose body was sent within the last 300 queue-seconds.
    pub content_based_deduplication: bool,
    /// The real length of one queue-second.
    pub second: Duration,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            fifo: false,
            visibility_timeout: 30,
            max_receive_count: None,
            dead_letter_queue: None,
            content_based_deduplication: false,
            second: Duration::from_secs(1),
        }
    }
}

/// A queue's names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRef {
    pub name: String,
    /// `arn:aws:sqs:us-east-1:123456789012:<name>`.
    pub arn: String,
    /// `https://sqs.us-east-1.amazonaws.com/123456789012/<name>`.
    pub url: String,
}

/// A message as the queue holds it.
#[derive(Clone, Debug)]
pub struct QueuedMessage {
    pub message_id: String,
    pub body: String,
    pub group_id: Option<String>,
    pub receive_count: u32,
    pub in_flight: bool,
    /// Until it is visible again (zero when it is).
    pub visible_in: Duration,
}

/// What [`Emulator::run_event_source`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventSourceStats {
    pub invocations: usize,
    pub messages_received: usize,
    pub empty_polls: usize,
}

pub(crate) struct Queue {
    refs: QueueRef,
    options: QueueOptions,
    messages: Vec<Message>,
    next_sequence: u64,
    /// Bodies sent, with when, for content-based deduplication.
    sent: Vec<(String, Instant)>,
}

struct Message {
    id: String,
    body: String,
    group: Option<String>,
    deduplication_id: String,
    sequence: u64,
    sent_ms: i64,
    receive_count: u32,
    first_receive_ms: Option<i64>,
    /// The latest receipt handle: the only one that is valid.
    receipt: Option<String>,
    visible_at: Instant,
}

impl Message {
    fn in_flight(&self, now: Instant) -> bool {
        self.receipt.is_some() && self.visible_at > now
    }
}

fn refs(name: &str) -> QueueRef {
    QueueRef {
        name: name.to_string(),
        arn: format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"),
        url: format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"),
    }
}

fn new_queue(name: &str, options: QueueOptions) -> Queue {
    Queue {
        refs: refs(name),
        options,
        messages: Vec::new(),
        next_sequence: 1,
        sent: Vec::new(),
    }
}

impl Queue {
    fn after(&self, seconds: i64) -> Instant {
        let seconds = u32::try_from(seconds.max(0)).unwrap_or(u32::MAX);
        Instant::now() + self.options.second * seconds
    }

    /// The messages a receive of at most `max` delivers, by index.
    fn deliverable(&self, max: usize, now: Instant) -> Vec<usize> {
        let visible = |m: &Message| !m.in_flight(now);
        if !self.options.fifo {
            return (0..self.messages.len())
                .filter(|&i| visible(&self.messages[i]))
                .take(max)
                .collect();
        }
        let blocked = |group: &Option<String>| {
            self.messages
                .iter()
                .any(|m| &m.group == group && m.in_flight(now))
        };
        let Some(group) = self
            .messages
            .iter()
            .map(|m| &m.group)
            .find(|group| !blocked(group))
        else {
            return Vec::new();
        };
        (0..self.messages.len())
            .filter(|&i| &self.messages[i].group == group)
            .take(max)
            .collect()
    }
}

/// A queue name from a queue URL: its last path segment.
fn name_of(url: &str) -> &str {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

// ---- the Rust API ----

impl Emulator {
    /// Creates (or replaces) a queue, and its dead-letter queue if named.
    pub fn create_queue(&self, name: &str, options: QueueOptions) -> QueueRef {
        let mut inner = self.state.lock();
        if let Some(dlq) = &options.dead_letter_queue {
            if !inner.queues.contains_key(dlq) {
                let dlq_options = QueueOptions {
                    fifo: options.fifo,
                    ..QueueOptions::default()
                };
                inner
                    .queues
                    .insert(dlq.clone(), new_queue(dlq, dlq_options));
            }
        }
        let queue = new_queue(name, options);
        let refs = queue.refs.clone();
        inner.queues.insert(name.to_string(), queue);
        refs
    }

    /// Sends a message; its ID, or `None` when content-based deduplication
    /// dropped it (or there is no such queue).
    pub fn send_message(&self, queue: &str, body: &str, group_id: Option<&str>) -> Option<String> {
        let mut inner = self.state.lock();
        let id = self.state.rng.uuid();
        let queue = inner.queues.get_mut(queue)?;
        let now = Instant::now();
        let window = queue.options.second * DEDUPLICATION_SECONDS;
        queue
            .sent
            .retain(|(_, at)| now.duration_since(*at) < window);
        if queue.options.content_based_deduplication {
            if queue.sent.iter().any(|(sent, _)| sent == body) {
                return None;
            }
            queue.sent.push((body.to_string(), now));
        }
        let sequence = queue.next_sequence;
        queue.next_sequence += 1;
        queue.messages.push(Message {
            id: id.clone(),
            body: body.to_string(),
            group: group_id.map(str::to_string),
            deduplication_id: util::md5_hex(body.as_bytes()),
            sequence,
            sent_ms: util::now_ms(),
            receive_count: 0,
            first_receive_ms: None,
            receipt: None,
            visible_at: now,
        });
        Some(id)
    }

    /// What Lambda's event source mapping receives: at most `max` visible
    /// messages as the Lambda SQS event `{"Records": [...]}`, each now in
    /// flight for the queue's visibility timeout, or `None` when nothing is
    /// visible. A message received more than `max_receive_count` times goes
    /// to the dead-letter queue instead.
    pub fn receive_batch(&self, queue: &str, max: usize) -> Option<Value> {
        let mut inner = self.state.lock();
        loop {
            let now = Instant::now();
            let q = inner.queues.get(queue)?;
            let picked = q.deliverable(max, now);
            if picked.is_empty() {
                return None;
            }
            let limit = q.options.max_receive_count;
            let dead: Vec<usize> = picked
                .iter()
                .copied()
                .filter(|&i| limit.is_some_and(|limit| q.messages[i].receive_count >= limit))
                .collect();
            if dead.is_empty() {
                return Some(receive(&mut inner, &self.state, queue, &picked));
            }
            dead_letter(&mut inner, queue, &dead);
        }
    }

    /// What Lambda does with the function's answer to a batch: `Ok` deletes
    /// every message of the batch not listed in `batchItemFailures`; `Err`
    /// (the invocation failed) deletes none.
    pub fn complete_batch(&self, queue: &str, event: &Value, response: Result<&Value, ()>) {
        let Ok(response) = response else { return };
        let listed: Vec<&str> = response["batchItemFailures"]
            .as_array()
            .map(|failures| {
                failures
                    .iter()
                    .filter_map(|f| f["itemIdentifier"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let done: Vec<&str> = event["Records"]
            .as_array()
            .map(|records| {
                records
                    .iter()
                    .filter(|r| !listed.contains(&r["messageId"].as_str().unwrap_or_default()))
                    .filter_map(|r| r["receiptHandle"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let mut inner = self.state.lock();
        if let Some(q) = inner.queues.get_mut(queue) {
            q.messages
                .retain(|m| !m.receipt.as_deref().is_some_and(|r| done.contains(&r)));
        }
    }

    /// The queue's messages, in queue order (empty if there is no queue).
    pub fn queue_messages(&self, queue: &str) -> Vec<QueuedMessage> {
        let inner = self.state.lock();
        let now = Instant::now();
        let Some(q) = inner.queues.get(queue) else {
            return Vec::new();
        };
        q.messages
            .iter()
            .map(|m| QueuedMessage {
                message_id: m.id.clone(),
                body: m.body.clone(),
                group_id: m.group.clone(),
                receive_count: m.receive_count,
                in_flight: m.in_flight(now),
                visible_in: m.visible_at.saturating_duration_since(now),
            })
            .collect()
    }

    /// How long until a message of the queue is visible (zero if one is
    /// now); `None` when the queue is empty.
    pub fn next_visible_in(&self, queue: &str) -> Option<Duration> {
        self.queue_messages(queue)
            .iter()
            .map(|m| m.visible_in)
            .min()
    }

    /// Ends every message's visibility timeout now, as if the time had
    /// passed (a test's way to redeliver at once).
    pub fn expire_visibility(&self, queue: &str) {
        let mut inner = self.state.lock();
        let now = Instant::now();
        if let Some(q) = inner.queues.get_mut(queue) {
            for message in &mut q.messages {
                message.visible_at = message.visible_at.min(now);
            }
        }
    }

    /// Lambda's event source mapping, one batch at a time: receive a batch
    /// of at most `batch_size`, invoke, complete it with the answer. When
    /// nothing is visible it waits for the next message to be (polling at
    /// most every 5 ms); with `until_empty` it returns once the queue is
    /// empty.
    pub async fn run_event_source<F, Fut>(
        &self,
        queue: &str,
        batch_size: usize,
        mut invoke: F,
        until_empty: bool,
    ) -> EventSourceStats
    where
        F: FnMut(Value) -> Fut,
        Fut: Future<Output = Result<Value, String>>,
    {
        let mut stats = EventSourceStats::default();
        loop {
            match self.receive_batch(queue, batch_size) {
                Some(batch) => {
                    stats.invocations += 1;
                    stats.messages_received += batch["Records"].as_array().map_or(0, Vec::len);
                    let answer = invoke(batch.clone()).await;
                    self.complete_batch(queue, &batch, answer.as_ref().map_err(|_| ()));
                }
                None => {
                    let Some(wait) = self.next_visible_in(queue) else {
                        if until_empty {
                            return stats;
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    };
                    stats.empty_polls += 1;
                    let wait = wait.clamp(Duration::from_millis(1), Duration::from_millis(5));
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// Receives the messages at `picked` (indexes of `queue`).
fn receive(inner: &mut Inner, state: &State, queue: &str, picked: &[usize]) -> Value {
    let Some(q) = inner.queues.get_mut(queue) else {
        return json!({"Records": []});
    };
    let visible_at = q.after(i64::from(q.options.visibility_timeout));
    let (arn, fifo) = (q.refs.arn.clone(), q.options.fifo);
    let now_ms = util::now_ms();
    let records: Vec<Value> = picked
        .iter()
        .map(|&i| {
            let m = &mut q.messages[i];
            m.receive_count += 1;
            let first = *m.first_receive_ms.get_or_insert(now_ms);
            let receipt = format!("AQEB{}", state.rng.alnum(40));
            m.receipt = Some(receipt.clone());
            m.visible_at = visible_at;
            let mut attributes = json!({
                "ApproximateReceiveCount": m.receive_count.to_string(),
                "SentTimestamp": m.sent_ms.to_string(),
                "SenderId": "AROAEMULATOR:events",
                "ApproximateFirstReceiveTimestamp": first.to_string(),
            });
            if fifo {
                attributes["SequenceNumber"] = json!(format!("{:020}", m.sequence));
                attributes["MessageGroupId"] = json!(m.group.clone().unwrap_or_default());
                attributes["MessageDeduplicationId"] = json!(m.deduplication_id);
            }
            json!({
                "messageId": m.id, "receiptHandle": receipt, "body": m.body,
                "attributes": attributes, "messageAttributes": {},
                "md5OfBody": util::md5_hex(m.body.as_bytes()),
                "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": REGION,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Moves the messages at `dead` to the queue's dead-letter queue (dropped
/// when it has none).
fn dead_letter(inner: &mut Inner, queue: &str, dead: &[usize]) {
    let Some(q) = inner.queues.get_mut(queue) else {
        return;
    };
    let target = q.options.dead_letter_queue.clone();
    let mut moved = Vec::new();
    for &i in dead.iter().rev() {
        moved.push(q.messages.remove(i));
    }
    moved.reverse();
    if let Some(dlq) = target.and_then(|name| inner.queues.get_mut(&name)) {
        for mut message in moved {
            message.receive_count = 0;
            message.receipt = None;
            message.visible_at = Instant::now();
            dlq.messages.push(message);
        }
    }
}

// ---- the HTTP API ----

pub(crate) fn execute(state: &State, operation: &str, body: &Value) -> Resp {
    let mut inner = state.lock();
    let result = match operation {
        "ChangeMessageVisibility" => change_visibility(&mut inner, body).map(|()| json!({})),
        "ChangeMessageVisibilityBatch" => change_visibility_batch(&mut inner, body),
        _ => Err(error(
            "UnsupportedOperation",
            format!("{operation} is not emulated"),
        )),
    };
    match result {
        Ok(response) => json_response(200, &response),
        Err((code, message)) => json_error(400, code, &message),
    }
}

type SqsError = (&'static str, String);

fn error(code: &'static str, message: String) -> SqsError {
    (code, message)
}

fn queue_of<'a>(inner: &'a mut Inner, body: &Value) -> Result<&'a mut Queue, SqsError> {
    let url = body["QueueUrl"]
        .as_str()
        .ok_or_else(|| error("MissingParameter", "QueueUrl is required".into()))?;
    inner.queues.get_mut(name_of(url)).ok_or_else(|| {
        error(
            "QueueDoesNotExist",
            format!("The specified queue does not exist: {url}"),
        )
    })
}

fn change_visibility(inner: &mut Inner, body: &Value) -> Result<(), SqsError> {
    let queue = queue_of(inner, body)?;
    change_one(queue, &body["ReceiptHandle"], &body["VisibilityTimeout"])
}

fn change_one(queue: &mut Queue, handle: &Value, timeout: &Value) -> Result<(), SqsError> {
    let handle = handle
        .as_str()
        .ok_or_else(|| error("MissingParameter", "ReceiptHandle is required".into()))?;
    let seconds = timeout
        .as_i64()
        .filter(|s| (0..=MAX_VISIBILITY).contains(s))
        .ok_or_else(|| {
            error(
                "InvalidParameterValue",
                format!("VisibilityTimeout must be an integer from 0 to {MAX_VISIBILITY}"),
            )
        })?;
    let now = Instant::now();
    let visible_at = queue.after(seconds);
    let message = queue
        .messages
        .iter_mut()
        .find(|m| m.receipt.as_deref() == Some(handle))
        .ok_or_else(|| {
            error(
                "ReceiptHandleIsInvalid",
                "The receipt handle is not the latest of any message of the queue".into(),
            )
        })?;
    if !message.in_flight(now) {
        return Err(error(
            "MessageNotInflight",
            "The message is not in flight".into(),
        ));
    }
    message.visible_at = visible_at;
    Ok(())
}

fn change_visibility_batch(inner: &mut Inner, body: &Value) -> Result<Value, SqsError> {
    let queue = queue_of(inner, body)?;
    let entries = body["Entries"]
        .as_array()
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            error(
                "EmptyBatchRequest",
                "There should be at least one entry".into(),
            )
        })?;
    if entries.len() > 10 {
        return Err(error(
            "TooManyEntriesInBatchRequest",
            format!("{} entries; at most 10", entries.len()),
        ));
    }
    let mut ids: BTreeMap<String, ()> = BTreeMap::new();
    let (mut successful, mut failed) = (Vec::new(), Vec::new());
    for entry in entries {
        let id = entry["Id"].as_str().unwrap_or_default().to_string();
        if ids.insert(id.clone(), ()).is_some() {
            return Err(error(
                "BatchEntryIdsNotDistinct",
                format!("Id {id} is repeated"),
            ));
        }
        match change_one(queue, &entry["ReceiptHandle"], &entry["VisibilityTimeout"]) {
            Ok(()) => successful.push(json!({"Id": id})),
            Err((code, message)) => failed
                .push(json!({"Id": id, "SenderFault": true, "Code": code, "Message": message})),
        }
    }
    Ok(json!({"Successful": successful, "Failed": failed}))
}
