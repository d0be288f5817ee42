//! How often an instance may fetch keys again because a token did not verify with those it
//! has: often enough for a rotation, too rarely for forged tokens to make the functions
//! hammer the provider or Secrets Manager.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Fetches of one kind of key per instance, at most, in any minute.
pub const MAX_FETCHES_PER_MINUTE: usize = 10;

#[derive(Debug, Default)]
pub(super) struct Refetches {
    /// When keys were fetched, in the last minute.
    at: VecDeque<Instant>,
}

impl Refetches {
    /// Whether another fetch fits in the last minute's allowance.
    pub(super) fn allowed(&mut self) -> bool {
        while self.at.front().is_some_and(|at| at.elapsed() > Duration::from_secs(60)) {
            self.at.pop_front();
        }
        self.at.len() < MAX_FETCHES_PER_MINUTE
    }

    pub(super) fn record(&mut self) {
        self.at.push_back(Instant::now());
    }
}
