//! SPEC sections 13 and 16, waiting: a queued drop listed for a retryable
//! failure of its own waits before it is tried again, rather than for the
//! queue's own visibility timeout (at least the function's timeout). From a
//! FIFO queue that is any retryable failure (section 16: one failing head
//! holds the queue minutes, and a drop that keeps failing reaches the
//! dead-letter queue before the queue's retention could delete it); from a
//! standard queue only a wait for something to finish (`ImportSlotBusy`,
//! `CsvNotUploaded`, `ImportPartsRemaining`), as section 13 has it (see
//! `MessageOutcome::waits`). Its visibility is set to `SLOT_WAIT_SECONDS`
//! times its receive count, at most 900 s: a backoff that grows with each
//! try.
//!
//! The wait counts from when the invocation began, not from the call: SQS
//! counts a new visibility from the call, so a receive that ran long before
//! it failed (create mode's check of a large file, up to the 900 s timeout)
//! would add its run time to the wait, and `maxReceiveCount` such receives
//! could outlast the queue's retention. So the time between two receives of
//! a waiting message is its wait, or the run time when that was longer
//! (then it comes again at once): never more than 900 s or the function's
//! timeout (docs/usage.md, "A folder of files").
//!
//! The messages a FIFO batch held back behind it are released at once
//! (visibility 0): SQS delivers nothing of a message group while any of its
//! messages is in flight, so held-back messages left in flight for the
//! queue's timeout would hold the head back too. Released, they wait behind
//! the head, in order, and come again with it.
//!
//! A failed call is logged and changes nothing else: the message is listed
//! all the same, and comes back after the queue's visibility timeout.

use std::time::{Duration, Instant};

use crate::app::App;
use crate::aws::sqs::MAX_BATCH;
use crate::deadline::Deadline;
use crate::emit::outcome::MessageOutcome;

/// The longest wait set, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 900;

/// `SLOT_WAIT_SECONDS` x the receive count, at most [`MAX_WAIT_SECONDS`].
pub fn wait_seconds(slot_wait_seconds: u32, receive_count: u32) -> i32 {
    let wait = u64::from(slot_wait_seconds)
        .saturating_mul(u64::from(receive_count.max(1)))
        .min(MAX_WAIT_SECONDS);
    i32::try_from(wait).unwrap_or(MAX_WAIT_SECONDS as i32)
}

/// The visibility that makes a message wait `wait` seconds from when its
/// invocation began, `ran` ago; 0 (at once) when it ran longer.
pub fn visibility_seconds(wait: i32, ran: Duration) -> i32 {
    let ran = i32::try_from(ran.as_secs()).unwrap_or(i32::MAX);
    wait.saturating_sub(ran).max(0)
}

/// Sets the visibility of every waiting message and releases the held-back
/// ones, before the invocation's answer is due. `began`: when the
/// invocation began.
pub async fn set(app: &App, messages: &[MessageOutcome], deadline: Deadline, began: Instant) {
    let work = async {
        for message in messages.iter().filter(|m| m.waits()) {
            wait(app, message, began).await;
        }
        release(app, messages).await;
    };
    if deadline.before_answer(work).await.is_none() {
        tracing::warn!(
            "no time left to set the visibility of the waiting messages; they come back after \
             the queue's visibility timeout"
        );
    }
}

async fn wait(app: &App, message: &MessageOutcome, began: Instant) {
    let delivery = &message.delivery;
    let message_id = message.message_id.as_deref().unwrap_or_default();
    let wait = wait_seconds(app.config.slot_wait_seconds, delivery.receive_count);
    let seconds = visibility_seconds(wait, began.elapsed());
    let (Some(url), Some(handle)) = (delivery.queue_url(), delivery.receipt_handle.as_deref())
    else {
        tracing::warn!(
            message_id,
            "the message names no queue or receipt handle; it comes back after the queue's \
             visibility timeout"
        );
        return;
    };
    let queue = app.queue(&url);
    match queue.change_visibility(handle, seconds).await {
        Ok(_) => tracing::info!(
            message_id,
            receive_count = delivery.receive_count,
            wait_seconds = wait,
            visibility_seconds = seconds,
            "the message waits before it is tried again"
        ),
        Err(error) => tracing::warn!(
            message_id,
            queue_url = url,
            error = %error,
            "ChangeMessageVisibility failed; the message comes back after the queue's visibility timeout"
        ),
    }
}

/// Visibility 0 for the messages a FIFO batch held back.
async fn release(app: &App, messages: &[MessageOutcome]) {
    let held: Vec<&MessageOutcome> = messages.iter().filter(|m| m.held_back).collect();
    let Some(url) = held.iter().find_map(|m| m.delivery.queue_url()) else {
        return;
    };
    let queue = app.queue(&url);
    for chunk in held.chunks(MAX_BATCH) {
        let handles: Vec<Option<String>> = chunk
            .iter()
            .map(|m| m.delivery.receipt_handle.clone())
            .collect();
        match queue.change_visibility_batch(&handles, 0).await {
            Ok(0) => tracing::debug!(messages = chunk.len(), "held-back messages released"),
            Ok(failed) => tracing::warn!(
                failed,
                "some held-back messages could not be released; they come back after the \
                 queue's visibility timeout"
            ),
            Err(error) => tracing::warn!(
                queue_url = url,
                error = %error,
                "ChangeMessageVisibilityBatch failed; the held-back messages come back after \
                 the queue's visibility timeout"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_with_each_receive_up_to_900_seconds() {
        assert_eq!(wait_seconds(60, 1), 60);
        assert_eq!(wait_seconds(60, 2), 120);
        assert_eq!(wait_seconds(60, 15), 900);
        assert_eq!(wait_seconds(60, 16), 900);
        assert_eq!(wait_seconds(60, 0), 60);
        assert_eq!(wait_seconds(900, u32::MAX), 900);
        assert_eq!(wait_seconds(1, 7), 7);
    }

    #[test]
    fn the_wait_counts_from_when_the_invocation_began() {
        let secs = Duration::from_secs;
        assert_eq!(visibility_seconds(60, Duration::from_millis(999)), 60);
        assert_eq!(visibility_seconds(60, secs(1)), 59);
        assert_eq!(visibility_seconds(900, secs(600)), 300);
        assert_eq!(visibility_seconds(900, secs(900)), 0);
        assert_eq!(visibility_seconds(60, secs(899)), 0);
        assert_eq!(visibility_seconds(60, Duration::MAX), 0);
    }
}
