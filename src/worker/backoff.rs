//! Bounded exponential backoff for receive errors: `initial`, doubling up to `max`, ±20 % jitter so many
//! replicas do not retry in step; reset after a successful receive.

use std::time::Duration;

/// Jitter as a fraction of the delay (±).
const JITTER: f64 = 0.2;

/// Backoff state.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Option<Duration>,
}

impl Backoff {
    /// Starts at `initial` (at least 1 ms) and never exceeds `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.max(Duration::from_millis(1));
        Self { initial, max: max.max(initial), current: None }
    }

    /// The next delay (jittered).
    pub fn next_delay(&mut self) -> Duration {
        let base = match self.current {
            None => self.initial,
            Some(d) => d.saturating_mul(2).min(self.max),
        };
        self.current = Some(base);
        let factor = 1.0 - JITTER + 2.0 * JITTER * fastrand::f64();
        base.mul_f64(factor).min(self.max)
    }

    /// Back to `initial` after a success.
    pub fn reset(&mut self) {
        self.current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_within_bounds_and_resets() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(1000));
        let within = |d: Duration, base: u64| d >= ms(base * 8 / 10) && d <= ms((base * 12 / 10).min(1000));
        for base in [100, 200, 400, 800, 1000, 1000] {
            let d = b.next_delay();
            assert!(within(d, base), "{d:?} vs {base}");
        }
        b.reset();
        assert!(within(b.next_delay(), 100));
        assert!(Backoff::new(Duration::ZERO, Duration::ZERO).next_delay() >= Duration::from_micros(800));
    }
}
