//! SPEC section 6: how each record ends, and how the records of an invocation
//! become its response (or its error, so that the delivery comes again).

use aws_lambda_events::event::sqs::SqsBatchResponse;
use serde_json::{json, Map, Value};

use crate::emit::{self, Event, JobStart};
use crate::error::{ErrorKind, ImportError};
use crate::model::{Failure, ImportJob, Known, ObjectRef, PresignedUrl, Started};
use crate::trigger::Delivery;

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Started,
    AlreadyStarted,
    Ignored,
    Failed(ImportError),
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Started => "Started",
            Outcome::AlreadyStarted => "AlreadyStarted",
            Outcome::Ignored => "Ignored",
            Outcome::Failed(_) => "Failed",
        }
    }
}

/// One record's end, with everything known about it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordOutcome {
    pub known: Known,
    pub job: Option<ImportJob>,
    pub outcome: Outcome,
}

impl From<Result<Started, Failure>> for RecordOutcome {
    fn from(result: Result<Started, Failure>) -> RecordOutcome {
        match result {
            Ok(started) => RecordOutcome {
                outcome: if started.already_started {
                    Outcome::AlreadyStarted
                } else {
                    Outcome::Started
                },
                job: Some(started.job),
                known: started.known,
            },
            Err(failure) => RecordOutcome {
                known: *failure.known,
                job: None,
                outcome: Outcome::Failed(failure.error),
            },
        }
    }
}

impl RecordOutcome {
    pub fn ignored(object: Option<ObjectRef>) -> RecordOutcome {
        RecordOutcome {
            known: Known::object(object),
            job: None,
            outcome: Outcome::Ignored,
        }
    }

    pub fn error(&self) -> Option<&ImportError> {
        match &self.outcome {
            Outcome::Failed(error) => Some(error),
            _ => None,
        }
    }

    pub fn failed_retryably(&self) -> bool {
        self.error().is_some_and(ImportError::is_retryable)
    }

    /// The event this record publishes: its job record, or its permanent
    /// failure. A retryable failure publishes nothing: it comes again.
    pub fn event(&self, url: PresignedUrl) -> Option<Event> {
        let start = match self.outcome {
            Outcome::AlreadyStarted => JobStart::AlreadyStarted,
            _ => JobStart::StartedNow,
        };
        match (&self.outcome, &self.job) {
            (Outcome::Started | Outcome::AlreadyStarted, Some(job)) => {
                Some(emit::started(url, job, &self.known, start))
            }
            (Outcome::Failed(error), _) if !error.is_retryable() => {
                Some(emit::start_failed(error, &self.known))
            }
            _ => None,
        }
    }

    /// The record once its event was (or was not) published: an event that
    /// was not published makes the record fail retryably, so that it comes
    /// again and nothing is lost.
    pub fn published(self, result: Result<(), ImportError>) -> RecordOutcome {
        let Err(error) = result else { return self };
        let message = match &self.outcome {
            Outcome::Failed(original) => format!(
                "{} (could not publish the failure event for {}: {})",
                error.message,
                original.error_type(),
                original.message
            ),
            _ => error.message,
        };
        RecordOutcome {
            outcome: Outcome::Failed(ImportError::new(error.kind, message)),
            ..self
        }
    }

    pub fn status(&self) -> Option<&str> {
        self.job.as_ref().and_then(|job| job.status.as_deref())
    }

    /// The entry of an S3 or EventBridge summary.
    pub fn summary_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("Outcome".into(), self.outcome.name().into());
        if let Some(object) = &self.known.object {
            map.insert("Bucket".into(), object.bucket.clone().into());
            map.insert("Key".into(), object.key.clone().into());
        }
        if let Some(pool) = &self.known.user_pool_id {
            map.insert("UserPoolId".into(), pool.clone().into());
        }
        if let Some(job) = &self.known.job_id {
            map.insert("JobId".into(), job.clone().into());
        }
        if let Some(status) = self.status() {
            map.insert("Status".into(), status.into());
        }
        if let Some(error) = self.error() {
            map.insert("Error".into(), error.to_json());
        }
        Value::Object(map)
    }

    /// SPEC section 8: one line per record outcome. The key is logged as it is
    /// (the log formatter escapes it), so that a query on the key finds it.
    pub fn log(&self) {
        let (bucket, key) = self
            .known
            .object
            .as_ref()
            .map_or(("", ""), |o| (o.bucket.as_str(), o.key.as_str()));
        let pool = self.known.user_pool_id.as_deref().unwrap_or_default();
        let job = self.known.job_id.as_deref().unwrap_or_default();
        let status = self.status().unwrap_or_default();
        let outcome = self.outcome.name();
        match self.error() {
            None => tracing::info!(
                bucket,
                key,
                user_pool_id = pool,
                job_id = job,
                outcome,
                status,
                created_job = self.known.created_job,
                "record outcome"
            ),
            Some(error) => {
                let error_type = error.error_type();
                let retryable = error.is_retryable();
                let message = error.message.as_str();
                tracing::warn!(
                    bucket,
                    key,
                    user_pool_id = pool,
                    job_id = job,
                    outcome,
                    status,
                    error_type,
                    retryable,
                    created_job = self.known.created_job,
                    error = message,
                    "record outcome"
                )
            }
        }
    }
}

/// S3 and EventBridge triggers: the summary, or, when any record failed
/// retryably, an error once all records are done, so that Lambda retries.
pub fn summary(records: &[RecordOutcome]) -> Result<Value, ImportError> {
    let retryable: Vec<&ImportError> = records
        .iter()
        .filter_map(RecordOutcome::error)
        .filter(|e| e.is_retryable())
        .collect();
    if let Some(first) = retryable.first() {
        let reasons: Vec<String> = retryable
            .iter()
            .map(|e| format!("{}: {}", e.error_type(), e.message))
            .collect();
        return Err(ImportError::new(
            first.kind,
            format!(
                "{} of {} records failed retryably and the event will be delivered again: {}",
                retryable.len(),
                records.len(),
                reasons.join("; ")
            ),
        ));
    }
    let results: Vec<Value> = records.iter().map(RecordOutcome::summary_json).collect();
    Ok(json!({ "Results": results }))
}

/// One SQS message's end: its records' outcomes, or, in a FIFO batch after a
/// message that failed retryably, not processed at all.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageOutcome {
    pub message_id: Option<String>,
    pub delivery: Delivery,
    pub records: Vec<RecordOutcome>,
    /// Not processed: an earlier message of its FIFO batch failed retryably,
    /// and a FIFO queue's messages are handled in order (SPEC section 13).
    pub held_back: bool,
}

impl MessageOutcome {
    /// Listed in `batchItemFailures`, so that it comes again.
    pub fn listed(&self) -> bool {
        self.held_back || self.first_retryable().is_some()
    }

    pub fn first_retryable(&self) -> Option<&ImportError> {
        self.records
            .iter()
            .filter_map(RecordOutcome::error)
            .find(|e| e.is_retryable())
    }

    /// Listed for a retryable failure of its own, and so waits before it is
    /// tried again (its visibility is set, SPEC sections 13 and 16). From a
    /// FIFO queue, any retryable failure: the message heads its group, and
    /// left to the queue's visibility timeout it would hold every drop behind
    /// it that long, and reach `maxReceiveCount` only after the queue's
    /// retention. From a standard queue, only the errors that wait for
    /// something to finish (the import slot, a CSV upload, the parts
    /// before), as section 13 has it. A held-back message does not wait: it
    /// is released.
    pub fn waits(&self) -> bool {
        !self.held_back
            && self
                .first_retryable()
                .is_some_and(|e| self.delivery.is_fifo() || e.kind.waits())
    }

    /// The line of a message that was not processed (the records of the
    /// others log their own).
    pub fn log_held_back(&self) {
        tracing::info!(
            message_id = self.message_id.as_deref().unwrap_or_default(),
            "message not processed: an earlier message of the FIFO batch failed retryably; \
             listed in batchItemFailures to keep the queue's order"
        );
    }
}

/// SQS: the messages that must come again (a record failed retryably, or
/// held back behind one in a FIFO batch), as `aws_lambda_events`'
/// `SqsBatchResponse`. A message without an ID cannot be named, so then the
/// whole batch fails.
pub fn batch_response(messages: &[MessageOutcome]) -> Result<Value, ImportError> {
    let mut response = SqsBatchResponse::default();
    for message in messages.iter().filter(|m| m.listed()) {
        match &message.message_id {
            Some(id) => response.add_failure(id.as_str()),
            None => {
                let (kind, why) = match message.first_retryable() {
                    Some(error) => (error.kind, error.message.clone()),
                    None => (
                        ErrorKind::ServiceUnavailable,
                        "it was held back behind a message that failed retryably".to_string(),
                    ),
                };
                return Err(ImportError::new(
                    kind,
                    format!(
                        "an SQS message without messageId must come again, so the whole batch is retried: {why}"
                    ),
                ));
            }
        }
    }
    // Strings only: cannot fail, but if it did, the batch would come again.
    serde_json::to_value(response).map_err(|error| {
        ImportError::new(
            ErrorKind::ServiceUnavailable,
            format!("the SQS batch response could not be written: {error}"),
        )
    })
}

/// Direct invocations: the job record, or the failure as the Lambda error,
/// with the record as it is logged. A failure keeps its own type even when
/// its failure event could not be published: the caller holds the error
/// (Step Functions `Catch` matches it), and the unpublished event is logged.
pub fn direct(
    record: RecordOutcome,
    published: Result<(), ImportError>,
    url: PresignedUrl,
) -> (RecordOutcome, Result<Value, ImportError>) {
    if let Outcome::Failed(error) = &record.outcome {
        if let Err(unpublished) = &published {
            tracing::warn!(
                error_type = error.error_type(),
                publish_error = unpublished.message.as_str(),
                "the failure event could not be published; the caller has the error"
            );
        }
        let error = error.clone();
        return (record, Err(error));
    }
    let record = record.published(published);
    let response = direct_response(&record, url);
    (record, response)
}

fn direct_response(record: &RecordOutcome, url: PresignedUrl) -> Result<Value, ImportError> {
    let already_started = match &record.outcome {
        Outcome::Started => false,
        Outcome::AlreadyStarted => true,
        Outcome::Failed(error) => return Err(error.clone()),
        Outcome::Ignored => {
            return Err(ImportError::new(
                ErrorKind::UnsupportedEvent,
                "the object names no import",
            ));
        }
    };
    let mut map = Map::new();
    if let Some(job) = &record.job {
        map.insert("UserImportJob".into(), job.to_json(url));
    }
    map.insert("AlreadyStarted".into(), already_started.into());
    if let Some(object) = &record.known.object {
        map.insert("Object".into(), object.to_json());
    }
    // Only create mode says so: the section 2 shapes stay as they are.
    if record.known.created_job {
        map.insert("CreatedJob".into(), true.into());
    }
    if let Some(part) = &record.known.part {
        map.insert("Part".into(), part.to_json());
    }
    Ok(Value::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(outcome: Outcome) -> RecordOutcome {
        RecordOutcome {
            outcome,
            ..RecordOutcome::ignored(Some(ObjectRef::new("b", "k", None)))
        }
    }

    fn failed(kind: ErrorKind) -> RecordOutcome {
        record(Outcome::Failed(ImportError::new(kind, kind.as_str())))
    }

    #[test]
    fn permanent_failures_do_not_fail_the_summary() {
        let value =
            summary(&[record(Outcome::Ignored), failed(ErrorKind::ObjectNotFound)]).unwrap();
        assert_eq!(
            value["Results"][0],
            json!({"Outcome": "Ignored", "Bucket": "b", "Key": "k"})
        );
        assert_eq!(value["Results"][1]["Error"]["Type"], "ObjectNotFound");
    }

    #[test]
    fn a_retryable_failure_fails_the_summary_with_its_type() {
        let error = summary(&[
            failed(ErrorKind::ObjectNotFound),
            failed(ErrorKind::TooManyRequests),
        ])
        .unwrap_err();
        assert_eq!(error.kind, ErrorKind::TooManyRequests);
        assert!(error.message.starts_with("1 of 2 records"));
    }

    fn message(id: Option<&str>, records: Vec<RecordOutcome>, held_back: bool) -> MessageOutcome {
        MessageOutcome {
            message_id: id.map(str::to_string),
            delivery: Delivery::default(),
            records,
            held_back,
        }
    }

    #[test]
    fn batch_lists_retryable_and_held_back_messages() {
        let messages = vec![
            message(Some("m1"), vec![failed(ErrorKind::ObjectNotFound)], false),
            message(
                Some("m2"),
                vec![record(Outcome::Started), failed(ErrorKind::CsvNotUploaded)],
                false,
            ),
            message(Some("m3"), vec![record(Outcome::Started)], false),
            message(Some("m4"), vec![], true),
        ];
        assert_eq!(
            batch_response(&messages).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m4"}]})
        );
        // The exact text Lambda reads, field names included.
        assert_eq!(
            batch_response(&messages[..3]).unwrap().to_string(),
            r#"{"batchItemFailures":[{"itemIdentifier":"m2"}]}"#
        );
        assert_eq!(
            batch_response(&messages[2..3]).unwrap().to_string(),
            r#"{"batchItemFailures":[]}"#
        );
        assert!(messages[1].waits() && !messages[3].waits() && !messages[0].waits());
        let nameless = vec![message(
            None,
            vec![failed(ErrorKind::ServiceUnavailable)],
            false,
        )];
        assert_eq!(
            batch_response(&nameless).unwrap_err().kind,
            ErrorKind::ServiceUnavailable
        );
        let held = vec![message(None, vec![], true)];
        assert_eq!(
            batch_response(&held).unwrap_err().kind,
            ErrorKind::ServiceUnavailable
        );
    }

    fn fifo(message: MessageOutcome) -> MessageOutcome {
        MessageOutcome {
            delivery: Delivery {
                source_arn: Some("arn:aws:sqs:us-east-1:123456789012:drops.fifo".into()),
                ..Delivery::default()
            },
            ..message
        }
    }

    #[test]
    fn a_fifo_message_waits_after_any_retryable_failure_a_standard_one_only_for_the_slot() {
        for kind in ErrorKind::ALL {
            let standard = message(Some("m"), vec![failed(kind)], false);
            let (on_standard, on_fifo) = (standard.waits(), fifo(standard).waits());
            assert_eq!(on_fifo, kind.is_retryable(), "{kind} on a FIFO queue");
            assert_eq!(on_standard, kind.waits(), "{kind} on a standard queue");
        }
        assert!(!ErrorKind::ServiceUnavailable.waits());
        // Held back, or done: nothing to wait for.
        assert!(!fifo(message(Some("m"), vec![], true)).waits());
        assert!(!fifo(message(Some("m"), vec![record(Outcome::Started)], false)).waits());
        let later = message(
            Some("m"),
            vec![
                failed(ErrorKind::ObjectNotFound),
                failed(ErrorKind::TooManyRequests),
            ],
            false,
        );
        assert!(fifo(later).waits());
    }

    #[test]
    fn a_failed_publish_turns_a_permanent_failure_retryable() {
        let refused = || Err(ImportError::new(ErrorKind::EventPublishFailed, "refused"));
        let r = failed(ErrorKind::MissingImportMetadata).published(refused());
        assert_eq!(
            r.error().map(|e| e.kind),
            Some(ErrorKind::EventPublishFailed)
        );
        assert!(r.failed_retryably());
        let started = record(Outcome::Started).published(refused());
        assert!(started.failed_retryably());
        assert_eq!(
            record(Outcome::Started).published(Ok(())).outcome,
            Outcome::Started
        );
    }

    #[test]
    fn a_direct_failure_keeps_its_type_when_its_event_is_not_published() {
        let refused = || Err(ImportError::new(ErrorKind::EventPublishFailed, "refused"));
        let (_, response) = direct(
            failed(ErrorKind::ImportJobExpired),
            refused(),
            PresignedUrl::Omitted,
        );
        assert_eq!(response.unwrap_err().kind, ErrorKind::ImportJobExpired);
        // A started job whose event was lost must come again.
        let (logged, response) = direct(record(Outcome::Started), refused(), PresignedUrl::Omitted);
        assert_eq!(response.unwrap_err().kind, ErrorKind::EventPublishFailed);
        assert!(logged.failed_retryably());
    }
}
