//! The virtual clock and the seeded generator: the only places where time
//! and randomness exist. A Wait of 10 s advances the clock by 10,000 ms and
//! costs nothing; ids, tokens and random draws come from a generator seeded
//! per execution, so the same scenario gives byte-identical histories.
//!
//! ```
//! use sfn_harness::clock::{Clock, format_timestamp, parse_timestamp};
//! let mut c = Clock::new(parse_timestamp("2024-01-01T00:00:00Z").unwrap());
//! c.advance_secs(10);
//! assert_eq!(format_timestamp(c.now_ms()), "2024-01-01T00:00:10.000Z");
//! ```

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
    pub fn advance_secs(&mut self, s: u64) {
        self.advance_ms((s as i64).saturating_mul(1000));
    }
    /// Moves to `ms` if it is later than now.
    pub fn advance_to(&mut self, ms: i64) {
        self.now_ms = self.now_ms.max(ms);
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

/// A small, fast, seeded generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A version-4 UUID.
    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        )
    }
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

    #[test]
    fn rng_is_deterministic() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(a.uuid().len(), 36);
        let f = a.next_f64();
        assert!((0.0..1.0).contains(&f));
    }
}
