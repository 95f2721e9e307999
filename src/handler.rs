//! The pipeline: event -> work items -> resolved jobs -> started jobs ->
//! events -> response. Records run concurrently, bounded by
//! `MAX_CONCURRENCY`, and their results keep the input order.

use std::time::{Duration, SystemTime};

use futures_util::stream::{self, StreamExt};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::error::{ErrorKind, ImportError};
use crate::model::{JobRef, WorkItem};
use crate::outcome::{self, Outcome, RecordOutcome};
use crate::resolve::{ObjectHead, Plan};
use crate::start::{start_job, StartedJob};
use crate::trigger::{self, Invocation};
use crate::{create, emit, preflight, resolve, track, validate, App};

pub async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Value, ImportError> {
    let budget = work_budget(event.context.deadline());
    let invocation = trigger::parse(&event.payload).inspect_err(|error| {
        tracing::warn!(error_type = error.error_type(), error = %error, "unsupported event");
    })?;
    match invocation {
        Invocation::Summary(items) => outcome::summary(&run_items(app, items, budget).await),
        Invocation::Sqs(messages) => {
            let sizes: Vec<usize> = messages.iter().map(|m| m.items.len()).collect();
            let items = messages
                .iter()
                .flat_map(|m| m.items.iter().cloned())
                .collect();
            let mut records = run_items(app, items, budget).await.into_iter();
            let grouped: Vec<(Option<String>, Vec<RecordOutcome>)> = messages
                .into_iter()
                .zip(sizes)
                .map(|(message, size)| (message.message_id, records.by_ref().take(size).collect()))
                .collect();
            outcome::batch_response(&grouped)
        }
        Invocation::Direct(item) => {
            let record = run_items(app, vec![item], budget).await.pop();
            let record = record
                .ok_or_else(|| ImportError::new(ErrorKind::UnsupportedEvent, "nothing to do"))?;
            outcome::direct(record, app.config.emit_presigned_url)
        }
        Invocation::Track {
            user_pool_id,
            job_id,
        } => {
            let ids = validate::parse_ids(("UserPoolId", &user_pool_id), ("JobId", &job_id))?;
            validate::check_allowed(&app.config, &ids)?;
            track::track(app, &ids).await
        }
    }
}

/// Time the records may take: what the Lambda deadline leaves, less a margin
/// to publish events and answer. `None` when there is no deadline (tests).
fn work_budget(deadline: SystemTime) -> Option<Duration> {
    let left = deadline.duration_since(SystemTime::now()).ok()?;
    let margin = (left / 5).clamp(Duration::from_millis(200), Duration::from_secs(3));
    Some(left.saturating_sub(margin))
}

/// Every item through resolve and start, then all their events in as few
/// `PutEvents` calls as possible; one logged outcome per record.
async fn run_items(
    app: &App,
    items: Vec<WorkItem>,
    budget: Option<Duration>,
) -> Vec<RecordOutcome> {
    // Unordered, so that a slow record holds back no other once the window
    // is full; the results are put back in input order.
    let mut done: Vec<(usize, RecordOutcome)> = stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| async move { (i, run_item(app, item, budget).await) })
        .buffer_unordered(app.config.max_concurrency)
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    let mut records: Vec<RecordOutcome> = done.into_iter().map(|(_, record)| record).collect();
    publish_events(app, &mut records).await;
    records.iter().for_each(RecordOutcome::log);
    records
}

async fn run_item(app: &App, item: WorkItem, budget: Option<Duration>) -> RecordOutcome {
    let mut record = RecordOutcome::new(None);
    let work = advance(app, item, &mut record);
    let result = match budget {
        Some(budget) => tokio::time::timeout(budget, work)
            .await
            .unwrap_or_else(|_| {
                Err(ImportError::new(
                    ErrorKind::ServiceUnavailable,
                    "AWS did not answer before the Lambda deadline; the delivery will be retried",
                ))
            }),
        None => work.await,
    };
    record.outcome = match result {
        Ok(None) => Outcome::Ignored,
        Ok(Some(started)) => {
            let outcome = if started.already_started {
                Outcome::AlreadyStarted
            } else {
                Outcome::Started
            };
            record.job = Some(started.job);
            outcome
        }
        Err(error) => Outcome::Failed(error),
    };
    record
}

/// Takes one item as far as it goes, noting in `record` what becomes known
/// on the way (so that a failure still names its object and IDs).
async fn advance(
    app: &App,
    item: WorkItem,
    record: &mut RecordOutcome,
) -> Result<Option<StartedJob>, ImportError> {
    match item {
        WorkItem::Ignored { object, reason } => {
            tracing::debug!(reason, "record ignored");
            record.object = object;
            Ok(None)
        }
        WorkItem::Invalid { object, error } => {
            record.object = object;
            Err(error)
        }
        WorkItem::Ids {
            user_pool_id,
            job_id,
        } => {
            let ids = validate::parse_ids(("UserPoolId", &user_pool_id), ("JobId", &job_id))?;
            start_allowed(app, ids, None, record).await.map(Some)
        }
        WorkItem::Object(object) => {
            record.object = Some(object.clone());
            let head = resolve::head_object(app, &object).await?;
            record.object = Some(head.object.clone());
            match resolve::plan(app, &head)? {
                Plan::Start(ids) => start_allowed(app, ids, Some(&head), record).await.map(Some),
                Plan::Create { user_pool_id } => {
                    create::create_and_start(app, &head, user_pool_id, record)
                        .await
                        .map(Some)
                }
            }
        }
    }
}

/// SPEC section 4 for a named job. For an object, `VALIDATE_CSV` checks the
/// file first (section 10).
async fn start_allowed(
    app: &App,
    ids: JobRef,
    object: Option<&ObjectHead>,
    record: &mut RecordOutcome,
) -> Result<StartedJob, ImportError> {
    record.note_ids(&ids);
    validate::check_allowed(&app.config, &ids)?;
    if let Some(head) = object.filter(|_| app.config.validate_csv) {
        preflight::check(app, head, &ids.user_pool_id).await?;
    }
    start_job(app, &ids).await
}

/// Publishes every record's event; a record whose event was refused fails
/// retryably, so that it comes again and nothing is lost.
async fn publish_events(app: &App, records: &mut [RecordOutcome]) {
    let (owners, events): (Vec<usize>, Vec<emit::Event>) = records
        .iter()
        .enumerate()
        .filter_map(|(i, record)| record.event(app).map(|event| (i, event)))
        .unzip();
    let results = emit::publish(app, &events).await;
    for (i, result) in owners.into_iter().zip(results) {
        if let Err(error) = result {
            records[i].publish_failed(error);
        }
    }
}
