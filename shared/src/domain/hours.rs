//! Business hours: when the team answers, as a weekly schedule in a time zone, with holidays
//! on which it does not. Given as a platform writes it (`"mon": [{"opens": "09:00", "closes":
//! "17:30"}]`, a time zone's IANA name, dates as `2026-12-25`), checked once into a schedule
//! that says, at any instant, whether the team is within hours and until when.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::ids::AdminId;
use crate::Timestamp;

/// Openings a day holds at most, and holidays a schedule.
pub const MAX_OPENINGS_A_DAY: usize = 4;
pub const MAX_HOLIDAYS: usize = 100;
/// The longest expected-reply text, in characters.
pub const MAX_EXPECTED_REPLY: usize = 200;
/// The most admins on call at once.
pub const MAX_ON_CALL: usize = 20;
/// How far ahead the next opening is looked for: two weeks, holidays and all.
const LOOKAHEAD_DAYS: i16 = 14;

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// One stretch of a day within hours, as written: `"09:00"` to `"17:30"` (`"24:00"` is the
/// day's end).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningInput {
    pub opens: String,
    pub closes: String,
}

/// Business hours as a platform writes them, and as they are read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursInput {
    pub time_zone: String,
    /// By day (`mon` … `sun`); a day not named is closed.
    pub week: BTreeMap<String, Vec<OpeningInput>>,
    #[serde(default)]
    pub holidays: Vec<String>,
    /// What stores are told to expect ("We usually reply within an hour"); without it, the
    /// widget says so in the store's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_reply: Option<String>,
    /// The admins emailed when a session arrives out of hours or waits unassigned too long.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_call: Vec<AdminId>,
}

/// Why business hours were refused: said so a platform can fix them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HoursError(String);

/// A stretch within hours, in minutes from the day's start (`closes` up to 1440).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Opening {
    opens: u16,
    closes: u16,
}

/// Checked business hours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HoursInput", into = "HoursInput")]
pub struct BusinessHours {
    time_zone: String,
    zone: TimeZone,
    /// Monday first; each day's openings in order, none overlapping.
    week: [Vec<Opening>; 7],
    holidays: BTreeSet<Date>,
    expected_reply: Option<String>,
    on_call: Vec<AdminId>,
}

/// An instant as the hours' time zone has it, for saying when the team is back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalMoment {
    pub date: Date,
    pub weekday: Weekday,
    pub hour: i8,
    pub minute: i8,
    /// Days from the other moment's date to this one's.
    pub days_ahead: i32,
}

/// Where a moment stands in the hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoursState {
    /// Within hours, until then.
    Open { until: Timestamp },
    /// Out of hours, until the next opening (none within two weeks: none said).
    Closed { until: Option<Timestamp> },
}

fn refused(why: impl Into<String>) -> HoursError {
    HoursError(why.into())
}

/// Minutes from the day's start of `"HH:MM"` (`"24:00"` only when `end_of_day` may be).
fn minutes(text: &str, end_of_day: bool) -> Result<u16, HoursError> {
    if end_of_day && text == "24:00" {
        return Ok(24 * 60);
    }
    let well_formed = text.len() == 5 && text.as_bytes()[2] == b':';
    let time = well_formed.then(|| text.parse::<Time>().ok()).flatten();
    let time = time.ok_or_else(|| refused(format!("{text:?} is not a time of day as HH:MM")))?;
    Ok(time.hour() as u16 * 60 + time.minute() as u16)
}

fn hh_mm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl TryFrom<HoursInput> for BusinessHours {
    type Error = HoursError;

    fn try_from(input: HoursInput) -> Result<Self, HoursError> {
        let zone = TimeZone::get(&input.time_zone)
            .map_err(|_| refused(format!("{:?} is not a time zone (an IANA name: Europe/Berlin)", input.time_zone)))?;
        if let Some(unknown) = input.week.keys().find(|day| !DAYS.iter().any(|(name, _)| name == day)) {
            return Err(refused(format!("{unknown:?} is not a day: mon, tue, wed, thu, fri, sat or sun")));
        }
        let mut week: [Vec<Opening>; 7] = Default::default();
        for (index, (name, _)) in DAYS.iter().enumerate() {
            let given = input.week.get(*name).map(Vec::as_slice).unwrap_or_default();
            if given.len() > MAX_OPENINGS_A_DAY {
                return Err(refused(format!("{name}: at most {MAX_OPENINGS_A_DAY} openings a day")));
            }
            let mut openings = given
                .iter()
                .map(|o| Ok(Opening { opens: minutes(&o.opens, false)?, closes: minutes(&o.closes, true)? }))
                .collect::<Result<Vec<_>, HoursError>>()?;
            openings.sort();
            if let Some(o) = openings.iter().find(|o| o.opens >= o.closes) {
                return Err(refused(format!("{name}: {} does not close after it opens", hh_mm(o.opens))));
            }
            if openings.windows(2).any(|pair| pair[1].opens < pair[0].closes) {
                return Err(refused(format!("{name}: openings overlap")));
            }
            week[index] = openings;
        }
        if input.holidays.len() > MAX_HOLIDAYS {
            return Err(refused(format!("at most {MAX_HOLIDAYS} holidays")));
        }
        let expected_reply = match input.expected_reply.as_deref().map(str::trim) {
            Some(text) if text.chars().count() > MAX_EXPECTED_REPLY => {
                return Err(refused(format!("expected_reply: at most {MAX_EXPECTED_REPLY} characters")));
            }
            Some(text) if text.chars().any(char::is_control) => {
                return Err(refused("expected_reply: no control characters"));
            }
            Some("") | None => None,
            Some(text) => Some(text.to_owned()),
        };
        let holidays = input
            .holidays
            .iter()
            .map(|day| day.parse::<Date>().map_err(|_| refused(format!("{day:?} is not a date as YYYY-MM-DD"))))
            .collect::<Result<BTreeSet<Date>, HoursError>>()?;
        let mut on_call = input.on_call;
        on_call.sort();
        on_call.dedup();
        if on_call.len() > MAX_ON_CALL {
            return Err(refused(format!("on_call: at most {MAX_ON_CALL} admins")));
        }
        Ok(BusinessHours { time_zone: input.time_zone, zone, week, holidays, expected_reply, on_call })
    }
}

impl From<BusinessHours> for HoursInput {
    fn from(hours: BusinessHours) -> Self {
        let week = DAYS
            .iter()
            .zip(&hours.week)
            .filter(|(_, openings)| !openings.is_empty())
            .map(|((name, _), openings)| {
                let openings =
                    openings.iter().map(|o| OpeningInput { opens: hh_mm(o.opens), closes: hh_mm(o.closes) }).collect();
                ((*name).to_owned(), openings)
            })
            .collect();
        let holidays = hours.holidays.iter().map(Date::to_string).collect();
        HoursInput {
            time_zone: hours.time_zone,
            week,
            holidays,
            expected_reply: hours.expected_reply,
            on_call: hours.on_call,
        }
    }
}

impl BusinessHours {
    /// Checks hours as a platform wrote them.
    pub fn check(input: HoursInput) -> Result<Self, HoursError> {
        Self::try_from(input)
    }

    /// The IANA name of the time zone the hours are kept in.
    pub fn time_zone(&self) -> &str {
        &self.time_zone
    }

    /// The admins on call.
    pub fn on_call(&self) -> &[AdminId] {
        &self.on_call
    }

    /// What stores are told to expect, if the platform said.
    pub fn expected_reply(&self) -> Option<&str> {
        self.expected_reply.as_deref()
    }

    /// `at` in the hours' time zone, with how many days after `from`'s date it falls.
    pub fn local(&self, at: Timestamp, from: Timestamp) -> Option<LocalMoment> {
        let zoned = |t: Timestamp| {
            jiff::Timestamp::from_millisecond(t.unix_millis()).ok().map(|t| t.to_zoned_datetime(self.zone.clone()))
        };
        let (at, from) = (zoned(at)?, zoned(from)?);
        let days_ahead = (at.date() - from.date()).get_days();
        Some(LocalMoment { date: at.date(), weekday: at.weekday(), hour: at.hour(), minute: at.minute(), days_ahead })
    }

    /// The instant `date` reaches `minute` of its day in the hours' time zone (a time that a
    /// clock change skips is taken as the one after the change).
    fn instant(&self, date: Date, minute: u16) -> Option<jiff::Timestamp> {
        let (date, minute) = match minute {
            1440 => (date.tomorrow().ok()?, 0),
            _ => (date, minute),
        };
        let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).ok()?;
        let zoned = self.zone.to_ambiguous_zoned_datetime(date.to_datetime(time)).compatible().ok()?;
        Some(zoned.timestamp())
    }

    /// Where `at` stands: within hours until when, or out of them until when.
    pub fn state_at(&self, at: Timestamp) -> HoursState {
        let Ok(now) = jiff::Timestamp::from_millisecond(at.unix_millis()) else {
            return HoursState::Closed { until: None };
        };
        let to_timestamp = |t: jiff::Timestamp| Timestamp::from_unix_millis(t.as_millisecond());
        // The stretches within hours from the start of today on, in order, those that meet
        // joined: Monday's until 24:00 and Tuesday's from 00:00 are one.
        let today = now.to_zoned_datetime(self.zone.clone()).date();
        let mut stretches: Vec<(jiff::Timestamp, jiff::Timestamp)> = Vec::new();
        for offset in 0..=LOOKAHEAD_DAYS {
            let Ok(date) = today.checked_add(jiff::Span::new().days(offset)) else { break };
            if self.holidays.contains(&date) {
                continue;
            }
            let openings = &self.week[date.weekday().to_monday_zero_offset() as usize];
            for opening in openings {
                let (Some(opens), Some(closes)) =
                    (self.instant(date, opening.opens), self.instant(date, opening.closes))
                else {
                    continue;
                };
                match stretches.last_mut() {
                    Some((_, end)) if *end == opens => *end = closes,
                    _ => stretches.push((opens, closes)),
                }
            }
        }
        for (opens, closes) in stretches {
            if now < opens {
                return HoursState::Closed { until: to_timestamp(opens) };
            }
            if now < closes {
                return match to_timestamp(closes) {
                    Some(until) => HoursState::Open { until },
                    None => HoursState::Closed { until: None },
                };
            }
        }
        HoursState::Closed { until: None }
    }

    /// Whether `at` is within hours.
    pub fn is_open(&self, at: Timestamp) -> bool {
        matches!(self.state_at(at), HoursState::Open { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opening(opens: &str, closes: &str) -> OpeningInput {
        OpeningInput { opens: opens.into(), closes: closes.into() }
    }

    /// Berlin, weekdays 9:00–12:00 and 13:00–17:30, Saturday until midnight and Sunday from
    /// it until 2:00, Christmas off.
    fn berlin() -> BusinessHours {
        let weekday = vec![opening("13:00", "17:30"), opening("09:00", "12:00")];
        let mut week: BTreeMap<String, Vec<OpeningInput>> =
            ["mon", "tue", "wed", "thu", "fri"].into_iter().map(|day| (day.to_owned(), weekday.clone())).collect();
        week.insert("sat".into(), vec![opening("20:00", "24:00")]);
        week.insert("sun".into(), vec![opening("00:00", "02:00")]);
        let input = HoursInput {
            time_zone: "Europe/Berlin".into(),
            week,
            holidays: vec!["2026-12-25".into()],
            expected_reply: None,
            on_call: vec![],
        };
        BusinessHours::check(input).unwrap()
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn within_hours_until_the_stretch_ends() {
        let hours = berlin();
        // Thursday 3 December 2026, 10:00 in Berlin (UTC+1).
        assert_eq!(hours.state_at(at("2026-12-03T09:00:00Z")), HoursState::Open { until: at("2026-12-03T11:00:00Z") });
        // At lunch: back at 13:00.
        assert_eq!(
            hours.state_at(at("2026-12-03T11:30:00Z")),
            HoursState::Closed { until: Some(at("2026-12-03T12:00:00Z")) }
        );
        // Closing time is out of hours.
        assert!(!hours.is_open(at("2026-12-03T16:30:00Z")));
        assert!(hours.is_open(at("2026-12-03T16:29:59Z")));
    }

    #[test]
    fn holidays_and_weekends_are_skipped_and_midnight_joins() {
        let hours = berlin();
        // Thursday 24 December after hours: Christmas (Friday) is off, so Saturday 20:00.
        assert_eq!(
            hours.state_at(at("2026-12-24T18:00:00Z")),
            HoursState::Closed { until: Some(at("2026-12-26T19:00:00Z")) }
        );
        // Saturday night runs into Sunday's early hours as one stretch.
        assert_eq!(hours.state_at(at("2026-12-26T22:00:00Z")), HoursState::Open { until: at("2026-12-27T01:00:00Z") });
    }

    #[test]
    fn clock_changes_follow_the_time_zone() {
        let hours = berlin();
        // Friday 27 March 2026, 18:00 in Berlin (UTC+1): next is Saturday 20:00, still UTC+1;
        // after Sunday's change to summer time, Monday 9:00 is 7:00 UTC.
        assert_eq!(
            hours.state_at(at("2026-03-27T17:00:00Z")),
            HoursState::Closed { until: Some(at("2026-03-28T19:00:00Z")) }
        );
        assert_eq!(
            hours.state_at(at("2026-03-29T01:30:00Z")),
            HoursState::Closed { until: Some(at("2026-03-30T07:00:00Z")) }
        );
    }

    #[test]
    fn no_hours_at_all_is_closed_with_no_end() {
        let input = HoursInput {
            time_zone: "UTC".into(),
            week: BTreeMap::new(),
            holidays: vec![],
            expected_reply: None,
            on_call: vec![],
        };
        let hours = BusinessHours::check(input).unwrap();
        assert_eq!(hours.state_at(Timestamp::now()), HoursState::Closed { until: None });
    }

    #[test]
    fn hours_read_back_as_written_in_order() {
        let written = serde_json::to_value(berlin()).unwrap();
        assert_eq!(written["time_zone"], "Europe/Berlin");
        assert_eq!(
            written["week"]["mon"],
            serde_json::json!([{"opens": "09:00", "closes": "12:00"}, {"opens": "13:00", "closes": "17:30"}])
        );
        assert_eq!(written["week"]["sat"], serde_json::json!([{"opens": "20:00", "closes": "24:00"}]));
        assert_eq!(written["holidays"], serde_json::json!(["2026-12-25"]));
        let read: BusinessHours = serde_json::from_value(written).unwrap();
        assert_eq!(read, berlin());
    }

    #[test]
    fn bad_hours_are_refused_with_the_reason() {
        let with = |time_zone: &str, day: &str, openings: Vec<OpeningInput>, holidays: Vec<&str>| {
            let week = BTreeMap::from([(day.to_owned(), openings)]);
            let holidays = holidays.into_iter().map(str::to_owned).collect();
            BusinessHours::check(HoursInput {
                time_zone: time_zone.into(),
                week,
                holidays,
                expected_reply: None,
                on_call: vec![],
            })
            .unwrap_err()
            .to_string()
        };
        let nine_to_five = || vec![opening("09:00", "17:00")];
        assert!(with("Mars/Olympus", "mon", nine_to_five(), vec![]).contains("time zone"));
        assert!(with("UTC", "monday", nine_to_five(), vec![]).contains("not a day"));
        assert!(with("UTC", "mon", vec![opening("9:00", "17:00")], vec![]).contains("HH:MM"));
        assert!(with("UTC", "mon", vec![opening("09:00", "24:30")], vec![]).contains("HH:MM"));
        assert!(with("UTC", "mon", vec![opening("24:00", "24:00")], vec![]).contains("HH:MM"));
        assert!(with("UTC", "mon", vec![opening("17:00", "09:00")], vec![]).contains("close after"));
        assert!(
            with("UTC", "mon", vec![opening("09:00", "12:00"), opening("11:00", "13:00")], vec![]).contains("overlap")
        );
        assert!(with("UTC", "mon", vec![opening("09:00", "10:00"); 5], vec![]).contains("at most"));
        assert!(with("UTC", "mon", nine_to_five(), vec!["2026-02-30"]).contains("YYYY-MM-DD"));
        assert!(with("UTC", "mon", nine_to_five(), vec!["2026-01-01"; 101]).contains("holidays"));
    }
}
