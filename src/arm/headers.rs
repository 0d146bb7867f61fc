//! Response headers fleetgate reads: `Retry-After` (seconds or HTTP date) and the Resource Graph quota
//! headers `x-ms-user-quota-remaining` / `x-ms-user-quota-resets-after` (`hh:mm:ss`).

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

/// Parses a `Retry-After` value: delay-seconds (`"5"`) or an IMF-fixdate
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`), relative to `now`. A date in the past means "now" (zero).
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = parse_http_date(value)?;
    let delta = when - now;
    Some(if delta.is_negative() { Duration::ZERO } else { delta.unsigned_abs() })
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    let fmt = format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    time::PrimitiveDateTime::parse(value, fmt).ok().map(|p| p.assume_utc())
}

/// Parses `hh:mm:ss` (as sent in `x-ms-user-quota-resets-after`).
pub fn parse_hms(value: &str) -> Option<Duration> {
    let mut parts = value.trim().split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let h: u64 = h.parse().ok()?;
    let m: u64 = m.parse().ok()?;
    let s: f64 = s.parse().ok()?;
    if m >= 60 || !(0.0..60.0).contains(&s) {
        return None;
    }
    Some(Duration::from_secs(h * 3600 + m * 60) + Duration::from_secs_f64(s))
}

/// How long to wait before the next Resource Graph query, from the quota headers of the last answer:
/// the reset delay when no queries are left in the window, else none.
pub fn graph_quota_wait(remaining: Option<&str>, resets_after: Option<&str>) -> Option<Duration> {
    let remaining: i64 = remaining?.trim().parse().ok()?;
    if remaining > 0 {
        return None;
    }
    resets_after.and_then(parse_hms)
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
    }

    #[test]
    fn graph_quota() {
        assert_eq!(graph_quota_wait(Some("0"), Some("00:00:02")), Some(Duration::from_secs(2)));
        assert_eq!(graph_quota_wait(Some("4"), Some("00:00:02")), None);
        assert_eq!(graph_quota_wait(None, Some("00:00:02")), None);
        assert_eq!(graph_quota_wait(Some("0"), None), None);
        assert_eq!(graph_quota_wait(Some("x"), Some("00:00:02")), None);
    }
}
