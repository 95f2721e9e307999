//! SPEC section 7: the Lambda deadline bounds the whole invocation, not each
//! record. Work (resolving, starting, tracking) must end while there is still
//! time to publish the events, and publishing while there is still time to
//! answer; what did not finish is retryable, so that its delivery comes again.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use crate::error::{ErrorKind, ImportError};

/// The instants by which an invocation's work and its publishing must end.
/// `None`: no deadline (a direct call of the handler, as in tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deadline {
    work: Option<Instant>,
    publish: Option<Instant>,
}

impl Deadline {
    /// From the Lambda context's deadline. One already past (the default
    /// context's is the epoch) means there is none.
    pub fn of_invocation(deadline: SystemTime) -> Deadline {
        match deadline.duration_since(SystemTime::now()) {
            Ok(left) if !left.is_zero() => Deadline::within(left),
            _ => Deadline::default(),
        }
    }

    /// `left` from now: publishing and answering keep a fifth of it (250 ms
    /// to 3 s, at most half), answering alone a twentieth (50 to 500 ms, at
    /// most half of that).
    pub fn within(left: Duration) -> Deadline {
        let now = Instant::now();
        let reserve = (left / 5)
            .clamp(Duration::from_millis(250), Duration::from_secs(3))
            .min(left / 2);
        let answer = (left / 20).clamp(Duration::from_millis(50), Duration::from_millis(500));
        Deadline {
            work: Some(now + left.saturating_sub(reserve)),
            publish: Some(now + left.saturating_sub(answer.min(reserve / 2))),
        }
    }

    /// Runs `work` until the work deadline; past it (or already past when
    /// called, as for a record still waiting for a slot) the result is
    /// retryable `ServiceUnavailable` and nothing more is sent.
    pub async fn work<T>(
        &self,
        work: impl Future<Output = Result<T, ImportError>>,
    ) -> Result<T, ImportError> {
        match self.work {
            None => work.await,
            Some(at) if Instant::now() >= at => Err(out_of_time()),
            Some(at) => tokio::time::timeout_at(at.into(), work)
                .await
                .unwrap_or_else(|_| Err(out_of_time())),
        }
    }

    /// Runs `publish` (one result per event) until the publish deadline;
    /// past it every event counts as not published.
    pub async fn publish(
        &self,
        events: usize,
        publish: impl Future<Output = Vec<Result<(), ImportError>>>,
    ) -> Vec<Result<(), ImportError>> {
        let Some(at) = self.publish else {
            return publish.await;
        };
        match tokio::time::timeout_at(at.into(), publish).await {
            Ok(results) => results,
            Err(_) => vec![
                Err(ImportError::new(
                    ErrorKind::EventPublishFailed,
                    "EventBridge did not answer before the Lambda deadline; the delivery will be retried",
                ));
                events
            ],
        }
    }
}

impl Deadline {
    /// How long work may still go on (the publish margin already kept);
    /// `None`: no deadline. For work that stops by itself and answers what
    /// it has done (SPEC section 17's `AddToGroups`) rather than failing.
    pub fn work_left(&self) -> Option<Duration> {
        self.work
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Runs `last` (what is done after publishing and before answering,
    /// such as a queue message's visibility) until the publish deadline;
    /// `None` past it.
    pub async fn before_answer<T>(&self, last: impl Future<Output = T>) -> Option<T> {
        match self.publish {
            None => Some(last.await),
            Some(at) => tokio::time::timeout_at(at.into(), last).await.ok(),
        }
    }
}

fn out_of_time() -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        "AWS did not answer before the Lambda deadline; the delivery will be retried",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_past_deadline_is_no_deadline() {
        assert_eq!(
            Deadline::of_invocation(SystemTime::UNIX_EPOCH),
            Deadline::default()
        );
        assert_eq!(Deadline::default().work_left(), None);
    }

    #[test]
    fn publishing_keeps_time_after_the_work_and_answering_after_publishing() {
        for left in [100, 1_000, 10_000, 900_000] {
            let left = Duration::from_millis(left);
            let start = Instant::now();
            let deadline = Deadline::within(left);
            let (work, publish) = (deadline.work.unwrap(), deadline.publish.unwrap());
            assert!(work < publish, "{left:?}");
            assert!(deadline.work_left().unwrap() <= work - start, "{left:?}");
            assert!(
                publish < start + left + Duration::from_millis(5),
                "{left:?}"
            );
            assert!(
                work - start >= left / 2 - Duration::from_millis(5),
                "{left:?}"
            );
        }
    }

    #[tokio::test]
    async fn work_past_its_deadline_is_retryable_and_not_started() {
        let deadline = Deadline::within(Duration::from_millis(100));
        let slow = deadline
            .work(async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await;
        assert_eq!(slow.unwrap_err().kind, ErrorKind::ServiceUnavailable);
        let started = std::sync::atomic::AtomicBool::new(false);
        let late = deadline
            .work(async {
                started.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            })
            .await;
        assert_eq!(late.unwrap_err().kind, ErrorKind::ServiceUnavailable);
        assert!(!started.load(std::sync::atomic::Ordering::SeqCst));
    }
}
