//! Instants as the API writes them: RFC 3339 in UTC with a trailing `Z`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

/// A UTC instant with millisecond precision.
///
/// It always renders with three fractional digits, so the text sorts like the instant:
/// DynamoDB sort keys built from it order by time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    fn from_datetime(at: OffsetDateTime) -> Self {
        let at = at.to_offset(time::UtcOffset::UTC);
        let millis = at.millisecond();
        Self(at.replace_millisecond(millis).expect("a millisecond taken from a valid instant is valid"))
    }

    pub fn parse(text: &str) -> Result<Self, time::error::Parse> {
        OffsetDateTime::parse(text, &Rfc3339).map(Self::from_datetime)
    }

    /// Whole seconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn seconds_since(self, earlier: Timestamp) -> i64 {
        (self.0 - earlier.0).whole_seconds()
    }

    /// Whole milliseconds from `earlier` to `self` (0 when `earlier` is later).
    pub fn millis_since(self, earlier: Timestamp) -> u64 {
        u64::try_from((self.0 - earlier.0).whole_milliseconds()).unwrap_or(0)
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0 + Duration::seconds(seconds))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.format(FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_utc_with_z_and_milliseconds() {
        let at = Timestamp::parse("2025-12-16T11:30:00.123456+01:00").unwrap();
        assert_eq!(at.to_string(), "2025-12-16T10:30:00.123Z");
    }

    #[test]
    fn text_order_is_time_order() {
        let a = Timestamp::parse("2025-12-16T10:30:00Z").unwrap();
        let b = Timestamp::parse("2025-12-16T10:30:00.5Z").unwrap();
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        assert_eq!(b.seconds_since(a), 0);
        assert_eq!(a.plus_seconds(90).seconds_since(a), 90);
    }

    #[test]
    fn round_trips_through_json() {
        let at = Timestamp::parse("2025-12-16T10:30:00Z").unwrap();
        let json = serde_json::to_string(&at).unwrap();
        assert_eq!(json, "\"2025-12-16T10:30:00.000Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), at);
    }
}
