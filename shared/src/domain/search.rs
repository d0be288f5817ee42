//! Finding a conversation: what a session is found by (its store's name and email), the
//! filters an admin narrows its list with, and their limits.

use super::input::InvalidInput;
use super::principal::StoreProfile;
use super::session::Session;
use crate::Timestamp;

/// The longest search an admin types.
pub const MAX_SEARCH_CHARS: usize = 100;

/// What a session is found by: its store's name and email, lowercased, as copied into it
/// when it opened.
pub fn search_text(store: &StoreProfile) -> String {
    format!("{} {}", store.name.to_lowercase(), store.email.to_lowercase())
}

/// Whose sessions a list holds, of those the admin may see.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Holder {
    #[default]
    Anyone,
    /// Only the ones nobody holds: the open queue.
    Nobody,
    /// Only the admin's own.
    Me,
}

/// What an admin narrows a session list to, beyond its statuses and tag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Part of the store's name or email, lowercased.
    pub search: Option<String>,
    /// Last active at or after then.
    pub active_from: Option<Timestamp>,
    /// Last active before then.
    pub active_before: Option<Timestamp>,
    pub holder: Holder,
}

impl SessionFilter {
    /// A search as typed: trimmed and lowercased; empty is none.
    pub fn with_search(self, typed: &str) -> Result<Self, InvalidInput> {
        let search = typed.trim().to_lowercase();
        if search.chars().count() > MAX_SEARCH_CHARS {
            return Err(InvalidInput(format!("q must be at most {MAX_SEARCH_CHARS} characters")));
        }
        Ok(SessionFilter { search: (!search.is_empty()).then_some(search), ..self })
    }

    /// Last active within `from` (inclusive) and `before` (exclusive), either open-ended.
    pub fn with_activity(self, from: Option<Timestamp>, before: Option<Timestamp>) -> Result<Self, InvalidInput> {
        if let (Some(from), Some(before)) = (from, before)
            && from >= before
        {
            return Err(InvalidInput("from must be before to".into()));
        }
        Ok(SessionFilter { active_from: from, active_before: before, ..self })
    }

    /// Whether the list counters can count what it matches: only when it narrows nothing
    /// they do not count by.
    pub fn is_counted(&self) -> bool {
        self.search.is_none() && self.active_from.is_none() && self.active_before.is_none()
    }

    /// Whether `session` matches the search and the activity range (whose it is, the
    /// lists read decide).
    pub fn matches(&self, session: &Session) -> bool {
        self.search.as_ref().is_none_or(|search| search_text(&session.store).contains(search.as_str()))
            && self.active_from.is_none_or(|from| session.last_message_at >= from)
            && self.active_before.is_none_or(|before| session.last_message_at < before)
    }
}

/// A day (`2026-12-03`, all of it in UTC) or a moment (RFC 3339) as a list's bound: the
/// start of the day for `from`, the start of the next for `to`.
pub fn parse_bound(text: &str, name: &str, end_of_day: bool) -> Result<Timestamp, InvalidInput> {
    let invalid = || InvalidInput(format!("{name} must be a date (YYYY-MM-DD) or an RFC 3339 time"));
    if text.len() == 10 {
        let start = Timestamp::parse(&format!("{text}T00:00:00Z")).map_err(|_| invalid())?;
        return if end_of_day { start.checked_plus_seconds(86_400).ok_or_else(invalid) } else { Ok(start) };
    }
    Timestamp::parse(text).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SessionStatus, StoreId};

    #[test]
    fn a_session_is_found_by_its_stores_name_or_email_in_any_case() {
        let mut session = Session::sample(SessionStatus::Open, None);
        session.store = StoreProfile {
            id: StoreId(5),
            name: "Tech Store".into(),
            logo_url: String::new(),
            email: "Help@Tech.example".into(),
        };
        let found = |typed: &str| SessionFilter::default().with_search(typed).unwrap().matches(&session);
        assert!(found("tech st") && found(" HELP@tech ") && found(""));
        assert!(!found("garden"));
        assert!(SessionFilter::default().with_search(&"x".repeat(MAX_SEARCH_CHARS + 1)).is_err());
    }

    #[test]
    fn the_activity_range_includes_its_start_and_excludes_its_end() {
        let mut session = Session::sample(SessionStatus::Open, None);
        session.last_message_at = Timestamp::parse("2026-12-03T10:00:00Z").unwrap();
        let within = |from: &str, to: &str| {
            let (from, to) = (parse_bound(from, "from", false).unwrap(), parse_bound(to, "to", true).unwrap());
            SessionFilter::default().with_activity(Some(from), Some(to)).unwrap().matches(&session)
        };
        assert!(within("2026-12-03", "2026-12-03"), "a day is all of it");
        assert!(within("2026-12-03T10:00:00Z", "2026-12-04"));
        assert!(!within("2026-12-01", "2026-12-02") && !within("2026-12-03T10:00:00.001Z", "2026-12-04"));
        let refused =
            SessionFilter::default().with_activity(Some(session.last_message_at), Some(session.last_message_at));
        assert!(refused.is_err());
        assert!(parse_bound("yesterday", "from", false).unwrap_err().0.contains("from"));
        assert!(parse_bound("9999-12-31", "to", true).is_err(), "no day after the last");
        assert!(parse_bound("9999-12-31T23:30:00-01:00", "to", true).is_err());
        assert!(!SessionFilter::default().with_search("tech").unwrap().is_counted());
        assert!(SessionFilter { holder: Holder::Me, ..SessionFilter::default() }.is_counted());
    }
}
