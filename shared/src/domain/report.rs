//! Reports: the team's figures, kept as they happen rather than counted by reading sessions.
//!
//! Each change of the table that moves a figure — a conversation opened, picked up from the
//! queue, answered for the first time, closed or rated; a message sent — is one
//! [`FigureChange`]: what it adds to its day's [`Tally`] and to the admin's day, under an id
//! made of what it says, so that a change read twice from the stream is counted once.
//! Durations are kept as sums, counts and fixed buckets, so that tallies add up over days,
//! weeks and admins and medians come from the buckets. What waits now is not kept: it is the
//! waiting queue's length, read with the report.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::ids::AdminId;
use super::message::{Message, SenderType};
use super::outbound::{TableChange, first_answer_wait};
use super::session::{Session, SessionStatus};
use crate::Timestamp;

/// The upper bounds of the duration buckets, in seconds, each about half again the one
/// before (so a median read from them is within a fifth or so of the true one); a last bucket
/// holds what is longer.
pub const DURATION_BUCKETS_SECONDS: [u64; 34] = [
    5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10_800,
    14_400, 21_600, 28_800, 43_200, 57_600, 86_400, 129_600, 172_800, 259_200, 345_600, 432_000, 604_800,
];
const BUCKETS: usize = DURATION_BUCKETS_SECONDS.len() + 1;

/// The longest range one report covers.
pub const MAX_REPORT_DAYS: i32 = 366;
/// The range a report covers unless asked: the last 30 days.
const DEFAULT_REPORT_DAYS: i32 = 30;

/// How long things took: their count, their sum and how many fell in each bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Durations {
    pub count: u64,
    pub total_ms: u64,
    pub buckets: [u64; BUCKETS],
}

impl Default for Durations {
    fn default() -> Self {
        Durations { count: 0, total_ms: 0, buckets: [0; BUCKETS] }
    }
}

impl Durations {
    /// One duration of `ms` milliseconds.
    pub fn of(ms: u64) -> Self {
        let bucket = DURATION_BUCKETS_SECONDS.partition_point(|bound| bound * 1000 <= ms);
        let mut buckets = [0; BUCKETS];
        buckets[bucket] = 1;
        Durations { count: 1, total_ms: ms, buckets }
    }

    pub fn add(&mut self, other: &Durations) {
        self.count += other.count;
        self.total_ms += other.total_ms;
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
    }

    pub fn average_seconds(&self) -> Option<f64> {
        (self.count > 0).then(|| round_tenth(self.total_ms as f64 / self.count as f64 / 1000.0))
    }

    /// The duration `share` of them took at most (0.5: the median), from the buckets: within
    /// its bucket, as far as its rank goes among the bucket's, each taken at the middle of
    /// its share of the bucket; a rank in the last, open bucket is its lower bound. Never
    /// above what the average allows (no more than half of them can take over twice the
    /// average, a tenth over ten times it), which keeps a bucket of quick answers from reading
    /// as its middle.
    pub fn percentile_seconds(&self, share: f64) -> Option<f64> {
        let average = self.total_ms as f64 / 1000.0 / self.count as f64;
        let estimate = self.bucket_percentile_seconds(share)?;
        Some(round_tenth(estimate.min(average / (1.0 - share))))
    }

    fn bucket_percentile_seconds(&self, share: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((share * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut below = 0;
        for (index, &in_bucket) in self.buckets.iter().enumerate() {
            if below + in_bucket >= rank {
                let lower = index.checked_sub(1).map_or(0, |i| DURATION_BUCKETS_SECONDS[i]) as f64;
                let Some(&upper) = DURATION_BUCKETS_SECONDS.get(index) else { return Some(lower) };
                let within = ((rank - below) as f64 - 0.5) / in_bucket as f64;
                return Some(lower + (upper as f64 - lower) * within);
            }
            below += in_bucket;
        }
        None
    }
}

fn round_tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// What happened in one day, for the team or for one admin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub opened: u64,
    /// Picked up from the queue by their first holder, claimed or assigned.
    pub assigned: u64,
    pub closed: u64,
    pub store_messages: u64,
    pub team_messages: u64,
    /// The store's wait for the team's first answer.
    pub first_response: Durations,
    /// From opening to closing.
    pub resolution: Durations,
    /// How many ratings gave one star, two, … five.
    pub ratings: [u64; 5],
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.opened += other.opened;
        self.assigned += other.assigned;
        self.closed += other.closed;
        self.store_messages += other.store_messages;
        self.team_messages += other.team_messages;
        self.first_response.add(&other.first_response);
        self.resolution.add(&other.resolution);
        for (mine, theirs) in self.ratings.iter_mut().zip(other.ratings) {
            *mine += theirs;
        }
    }

    /// Its counters by name, as a store keeps them: every one, zero or not.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let mut counters = vec![
            ("opened".to_owned(), self.opened),
            ("assigned".to_owned(), self.assigned),
            ("closed".to_owned(), self.closed),
            ("store_messages".to_owned(), self.store_messages),
            ("team_messages".to_owned(), self.team_messages),
        ];
        for (name, durations) in [("first_response", &self.first_response), ("resolution", &self.resolution)] {
            counters.push((format!("{name}_count"), durations.count));
            counters.push((format!("{name}_ms"), durations.total_ms));
            let buckets = durations.buckets.iter().enumerate();
            counters.extend(buckets.map(|(index, count)| (format!("{name}_{index:02}"), *count)));
        }
        let stars = self.ratings.iter().enumerate();
        counters.extend(stars.map(|(index, count)| (format!("stars_{}", index + 1), *count)));
        counters
    }

    /// The tally whose counters `counter` gives by name (absent ones are zero).
    pub fn from_counters(counter: impl Fn(&str) -> u64) -> Tally {
        let durations = |name: &str| Durations {
            count: counter(&format!("{name}_count")),
            total_ms: counter(&format!("{name}_ms")),
            buckets: std::array::from_fn(|index| counter(&format!("{name}_{index:02}"))),
        };
        Tally {
            opened: counter("opened"),
            assigned: counter("assigned"),
            closed: counter("closed"),
            store_messages: counter("store_messages"),
            team_messages: counter("team_messages"),
            first_response: durations("first_response"),
            resolution: durations("resolution"),
            ratings: std::array::from_fn(|index| counter(&format!("stars_{}", index + 1))),
        }
    }
}

/// Whose day a tally is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TallyKey {
    Team(Date),
    Admin(Date, AdminId),
}

impl TallyKey {
    pub fn day(self) -> Date {
        match self {
            TallyKey::Team(day) | TallyKey::Admin(day, _) => day,
        }
    }
}

/// What one change of the table adds to the figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FigureChange {
    /// Made of what the change says: the same change read again has the same id.
    pub id: String,
    pub tallies: Vec<(TallyKey, Tally)>,
}

/// The days of a deployment: counted in one time zone (the template's `ReportTimeZone`).
#[derive(Clone, Debug)]
pub struct ReportZone {
    name: String,
    zone: TimeZone,
}

impl PartialEq for ReportZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for ReportZone {}

impl Default for ReportZone {
    fn default() -> Self {
        ReportZone { name: "UTC".into(), zone: TimeZone::UTC }
    }
}

impl ReportZone {
    /// The zone of an IANA name (`Europe/Berlin`), if it is one.
    pub fn named(name: &str) -> Option<Self> {
        Some(ReportZone { name: name.to_owned(), zone: TimeZone::get(name).ok()? })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The day `at` falls on there.
    pub fn day_of(&self, at: Timestamp) -> Date {
        let at = jiff::Timestamp::from_millisecond(at.unix_millis()).unwrap_or(jiff::Timestamp::MAX);
        at.to_zoned_datetime(self.zone.clone()).date()
    }
}

/// What `change` adds to the figures, if anything, with days counted in `zone`.
pub fn figures_of(change: &TableChange, zone: &ReportZone) -> Option<FigureChange> {
    match change {
        TableChange::MessageAdded(message) => Some(message_figures(message, zone)),
        TableChange::Session { before, after } => session_figures(before.as_deref(), after.as_deref(), zone),
        TableChange::MessageRevised(_) | TableChange::NoteAdded(_) => None,
    }
}

/// A message sent: its day's, and a person's, its sender's.
fn message_figures(message: &Message, zone: &ReportZone) -> FigureChange {
    let day = zone.day_of(message.created);
    let mut tallies = Vec::new();
    match message.sender_type {
        SenderType::Store => tallies.push((TallyKey::Team(day), Tally { store_messages: 1, ..Tally::default() })),
        SenderType::Admin => {
            let sent = Tally { team_messages: 1, ..Tally::default() };
            tallies.push((TallyKey::Team(day), sent.clone()));
            if !message.automatic {
                tallies.push((TallyKey::Admin(day, AdminId(message.sender_id)), sent));
            }
        }
    }
    FigureChange { id: format!("message-{}-{}", message.session_id, message.id), tallies }
}

/// A session written: each of its figures moves once in its life, so the names of those that
/// moved make the change's id.
fn session_figures(before: Option<&Session>, after: Option<&Session>, zone: &ReportZone) -> Option<FigureChange> {
    let after = after?;
    let mut names = Vec::new();
    let mut tallies = Vec::new();
    let mut count = |name: &'static str, at: Timestamp, admin: Option<AdminId>, tally: Tally| {
        names.push(name);
        let day = zone.day_of(at);
        if let Some(admin) = admin {
            tallies.push((TallyKey::Admin(day, admin), tally.clone()));
        }
        tallies.push((TallyKey::Team(day), tally));
    };
    let Some(before) = before else {
        count("opened", after.created, None, Tally { opened: 1, ..Tally::default() });
        return Some(FigureChange { id: format!("session-{}-opened", after.id), tallies });
    };
    // Taken from the queue: a write that only completes an older session's record (a
    // migration) moves no holder, and no figure.
    if let (None, Some((admin, at)), true) = (before.picked_up(), after.picked_up(), before.admin_id != after.admin_id)
    {
        count("assigned", at, Some(admin), Tally { assigned: 1, ..Tally::default() });
    }
    if let Some(waited_ms) = first_answer_wait(before, after) {
        let answer = after.last_message.as_ref().filter(|m| m.sender_type == SenderType::Admin);
        let admin = answer.map(|m| AdminId(m.sender_id)).or(after.admin_id);
        let waited = Tally { first_response: Durations::of(waited_ms), ..Tally::default() };
        count("answered", after.last_message_at, admin, waited);
    }
    if let (false, Some(closed_at)) = (before.status == SessionStatus::Closed, after.closed_at) {
        let took = Durations::of(closed_at.millis_since(after.created));
        count("closed", closed_at, after.admin_id, Tally { closed: 1, resolution: took, ..Tally::default() });
    }
    if let (None, Some(stars @ 1..=5)) = (before.rating, after.rating) {
        let mut ratings = [0; 5];
        ratings[usize::from(stars) - 1] = 1;
        count("rated", after.closed_at.unwrap_or(after.updated), after.admin_id, Tally { ratings, ..Tally::default() });
    }
    (!names.is_empty()).then(|| FigureChange { id: format!("session-{}-{}", after.id, names.join("+")), tallies })
}

/// Days or weeks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Day,
    /// Monday to Sunday.
    Week,
}

/// What a report covers: the days `from` to `to`, both in, by day or week, for the team or
/// for one admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportQuery {
    pub from: Date,
    pub to: Date,
    pub granularity: Granularity,
    pub admin: Option<AdminId>,
}

impl ReportQuery {
    /// The query its parameters ask for, `today` being the last day unless `to` says; or
    /// why it cannot be.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        granularity: Option<&str>,
        admin: Option<AdminId>,
        today: Date,
    ) -> Result<ReportQuery, String> {
        let date = |name: &str, text: &str| {
            text.parse::<Date>()
                .ok()
                .filter(|_| text.len() == 10)
                .ok_or_else(|| format!("{name} must be a date as 2026-12-31"))
        };
        let to = to.map(|text| date("to", text)).transpose()?.unwrap_or(today);
        let default_from = to.checked_sub(jiff::Span::new().days(DEFAULT_REPORT_DAYS - 1)).unwrap_or(to);
        let from = from.map(|text| date("from", text)).transpose()?.unwrap_or(default_from);
        if from > to {
            return Err("from must not be after to".into());
        }
        let days = (to - from).get_days() + 1;
        if days > MAX_REPORT_DAYS {
            return Err(format!("a report covers at most {MAX_REPORT_DAYS} days"));
        }
        let granularity = match granularity {
            None | Some("day") => Granularity::Day,
            Some("week") => Granularity::Week,
            Some(_) => return Err("granularity must be day or week".into()),
        };
        Ok(ReportQuery { from, to, granularity, admin })
    }

    /// Its periods, first day and last, in order: every day, or every week clipped to the
    /// range.
    pub fn periods(&self) -> Vec<(Date, Date)> {
        let mut periods = Vec::new();
        let mut start = self.from;
        while start <= self.to {
            let end = match self.granularity {
                Granularity::Day => start,
                Granularity::Week => {
                    let to_sunday = 6 - i32::from(start.weekday().to_monday_zero_offset());
                    start.checked_add(jiff::Span::new().days(to_sunday)).unwrap_or(self.to).min(self.to)
                }
            };
            periods.push((start, end));
            match end.tomorrow() {
                Ok(next) => start = next,
                Err(_) => break,
            }
        }
        periods
    }
}

/// The tallies of a range of days, as a store keeps them, and how many wait now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tallies {
    pub by_key: BTreeMap<TallyKey, Tally>,
    /// The conversations in the waiting queue as the tallies were read.
    pub waiting: u64,
}

impl Tallies {
    /// Adds `change`'s figures, as a store records them.
    pub fn record(&mut self, change: &FigureChange) {
        for (key, tally) in &change.tallies {
            self.by_key.entry(*key).or_default().add(tally);
        }
    }
}

/// Durations as a report shows them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DurationFigures {
    pub count: u64,
    pub average_seconds: Option<f64>,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
    pub histogram: Vec<u64>,
}

impl From<&Durations> for DurationFigures {
    fn from(durations: &Durations) -> Self {
        DurationFigures {
            count: durations.count,
            average_seconds: durations.average_seconds(),
            median_seconds: durations.percentile_seconds(0.5),
            p90_seconds: durations.percentile_seconds(0.9),
            histogram: durations.buckets.to_vec(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RatingFigures {
    pub count: u64,
    pub average: Option<f64>,
    /// How many gave one star, two, … five.
    pub by_star: [u64; 5],
}

/// A tally as a report shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figures {
    pub opened: u64,
    pub assigned: u64,
    pub closed: u64,
    pub messages_from_stores: u64,
    pub messages_from_team: u64,
    pub first_response: DurationFigures,
    pub resolution: DurationFigures,
    pub ratings: RatingFigures,
}

impl From<&Tally> for Figures {
    fn from(tally: &Tally) -> Self {
        let count: u64 = tally.ratings.iter().sum();
        let stars: u64 = tally.ratings.iter().zip(1..).map(|(n, stars)| n * stars).sum();
        Figures {
            opened: tally.opened,
            assigned: tally.assigned,
            closed: tally.closed,
            messages_from_stores: tally.store_messages,
            messages_from_team: tally.team_messages,
            first_response: (&tally.first_response).into(),
            resolution: (&tally.resolution).into(),
            ratings: RatingFigures {
                count,
                average: (count > 0).then(|| (stars as f64 / count as f64 * 100.0).round() / 100.0),
                by_star: tally.ratings,
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PeriodFigures {
    #[serde(serialize_with = "as_text")]
    pub start: Date,
    #[serde(serialize_with = "as_text")]
    pub end: Date,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdminFigures {
    pub admin_id: AdminId,
    #[serde(flatten)]
    pub figures: Figures,
}

/// A report: the series, the totals, the admins', and what waits now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub time_zone: String,
    #[serde(serialize_with = "as_text")]
    pub from: Date,
    #[serde(serialize_with = "as_text")]
    pub to: Date,
    pub granularity: Granularity,
    pub admin_id: Option<AdminId>,
    pub duration_buckets_seconds: &'static [u64],
    pub waiting_now: u64,
    pub totals: Figures,
    pub series: Vec<PeriodFigures>,
    pub admins: Vec<AdminFigures>,
}

fn as_text<S: serde::Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(date)
}

/// The report `query` asks for, from the tallies of its days.
pub fn report(query: &ReportQuery, tallies: &Tallies, zone: &ReportZone) -> Report {
    let in_range = |key: &TallyKey| (query.from..=query.to).contains(&key.day());
    let counted = |key: &TallyKey| match (query.admin, key) {
        (None, TallyKey::Team(_)) => true,
        (Some(admin), TallyKey::Admin(_, of)) => admin == *of,
        _ => false,
    };
    let mut totals = Tally::default();
    let mut by_day: BTreeMap<Date, Tally> = BTreeMap::new();
    let mut by_admin: BTreeMap<AdminId, Tally> = BTreeMap::new();
    for (key, tally) in tallies.by_key.iter().filter(|(key, _)| in_range(key)) {
        if counted(key) {
            totals.add(tally);
            by_day.entry(key.day()).or_default().add(tally);
        }
        if let TallyKey::Admin(_, admin) = key
            && query.admin.is_none_or(|asked| asked == *admin)
        {
            by_admin.entry(*admin).or_default().add(tally);
        }
    }
    let series = query
        .periods()
        .into_iter()
        .map(|(start, end)| {
            let mut period = Tally::default();
            by_day.range(start..=end).for_each(|(_, tally)| period.add(tally));
            PeriodFigures { start, end, figures: (&period).into() }
        })
        .collect();
    Report {
        time_zone: zone.name().to_owned(),
        from: query.from,
        to: query.to,
        granularity: query.granularity,
        admin_id: query.admin,
        duration_buckets_seconds: &DURATION_BUCKETS_SECONDS,
        waiting_now: tallies.waiting,
        totals: (&totals).into(),
        series,
        admins: by_admin
            .iter()
            .map(|(admin, tally)| AdminFigures { admin_id: *admin, figures: tally.into() })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SessionStatus::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn change(before: &Session, after: &Session) -> TableChange {
        TableChange::Session { before: Some(Box::new(before.clone())), after: Some(Box::new(after.clone())) }
    }

    #[test]
    fn a_percentile_comes_from_its_bucket() {
        let mut durations = Durations::default();
        for seconds in [10, 20, 40, 50, 70, 400, 5000, 700_000] {
            durations.add(&Durations::of(seconds * 1000));
        }
        assert_eq!(durations.count, 8);
        assert_eq!(durations.buckets[..7], [0, 0, 1, 0, 1, 1, 1], "10, 20, 40 and 50 s");
        assert_eq!(durations.buckets[BUCKETS - 1], 1, "over a week");
        // The 4th of 8 is the one in 45–60 s: its middle.
        assert_eq!(durations.percentile_seconds(0.5), Some(52.5));
        assert_eq!(Durations::of(2_000).percentile_seconds(0.5), Some(2.5));
        // The 8th is in the open bucket: its lower bound.
        assert_eq!(durations.percentile_seconds(0.9), Some(604_800.0));
        assert_eq!(Durations::default().percentile_seconds(0.5), None);
        assert_eq!(Durations::of(30_000).buckets[5], 1, "a bound belongs to the bucket above");
        // Quick answers: the average bounds what the bucket's middle would say.
        let quick = (0..10).fold(Durations::default(), |mut all, _| {
            all.add(&Durations::of(100));
            all
        });
        assert_eq!((quick.percentile_seconds(0.5), quick.percentile_seconds(0.9)), (Some(0.2), Some(1.0)));
        // Two in one bucket: a quarter and three quarters in.
        let pair = {
            let mut pair = Durations::of(3_700_000);
            pair.add(&Durations::of(5_000_000));
            pair
        };
        assert_eq!((pair.percentile_seconds(0.5), pair.percentile_seconds(0.9)), (Some(4050.0), Some(4950.0)));
    }

    #[test]
    fn counters_name_every_figure_and_read_back() {
        let mut tally = Tally { opened: 3, closed: 2, ratings: [0, 0, 1, 0, 4], ..Tally::default() };
        tally.first_response.add(&Durations::of(45_000));
        let counters: BTreeMap<String, u64> = tally.counters().into_iter().collect();
        assert_eq!(counters.len(), 5 + 2 * (2 + BUCKETS) + 5);
        assert_eq!(counters["first_response_06"], 1);
        assert_eq!(counters["stars_5"], 4);
        assert_eq!(Tally::from_counters(|name| counters.get(name).copied().unwrap_or(0)), tally);
    }

    #[test]
    fn a_conversation_s_life_moves_its_figures_once_each() {
        let zone = ReportZone::named("Europe/Berlin").unwrap();
        let opened_at = at("2026-12-03T23:30:00.000Z"); // past midnight in Berlin
        let open = Session { created: opened_at, queued_at: Some(opened_at), ..Session::sample(Open, None) };
        let created = figures_of(&TableChange::Session { before: None, after: Some(Box::new(open.clone())) }, &zone);
        let created = created.unwrap();
        assert_eq!(created.id, "session-1-opened");
        assert_eq!(created.tallies, [(TallyKey::Team(date("2026-12-04")), Tally { opened: 1, ..Tally::default() })]);

        let claimed_at = at("2026-12-04T08:00:00.000Z");
        let claimed = Session {
            status: Claimed,
            admin_id: Some(AdminId(2)),
            revision: 1,
            picked_up_at: Some(claimed_at),
            picked_up_by: Some(AdminId(2)),
            ..open.clone()
        };
        let picked = figures_of(&change(&open, &claimed), &zone).unwrap();
        assert_eq!(picked.id, "session-1-assigned");
        let assigned = Tally { assigned: 1, ..Tally::default() };
        let day = TallyKey::Team(date("2026-12-04"));
        assert_eq!(
            picked.tallies,
            [(TallyKey::Admin(date("2026-12-04"), AdminId(2)), assigned.clone()), (day, assigned)]
        );

        let answer = Message::sample(9, SenderType::Admin, claimed_at.plus_seconds(60));
        let answered = Session {
            reply_count: 1,
            reply_ms_total: 30_000,
            last_message_at: answer.created,
            last_message: Some(answer.clone()),
            ..claimed.clone()
        };
        let first = figures_of(&change(&claimed, &answered), &zone).unwrap();
        assert_eq!(first.id, "session-1-answered");
        let admin = TallyKey::Admin(date("2026-12-04"), AdminId(answer.sender_id));
        assert_eq!(first.tallies[0], (admin, Tally { first_response: Durations::of(30_000), ..Tally::default() }));
        let again = Session { reply_count: 2, ..answered.clone() };
        assert_eq!(figures_of(&change(&answered, &again), &zone), None, "a second answer moves nothing");

        let closed_at = opened_at.plus_seconds(3600);
        let closed = Session { status: Closed, closed_at: Some(closed_at), revision: 2, ..answered.clone() };
        let close = figures_of(&change(&answered, &closed), &zone).unwrap();
        assert_eq!(close.id, "session-1-closed");
        assert_eq!(close.tallies[1].1.resolution, Durations::of(3_600_000));
        let rated = Session { rating: Some(4), ..closed.clone() };
        let rate = figures_of(&change(&closed, &rated), &zone).unwrap();
        assert_eq!((rate.id.as_str(), rate.tallies[1].1.ratings), ("session-1-rated", [0, 0, 0, 1, 0]));
        let marked = Session { store_message_count: 5, ..rated.clone() };
        assert_eq!(figures_of(&change(&rated, &marked), &zone), None, "a count or a mark moves nothing");
    }

    #[test]
    fn a_conversation_is_picked_up_once_whatever_moves_it_after() {
        let zone = ReportZone::default();
        let now = at("2026-12-04T10:00:00.000Z");
        let held = Session {
            status: Claimed,
            admin_id: Some(AdminId(2)),
            revision: 1,
            queued_at: Some(now),
            picked_up_at: Some(now),
            picked_up_by: Some(AdminId(2)),
            ..Session::sample(Claimed, Some(AdminId(2)))
        };
        let back = Session { status: Open, admin_id: None, revision: 2, ..held.clone() };
        assert_eq!(figures_of(&change(&held, &back), &zone), None, "handed back");
        let again = Session { status: Claimed, admin_id: Some(AdminId(3)), revision: 3, ..back.clone() };
        assert_eq!(figures_of(&change(&back, &again), &zone), None, "claimed again");
        let moved = Session { admin_id: Some(AdminId(4)), revision: 4, ..again.clone() };
        assert_eq!(figures_of(&change(&again, &moved), &zone), None, "transferred");
        // A held session of an earlier version, completed by a migration: no holder moved.
        let legacy = Session { picked_up_at: None, picked_up_by: None, ..held.clone() };
        assert_eq!(figures_of(&change(&legacy, &held), &zone), None, "migrated");
        let erased = TableChange::Session { before: Some(Box::new(back)), after: None };
        assert_eq!(figures_of(&erased, &zone), None, "erased: what happened stays counted");
    }

    #[test]
    fn messages_count_each_way_and_people_s_per_admin() {
        let zone = ReportZone::default();
        let day = date("2026-12-04");
        let now = at("2026-12-04T10:00:00.000Z");
        let from_store = figures_of(&TableChange::MessageAdded(Message::sample(7, SenderType::Store, now)), &zone);
        assert_eq!(
            from_store.unwrap().tallies,
            [(TallyKey::Team(day), Tally { store_messages: 1, ..Tally::default() })]
        );
        let answer = Message::sample(8, SenderType::Admin, now);
        let sent = figures_of(&TableChange::MessageAdded(answer.clone()), &zone).unwrap();
        assert_eq!(sent.id, format!("message-{}-8", answer.session_id));
        assert_eq!(sent.tallies.len(), 2, "the team's and the admin's");
        let automatic = Message { automatic: true, ..answer };
        assert_eq!(figures_of(&TableChange::MessageAdded(automatic), &zone).unwrap().tallies.len(), 1);
    }

    #[test]
    fn a_query_is_a_bounded_range_of_days_or_weeks() {
        let today = date("2026-12-04");
        let default = ReportQuery::parse(None, None, None, None, today).unwrap();
        assert_eq!((default.from, default.to, default.periods().len()), (date("2026-11-05"), today, 30));
        let weeks = ReportQuery::parse(Some("2026-11-04"), Some("2026-11-20"), Some("week"), None, today).unwrap();
        let periods: Vec<(String, String)> =
            weeks.periods().iter().map(|(start, end)| (start.to_string(), end.to_string())).collect();
        let expected = [("2026-11-04", "2026-11-08"), ("2026-11-09", "2026-11-15"), ("2026-11-16", "2026-11-20")];
        assert_eq!(periods, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
        for (from, to, granularity) in [
            (Some("2026-12-05"), Some("2026-12-04"), None),
            (Some("2025-01-01"), Some("2026-12-04"), None),
            (Some("2026-1-1"), None, None),
            (Some("yesterday"), None, None),
            (None, None, Some("month")),
        ] {
            assert!(ReportQuery::parse(from, to, granularity, None, today).is_err(), "{from:?} {to:?} {granularity:?}");
        }
        assert!(ReportQuery::parse(Some("2025-12-04"), Some("2026-12-04"), None, None, today).is_ok(), "366 days");
    }

    #[test]
    fn a_report_adds_its_days_into_periods_totals_and_admins() {
        let zone = ReportZone::default();
        let (monday, tuesday) = (date("2026-11-30"), date("2026-12-01"));
        let mut tallies = Tallies { waiting: 2, ..Tallies::default() };
        let day = |opened, closed, stars: [u64; 5]| Tally { opened, closed, ratings: stars, ..Tally::default() };
        tallies.by_key.insert(TallyKey::Team(monday), day(3, 1, [0, 0, 0, 0, 1]));
        tallies.by_key.insert(TallyKey::Team(tuesday), day(2, 2, [0, 0, 1, 0, 0]));
        tallies.by_key.insert(TallyKey::Admin(tuesday, AdminId(7)), day(0, 2, [0, 0, 1, 0, 0]));
        tallies.by_key.insert(TallyKey::Team(date("2026-12-10")), day(9, 9, [0; 5]));
        let query = ReportQuery::parse(Some("2026-11-30"), Some("2026-12-06"), Some("week"), None, tuesday).unwrap();
        let team = report(&query, &tallies, &zone);
        assert_eq!((team.totals.opened, team.totals.closed), (5, 3), "the 10th is out of range");
        assert_eq!(team.totals.ratings.average, Some(4.0));
        assert_eq!((team.series.len(), team.waiting_now), (1, 2));
        assert_eq!(team.admins.len(), 1);
        let sarah = ReportQuery { admin: Some(AdminId(7)), ..query };
        let hers = report(&sarah, &tallies, &zone);
        assert_eq!((hers.totals.opened, hers.totals.closed), (0, 2));
        let json = serde_json::to_value(&hers).unwrap();
        assert_eq!(json["series"][0]["start"], "2026-11-30");
        assert_eq!(json["granularity"], "week");
        assert_eq!(json["totals"]["ratings"]["by_star"][2], 1);
    }
}
