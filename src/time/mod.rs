//! Time has one home. An execution runs on virtual time, kept by its
//! simulation scheduler (`eval/sched/`): a Wait of 10 s moves it by
//! 10,000 ms and costs nothing. AWS's timestamp formats are read and
//! written here. Real time enters only through [`Wall`]
//! (`wall.rs`), injected where a real participant (a container, a client of
//! `serve`, a callback from a real worker) is involved; no other module reads
//! the system clock, sleeps or sets a timer (`tests/architecture.rs` checks it).

mod wall;

pub(crate) use wall::Mark;
/// A point in real time, as [`Wall::now`] gives it: what modules that may
/// not read the clock themselves hold and compare.
pub(crate) type RealInstant = tokio::time::Instant;
pub use wall::{RealTime, Wall};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

/// 2024-01-01T00:00:00Z: where virtual time starts unless a test says otherwise.
pub(crate) const DEFAULT_START_MS: i64 = 1_704_067_200_000;

/// Parses an ISO-8601 extended offset date-time (`2016-03-14T01:59:00Z`,
/// `2016-03-14T01:59:00.123+02:00`) as AWS accepts it: a `T` between date
/// and time, and an offset, are required.
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' || !(s.ends_with('Z') || s[19..].contains(['+', '-'])) {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// [`parse_datetime`] as epoch milliseconds.
pub(crate) fn parse_timestamp(s: &str) -> Option<i64> {
    parse_datetime(s).map(|d| d.timestamp_millis())
}

/// Formats epoch milliseconds as AWS writes context timestamps
/// (`2024-01-01T00:00:10.000Z`).
pub(crate) fn format_timestamp(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_need_t_and_offset() {
        assert!(parse_timestamp("2016-03-14T01:59:00Z").is_some());
        assert!(parse_timestamp("2016-03-14T01:59:00.5+02:00").is_some());
        assert!(parse_timestamp("2016-12-05 21:29:29Z").is_none());
        assert!(parse_timestamp("2016-12-05T21:29:29").is_none());
        assert!(parse_timestamp("2016-13-05T21:29:29Z").is_none());
        assert!(parse_timestamp("05-12-2016T21:29:29Z").is_none());
    }
}
