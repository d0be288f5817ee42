//! The report figures, in the `REPORTS` partition: one item a day for the team
//! (`DAY#<date>`) and one a day for each admin with figures that day (`ADMIN#<date>#<id>`),
//! each a flat set of numbers that changes only by `ADD`. Each change recorded leaves its id
//! (`REPORTED#<id>`) for two days, longer than the stream keeps a record, written in the same
//! transaction as its figures: a change read again finds it and is passed over. A report
//! reads two ranges of the partition and counts the waiting queue, side by side.
//!
//! Every figure lands in today's items, so their writes take turns: transactions that
//! collide are tried again after a random pause, and several changes share one transaction.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use jiff::civil::Date;

use super::items::*;
use super::{DynamoStore, MAX_ATTEMPTS, TransactionFailure, back_off};
use crate::Timestamp;
use crate::domain::{AdminId, FigureChange, Tallies, Tally, TallyKey};
use crate::storage::{FIGURE_CHANGES_PER_WRITE, ReportStore, StorageError, StorageResult};

const REPORTS_PK: &str = "REPORTS";
const REPORTED_SK: &str = "REPORTED";
/// How long a recorded change's id is kept: the stream keeps a record a day.
const REPORTED_ID_SECONDS: i64 = 2 * 24 * 60 * 60;

fn tally_sk(key: TallyKey) -> String {
    match key {
        TallyKey::Team(day) => format!("DAY#{day}"),
        TallyKey::Admin(day, admin) => format!("ADMIN#{day}#{admin}"),
    }
}

fn tally_key(sk: &str) -> Option<TallyKey> {
    if let Some(day) = sk.strip_prefix("DAY#") {
        return Some(TallyKey::Team(day.parse().ok()?));
    }
    let (day, admin) = sk.strip_prefix("ADMIN#")?.split_once('#')?;
    Some(TallyKey::Admin(day.parse().ok()?, AdminId(admin.parse().ok()?)))
}

/// The most items one transaction writes.
const TRANSACTION_ITEMS: usize = 100;

/// `changes` in runs whose ids and tallies fit one transaction each.
fn transaction_groups(changes: &[FigureChange]) -> Vec<&[FigureChange]> {
    let mut groups = Vec::new();
    let (mut start, mut keys) = (0, std::collections::BTreeSet::new());
    for (index, change) in changes.iter().enumerate() {
        let theirs = change.tallies.iter().map(|(key, _)| *key);
        let mut with_it = keys.clone();
        with_it.extend(theirs.clone());
        if index > start && (index + 1 - start) + with_it.len() > TRANSACTION_ITEMS {
            groups.push(&changes[start..index]);
            (start, keys) = (index, theirs.collect());
        } else {
            keys = with_it;
        }
    }
    if start < changes.len() {
        groups.push(&changes[start..]);
    }
    groups
}

fn malformed(error: impl std::fmt::Display) -> StorageError {
    StorageError::Malformed(error.to_string())
}

impl DynamoStore {
    /// One transaction: each change's id, new, and the sum of their figures.
    fn figures_transaction(&self, changes: &[&FigureChange]) -> StorageResult<Vec<TransactWriteItem>> {
        let expires_at = Timestamp::now().unix_seconds() + REPORTED_ID_SECONDS;
        let mut items = Vec::new();
        let mut sum = Tallies::default();
        for change in changes {
            let put = Put::builder()
                .table_name(&self.table)
                .item("PK", s(format!("REPORTED#{}", change.id)))
                .item("SK", s(REPORTED_SK))
                .item("expires_at", n(expires_at))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map_err(malformed)?;
            items.push(TransactWriteItem::builder().put(put).build());
            sum.record(change);
        }
        for (key, tally) in &sum.by_key {
            let counters: Vec<(String, u64)> = tally.counters().into_iter().filter(|(_, count)| *count > 0).collect();
            if counters.is_empty() {
                continue;
            }
            let expression: Vec<String> = (0..counters.len()).map(|i| format!("#c{i} :c{i}")).collect();
            let mut update = Update::builder()
                .table_name(&self.table)
                .key("PK", s(REPORTS_PK))
                .key("SK", s(tally_sk(*key)))
                .update_expression(format!("ADD {}", expression.join(", ")));
            for (i, (name, count)) in counters.into_iter().enumerate() {
                update = update
                    .expression_attribute_names(format!("#c{i}"), name)
                    .expression_attribute_values(format!(":c{i}"), n(count));
            }
            items.push(TransactWriteItem::builder().update(update.build().map_err(malformed)?).build());
        }
        Ok(items)
    }

    /// Records `changes` in one transaction, each once: how many were new.
    async fn record_in_one_transaction(&self, changes: &[FigureChange]) -> StorageResult<usize> {
        let mut pending: Vec<&FigureChange> = changes.iter().collect();
        let mut attempt = 0;
        while !pending.is_empty() {
            match self.transact(self.figures_transaction(&pending)?).await {
                Ok(()) => return Ok(pending.len()),
                Err(TransactionFailure::Unavailable(error)) => return Err(error),
                Err(TransactionFailure::Cancelled(reasons)) => {
                    // The ids come first, in the changes' order: those found were recorded.
                    let recorded: Vec<bool> = (0..pending.len())
                        .map(|i| reasons.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed"))
                        .collect();
                    if recorded.contains(&true) {
                        let mut recorded = recorded.into_iter();
                        pending.retain(|_| !recorded.next().unwrap_or(false));
                        continue;
                    }
                    attempt += 1;
                    if attempt >= MAX_ATTEMPTS {
                        return Err(StorageError::Unavailable("report figures: too many colliding writes".into()));
                    }
                    back_off(attempt).await;
                }
            }
        }
        Ok(0)
    }

    /// The items of the `REPORTS` partition whose keys are between `from` and `to`.
    async fn report_range(&self, from: String, to: String) -> StorageResult<Vec<Item>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(REPORTS_PK))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to));
        self.query_items(query, usize::MAX).await
    }
}

#[async_trait]
impl ReportStore for DynamoStore {
    async fn record_figures(&self, changes: &[FigureChange]) -> StorageResult<usize> {
        if changes.len() > FIGURE_CHANGES_PER_WRITE {
            return Err(malformed(format!("{} figure changes in one write", changes.len())));
        }
        let mut recorded = 0;
        for group in transaction_groups(changes) {
            recorded += self.record_in_one_transaction(group).await?;
        }
        Ok(recorded)
    }

    async fn tallies(&self, from: Date, to: Date) -> StorageResult<Tallies> {
        let team = self.report_range(tally_sk(TallyKey::Team(from)), tally_sk(TallyKey::Team(to)));
        // `~` sorts after every digit: the last day's admins are all in.
        let admins = self.report_range(format!("ADMIN#{from}#"), format!("ADMIN#{to}#~"));
        let (team, admins, waiting) = futures::try_join!(team, admins, self.count_waiting())?;
        let mut tallies = Tallies { waiting, ..Tallies::default() };
        for item in team.into_iter().chain(admins) {
            let Some(key) = item.get("SK").and_then(|sk| sk.as_s().ok()).and_then(|sk| tally_key(sk)) else {
                return Err(malformed("a report item's key"));
            };
            let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok());
            tallies.by_key.insert(key, Tally::from_counters(|name| number(name).unwrap_or(0)));
        }
        Ok(tallies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back() {
        let day: Date = "2026-12-04".parse().unwrap();
        for key in [TallyKey::Team(day), TallyKey::Admin(day, AdminId(12))] {
            assert_eq!(tally_key(&tally_sk(key)), Some(key));
        }
        assert_eq!(tally_key("ADMIN#2026-12-04"), None);
    }

    #[test]
    fn changes_go_in_transactions_of_at_most_a_hundred_items() {
        let day: Date = "2026-12-04".parse().unwrap();
        let change = |n: u64, admins: u64| FigureChange {
            id: n.to_string(),
            tallies: (0..admins).map(|a| (TallyKey::Admin(day, AdminId(n * 100 + a)), Tally::default())).collect(),
        };
        let usual: Vec<FigureChange> = (0..24).map(|n| change(n, 2)).collect();
        assert_eq!(transaction_groups(&usual).len(), 1, "24 ids and 48 tallies");
        let wide: Vec<FigureChange> = (0..24).map(|n| change(n, 6)).collect();
        let groups: Vec<usize> = transaction_groups(&wide).iter().map(|group| group.len()).collect();
        assert_eq!(groups.iter().sum::<usize>(), 24);
        assert!(groups.iter().all(|changes| changes * 7 <= TRANSACTION_ITEMS), "{groups:?}");
    }
}
