//! The pipeline: event -> work items -> resolved jobs -> started jobs ->
//! events -> response. Each stage returns what it found; a failure carries
//! what was known when it happened. Records run concurrently, bounded by
//! `MAX_CONCURRENCY`, within one deadline for the whole invocation, and
//! their results keep the input order.

use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::app::App;
use crate::deadline::Deadline;
use crate::emit::outcome::{self, MessageOutcome, RecordOutcome};
use crate::emit::visibility;
use crate::error::{ErrorKind, ImportError};
use crate::import::{create, parts, start};
use crate::model::{Known, WorkItem};
use crate::resolve::validate::{check_allowed, parse_ids};
use crate::resolve::{self, Resolved};
use crate::trigger::sqs::{self, SqsMessage};
use crate::trigger::Delivery;
use crate::trigger::{self, AddToGroups, Invocation};
use crate::{emit, groups, track};

impl App {
    /// Handles one invocation.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, ImportError> {
        handle(self, event).await
    }
}

pub async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Value, ImportError> {
    let deadline = Deadline::of_invocation(event.context.deadline());
    let invocation = trigger::parse(&event.payload).inspect_err(|error| {
        tracing::warn!(error_type = error.error_type(), error = %error, "unsupported event");
    })?;
    match invocation {
        Invocation::Summary(items) => {
            let records = process_all(app, items, deadline).await;
            let records = publish_and_log(app, records, deadline).await;
            measure(app, &records, None);
            outcome::summary(&records)
        }
        Invocation::Sqs(messages) => {
            let began = Instant::now();
            let messages = if sqs::is_fifo(&messages) {
                in_order(app, messages, deadline).await
            } else {
                all_at_once(app, messages, deadline).await
            };
            visibility::set(app, &messages, deadline, began).await;
            outcome::batch_response(&messages)
        }
        Invocation::Direct(item) => {
            let record = process(app, item, deadline).await;
            let published = publish(app, std::slice::from_ref(&record), deadline)
                .await
                .pop()
                .unwrap_or(Ok(()));
            let (record, response) =
                outcome::direct(record, published, app.config.emit_presigned_url.into());
            record.log();
            measure(app, std::slice::from_ref(&record), None);
            response
        }
        Invocation::Track {
            user_pool_id,
            job_id,
            object,
            part,
        } => {
            let ids = parse_ids(("UserPoolId", &user_pool_id), ("JobId", &job_id))?;
            check_allowed(&app.config, &ids.user_pool_id)?;
            track::track(app, &ids, object.as_ref(), part, deadline).await
        }
        Invocation::AddToGroups(request) => {
            let ids = parse_ids(
                ("UserPoolId", &request.user_pool_id),
                ("JobId", &request.job_id),
            )?;
            check_allowed(&app.config, &ids.user_pool_id)?;
            let request = AddToGroups {
                user_pool_id: ids.user_pool_id,
                job_id: ids.job_id,
                ..request
            };
            groups::add_to_groups(app, &request, deadline).await
        }
    }
}

/// A standard queue's batch: every message's records at once, bounded by
/// `MAX_CONCURRENCY`, their events published together.
async fn all_at_once(
    app: &App,
    messages: Vec<SqsMessage>,
    deadline: Deadline,
) -> Vec<MessageOutcome> {
    let sizes: Vec<usize> = messages.iter().map(|m| m.items.len()).collect();
    let items = messages
        .iter()
        .flat_map(|m| m.items.iter().cloned())
        .collect();
    let records = process_all(app, items, deadline).await;
    let mut records = publish_and_log(app, records, deadline).await.into_iter();
    messages
        .into_iter()
        .zip(sizes)
        .map(|(message, size)| {
            let records: Vec<RecordOutcome> = records.by_ref().take(size).collect();
            measure(app, &records, Some(&message.delivery));
            MessageOutcome {
                message_id: message.message_id,
                delivery: message.delivery,
                records,
                held_back: false,
            }
        })
        .collect()
}

/// A FIFO queue's batch (SPEC section 13): one message at a time, in order,
/// its events published before the next begins. From the first message that
/// fails retryably on, the rest are held back unprocessed, so that the queue
/// keeps its order; a permanent failure does not stop the batch. The one
/// that failed waits, whatever its retryable error (section 16), and the
/// held-back ones are released (`visibility::set`).
async fn in_order(app: &App, messages: Vec<SqsMessage>, deadline: Deadline) -> Vec<MessageOutcome> {
    let mut done: Vec<MessageOutcome> = Vec::with_capacity(messages.len());
    for message in messages {
        let stopped = done.last().is_some_and(MessageOutcome::listed);
        let records = if stopped {
            Vec::new()
        } else {
            let records = process_all(app, message.items, deadline).await;
            let records = publish_and_log(app, records, deadline).await;
            measure(app, &records, Some(&message.delivery));
            records
        };
        let outcome = MessageOutcome {
            message_id: message.message_id,
            delivery: message.delivery,
            records,
            held_back: stopped,
        };
        if stopped {
            outcome.log_held_back();
        }
        done.push(outcome);
    }
    done
}

/// The records' metrics (when `METRICS_NAMESPACE` is set), once their events
/// are published.
fn measure(app: &App, records: &[RecordOutcome], delivery: Option<&Delivery>) {
    if let Some(metrics) = &app.metrics {
        records
            .iter()
            .for_each(|r| emit::metrics::record(metrics, r, delivery));
    }
}

/// Every item through its stages, `MAX_CONCURRENCY` at a time; the results
/// in input order.
async fn process_all(app: &App, items: Vec<WorkItem>, deadline: Deadline) -> Vec<RecordOutcome> {
    // Unordered, so that a slow record holds back no other once the window
    // is full; the results are put back in input order.
    let mut done: Vec<(usize, RecordOutcome)> = stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| async move { (i, process(app, item, deadline).await) })
        .buffer_unordered(app.config.max_concurrency)
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, record)| record).collect()
}

/// One item: resolve, then start (or create and start), within the
/// invocation's deadline. A record still waiting for its slot when the work
/// deadline passes sends nothing and fails retryably.
async fn process(app: &App, item: WorkItem, deadline: Deadline) -> RecordOutcome {
    let known = Known::object(item.object().cloned());
    let result = deadline
        .work(async {
            let started = match resolve::resolve(app, item).await {
                Ok(Resolved::Ignored { object }) => return Ok(RecordOutcome::ignored(object)),
                Ok(Resolved::Named { ids, head, known }) => {
                    start::start_named(app, ids, head, known).await
                }
                Ok(Resolved::Create {
                    user_pool_id,
                    head,
                    known,
                    announced,
                }) => {
                    // Boxed: create mode's future (preflight, parts) is
                    // large, and would sit on the stack of every record.
                    Box::pin(create::create_and_start(
                        app,
                        head,
                        user_pool_id,
                        known,
                        announced,
                    ))
                    .await
                }
                Err(failure) if failure.error.kind == ErrorKind::ObjectNotFound => {
                    match failure.known.object.clone() {
                        Some(object) => Err(parts::vanished(app, &object, failure).await),
                        None => Err(failure),
                    }
                }
                Err(failure) => Err(failure),
            };
            Ok(RecordOutcome::from(started))
        })
        .await;
    result.unwrap_or_else(|error: ImportError| RecordOutcome::from(Err(known.failed(error))))
}

/// Publishes every record's event, in as few calls as possible, and returns
/// one result per record (`Ok` for a record without an event).
async fn publish(
    app: &App,
    records: &[RecordOutcome],
    deadline: Deadline,
) -> Vec<Result<(), ImportError>> {
    let url = app.config.emit_presigned_url.into();
    let (owners, events): (Vec<usize>, Vec<emit::Event>) = records
        .iter()
        .enumerate()
        .filter_map(|(i, record)| record.event(url).map(|event| (i, event)))
        .unzip();
    let results = deadline
        .publish(events.len(), emit::publish(app, &events))
        .await;
    let mut per_record: Vec<Result<(), ImportError>> = vec![Ok(()); records.len()];
    for (i, result) in owners.into_iter().zip(results) {
        per_record[i] = result;
    }
    per_record
}

/// Publishes, turns every record whose event was not published into a
/// retryable failure, and logs one line per record.
async fn publish_and_log(
    app: &App,
    records: Vec<RecordOutcome>,
    deadline: Deadline,
) -> Vec<RecordOutcome> {
    let results = publish(app, &records, deadline).await;
    let records: Vec<RecordOutcome> = records
        .into_iter()
        .zip(results)
        .map(|(record, result)| record.published(result))
        .collect();
    records.iter().for_each(RecordOutcome::log);
    records
}
