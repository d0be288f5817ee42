//! How many messages one sender may send into one session per minute. The count is kept on
//! the session, per party, and moves in the send's own write: a send either opens the
//! minute's count or adds to it while it is below the limit, and the write's condition says
//! which, so that racing senders never pass the limit.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// The default number of messages a sender may send into a session per minute.
pub const DEFAULT_SENDS_PER_MINUTE: u32 = 30;

/// Messages per sender, session and minute; 0 for no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendLimit(pub u32);

impl SendLimit {
    pub const NONE: SendLimit = SendLimit(0);

    /// What a send dated `at` takes from `window`, one party's count as the sender knows it
    /// (the session as read, or as last written): nothing without a limit; an error, with
    /// when to try again, when the minute's sends are spent.
    pub fn charge(self, window: SendWindow, at: Timestamp) -> Result<Option<SendCharge>, TooManySends> {
        if self.0 == 0 {
            return Ok(None);
        }
        let minute = minute_of(at);
        if window.minute < minute {
            return Ok(Some(SendCharge::Opens { minute }));
        }
        if window.count < self.0 {
            return Ok(Some(SendCharge::Adds { minute: window.minute, limit: self.0 }));
        }
        // The minute's end, counted from the minute the count is in (a clock behind the
        // count's is told to wait until that minute is over).
        let ends = (window.minute + 1) * 60_000;
        let retry_after_ms = (ends - at.unix_millis()).max(1) as u64;
        Err(TooManySends { retry_after_seconds: retry_after_ms.div_ceil(1000) as u32 })
    }
}

/// One party's sends into a session within a minute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendWindow {
    /// Minutes since the epoch.
    #[serde(rename = "in_minute")]
    pub minute: i64,
    #[serde(rename = "sent")]
    pub count: u32,
}

/// What a send does to its party's count, and what must hold of it for the send to commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendCharge {
    /// The sender's first send of `minute`: the count was of an earlier minute.
    Opens { minute: i64 },
    /// One more in `minute`, while fewer than `limit` went.
    Adds { minute: i64, limit: u32 },
}

impl SendCharge {
    pub fn holds(self, window: SendWindow) -> bool {
        match self {
            SendCharge::Opens { minute } => window.minute < minute,
            SendCharge::Adds { minute, limit } => window.minute == minute && window.count < limit,
        }
    }

    pub fn applied(self, window: SendWindow) -> SendWindow {
        match self {
            SendCharge::Opens { minute } => SendWindow { minute, count: 1 },
            SendCharge::Adds { minute, .. } => SendWindow { minute, count: window.count + 1 },
        }
    }
}

/// A send refused because its sender spent the minute's sends in that session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManySends {
    /// Whole seconds until the minute is over (at least 1).
    pub retry_after_seconds: u32,
}

fn minute_of(at: Timestamp) -> i64 {
    at.unix_millis().div_euclid(60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis).unwrap()
    }

    #[test]
    fn a_minute_holds_the_limit_and_the_next_opens_again() {
        let limit = SendLimit(2);
        let start = at(600_000 + 5_000);
        let mut window = SendWindow::default();
        for _ in 0..2 {
            let charge = limit.charge(window, start).unwrap().unwrap();
            assert!(charge.holds(window));
            window = charge.applied(window);
        }
        assert_eq!(window, SendWindow { minute: 10, count: 2 });
        assert_eq!(limit.charge(window, start), Err(TooManySends { retry_after_seconds: 55 }));
        assert_eq!(limit.charge(window, at(659_999)), Err(TooManySends { retry_after_seconds: 1 }));
        let next = limit.charge(window, at(660_000)).unwrap().unwrap();
        assert_eq!(next, SendCharge::Opens { minute: 11 });
        assert_eq!(next.applied(window), SendWindow { minute: 11, count: 1 });
        assert_eq!(SendLimit::NONE.charge(window, start), Ok(None));
    }

    #[test]
    fn a_charge_made_against_an_old_count_fails_its_condition() {
        // Two senders both saw minute 9: the first opens minute 10, the second's opening
        // no longer holds and must be made again (as an addition).
        let seen = SendWindow { minute: 9, count: 5 };
        let opening = SendLimit(3).charge(seen, at(600_000)).unwrap().unwrap();
        let now = opening.applied(seen);
        assert!(!opening.holds(now));
        let again = SendLimit(3).charge(now, at(600_000)).unwrap().unwrap();
        assert_eq!(again, SendCharge::Adds { minute: 10, limit: 3 });
        assert!(again.holds(now));
        // A count already at the limit refuses an addition however it was proposed.
        assert!(!SendCharge::Adds { minute: 10, limit: 3 }.holds(SendWindow { minute: 10, count: 3 }));
    }
}
