use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, Put, ReturnValue, TransactWriteItem};

use super::items::*;
use super::{DynamoStore, TransactionFailure};
use crate::Timestamp;
use crate::domain::{Audience, Connection, TokenHash};
use crate::storage::{ConnectionStore, StorageError, StorageResult};

#[async_trait]
impl ConnectionStore for DynamoStore {
    /// One transaction: the token item is still there, the connection, and its copy in the
    /// token's partition, which a revocation reads after deleting the token.
    async fn open_connection(&self, connection: &Connection) -> StorageResult<bool> {
        let Some(token) = &connection.token_hash else { return Ok(false) };
        let token_stands = ConditionCheck::builder()
            .table_name(&self.table)
            .key("PK", s(token_pk(token)))
            .key("SK", s(TOKEN_SK))
            .condition_expression("attribute_exists(PK)")
            .build()
            .expect("table, key and condition are set");
        let put =
            |item| Put::builder().table_name(&self.table).set_item(Some(item)).build().expect("table and item are set");
        let items = vec![
            TransactWriteItem::builder().condition_check(token_stands).build(),
            TransactWriteItem::builder().put(put(to_item(&ConnectionItem::new(connection.clone()))?)).build(),
            TransactWriteItem::builder()
                .put(put(to_item(&TokenConnectionItem::new(token, connection.clone()))?))
                .build(),
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TransactionFailure::Cancelled(reasons)) if failed_condition(reasons.first()) => Ok(false),
            Err(TransactionFailure::Cancelled(_)) => {
                Err(StorageError::Unavailable(format!("connection {}: a conflicting write", connection.connection_id)))
            }
            Err(TransactionFailure::Unavailable(error)) => Err(error),
        }
    }

    async fn connection(&self, id: &str) -> StorageResult<Option<Connection>> {
        let item = self.get(connection_pk(id), CONNECTION_SK).await?;
        item.map(|i| from_item::<ConnectionItem>(i).map(|c| c.connection)).transpose()
    }

    /// The connection, then its copy in its token's partition.
    async fn delete_connection(&self, id: &str) -> StorageResult<Option<Connection>> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(connection_pk(id)))
            .key("SK", s(CONNECTION_SK))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        let connection = deleted.attributes.map(from_item::<ConnectionItem>).transpose()?.map(|c| c.connection);
        if let Some(token) = connection.as_ref().and_then(|c| c.token_hash.as_ref()) {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("PK", s(token_pk(token)))
                .key("SK", s(token_connection_sk(id)))
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(connection)
    }

    async fn connections_of(&self, audience: Audience, now: Timestamp) -> StorageResult<Vec<Connection>> {
        let (key, prefix) = match audience {
            Audience::Store(id) => (store_pk(id), None),
            Audience::Admin(id) => (ADMINS_PK.to_owned(), Some(format!("ADMIN#{id}#"))),
            Audience::AllAdmins => (ADMINS_PK.to_owned(), None),
        };
        let mut condition = String::from("PrincipalPK = :key");
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_PRINCIPAL_INDEX)
            .expression_attribute_values(":key", s(key))
            // TTL deletes late: an expired item is not a connection.
            .filter_expression("expires_at > :now")
            .expression_attribute_values(":now", n(now.unix_seconds()));
        if let Some(prefix) = prefix {
            condition.push_str(" AND begins_with(PrincipalSK, :prefix)");
            query = query.expression_attribute_values(":prefix", s(prefix));
        }
        let items = self.query_items(query.key_condition_expression(condition), usize::MAX).await?;
        let mut connections = items
            .into_iter()
            .map(|item| from_item::<ConnectionItem>(item).map(|c| c.connection))
            .collect::<Result<Vec<_>, _>>()?;
        connections.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
        Ok(connections)
    }

    async fn connections_with_token(&self, token: &TokenHash, now: Timestamp) -> StorageResult<Vec<Connection>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :token AND begins_with(SK, :connection)")
            .expression_attribute_values(":token", s(token_pk(token)))
            .expression_attribute_values(":connection", s(token_connection_sk("")))
            .consistent_read(true);
        let items = self.query_items(query, usize::MAX).await?;
        let connections = items.into_iter().map(|item| from_item::<TokenConnectionItem>(item).map(|c| c.connection));
        let mut connections =
            connections.filter(|c| c.as_ref().map_or(true, |c| c.is_live(now))).collect::<Result<Vec<_>, _>>()?;
        connections.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
        Ok(connections)
    }

    async fn expired_connections(&self, now: Timestamp, limit: usize) -> StorageResult<Vec<Connection>> {
        // Every key up to this second's, whatever the connection id after it.
        let up_to = format!("{}~", expiring_sk(now.unix_seconds(), ""));
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_PRINCIPAL_INDEX)
            .key_condition_expression("PrincipalPK = :expiring AND PrincipalSK <= :now")
            .expression_attribute_values(":expiring", s(EXPIRING_PK))
            .expression_attribute_values(":now", s(up_to))
            .limit(limit.clamp(1, 1000) as i32);
        let items = self.query_items(query, limit).await?;
        items.into_iter().map(|item| from_item::<TokenConnectionItem>(item).map(|c| c.connection)).collect()
    }
}
