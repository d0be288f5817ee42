//! A store's erasure, as the audit log keeps it: who was erased (the platform's id of the
//! store, which is no personal data), when, and how much went; nothing the store wrote or is.

use serde::{Deserialize, Serialize};

use super::ids::StoreId;
use super::input::InvalidInput;
use crate::Timestamp;

/// How many sessions one call of the erase route erases at most, by default and at most.
pub const ERASE_SESSIONS_PER_CALL: usize = 25;
pub const MAX_ERASE_SESSIONS_PER_CALL: usize = 100;

/// How many sessions a call erases: the default, or what it asks within the bounds.
pub fn erase_limit(asked: Option<usize>) -> Result<usize, InvalidInput> {
    match asked.unwrap_or(ERASE_SESSIONS_PER_CALL) {
        limit @ 1..=MAX_ERASE_SESSIONS_PER_CALL => Ok(limit),
        _ => Err(InvalidInput(format!("limit must be from 1 to {MAX_ERASE_SESSIONS_PER_CALL}"))),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureRecord {
    pub store_id: StoreId,
    pub started_at: Timestamp,
    /// Absent until every item and file of the store is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    pub sessions: u64,
    pub messages: u64,
    pub files: u64,
}

impl ErasureRecord {
    pub fn started(store_id: StoreId, at: Timestamp) -> Self {
        ErasureRecord { store_id, started_at: at, finished_at: None, sessions: 0, messages: 0, files: 0 }
    }

    pub fn is_finished(&self) -> bool {
        self.finished_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_erases_the_default_or_what_it_asks_within_bounds() {
        assert_eq!(erase_limit(None), Ok(ERASE_SESSIONS_PER_CALL));
        assert_eq!(erase_limit(Some(100)), Ok(100));
        assert!(erase_limit(Some(0)).is_err());
        assert!(erase_limit(Some(101)).is_err());
    }
}
