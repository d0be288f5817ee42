//! The report figures, in the `REPORTS` partition: one item a day for the team
//! (`DAY#<date>`), one a day for each admin with figures that day (`ADMIN#<date>#<id>`), and
//! the count of conversations waiting (`WAITING`), each a flat set of numbers that changes
//! only by `ADD`. Each change recorded leaves its id (`REPORTED#<id>`) for two days, longer
//! than the stream keeps a record, written in the same transaction as its figures: a change
//! read again finds it and is passed over. A report reads two ranges of the partition and the
//! count, side by side.
//!
//! Every figure lands in today's items, so their writes take turns: transactions that
//! collide are tried again after a random pause, and several changes share one transaction.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use jiff::civil::Date;

use super::items::*;
use super::{DynamoStore, MAX_ATTEMPTS, TransactionFailure, back_off};
use crate::Timestamp;
use crate::domain::{AdminId, FigureChange, Tallies, Tally, TallyKey};
use crate::storage::{FIGURE_CHANGES_PER_WRITE, ReportStore, StorageError, StorageResult};

const REPORTS_PK: &str = "REPORTS";
const WAITING_SK: &str = "WAITING";
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
        let mut adds: Vec<(String, Vec<(String, i64)>)> = Vec::new();
        for (key, tally) in &sum.by_key {
            let counters = tally.counters().into_iter().filter(|(_, count)| *count > 0);
            adds.push((tally_sk(*key), counters.map(|(name, count)| (name, count as i64)).collect()));
        }
        if sum.waiting != 0 {
            adds.push((WAITING_SK.to_owned(), vec![("waiting".to_owned(), sum.waiting)]));
        }
        for (sk, counters) in adds.into_iter().filter(|(_, counters)| !counters.is_empty()) {
            let expression: Vec<String> = (0..counters.len()).map(|i| format!("#c{i} :c{i}")).collect();
            let mut update = Update::builder()
                .table_name(&self.table)
                .key("PK", s(REPORTS_PK))
                .key("SK", s(sk))
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

    async fn tallies(&self, from: Date, to: Date) -> StorageResult<Tallies> {
        let team = self.report_range(tally_sk(TallyKey::Team(from)), tally_sk(TallyKey::Team(to)));
        // `~` sorts after every digit: the last day's admins are all in.
        let admins = self.report_range(format!("ADMIN#{from}#"), format!("ADMIN#{to}#~"));
        let waiting = self.get(REPORTS_PK.to_owned(), WAITING_SK);
        let (team, admins, waiting) = futures::try_join!(team, admins, waiting)?;
        let mut tallies = Tallies::default();
        for item in team.into_iter().chain(admins) {
            let Some(key) = item.get("SK").and_then(|sk| sk.as_s().ok()).and_then(|sk| tally_key(sk)) else {
                return Err(malformed("a report item's key"));
            };
            let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok());
            tallies.by_key.insert(key, Tally::from_counters(|name| number(name).unwrap_or(0)));
        }
        let count = waiting.as_ref().and_then(|item| item.get("waiting")).map(AttributeValue::as_n);
        tallies.waiting = match count {
            None => 0,
            Some(text) => text.ok().and_then(|text| text.parse().ok()).ok_or_else(|| malformed("the waiting count"))?,
        };
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
}
