//! Admins' desks: one small item each, all in the `DESKS` partition so that the directory
//! and the roster of an assignment are one Query; an admin's load is the count of its
//! claimed list (`COUNTS` / `ADMIN#<id>#claimed`), kept in the same transactions as the
//! sessions it counts.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoStore;
use super::items::*;
use crate::Timestamp;
use crate::domain::{
    AdminId, AdminProfile, Audience, Availability, BusinessHours, DEFAULT_CAPACITY, Desk, DeskState, Principal, Session,
};
use crate::storage::{Assignment, ConnectionStore, DeskStore, StorageError, StorageResult};

/// Whether an update failed only because its condition did not hold.
fn condition_failed(error: &SdkError<UpdateItemError>) -> bool {
    matches!(error.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_)))
}

impl DynamoStore {
    /// The admin's desk, created with the defaults if it has none; its name follows the
    /// profile, its availability and capacity stay.
    pub(super) async fn keep_desk(&self, admin: &AdminProfile) -> StorageResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(DESKS_PK))
            .key("SK", s(desk_sk(admin.id)))
            .update_expression(
                "SET admin_id = :id, #name = :name, availability = if_not_exists(availability, :available), \
                 #capacity = if_not_exists(#capacity, :capacity), told_offline = if_not_exists(told_offline, :told)",
            )
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#capacity", "capacity")
            .expression_attribute_values(":id", n(admin.id))
            .expression_attribute_values(":name", s(&admin.name))
            .expression_attribute_values(":available", s("available"))
            .expression_attribute_values(":capacity", n(DEFAULT_CAPACITY))
            .expression_attribute_values(":told", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// One conditional update of an existing desk; the desk as it now is, `None` if there is
    /// no desk or `condition` does not hold.
    async fn update_desk(
        &self,
        admin: AdminId,
        expression: &str,
        condition: Option<&str>,
        values: Vec<(&str, AttributeValue)>,
    ) -> StorageResult<Option<Desk>> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(DESKS_PK))
            .key("SK", s(desk_sk(admin)))
            .update_expression(expression);
        // A reserved word in DynamoDB's expressions.
        if expression.contains("#capacity") {
            update = update.expression_attribute_names("#capacity", "capacity");
        }
        let mut update = update
            .condition_expression(match condition {
                Some(condition) => format!("attribute_exists(PK) AND ({condition})"),
                None => "attribute_exists(PK)".to_owned(),
            })
            .return_values(ReturnValue::AllNew);
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        match update.send().await {
            Ok(output) => output.attributes.map(from_item::<Desk>).transpose(),
            Err(error) if condition_failed(&error) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }
}

#[async_trait]
impl DeskStore for DynamoStore {
    /// The desks, the admins' list counts and the admins' connections: three Queries in
    /// parallel.
    async fn desks(&self, now: Timestamp) -> StorageResult<Vec<DeskState>> {
        let desks = self.query_items(
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(DESKS_PK))
                .consistent_read(true),
            usize::MAX,
        );
        let counts = self.query_items(
            (self.prefix_query(COUNTS_PK.to_owned(), "ADMIN#"))
                .projection_expression("SK, #total")
                .expression_attribute_names("#total", "total"),
            usize::MAX,
        );
        let (desks, counts, connections) = tokio::join!(desks, counts, self.connections_of(Audience::AllAdmins, now));
        let mut loads = HashMap::new();
        for item in counts? {
            let claimed = sk_of(&item).and_then(|sk| sk.strip_prefix("ADMIN#")?.strip_suffix("#claimed")?.parse().ok());
            let total = item.get("total").and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok());
            if let (Some(admin), Some(total)) = (claimed, total) {
                loads.insert(AdminId(admin), u64::try_from(total).unwrap_or(0));
            }
        }
        let connected: HashSet<AdminId> = connections?
            .into_iter()
            .filter_map(|c| match c.principal {
                Principal::Admin(admin) => Some(admin),
                Principal::Store(_) => None,
            })
            .collect();
        let mut states = desks?
            .into_iter()
            .map(|item| {
                let desk: Desk = from_item(item)?;
                let (load, connected) =
                    (loads.get(&desk.admin_id).copied().unwrap_or(0), connected.contains(&desk.admin_id));
                Ok(DeskState { desk, load, connected })
            })
            .collect::<StorageResult<Vec<_>>>()?;
        states.sort_by_key(|state| state.desk.admin_id);
        Ok(states)
    }

    async fn set_availability(&self, admin: AdminId, availability: Availability) -> StorageResult<Option<Desk>> {
        let value = to_attribute(&availability)?;
        self.update_desk(admin, "SET availability = :availability", None, vec![(":availability", value)]).await
    }

    async fn set_capacity(&self, admin: AdminId, capacity: u32) -> StorageResult<bool> {
        let updated = self.update_desk(admin, "SET #capacity = :capacity", None, vec![(":capacity", n(capacity))]);
        Ok(updated.await?.is_some())
    }

    async fn desk_connected(&self, admin: AdminId) -> StorageResult<bool> {
        let back = self.update_desk(
            admin,
            "SET told_offline = :no",
            Some("told_offline = :yes"),
            vec![(":no", AttributeValue::Bool(false)), (":yes", AttributeValue::Bool(true))],
        );
        Ok(back.await?.is_some())
    }

    async fn desk_left(&self, admin: AdminId, at: Timestamp) -> StorageResult<()> {
        self.update_desk(admin, "SET left_at = :at", None, vec![(":at", s(at.to_string()))]).await?;
        Ok(())
    }

    async fn desk_told_offline(&self, admin: AdminId, left_at: Timestamp) -> StorageResult<bool> {
        let told = self.update_desk(
            admin,
            "SET told_offline = :yes",
            Some("told_offline = :no AND left_at = :left"),
            vec![
                (":yes", AttributeValue::Bool(true)),
                (":no", AttributeValue::Bool(false)),
                (":left", s(left_at.to_string())),
            ],
        );
        Ok(told.await?.is_some())
    }

    async fn assign(&self, seen: &Session, admin: AdminId, capacity: u32, now: Timestamp) -> StorageResult<Assignment> {
        self.assign_session(seen, admin, capacity, now).await
    }

    async fn business_hours(&self) -> StorageResult<Option<BusinessHours>> {
        let Some(mut item) = self.get(TEAM_PK.to_owned(), HOURS_SK).await? else { return Ok(None) };
        let hours = item.remove("hours").ok_or_else(|| StorageError::Malformed("hours item: no hours".into()))?;
        serde_dynamo::from_attribute_value(hours)
            .map(Some)
            .map_err(|error| StorageError::Malformed(format!("hours item: {error}")))
    }

    async fn set_business_hours(&self, hours: Option<&BusinessHours>) -> StorageResult<()> {
        match hours {
            Some(hours) => {
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .item("PK", s(TEAM_PK))
                    .item("SK", s(HOURS_SK))
                    .item("hours", to_attribute(hours)?)
                    .send()
                    .await
                    .map_err(unavailable)?;
            }
            None => {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .key("PK", s(TEAM_PK))
                    .key("SK", s(HOURS_SK))
                    .send()
                    .await
                    .map_err(unavailable)?;
            }
        }
        Ok(())
    }
}
