//! The table as `template.yaml` declares it, and creating it on any DynamoDB endpoint.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use serde_norway::Value;

use crate::TemplateError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDefinition {
    /// (name, type) pairs: `S`, `N` or `B`.
    pub attributes: Vec<(String, String)>,
    /// (name, `HASH`|`RANGE`) pairs.
    pub key_schema: Vec<(String, String)>,
    pub indexes: Vec<IndexDefinition>,
    pub ttl_attribute: Option<String>,
    /// What its change stream shows (`NEW_AND_OLD_IMAGES`, …), if it has one.
    pub stream_view_type: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: String,
    pub key_schema: Vec<(String, String)>,
    pub projection: String,
    pub non_key_attributes: Vec<String>,
}

fn pairs(list: &Value, first: &str, second: &str) -> Result<Vec<(String, String)>, TemplateError> {
    list.as_sequence()
        .ok_or_else(|| TemplateError::Shape(format!("expected a list of {first}/{second}")))?
        .iter()
        .map(|entry| match (entry[first].as_str(), entry[second].as_str()) {
            (Some(a), Some(b)) => Ok((a.to_owned(), b.to_owned())),
            _ => Err(TemplateError::Shape(format!("an entry without {first} or {second}"))),
        })
        .collect()
}

impl TableDefinition {
    pub(crate) fn from_properties(properties: &Value) -> Result<Self, TemplateError> {
        let indexes = properties["GlobalSecondaryIndexes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|index| {
                Ok(IndexDefinition {
                    name: index["IndexName"].as_str().unwrap_or_default().to_owned(),
                    key_schema: pairs(&index["KeySchema"], "AttributeName", "KeyType")?,
                    projection: index["Projection"]["ProjectionType"].as_str().unwrap_or("ALL").to_owned(),
                    non_key_attributes: index["Projection"]["NonKeyAttributes"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                })
            })
            .collect::<Result<_, TemplateError>>()?;
        let ttl = &properties["TimeToLiveSpecification"];
        Ok(TableDefinition {
            attributes: pairs(&properties["AttributeDefinitions"], "AttributeName", "AttributeType")?,
            key_schema: pairs(&properties["KeySchema"], "AttributeName", "KeyType")?,
            indexes,
            ttl_attribute: (ttl["Enabled"].as_bool() == Some(true))
                .then(|| ttl["AttributeName"].as_str().map(str::to_owned))
                .flatten(),
            stream_view_type: properties["StreamSpecification"]["StreamViewType"].as_str().map(str::to_owned),
        })
    }
}

fn key_schema(pairs: &[(String, String)]) -> Vec<KeySchemaElement> {
    pairs
        .iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(kind.as_str()))
                .build()
                .expect("name and key type are set")
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
#[error("creating table {table}: {message}")]
pub struct CreateTableFailed {
    table: String,
    message: String,
}

/// Creates `name` with the template's definition (on-demand billing, its change stream)
/// and turns on its TTL.
/// Returns `false` when the table already exists.
pub async fn create_table(client: &Client, name: &str, table: &TableDefinition) -> Result<bool, CreateTableFailed> {
    let failed = |message: String| CreateTableFailed { table: name.to_owned(), message };
    let attributes = table.attributes.iter().map(|(attribute, kind)| {
        AttributeDefinition::builder()
            .attribute_name(attribute)
            .attribute_type(ScalarAttributeType::from(kind.as_str()))
            .build()
            .expect("name and type are set")
    });
    let indexes = table.indexes.iter().map(|index| {
        let projection = Projection::builder()
            .projection_type(ProjectionType::from(index.projection.as_str()))
            .set_non_key_attributes((!index.non_key_attributes.is_empty()).then(|| index.non_key_attributes.clone()))
            .build();
        GlobalSecondaryIndex::builder()
            .index_name(&index.name)
            .set_key_schema(Some(key_schema(&index.key_schema)))
            .projection(projection)
            .build()
            .expect("name, keys and projection are set")
    });
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes.collect()))
        .set_key_schema(Some(key_schema(&table.key_schema)))
        .set_global_secondary_indexes((!table.indexes.is_empty()).then(|| indexes.collect()))
        .set_stream_specification(table.stream_view_type.as_deref().map(|view| {
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()
                .expect("the flag is set")
        }))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(SdkError::ServiceError(e)) if matches!(e.err(), CreateTableError::ResourceInUseException(_)) => {
            return Ok(false);
        }
        Err(e) => return Err(failed(DisplayErrorContext(&e).to_string())),
    }
    if let Some(attribute) = &table.ttl_attribute {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(true)
            .build()
            .expect("name and flag are set");
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| failed(DisplayErrorContext(&e).to_string()))?;
    }
    Ok(true)
}
