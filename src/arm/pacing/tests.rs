use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::*;
use crate::sim::throttle::{Admission, ArmThrottle, OpKind};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn buckets_by_method() {
    assert_eq!(Bucket::of_method("GET"), Bucket::Reads);
    assert_eq!(Bucket::of_method("PUT"), Bucket::Writes);
    assert_eq!(Bucket::of_method("POST"), Bucket::Writes);
    assert_eq!(Bucket::of_method("DELETE"), Bucket::Deletes);
    assert_eq!(Bucket::Reads.remaining_header(), "x-ms-ratelimit-remaining-subscription-reads");
    assert_eq!((Bucket::Reads.low_water(), Bucket::Writes.low_water()), (75.0, 60.0));
}

#[test]
fn remaining_values_are_parsed_strictly() {
    assert_eq!(parse_remaining(" 249 "), Some(249.0));
    assert_eq!(parse_remaining("0"), Some(0.0));
    for bad in ["", "-1", "1.5", "many", "+3"] {
        assert_eq!(parse_remaining(bad), None, "{bad}");
    }
}

#[test]
fn gaps_grow_as_the_bucket_empties() {
    assert_eq!(gap_after(Bucket::Reads, None), Duration::ZERO, "nothing heard from ARM yet");
    assert_eq!(gap_after(Bucket::Reads, Some(75.0)), Duration::ZERO, "at the mark");
    assert_eq!(gap_after(Bucket::Reads, Some(37.5)), ms(80), "half the mark: half the refill rate");
    assert_eq!(gap_after(Bucket::Reads, Some(0.0)), Duration::from_secs(3), "empty: low_water / refill");
    assert_eq!(gap_after(Bucket::Reads, Some(-30.0)), Duration::from_secs(3), "overdrawn estimates are capped");
    assert_eq!(gap_after(Bucket::Writes, Some(0.0)), Duration::from_secs(6));
    let gaps: Vec<Duration> = [40.0, 20.0, 10.0, 5.0].iter().map(|e| gap_after(Bucket::Reads, Some(*e))).collect();
    assert!(gaps.windows(2).all(|w| w[0] < w[1]), "{gaps:?}");
}

#[test]
fn nothing_is_paced_above_the_mark_or_before_a_report() {
    let t0 = Instant::now();
    let mut p = Pacer::new(Bucket::Reads);
    assert!((0..100).all(|_| p.reserve(t0).is_zero()), "no report yet");
    (0..100).for_each(|_| p.finish(t0, None));
    p.finish(t0, Some(11_999.0));
    assert!((0..100).all(|_| p.reserve(t0).is_zero()), "hourly-model counts never reach the mark");
}

#[test]
fn in_flight_requests_count_against_the_estimate() {
    let t0 = Instant::now();
    let mut p = Pacer::new(Bucket::Reads);
    p.reserve(t0);
    p.finish(t0, Some(90.0));
    let waits: Vec<Duration> = (0..17).map(|_| p.reserve(t0)).collect();
    assert!(waits[..16].iter().all(|w| w.is_zero()), "{waits:?}");
    assert!(!waits[16].is_zero(), "the 17th sees 90 - 16 in flight = 74 < 75: {waits:?}");
    assert_eq!(p.estimate(t0), Some(73.0));
    (0..17).for_each(|_| p.finish(t0, None));
    assert_eq!(p.estimate(t0 + Duration::from_secs(1)), Some(115.0), "refilled 25 in a second, nothing in flight");
}

#[test]
fn reservations_are_spaced_in_arrival_order() {
    let t0 = Instant::now();
    let mut p = Pacer::new(Bucket::Writes);
    p.reserve(t0);
    p.finish(t0, Some(0.0));
    // Empty: 6 s after the last send, then the refill during that gap shrinks the next ones.
    let waits: Vec<Duration> = (0..4).map(|_| p.reserve(t0)).collect();
    assert_eq!(waits[0], Duration::from_secs(6));
    assert!(waits.windows(2).all(|w| w[0] < w[1]), "{waits:?}");
    assert!(waits[2] - waits[1] < waits[1] - waits[0], "proportional: {waits:?}");
    assert!(waits[3] - waits[2] < Duration::from_millis(200), "{waits:?}");
}

/// One event of the replica simulation: (when, lane, what).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Ready,
    Send,
    Answer(Option<u32>),
}

/// `replicas` clients with `lanes` concurrent callers each hammer one subscription's read bucket (the
/// simulator's own math) for `secs` simulated seconds, each answer taking `latency`. Returns
/// (requests admitted, 429s). Ten replicas is the most the design is checked for (sixteen with two
/// lanes each overdraw now and then).
fn hammer(replicas: usize, lanes: usize, secs: u64, latency: Duration, paced: bool) -> (u64, u64) {
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(secs);
    let mut arm = ArmThrottle::default();
    let mut pacers: Vec<Pacer> = (0..replicas).map(|_| Pacer::new(Bucket::Reads)).collect();
    let mut events = BinaryHeap::new();
    for lane in 0..replicas * lanes {
        events.push(Reverse((t0, lane, Step::Ready)));
    }
    let (mut admitted, mut throttled) = (0, 0);
    while let Some(Reverse((now, lane, step))) = events.pop() {
        if now >= end {
            break;
        }
        let pacer = &mut pacers[lane / lanes];
        match step {
            Step::Ready => {
                let wait = if paced { pacer.reserve(now) } else { Duration::ZERO };
                events.push(Reverse((now + wait, lane, Step::Send)));
            }
            Step::Send => {
                let remaining = match arm.admit("sub", OpKind::Read, now) {
                    Admission::Allowed { remaining } => {
                        admitted += 1;
                        Some(remaining)
                    }
                    Admission::Throttled { .. } => {
                        throttled += 1;
                        Some(0)
                    }
                };
                events.push(Reverse((now + latency, lane, Step::Answer(remaining))));
            }
            Step::Answer(remaining) => {
                if paced {
                    pacer.finish(now, remaining.map(f64::from));
                }
                events.push(Reverse((now, lane, Step::Ready)));
            }
        }
    }
    (admitted, throttled)
}

#[test]
fn three_replicas_that_cannot_see_each_other_stay_under_the_bucket() {
    let (admitted, throttled) = hammer(3, 8, 120, ms(40), true);
    assert_eq!(throttled, 0);
    // 250 to start with + 25/s for 120 s = 3,250 possible; pacing may leave a little unused.
    assert!(admitted >= 2_900, "{admitted}");
}

#[test]
fn the_same_load_unpaced_is_throttled() {
    let (_, throttled) = hammer(3, 8, 120, ms(40), false);
    assert!(throttled > 1_000, "{throttled}");
}

#[test]
fn many_replicas_and_slow_answers_still_stay_under() {
    for (replicas, lanes, latency) in [(1, 16, 10), (3, 8, 200), (5, 4, 100), (10, 2, 100), (10, 2, 500)] {
        let (admitted, throttled) = hammer(replicas, lanes, 120, ms(latency), true);
        assert_eq!(throttled, 0, "{replicas} replicas × {lanes} lanes, {latency} ms");
        assert!(admitted >= 2_500, "{replicas} × {lanes}: {admitted}");
    }
}
