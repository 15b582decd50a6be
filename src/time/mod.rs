//! Time has one home. An execution runs on the virtual [`Clock`]: a Wait of
//! 10 s advances it by 10,000 ms and costs nothing. AWS's timestamp formats
//! are read and written here. Real time enters only through [`Wall`]
//! (`wall.rs`), injected where a real participant (a container, a client of
//! `serve`, a callback from a real worker) is involved; no other module reads
//! the system clock, sleeps or sets a timer (`tests/architecture.rs` checks it).
//!
//! ```text
//! let mut c = Clock::new(parse_timestamp("2024-01-01T00:00:00Z").unwrap());
//! c.advance_ms(10_000);
//! assert_eq!(format_timestamp(c.now_ms()), "2024-01-01T00:00:10.000Z");
//! ```

mod wall;

pub use wall::{RealTime, Wall};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

/// 2024-01-01T00:00:00Z: where virtual time starts unless a test says otherwise.
pub const DEFAULT_START_MS: i64 = 1_704_067_200_000;

/// Virtual time in epoch milliseconds.
#[derive(Debug, Clone)]
pub struct Clock {
    now_ms: i64,
}

impl Clock {
    pub fn new(start_ms: i64) -> Clock {
        Clock { now_ms: start_ms }
    }
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }
    pub fn advance_ms(&mut self, ms: i64) {
        self.now_ms = self.now_ms.saturating_add(ms.max(0));
    }
}

/// Parses an ISO-8601 extended offset date-time (`2016-03-14T01:59:00Z`,
/// `2016-03-14T01:59:00.123+02:00`) as AWS accepts it: a `T` between date
/// and time, and an offset, are required.
pub fn parse_datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' || !(s.ends_with('Z') || s[19..].contains(['+', '-'])) {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// [`parse_datetime`] as epoch milliseconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    parse_datetime(s).map(|d| d.timestamp_millis())
}

/// Formats epoch milliseconds as AWS writes context timestamps
/// (`2024-01-01T00:00:10.000Z`).
pub fn format_timestamp(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_advances_by_what_it_is_told() {
        let mut c = Clock::new(parse_timestamp("2024-01-01T00:00:00Z").unwrap());
        c.advance_ms(10_000);
        assert_eq!(format_timestamp(c.now_ms()), "2024-01-01T00:00:10.000Z");
        c.advance_ms(-5);
        assert_eq!(format_timestamp(c.now_ms()), "2024-01-01T00:00:10.000Z");
    }

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
