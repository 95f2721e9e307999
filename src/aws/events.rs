//! The EventBridge adapter: `PutEvents`. Entries go out in as few calls as
//! the 10-entry limit allows; each entry's own result is mapped back,
//! because EventBridge can accept a call and still refuse some of its
//! entries (`FailedEntryCount`).

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use futures_util::stream::{self, StreamExt};

use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};

/// PutEvents takes at most 10 entries per call.
const MAX_ENTRIES_PER_CALL: usize = 10;

/// The bus every event goes to, as the configuration names it.
#[derive(Clone, Copy, Debug)]
pub struct Bus<'a> {
    pub client: &'a aws_sdk_eventbridge::Client,
    /// `EVENT_BUS_NAME`.
    pub name: &'a str,
    /// `EVENT_SOURCE`.
    pub source: &'a str,
    /// `MAX_CONCURRENCY`: calls in flight at once.
    pub concurrency: usize,
}

/// One entry to publish: its detail-type and its detail as JSON text.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub detail_type: &'static str,
    pub detail: String,
}

impl Bus<'_> {
    /// Publishes `entries`, returning one result per entry, in order.
    pub async fn publish(&self, entries: &[Entry]) -> Vec<Result<(), ImportError>> {
        let chunks: Vec<&[Entry]> = entries.chunks(MAX_ENTRIES_PER_CALL).collect();
        let results: Vec<Vec<Result<(), ImportError>>> = stream::iter(chunks)
            .map(|chunk| self.put_chunk(chunk))
            .buffered(self.concurrency)
            .collect()
            .await;
        results.into_iter().flatten().collect()
    }

    fn entry(&self, entry: &Entry) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(self.name)
            .source(self.source)
            .detail_type(entry.detail_type)
            .detail(&entry.detail)
            .build()
    }

    async fn put_chunk(&self, chunk: &[Entry]) -> Vec<Result<(), ImportError>> {
        let entries: Vec<PutEventsRequestEntry> =
            chunk.iter().map(|entry| self.entry(entry)).collect();
        let what = format!("PutEvents to {}", self.name);
        let output = match self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => {
                let error = classify_sdk_error(Service::EventBridge, &what, &error);
                return vec![Err(error); chunk.len()];
            }
        };
        let answers = output.entries();
        (0..chunk.len())
            .map(|i| match answers.get(i) {
                Some(answer) if answer.error_code().is_none() && answer.event_id().is_some() => {
                    Ok(())
                }
                Some(answer) => Err(ImportError::new(
                    ErrorKind::EventPublishFailed,
                    format!(
                        "{what}: EventBridge refused the entry ({}: {}); the delivery will be retried",
                        answer.error_code().unwrap_or("no code"),
                        answer.error_message().unwrap_or("no message")
                    ),
                )),
                None => Err(ImportError::new(
                    ErrorKind::EventPublishFailed,
                    format!("{what}: EventBridge did not answer for every entry; the delivery will be retried"),
                )),
            })
            .collect()
    }
}
