//! The waiting queue: open sessions in which the store has written, longest waiting first,
//! from the sparse `WaitingQueue` index (`QueuePK` while open, `WaitingKey` once the store
//! wrote).

use aws_sdk_dynamodb::types::Select;

use super::super::DynamoStore;
use super::super::items::*;
use crate::domain::Session;
use crate::storage::{StorageResult, Waiting};

impl DynamoStore {
    /// One Query of the index's head.
    pub(super) async fn read_waiting(&self, limit: usize) -> StorageResult<Vec<Waiting>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(WAITING_QUEUE_INDEX)
            .key_condition_expression("QueuePK = :open")
            .expression_attribute_values(":open", s(OPEN_QUEUE))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(unavailable)?;
        let items = output.items.unwrap_or_default().into_iter().take(limit);
        items
            .map(|item| {
                let waiting: WaitingItem = from_item(item)?;
                Ok(Waiting { session: waiting.id, store: waiting.store.id, since: waiting.queued_at })
            })
            .collect()
    }

    /// Counts the sessions waiting, a page (1 MB of keys) at a time.
    pub(crate) async fn count_waiting(&self) -> StorageResult<u64> {
        self.count_waiting_query("QueuePK = :open", None).await
    }

    /// Counts the index entries before the session's, a page (1 MB of keys) at a time.
    pub(super) async fn count_waiting_ahead(&self, session: &Session) -> StorageResult<u64> {
        let Some(since) = session.queued_at else { return Ok(0) };
        let mine = activity_key(since, session.id);
        self.count_waiting_query("QueuePK = :open AND WaitingKey < :mine", Some(mine)).await
    }

    /// The entries of the index `condition` finds (`:mine` its bound, if any).
    async fn count_waiting_query(&self, condition: &str, mine: Option<String>) -> StorageResult<u64> {
        let mut count = 0;
        let mut start = None;
        loop {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(WAITING_QUEUE_INDEX)
                .key_condition_expression(condition)
                .expression_attribute_values(":open", s(OPEN_QUEUE));
            let output = match &mine {
                Some(mine) => query.expression_attribute_values(":mine", s(mine)),
                None => query,
            }
            .select(Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
            count += u64::try_from(output.count).unwrap_or(0);
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(count);
            }
        }
    }
}
