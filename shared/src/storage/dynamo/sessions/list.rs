//! Listing sessions for an admin: the open queue and the admin's own sessions, read from
//! their sparse indexes newest activity first (an activity range bounds the sort key; a
//! search, a tag and a status filter), with totals from the list counters, or counted
//! when a search or range narrows what they count. And a store's sessions, from theirs.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Select};

use super::super::DynamoStore;
use super::super::items::*;
use crate::domain::{AdminId, Session, SessionId, SessionStatus, StoreId};
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

/// The `ActivityKey` bounds a query reads, from and up to (the range's start and the lower
/// of its end and the cursor); `None` when nothing is between them (a cursor already past
/// the range's start).
type Bounds = (Option<String>, Option<String>);

fn activity_bounds(query: &SessionQuery) -> Option<Bounds> {
    let from = query.filter.active_from.map(|at| activity_key(at, SessionId(0)));
    let before = query.filter.active_before.map(|at| activity_key(at, SessionId(0)));
    let after = query.after.as_ref().map(|after| activity_key(after.last_message_at, after.session_id));
    let upper = match (before, after) {
        (Some(before), Some(after)) => Some(before.min(after)),
        (upper, None) | (None, upper) => upper,
    };
    match (&from, &upper) {
        (Some(from), Some(upper)) if upper < from => None,
        _ => Some((from, upper)),
    }
}

impl DynamoStore {
    /// `source`'s index query for `query`: its partition, `bounds` on the sort key, the rest
    /// as filters.
    fn source_query(
        &self,
        source: &Source,
        query: &SessionQuery,
        (from, upper): Bounds,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (index, key_name, key) = match source {
            Source::OpenQueue => (OPEN_QUEUE_INDEX, "QueuePK", OPEN_QUEUE.to_owned()),
            Source::Held(admin, _) => (BY_ADMIN_INDEX, "AdminPK", admin_pk(*admin)),
        };
        let mut key_condition = format!("{key_name} = :key");
        let mut values = HashMap::from([(":key".to_owned(), s(key))]);
        let mut names = HashMap::new();
        // Below the cursor and the range's end; the cursor's own session, which an inclusive
        // bound lets through, the page leaves out.
        match (from, upper) {
            (Some(from), upper) => {
                key_condition.push_str(" AND ActivityKey BETWEEN :from AND :upper");
                values.insert(":from".to_owned(), s(from));
                // Past every key: a timestamp's digits sort below `~`.
                values.insert(":upper".to_owned(), s(upper.unwrap_or_else(|| "~".to_owned())));
            }
            (None, Some(upper)) => {
                key_condition.push_str(" AND ActivityKey < :upper");
                values.insert(":upper".to_owned(), s(upper));
            }
            (None, None) => {}
        }
        let mut filters = Vec::new();
        if let Source::Held(_, statuses) = source
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
        if let Some(search) = &query.filter.search {
            filters.push("contains(search_text, :search)".to_owned());
            values.insert(":search".to_owned(), s(search));
        }
        self.client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(key_condition)
            .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(false)
    }

    /// Up to `wanted` sessions of `source` that match `query`, newest activity first.
    pub(super) async fn read_source(
        &self,
        source: Source,
        query: &SessionQuery,
        wanted: usize,
    ) -> StorageResult<Vec<Session>> {
        let Some(bounds) = activity_bounds(query) else { return Ok(Vec::new()) };
        let request = self.source_query(&source, query, bounds).limit(i32::try_from(wanted).unwrap_or(i32::MAX));
        self.query_items(request, wanted).await?.into_iter().map(session_from).collect()
    }

    /// The sessions matching the query: from the list counters when they count what it
    /// asks (its status and tag), else by counting the index ranges its lists cover.
    pub(super) async fn total_count(&self, query: &SessionQuery) -> StorageResult<u64> {
        if !query.filter.is_counted() {
            let counts = Source::for_query(query).into_iter().map(|source| self.count_source(source, query));
            return Ok(futures::future::try_join_all(counts).await?.into_iter().sum());
        }
        let counter = query.tag.as_deref().map_or_else(|| "total".to_owned(), tag_counter);
        let keys: Vec<HashMap<String, AttributeValue>> = Bucket::for_query(query)
            .iter()
            .map(|bucket| HashMap::from([("PK".to_owned(), s(COUNTS_PK)), ("SK".to_owned(), s(bucket_sk(bucket)))]))
            .collect();
        if keys.is_empty() {
            return Ok(0);
        }
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

    /// How many sessions of `source` match `query`, whatever its cursor: page by page.
    async fn count_source(&self, source: Source, query: &SessionQuery) -> StorageResult<u64> {
        let uncursored = SessionQuery { after: None, ..query.clone() };
        let Some(bounds) = activity_bounds(&uncursored) else { return Ok(0) };
        let mut pages = self.source_query(&source, &uncursored, bounds).select(Select::Count).into_paginator().send();
        let mut count = 0;
        while let Some(page) = pages.next().await {
            count += u64::try_from(page.map_err(unavailable)?.count).unwrap_or(0);
        }
        Ok(count)
    }

    /// The newest `limit` sessions of `store` and how many it has had: their keys from the
    /// `ByPrincipal` index beside its count, then the sessions.
    pub(super) async fn store_sessions(&self, store: StoreId, limit: usize) -> StorageResult<(Vec<Session>, u64)> {
        let index_query = || {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(BY_PRINCIPAL_INDEX)
                .key_condition_expression("PrincipalPK = :store")
                .expression_attribute_values(":store", s(store_sessions_pk(store)))
        };
        let newest = self.query_items(
            index_query().scan_index_forward(false).limit(i32::try_from(limit).unwrap_or(i32::MAX)),
            limit,
        );
        let count = async {
            let mut pages = index_query().select(Select::Count).into_paginator().send();
            let mut count = 0;
            while let Some(page) = pages.next().await {
                count += u64::try_from(page.map_err(unavailable)?.count).unwrap_or(0);
            }
            Ok::<u64, StorageError>(count)
        };
        let (newest, count) = tokio::join!(newest, count);
        let keys: Vec<(String, String)> = newest?
            .iter()
            .filter_map(|item| Some((item.get("PK")?.as_s().ok()?.clone(), SESSION_SK.to_owned())))
            .collect();
        let mut sessions: Vec<Session> =
            self.batch_get(&keys, false).await?.into_iter().map(session_from).collect::<Result<_, _>>()?;
        sessions.sort_by_key(|session| std::cmp::Reverse((session.created, session.id)));
        Ok((sessions, count?))
    }
}
