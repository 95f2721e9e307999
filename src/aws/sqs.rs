//! The SQS adapter: `ChangeMessageVisibility` and its batch form. A failed
//! call never fails an invocation (the message comes back after the queue's
//! visibility timeout), so the failure is handed back as text to be logged.

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;

/// `ChangeMessageVisibilityBatch` takes at most 10 entries.
pub const MAX_BATCH: usize = 10;

/// One queue's visibility calls.
#[derive(Clone, Copy, Debug)]
pub struct Queue<'a> {
    pub client: &'a aws_sdk_sqs::Client,
    pub url: &'a str,
}

impl Queue<'_> {
    /// Sets one message's visibility to `seconds`.
    pub async fn change_visibility(
        &self,
        receipt_handle: &str,
        seconds: i32,
    ) -> Result<(), String> {
        self.client
            .change_message_visibility()
            .queue_url(self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| DisplayErrorContext(&error).to_string())
    }

    /// Sets the visibility of up to [`MAX_BATCH`] messages to `seconds`;
    /// returns how many of them SQS could not change.
    pub async fn change_visibility_batch(
        &self,
        receipt_handles: &[Option<String>],
        seconds: i32,
    ) -> Result<usize, String> {
        let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = receipt_handles
            .iter()
            .enumerate()
            .filter_map(|(i, handle)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .set_receipt_handle(handle.clone())
                    .visibility_timeout(seconds)
                    .build()
                    .ok()
            })
            .collect();
        if entries.is_empty() {
            return Ok(0);
        }
        self.client
            .change_message_visibility_batch()
            .queue_url(self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map(|output| output.failed().len())
            .map_err(|error| DisplayErrorContext(&error).to_string())
    }
}
