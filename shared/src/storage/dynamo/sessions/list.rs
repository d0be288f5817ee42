//! Listing sessions for an admin: the open queue and the admin's own sessions, read from
//! their sparse indexes newest activity first, with totals from the list counters.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use super::super::DynamoStore;
use super::super::items::*;
use crate::domain::{AdminId, Session, SessionStatus};
use crate::storage::{Bucket, SessionQuery, StorageError, StorageResult};

/// One index partition to read.
pub(super) enum Source {
    OpenQueue,
    /// The admin's sessions, of the given statuses.
    Held(AdminId, Vec<SessionStatus>),
}

impl Source {
    /// The open queue and one read of the admin's own sessions, as the query's lists need.
    pub(super) fn for_query(query: &SessionQuery) -> Vec<Source> {
        let mut open = false;
        let mut held = Vec::new();
        for bucket in Bucket::for_query(query) {
            match bucket {
                Bucket::Open => open = true,
                Bucket::Held(_, status) => held.push(status),
            }
        }
        let mut sources = Vec::new();
        if open {
            sources.push(Source::OpenQueue);
        }
        if !held.is_empty() {
            sources.push(Source::Held(query.admin, held));
        }
        sources
    }
}

impl DynamoStore {
    /// Up to `wanted` sessions of `source` that match `query`, newest activity first.
    pub(super) async fn read_source(
        &self,
        source: Source,
        query: &SessionQuery,
        wanted: usize,
    ) -> StorageResult<Vec<Session>> {
        let (index, key_name, key) = match &source {
            Source::OpenQueue => (OPEN_QUEUE_INDEX, "QueuePK", OPEN_QUEUE.to_owned()),
            Source::Held(admin, _) => (BY_ADMIN_INDEX, "AdminPK", admin_pk(*admin)),
        };
        let mut key_condition = format!("{key_name} = :key");
        let mut values = HashMap::from([(":key".to_owned(), s(key))]);
        let mut names = HashMap::new();
        if let Some(after) = &query.after {
            key_condition.push_str(" AND ActivityKey < :after");
            values.insert(":after".to_owned(), s(activity_key(after.last_message_at, after.session_id)));
        }
        let mut filters = Vec::new();
        if let Source::Held(_, statuses) = &source
            && let [status] = statuses.as_slice()
        {
            filters.push("#status = :status".to_owned());
            names.insert("#status".to_owned(), "status".to_owned());
            values.insert(":status".to_owned(), s(status_name(*status)));
        }
        if let Some(tag) = &query.tag {
            filters.push("contains(tags, :tag)".to_owned());
            values.insert(":tag".to_owned(), s(tag));
        }
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(key_condition)
            .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(false)
            .limit(i32::try_from(wanted).unwrap_or(i32::MAX));
        self.query_items(query, wanted).await?.into_iter().map(session_from).collect()
    }

    /// The sessions matching the query's status and tag, from the list counters.
    pub(super) async fn total_count(&self, query: &SessionQuery) -> StorageResult<u64> {
        let counter = query.tag.as_deref().map_or_else(|| "total".to_owned(), tag_counter);
        let keys: Vec<HashMap<String, AttributeValue>> = Bucket::for_query(query)
            .iter()
            .map(|bucket| HashMap::from([("PK".to_owned(), s(COUNTS_PK)), ("SK".to_owned(), s(bucket_sk(bucket)))]))
            .collect();
        let request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(|e| StorageError::Malformed(e.to_string()))?;
        let output =
            self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(unavailable)?;
        let items = output.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default();
        let total = items
            .iter()
            .filter_map(|item| item.get(&counter))
            .filter_map(|value| value.as_n().ok())
            .filter_map(|value| value.parse::<i64>().ok())
            .sum::<i64>();
        Ok(u64::try_from(total).unwrap_or(0))
    }
}
