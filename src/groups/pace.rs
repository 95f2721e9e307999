//! At most `GROUPS_RPS` calls a second: each call starts at least a second
//! divided by the rate after the one before (spaced, not in bursts), so one
//! invocation never takes more of the account's shared 25 a second than set.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Option<Instant>,
}

impl Pacer {
    pub fn per_second(rate: u32) -> Pacer {
        Pacer {
            interval: Duration::from_secs(1) / rate.max(1),
            next: None,
        }
    }

    /// Waits until the next call may start, and counts it as started.
    pub async fn ready(&mut self) {
        if let Some(at) = self.next {
            tokio::time::sleep_until(at).await;
        }
        self.next = Some(Instant::now() + self.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_start_a_tenth_of_a_second_apart_at_ten_a_second() {
        let mut pacer = Pacer::per_second(10);
        let start = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..21 {
            pacer.ready().await;
            starts.push(Instant::now() - start);
        }
        assert_eq!(starts[0], Duration::ZERO);
        for pair in starts.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(100));
        }
        // 21 calls: 2 s, so 10 a second at most over any second.
        assert_eq!(starts[20], Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_call_is_not_made_up_for_with_a_burst() {
        let mut pacer = Pacer::per_second(4);
        pacer.ready().await;
        // The call took a second: the next starts at once, the one after
        // that a quarter second later, not at once too.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = Instant::now();
        pacer.ready().await;
        assert_eq!(Instant::now(), before);
        pacer.ready().await;
        assert_eq!(Instant::now() - before, Duration::from_millis(250));
    }

    #[tokio::test(start_paused = true)]
    async fn a_high_rate_for_the_benchmark() {
        let mut pacer = Pacer::per_second(1000);
        let start = Instant::now();
        for _ in 0..1001 {
            pacer.ready().await;
        }
        assert_eq!(Instant::now() - start, Duration::from_secs(1));
    }
}
