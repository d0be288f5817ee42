use async_trait::async_trait;

use super::DynamoStore;
use super::items::*;
use crate::Timestamp;
use crate::domain::{Audience, Connection};
use crate::storage::{ConnectionStore, StorageResult};

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn put_connection(&self, connection: &Connection) -> StorageResult<()> {
        self.put(to_item(&ConnectionItem::new(connection.clone()))?).await
    }

    async fn connection(&self, id: &str) -> StorageResult<Option<Connection>> {
        let item = self.get(connection_pk(id), CONNECTION_SK).await?;
        item.map(|i| from_item::<ConnectionItem>(i).map(|c| c.connection)).transpose()
    }

    async fn delete_connection(&self, id: &str) -> StorageResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(connection_pk(id)))
            .key("SK", s(CONNECTION_SK))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
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
}
