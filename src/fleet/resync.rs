//! Drift resync: the worker re-checks the whole fleet every `resync.interval` so a deleted credential, a
//! removed gating entry or a new kubelet AcrPull is repaired without an event. This module is the pure
//! core the worker's loop calls; the loop enumerates clusters (`super::enumerate_clusters`) and sends
//! [`reconcile_messages`] in batches.
//!
//! **Several replicas, one set of messages.** Time is cut into windows of `interval` aligned to the Unix
//! epoch. Every replica fires once per window, at a jittered point in its middle ([`next_resync`]:
//! between 37.5 % and 62.5 % of the window), so two consecutive fires are `interval` ± 25 % apart and a
//! fire never crosses into another window. All replicas of a window therefore compute the same
//! `window_start`, hence the same `MessageId` per cluster ([`super::commands::resync_message_id`]), and
//! the queue's duplicate detection keeps one message per cluster — as long as its
//! `duplicateDetectionHistoryTimeWindow` is at least a quarter of `interval` (the spread of the fires).

use std::time::Duration;

use time::OffsetDateTime;

use super::commands::{command_message, resync_message_id};
use crate::deadline::datetime_after as after;
use crate::id::ResourceId;
use crate::queue::OutgoingMessage;

/// One reconcile command per cluster for the resync window starting at `window_start`; identical
/// (same `MessageId`, same body) on every replica.
pub fn reconcile_messages(clusters: &[ResourceId], window_start: OffsetDateTime) -> Vec<OutgoingMessage> {
    clusters.iter().map(|c| command_message(c, resync_message_id(c, window_start), window_start, "resync")).collect()
}

/// `interval` jittered by ±25 %: `r` in `[0, 1)` maps linearly onto `[0.75, 1.25) × interval`
/// (values outside are clamped).
pub fn jittered_interval(interval: Duration, r: f64) -> Duration {
    interval.mul_f64(0.75 + 0.5 * r.clamp(0.0, 1.0))
}

/// The start of the window containing `at` (windows of `interval`, aligned to the Unix epoch; an
/// interval under one second counts as one second).
pub fn window_start(at: OffsetDateTime, interval: Duration) -> OffsetDateTime {
    let len = i128::from(interval.as_secs().max(1)) * 1_000_000_000;
    let nanos = at.unix_timestamp_nanos();
    let start = nanos - nanos.rem_euclid(len);
    OffsetDateTime::from_unix_timestamp_nanos(start).unwrap_or(at)
}

/// When to fire next after `now`, and the window that fire belongs to: the jittered point
/// `window_start + interval × (0.375 + 0.25 r)` of the current window — or of the next one when that
/// point has passed or `last_fired` (the window of the previous fire) is the current window.
pub fn next_resync(
    now: OffsetDateTime,
    interval: Duration,
    r: f64,
    last_fired: Option<OffsetDateTime>,
) -> (OffsetDateTime, OffsetDateTime) {
    let interval = interval.max(Duration::from_secs(1));
    let offset = interval.mul_f64(0.375 + 0.25 * r.clamp(0.0, 1.0));
    let mut window = window_start(now, interval);
    if let Some(fired) = last_fired.filter(|f| *f >= window) {
        window = after(fired, interval);
    }
    if after(window, offset) <= now {
        window = after(window, interval);
    }
    (after(window, offset), window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const SIX_HOURS: Duration = Duration::from_secs(6 * 3600);
    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn cluster(name: &str) -> ResourceId {
        ResourceId::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"))
            .unwrap()
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        assert_eq!(jittered_interval(SIX_HOURS, 0.0), SIX_HOURS.mul_f64(0.75));
        assert_eq!(jittered_interval(SIX_HOURS, 0.5), SIX_HOURS);
        assert_eq!(jittered_interval(SIX_HOURS, 7.0), SIX_HOURS.mul_f64(1.25), "clamped");
        assert_eq!(jittered_interval(SIX_HOURS, -1.0), SIX_HOURS.mul_f64(0.75));
    }

    #[test]
    fn windows_align_to_the_epoch() {
        assert_eq!(window_start(datetime!(2025-06-02 07:59:59 UTC), SIX_HOURS), datetime!(2025-06-02 06:00 UTC));
        assert_eq!(window_start(datetime!(2025-06-02 06:00 UTC), SIX_HOURS), datetime!(2025-06-02 06:00 UTC));
        assert_eq!(window_start(datetime!(1969-12-31 23:00 UTC), SIX_HOURS), datetime!(1969-12-31 18:00 UTC));
        assert_eq!(window_start(datetime!(2025-06-02 06:00:00.7 UTC), Duration::ZERO), datetime!(2025-06-02 06:00 UTC));
    }

    #[test]
    fn fires_land_mid_window_and_are_spaced_by_the_interval_plus_minus_a_quarter() {
        let (fire, window) = next_resync(datetime!(2025-06-02 06:10 UTC), SIX_HOURS, 0.0, None);
        assert_eq!((fire, window), (datetime!(2025-06-02 08:15 UTC), datetime!(2025-06-02 06:00 UTC)));
        let (late, late_window) = next_resync(datetime!(2025-06-02 10:00 UTC), SIX_HOURS, 0.0, None);
        assert_eq!((late, late_window), (datetime!(2025-06-02 14:15 UTC), datetime!(2025-06-02 12:00 UTC)));
        let (again, _) = next_resync(datetime!(2025-06-02 08:15 UTC), SIX_HOURS, 0.99, Some(window));
        assert!(again > datetime!(2025-06-02 12:00 UTC), "never twice in one window: {again}");
        let mut now = datetime!(2025-06-02 00:00 UTC);
        let mut previous: Option<(OffsetDateTime, OffsetDateTime)> = None;
        for r in [0.0, 0.99, 0.0, 0.5, 0.99, 0.3] {
            let (fire, w) = next_resync(now, SIX_HOURS, r, previous.map(|p| p.1));
            assert_eq!(window_start(fire, SIX_HOURS), w, "a fire stays in its window");
            if let Some((p, _)) = previous {
                let gap: Duration = (fire - p).try_into().unwrap();
                assert!(gap >= SIX_HOURS.mul_f64(0.75) && gap <= SIX_HOURS.mul_f64(1.25), "{gap:?}");
            }
            previous = Some((fire, w));
            now = fire;
        }
    }

    #[test]
    fn two_replicas_in_one_window_send_identical_messages() {
        let clusters = [cluster("a"), cluster("b")];
        let (_, w1) = next_resync(datetime!(2025-06-02 06:01 UTC), SIX_HOURS, 0.1, None);
        let (_, w2) = next_resync(datetime!(2025-06-02 07:30 UTC), SIX_HOURS, 0.9, None);
        assert_eq!(w1, w2);
        let (a, b) = (reconcile_messages(&clusters, w1), reconcile_messages(&clusters, w2));
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
        assert_ne!(a[0].message_id, a[1].message_id);
        let next = reconcile_messages(&clusters, w1 + SIX_HOURS);
        assert_ne!(next[0].message_id, a[0].message_id, "the next window sends again");
    }
}
