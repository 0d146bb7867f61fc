//! Pacing transient failures. Abandoning a message makes Service Bus deliver it again at once, so a
//! reconcile that failed because Azure is throttling or briefly unavailable would be retried within
//! milliseconds — into the same throttling — and `MaxDeliveryCount` would be spent in seconds,
//! dead-lettering the event while the cause was still passing. Instead the worker keeps the message
//! (its lock renewed) for a pause that doubles with each delivery before abandoning it.

use std::time::Duration;

/// Pause after the first delivery failed.
pub const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// Longest pause.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);

/// The pause before abandoning delivery number `delivery_count` (1-based): 1 s, 2 s, 4 s, … at most
/// 60 s, ±20 % jitter so replicas that failed together do not retry together. With the default
/// `MaxDeliveryCount` of 10 a message is retried for about five minutes before it is dead-lettered.
pub fn pause(delivery_count: u32, jitter: f64) -> Duration {
    let doublings = delivery_count.saturating_sub(1).min(16);
    let base = FIRST_PAUSE.saturating_mul(1 << doublings).min(MAX_PAUSE);
    base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_a_minute_with_bounded_jitter() {
        let mid = |n| pause(n, 0.5);
        assert_eq!([mid(0), mid(1), mid(2), mid(3), mid(7)], [1, 1, 2, 4, 60].map(Duration::from_secs));
        assert_eq!(mid(u32::MAX), MAX_PAUSE);
        assert_eq!(pause(1, 0.0), Duration::from_millis(800));
        assert_eq!(pause(1, 1.0), Duration::from_millis(1200));
        assert_eq!(pause(3, 7.0), Duration::from_millis(4800), "jitter is clamped");
        let total: Duration = (1..=10).map(mid).sum();
        assert_eq!(total, Duration::from_secs(1 + 2 + 4 + 8 + 16 + 32 + 60 * 4), "about five minutes over ten deliveries");
    }
}
