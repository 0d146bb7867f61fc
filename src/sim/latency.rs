//! Latency model: zero for tests, `realistic` for the demo and benchmarks.
//!
//! `realistic` numbers (base ± 25 % uniform jitter from the seeded RNG), chosen to look like ARM in a
//! nearby region while keeping the demo quick:
//!
//! | kind | base |
//! |---|---|
//! | read (GET, Resource Graph query) | 40 ms |
//! | write (PUT/POST/PATCH/DELETE) | 150 ms |
//! | LRO poll (GET on an operation-status URL) | 40 ms |
//!
//! `aks` has the same request latencies as `realistic` and adds AKS operation durations (used unless
//! `create_duration` / `update_duration` / `lro_duration` are set; all scaled by `time_scale`):
//!
//! | operation | `aks` | source |
//! |---|---|---|
//! | cluster create (`Creating`) | 5 min | Azure CLI recording `test_aks_create_and_update_with_app_routing_istio` (2026-04-24, api 2026-07-01): the create's operation started 02:41:21 and the cluster read back `Succeeded` at 02:45:58 (≤ 4 min 37 s); 5 min leaves room for slower regions |
//! | cluster update PUT (`Updating`) | 2 min | the same recording: an `az aks update` operation ran 02:46:06 → 02:47:42 (1 min 36 s) |
//!
//! Neither the create nor the update answer nor any poll in those recordings carries `Retry-After`,
//! so no preset sends one (`sim.lro_retry_after_secs` adds it).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A named latency preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyPreset {
    /// No added latency (tests).
    #[default]
    Zero,
    /// ARM-like latencies: reads tens of ms, writes hundreds, LROs seconds.
    Realistic,
    /// `realistic` request latencies plus AKS operation durations of minutes (see the module table).
    Aks,
}

/// What kind of request is being delayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyKind {
    /// A read.
    Read,
    /// A write.
    Write,
    /// A long-running-operation status poll.
    Poll,
}

/// Jitter as a fraction of the base latency (±).
const JITTER: f64 = 0.25;

impl LatencyPreset {
    /// The base latency for a request kind.
    pub fn base(self, kind: LatencyKind) -> Duration {
        match (self, kind) {
            (Self::Zero, _) => Duration::ZERO,
            (Self::Realistic | Self::Aks, LatencyKind::Read | LatencyKind::Poll) => Duration::from_millis(40),
            (Self::Realistic | Self::Aks, LatencyKind::Write) => Duration::from_millis(150),
        }
    }

    /// How long a cluster create runs under this preset (before `time_scale`).
    pub fn create_duration(self) -> Duration {
        match self {
            Self::Aks => Duration::from_secs(300),
            Self::Zero | Self::Realistic => Duration::ZERO,
        }
    }

    /// How long a cluster update PUT runs under this preset (before `time_scale`).
    pub fn update_duration(self) -> Duration {
        match self {
            Self::Aks => Duration::from_secs(120),
            Self::Zero | Self::Realistic => Duration::ZERO,
        }
    }
}

/// A preset plus its own seeded RNG for jitter (separate from the fault RNG, so latency draws never
/// change which faults fire).
#[derive(Debug)]
pub struct LatencyModel {
    preset: LatencyPreset,
    rng: fastrand::Rng,
}

impl LatencyModel {
    /// A model for `preset` with jitter seeded from `seed`.
    pub fn new(preset: LatencyPreset, seed: u64) -> Self {
        Self { preset, rng: fastrand::Rng::with_seed(seed ^ 0x6c61_7465_6e63_7900) }
    }

    /// The delay for one request of `kind`.
    pub fn delay(&mut self, kind: LatencyKind) -> Duration {
        let base = self.preset.base(kind);
        if base.is_zero() {
            return base;
        }
        let factor = 1.0 - JITTER + 2.0 * JITTER * self.rng.f64();
        base.mul_f64(factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_adds_nothing() {
        let mut m = LatencyModel::new(LatencyPreset::Zero, 1);
        assert!([LatencyKind::Read, LatencyKind::Write, LatencyKind::Poll].iter().all(|k| m.delay(*k).is_zero()));
    }

    #[test]
    fn realistic_stays_within_jitter_and_is_seeded() {
        let draws = |seed| {
            let mut m = LatencyModel::new(LatencyPreset::Realistic, seed);
            (0..50).map(|_| m.delay(LatencyKind::Write)).collect::<Vec<_>>()
        };
        let a = draws(5);
        assert_eq!(a, draws(5));
        assert_ne!(a, draws(6));
        assert!(a.iter().all(|d| (112..=188).contains(&d.as_millis())), "{a:?}");
        let mut m = LatencyModel::new(LatencyPreset::Realistic, 5);
        assert!((30..=50).contains(&m.delay(LatencyKind::Poll).as_millis()));
        assert!((30..=50).contains(&m.delay(LatencyKind::Read).as_millis()));
    }
}
