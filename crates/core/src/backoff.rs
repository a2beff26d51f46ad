//! The one back-off of the job queues (mail outbox, back-channel logouts):
//! a delay that doubles with each failed attempt, up to a ceiling.

use std::time::Duration;

/// `base` doubled `doublings` times, at most `max`.
pub fn backoff(base: Duration, max: Duration, doublings: u32) -> Duration {
    base.saturating_mul(1u32 << doublings.min(31)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_stays_at_the_ceiling() {
        let (base, max) = (Duration::from_secs(5), Duration::from_secs(3_600));
        assert_eq!(backoff(base, max, 0), base);
        assert_eq!(backoff(base, max, 3), Duration::from_secs(40));
        assert_eq!(backoff(base, max, 10), max);
        assert_eq!(backoff(base, max, u32::MAX), max);
        assert_eq!(backoff(Duration::MAX, max, 1), max);
    }
}
