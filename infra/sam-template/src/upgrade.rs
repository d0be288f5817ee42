//! What one `sam deploy` of a template over a stack deployed from an earlier one cannot do,
//! or can do only by losing data: CloudFormation creates or deletes at most one global
//! secondary index of a table per update and cannot change an index in place (its keys, its
//! projection, the type of an attribute it is keyed on); it replaces a table, bucket, queue
//! or topic whose name or kind changes, and a table's new stream is a new stream (what the
//! old one held is lost to its reader). A stateful resource gone from the template, or no
//! longer retained, is deleted with what it holds (or, retained, left behind).

use serde_norway::Value;

use crate::Template;

/// Resource types whose replacement loses what they hold (items, files, messages waiting,
/// confirmed subscriptions).
const STATEFUL: [&str; 4] = ["AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::SNS::Topic"];

/// Properties of a stateful resource whose change replaces it, or loses what it holds.
const REPLACING: [(&str, &[&str]); 4] = [
    ("AWS::DynamoDB::Table", &["TableName", "KeySchema", "LocalSecondaryIndexes", "StreamSpecification"]),
    ("AWS::S3::Bucket", &["BucketName"]),
    ("AWS::SQS::Queue", &["QueueName", "FifoQueue"]),
    ("AWS::SNS::Topic", &["TopicName", "FifoTopic"]),
];

impl Template {
    /// Why deploying `self` over a stack deployed from `released` would fail or lose data,
    /// one reason a line; empty when one deploy does it.
    pub fn changes_one_deploy_cannot_make(&self, released: &Template) -> Vec<String> {
        let mut reasons = Vec::new();
        for (id, old) in released.resources() {
            let kind = old.get("Type").and_then(Value::as_str).unwrap_or_default();
            if !STATEFUL.contains(&kind) {
                continue;
            }
            let Some(new) = self.resource(id) else {
                reasons.push(format!("{id} ({kind}) is gone: deleting it deletes what it holds"));
                continue;
            };
            if new.get("Type") != old.get("Type") {
                reasons.push(format!("{id} changes type: it would be replaced"));
                continue;
            }
            let property = |resource: &Value, name: &str| resource.get("Properties").and_then(|p| p.get(name)).cloned();
            for (replacing_kind, names) in REPLACING {
                if kind != replacing_kind {
                    continue;
                }
                for name in names.iter().filter(|name| property(old, name) != property(new, name)) {
                    reasons.push(format!("{id}: a change of {name} replaces it or loses what it holds"));
                }
            }
            let retained = |resource: &Value| resource.get("DeletionPolicy").and_then(Value::as_str) == Some("Retain");
            if retained(old) && !retained(new) {
                reasons.push(format!("{id} is no longer retained: deleting the stack would delete what it holds"));
            }
            if kind == "AWS::DynamoDB::Table" {
                reasons.extend(index_changes(id, old, new));
            }
        }
        reasons
    }
}

/// The global secondary indexes of a table, by name.
fn indexes(table: &Value) -> Vec<(String, Value)> {
    let listed = table.get("Properties").and_then(|p| p.get("GlobalSecondaryIndexes")).and_then(Value::as_sequence);
    listed
        .into_iter()
        .flatten()
        .filter_map(|index| Some((index.get("IndexName")?.as_str()?.to_owned(), index.clone())))
        .collect()
}

/// The attributes an index is keyed on.
fn key_attributes(index: &Value) -> Vec<String> {
    let keys = index.get("KeySchema").and_then(Value::as_sequence).into_iter().flatten();
    keys.filter_map(|key| key.get("AttributeName")?.as_str().map(str::to_owned)).collect()
}

/// The type a table's `AttributeDefinitions` give `attribute`.
fn attribute_type(table: &Value, attribute: &str) -> Option<Value> {
    let definitions = table.get("Properties").and_then(|p| p.get("AttributeDefinitions")).and_then(Value::as_sequence);
    definitions
        .into_iter()
        .flatten()
        .find(|definition| definition.get("AttributeName").and_then(Value::as_str) == Some(attribute))
        .and_then(|definition| definition.get("AttributeType").cloned())
}

/// More than one index created or deleted, or one changed in place.
fn index_changes(id: &str, old: &Value, new: &Value) -> Vec<String> {
    let (before, after) = (indexes(old), indexes(new));
    let find = |list: &[(String, Value)], name: &str| list.iter().find(|(n, _)| n == name).map(|(_, i)| i.clone());
    let mut reasons = Vec::new();
    let mut created_or_deleted = Vec::new();
    for (name, index) in &before {
        match find(&after, name) {
            None => created_or_deleted.push(format!("deletes {name}")),
            Some(now) => {
                for attribute in key_attributes(index) {
                    if attribute_type(old, &attribute) != attribute_type(new, &attribute) {
                        reasons.push(format!("{id}: index {name} is keyed on {attribute}, whose type changes"));
                    }
                }
                for part in ["KeySchema", "Projection"] {
                    if index.get(part) != now.get(part) {
                        reasons.push(format!(
                            "{id}: index {name} changes its {part}, which CloudFormation cannot do in \
                             place: create it under a new name in one release, drop the old in the next"
                        ));
                    }
                }
            }
        }
    }
    for (name, _) in after.iter().filter(|(name, _)| find(&before, name).is_none()) {
        created_or_deleted.push(format!("creates {name}"));
    }
    if created_or_deleted.len() > 1 {
        reasons.push(format!(
            "{id}: one update {}; CloudFormation makes one index change per update",
            created_or_deleted.join(" and ")
        ));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(indexes: &str, key: &str, bucket: &str) -> Template {
        Template::parse(&format!(
            "Resources:
  ChatTable:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{{AttributeName: {key}, KeyType: HASH}}]
      GlobalSecondaryIndexes: [{indexes}]
  {bucket}:
    Type: AWS::S3::Bucket
  Api:
    Type: AWS::Serverless::HttpApi
"
        ))
        .unwrap()
    }

    fn index(name: &str, projection: &str) -> String {
        format!(
            "{{IndexName: {name}, KeySchema: [{{AttributeName: {name}PK, KeyType: HASH}}], Projection: {{ProjectionType: {projection}}}}}"
        )
    }

    #[test]
    fn one_index_more_or_less_is_one_deploy() {
        let released = template(&index("A", "ALL"), "PK", "Files");
        assert!(released.changes_one_deploy_cannot_make(&released).is_empty());
        let added = template(&[index("A", "ALL"), index("B", "ALL")].join(", "), "PK", "Files");
        assert!(added.changes_one_deploy_cannot_make(&released).is_empty());
        let dropped = template("", "PK", "Files");
        assert!(dropped.changes_one_deploy_cannot_make(&released).is_empty());
    }

    #[test]
    fn two_index_changes_or_one_in_place_are_refused() {
        let released = template(&index("A", "ALL"), "PK", "Files");
        let two = template(&[index("B", "ALL"), index("C", "ALL")].join(", "), "PK", "Files");
        let reasons = two.changes_one_deploy_cannot_make(&released);
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert!(reasons[0].contains("deletes A and creates B and creates C"), "{reasons:?}");
        let projected = template(&index("A", "KEYS_ONLY"), "PK", "Files");
        let reasons = projected.changes_one_deploy_cannot_make(&released);
        assert!(reasons.len() == 1 && reasons[0].contains("index A changes its Projection"), "{reasons:?}");
    }

    #[test]
    fn a_replaced_table_or_a_lost_bucket_is_refused() {
        let released = template(&index("A", "ALL"), "PK", "Files");
        let rekeyed = template(&index("A", "ALL"), "Id", "Files");
        assert!(rekeyed.changes_one_deploy_cannot_make(&released)[0].contains("a change of KeySchema replaces it"));
        let renamed = template(&index("A", "ALL"), "PK", "Attachments");
        assert!(renamed.changes_one_deploy_cannot_make(&released)[0].contains("Files (AWS::S3::Bucket) is gone"));
    }

    #[test]
    fn a_retyped_index_key_a_new_stream_or_a_lost_retention_is_refused() {
        let with = |extra: &str| {
            Template::parse(&format!(
                "Resources:
  ChatTable:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      AttributeDefinitions: [{{AttributeName: APK, AttributeType: S}}]
      GlobalSecondaryIndexes: [{}]
{extra}",
                index("A", "ALL")
            ))
            .unwrap()
        };
        let released = with("      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}\n");
        let retyped = Template::parse(
            &serde_norway::to_string(&released.doc).unwrap().replace("AttributeType: S", "AttributeType: N"),
        )
        .unwrap();
        assert!(retyped.changes_one_deploy_cannot_make(&released)[0].contains("keyed on APK, whose type changes"));
        let new_stream = with("      StreamSpecification: {StreamViewType: NEW_IMAGE}\n");
        assert!(new_stream.changes_one_deploy_cannot_make(&released)[0].contains("StreamSpecification"));
        let unretained = Template::parse(
            &serde_norway::to_string(&released.doc)
                .unwrap()
                .replace("DeletionPolicy: Retain", "DeletionPolicy: Delete"),
        )
        .unwrap();
        assert!(unretained.changes_one_deploy_cannot_make(&released)[0].contains("no longer retained"));
    }
}
