//! Instants as the API writes them: RFC 3339 in UTC with a trailing `Z`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

/// Text that is no RFC 3339 instant of the years 1 to 9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 time of the years 1 to 9999")]
pub struct NotATimestamp;

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

    pub fn from_system_time(at: std::time::SystemTime) -> Self {
        Self::from_datetime(OffsetDateTime::from(at))
    }

    fn from_datetime(at: OffsetDateTime) -> Self {
        let at = at.to_offset(time::UtcOffset::UTC);
        let millis = at.millisecond();
        Self(at.replace_millisecond(millis).expect("a millisecond taken from a valid instant is valid"))
    }

    /// From RFC 3339 text, within the years 1 to 9999 once in UTC. The text this type renders
    /// is read without the general parser: every stored message and session carries a few,
    /// and views read hundreds.
    pub fn parse(text: &str) -> Result<Self, NotATimestamp> {
        match Self::parse_own(text.as_bytes()) {
            Some(at) => Ok(at),
            None => OffsetDateTime::parse(text, &Rfc3339)
                .ok()
                .and_then(|at| at.checked_to_offset(time::UtcOffset::UTC))
                .map(Self::from_datetime)
                .ok_or(NotATimestamp),
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, or `None` for any other text.
    fn parse_own(text: &[u8]) -> Option<Self> {
        let [
            y0,
            y1,
            y2,
            y3,
            b'-',
            mo0,
            mo1,
            b'-',
            d0,
            d1,
            b'T',
            h0,
            h1,
            b':',
            mi0,
            mi1,
            b':',
            s0,
            s1,
            b'.',
            ms0,
            ms1,
            ms2,
            b'Z',
        ] = *text
        else {
            return None;
        };
        let digits = |ds: &[u8]| {
            ds.iter().try_fold(0u32, |value, d| d.is_ascii_digit().then(|| value * 10 + u32::from(d - b'0')))
        };
        let year = i32::try_from(digits(&[y0, y1, y2, y3])?).ok()?;
        let month = time::Month::try_from(u8::try_from(digits(&[mo0, mo1])?).ok()?).ok()?;
        let day = u8::try_from(digits(&[d0, d1])?).ok()?;
        let date = time::Date::from_calendar_date(year, month, day).ok()?;
        let clock = time::Time::from_hms_milli(
            u8::try_from(digits(&[h0, h1])?).ok()?,
            u8::try_from(digits(&[mi0, mi1])?).ok()?,
            u8::try_from(digits(&[s0, s1])?).ok()?,
            u16::try_from(digits(&[ms0, ms1, ms2])?).ok()?,
        )
        .ok()?;
        Some(Self(date.with_time(clock).assume_utc()))
    }

    /// Whole seconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn seconds_since(self, earlier: Timestamp) -> i64 {
        (self.0 - earlier.0).whole_seconds()
    }

    /// Whole milliseconds from `earlier` to `self` (0 when `earlier` is later).
    pub fn millis_since(self, earlier: Timestamp) -> u64 {
        u64::try_from((self.0 - earlier.0).whole_milliseconds()).unwrap_or(0)
    }

    /// The instant `seconds` after the Unix epoch; `None` beyond what it can represent.
    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(seconds).ok().map(Self)
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    pub fn unix_millis(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0 + Duration::seconds(seconds))
    }

    /// `seconds` later, if that is still an instant this type holds.
    pub fn checked_plus_seconds(self, seconds: i64) -> Option<Self> {
        self.0.checked_add(Duration::seconds(seconds)).map(Self)
    }

    pub fn plus_millis(self, millis: i64) -> Self {
        Self(self.0 + Duration::milliseconds(millis))
    }

    /// The instant `millis` after the Unix epoch; `None` beyond what it can represent.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok().map(Self)
    }
}

impl Timestamp {
    /// The text of a year-0-to-9999 instant, written digit by digit: views render hundreds
    /// of these, and the general formatter costs more than the rest of a message's JSON.
    fn common_text(self) -> Option<[u8; 24]> {
        let (year, at) = (self.0.year(), self.0);
        if !(0..=9999).contains(&year) {
            return None;
        }
        let mut text = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: u32| {
            for i in (at..at + width).rev() {
                text[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year as u32);
        put(5, 2, u32::from(u8::from(at.month())));
        put(8, 2, u32::from(at.day()));
        put(11, 2, u32::from(at.hour()));
        put(14, 2, u32::from(at.minute()));
        put(17, 2, u32::from(at.second()));
        put(20, 3, u32::from(at.millisecond()));
        Some(text)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.common_text() {
            Some(text) => f.write_str(std::str::from_utf8(&text).expect("ASCII digits")),
            None => f.write_str(&self.0.format(FORMAT).map_err(|_| fmt::Error)?),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.common_text() {
            Some(text) => serializer.serialize_str(std::str::from_utf8(&text).expect("ASCII digits")),
            None => serializer.collect_str(self),
        }
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
    fn instants_past_the_year_9999_are_refused_not_a_panic() {
        assert_eq!(Timestamp::parse("9999-12-31T23:30:00-01:00"), Err(NotATimestamp));
        let last_day = Timestamp::parse("9999-12-31T00:00:00Z").unwrap();
        assert_eq!(last_day.checked_plus_seconds(86_400), None);
        assert!(last_day.checked_plus_seconds(3_600).is_some());
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

    #[test]
    fn its_own_text_is_read_and_written_as_the_general_format_does() {
        let start = Timestamp::parse("1999-12-31T23:59:59.999Z").unwrap();
        for step in 0..2000i64 {
            // About 16 days apart, with every millisecond value, across month and year ends.
            let at = Timestamp(start.0 + Duration::milliseconds(step * 1_382_400_001 + step));
            let text = at.to_string();
            assert_eq!(text, at.0.format(FORMAT).unwrap());
            assert_eq!(Timestamp::parse_own(text.as_bytes()), Some(at), "{text}");
            assert_eq!(OffsetDateTime::parse(&text, &Rfc3339).map(Timestamp::from_datetime).unwrap(), at);
        }
        for wrong in ["2025-13-01T00:00:00.000Z", "2025-02-30T00:00:00.000Z", "2025-01-01T24:00:00.000Z"] {
            assert_eq!(Timestamp::parse_own(wrong.as_bytes()), None, "{wrong}");
            assert!(Timestamp::parse(wrong).is_err(), "{wrong}");
        }
    }
}
