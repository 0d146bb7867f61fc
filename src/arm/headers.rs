//! Response headers fleetgate reads: `Retry-After` (seconds or HTTP date) and the Resource Graph quota
//! headers `x-ms-user-quota-remaining` / `x-ms-user-quota-resets-after` (`hh:mm:ss`). Every wait a server
//! asks for is parsed defensively and clamped ([`MAX_RETRY_AFTER`], [`MAX_GRAPH_QUOTA_WAIT`]).

use std::time::Duration;

use time::OffsetDateTime;
use time::macros::format_description;

/// `Retry-After`.
pub const RETRY_AFTER: &str = "retry-after";
/// `Azure-AsyncOperation`.
pub const AZURE_ASYNC_OPERATION: &str = "azure-asyncoperation";
/// `Location`.
pub const LOCATION: &str = "location";
/// `ETag`.
pub const ETAG: &str = "etag";
/// Resource Graph: queries left in the current window.
pub const USER_QUOTA_REMAINING: &str = "x-ms-user-quota-remaining";
/// Resource Graph: when the window resets (`hh:mm:ss`).
pub const USER_QUOTA_RESETS_AFTER: &str = "x-ms-user-quota-resets-after";

/// Longest `Retry-After` fleetgate honours (seconds or a date). ARM's throttling buckets refill within
/// seconds; a longer hint is clamped to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// Longest Resource Graph quota wait (`x-ms-user-quota-resets-after`). The documented quota window is
/// 5 seconds; a longer value is clamped to this so a hostile or broken answer cannot gate queries for hours.
pub const MAX_GRAPH_QUOTA_WAIT: Duration = Duration::from_secs(60);

/// Parses a `Retry-After` value: delay-seconds (`"5"`) or an IMF-fixdate
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`), relative to `now`. A date in the past means "now" (zero); any
/// value is clamped to [`MAX_RETRY_AFTER`] (an all-digit value too large for a number included).
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let when = parse_http_date(value)?;
    let delta = when - now;
    Some(if delta.is_negative() { Duration::ZERO } else { delta.unsigned_abs().min(MAX_RETRY_AFTER) })
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    let fmt = format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    time::PrimitiveDateTime::parse(value, fmt).ok().map(|p| p.assume_utc())
}

/// Parses `hh:mm:ss[.fff]` (as sent in `x-ms-user-quota-resets-after`): digits only, minutes and
/// seconds below 60, any number of hours (the sum saturates instead of overflowing).
pub fn parse_hms(value: &str) -> Option<Duration> {
    let mut parts = value.trim().split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !all_digits(h) || !all_digits(m) {
        return None;
    }
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    if !all_digits(whole) || !(fraction.is_empty() || all_digits(fraction)) || (s.contains('.') && fraction.is_empty()) {
        return None;
    }
    let h = h.parse::<u64>().unwrap_or(u64::MAX);
    let (m, whole) = (m.parse::<u64>().ok()?, whole.parse::<u64>().ok()?);
    if m >= 60 || whole >= 60 {
        return None;
    }
    let nanos = fraction.bytes().chain(std::iter::repeat(b'0')).take(9).fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    let secs = h.saturating_mul(3600).saturating_add(m * 60 + whole);
    Some(Duration::new(secs, nanos))
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// How long to wait before the next Resource Graph query, from the quota headers of the last answer:
/// the reset delay (at most [`MAX_GRAPH_QUOTA_WAIT`]) when no queries are left in the window, else none.
pub fn graph_quota_wait(remaining: Option<&str>, resets_after: Option<&str>) -> Option<Duration> {
    let remaining: i64 = remaining?.trim().parse().ok()?;
    if remaining > 0 {
        return None;
    }
    resets_after.and_then(parse_hms).map(|d| d.min(MAX_GRAPH_QUOTA_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn retry_after_in_seconds() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 17 ", now), Some(Duration::from_secs(17)));
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
    }

    #[test]
    fn retry_after_is_clamped() {
        let now = datetime!(2015-10-21 07:27:30 UTC);
        assert_eq!(parse_retry_after("300", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("99999999999999999999999999", now), Some(MAX_RETRY_AFTER), "too large for u64");
        assert_eq!(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn retry_after_as_http_date() {
        let now = datetime!(2015-10-21 07:27:30 UTC);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(Duration::ZERO), "past dates mean now");
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 PST", now), None);
    }

    #[test]
    fn hms() {
        assert_eq!(parse_hms("00:00:03"), Some(Duration::from_secs(3)));
        assert_eq!(parse_hms("01:02:03"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_hms("00:00:00.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_hms("00:61:00"), None);
        assert_eq!(parse_hms("3"), None);
        assert_eq!(parse_hms("1:2:3:4"), None);
        for bad in ["00:00:nan", "00:00:inf", "00:00:-0", "-1:00:00", "00:00:05.", "00:00:.5", "+1:00:00", "00:00:60", "::"] {
            assert_eq!(parse_hms(bad), None, "{bad}");
        }
        assert_eq!(parse_hms("00:00:01.123456789123"), Some(Duration::new(1, 123_456_789)));
    }

    #[test]
    fn absurd_hours_saturate_instead_of_overflowing() {
        assert_eq!(parse_hms("99:00:00"), Some(Duration::from_secs(99 * 3600)));
        assert_eq!(parse_hms("5124095576030432:00:00"), Some(Duration::from_secs(u64::MAX)));
        assert_eq!(parse_hms("99999999999999999999999:59:59"), Some(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn graph_quota() {
        assert_eq!(graph_quota_wait(Some("0"), Some("00:00:02")), Some(Duration::from_secs(2)));
        assert_eq!(graph_quota_wait(Some("4"), Some("00:00:02")), None);
        assert_eq!(graph_quota_wait(None, Some("00:00:02")), None);
        assert_eq!(graph_quota_wait(Some("0"), None), None);
        assert_eq!(graph_quota_wait(Some("x"), Some("00:00:02")), None);
    }

    #[test]
    fn graph_quota_waits_are_clamped() {
        assert_eq!(graph_quota_wait(Some("0"), Some("00:00:59")), Some(Duration::from_secs(59)));
        assert_eq!(graph_quota_wait(Some("0"), Some("99:00:00")), Some(MAX_GRAPH_QUOTA_WAIT));
        assert_eq!(graph_quota_wait(Some("0"), Some("99999999999999999999999:00:00")), Some(MAX_GRAPH_QUOTA_WAIT));
    }
}
