//! Time arithmetic that cannot panic. `Instant + Duration` and `OffsetDateTime + Duration` panic on
//! overflow, and some durations come from outside (server headers, configuration), so every deadline
//! in fleetgate is computed here: a sum past the representable range becomes a far-future point
//! (about 30 years ahead, as tokio's own `sleep` does), never a panic.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

/// What "never" means for a deadline: about 30 years.
pub const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `at + d`, saturating at `at` + [`FAR_FUTURE`] (or `at` itself when even that overflows).
pub fn instant_after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d.min(FAR_FUTURE)).or_else(|| at.checked_add(Duration::from_secs(86_400))).unwrap_or(at)
}

/// `Instant::now() + d`, saturating (see [`instant_after`]).
pub fn from_now(d: Duration) -> Instant {
    instant_after(Instant::now(), d)
}

/// `at + d` in wall-clock time, saturating at the latest representable date.
pub fn datetime_after(at: OffsetDateTime, d: Duration) -> OffsetDateTime {
    time::Duration::try_from(d).ok().and_then(|d| at.checked_add(d)).unwrap_or_else(|| latest(at))
}

/// `at - d` in wall-clock time, saturating at the earliest representable date.
pub fn datetime_before(at: OffsetDateTime, d: Duration) -> OffsetDateTime {
    time::Duration::try_from(d).ok().and_then(|d| at.checked_sub(d)).unwrap_or_else(|| earliest(at))
}

fn latest(at: OffsetDateTime) -> OffsetDateTime {
    time::PrimitiveDateTime::MAX.assume_offset(at.offset())
}

fn earliest(at: OffsetDateTime) -> OffsetDateTime {
    time::PrimitiveDateTime::MIN.assume_offset(at.offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn instants_saturate_instead_of_panicking() {
        let now = Instant::now();
        assert_eq!(instant_after(now, Duration::from_secs(5)), now + Duration::from_secs(5));
        assert_eq!(instant_after(now, Duration::MAX), now + FAR_FUTURE);
        assert_eq!(instant_after(now, Duration::from_secs(u64::MAX / 2)), now + FAR_FUTURE);
        assert!(from_now(Duration::MAX) > now);
    }

    #[test]
    fn datetimes_saturate_at_the_calendar_ends() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(datetime_after(now, Duration::from_secs(60)), now + time::Duration::seconds(60));
        assert_eq!(datetime_after(now, Duration::MAX), time::PrimitiveDateTime::MAX.assume_utc());
        assert_eq!(datetime_before(now, Duration::from_secs(60)), now - time::Duration::seconds(60));
        assert_eq!(datetime_before(now, Duration::MAX), time::PrimitiveDateTime::MIN.assume_utc());
        let min = time::PrimitiveDateTime::MIN.assume_utc();
        assert_eq!(datetime_before(min, Duration::from_secs(300)), min, "the earliest date minus a margin stays there");
    }
}
