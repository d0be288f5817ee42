//! DynamoDB Local and moto (one each per test binary), fresh tables, and the workspace's
//! built binaries.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use dynamodb_local::DynamoDbLocal;
use shared::domain::Connection;
use shared::storage::DynamoStore;

/// DynamoDB Local for this test binary, started on first use. It stops when the binary
/// exits (see `dynamodb_local`), so no test has to.
pub fn dynamodb() -> &'static DynamoDbLocal {
    static INSTANCE: OnceLock<DynamoDbLocal> = OnceLock::new();
    INSTANCE.get_or_init(|| DynamoDbLocal::start().expect("DynamoDB Local starts"))
}

/// moto for this test binary (Secrets Manager, …), started on first use; it stops when the
/// binary exits.
pub fn moto() -> &'static moto_local::MotoLocal {
    static INSTANCE: OnceLock<moto_local::MotoLocal> = OnceLock::new();
    INSTANCE.get_or_init(|| moto_local::MotoLocal::start().expect("moto starts"))
}

/// The configuration of the tests' own clients of moto: its credentials, and no timeouts
/// but the tests' own deadlines (moto answers slowly on a busy machine, and long polls wait).
pub fn moto_sdk() -> aws_config::SdkConfig {
    let sdk = shared::deadline::local_sdk_config(&moto().endpoint());
    sdk.to_builder().timeout_config(aws_sdk_sqs::config::timeout::TimeoutConfig::disabled()).build()
}

/// A name (of a table, a bus, a secret) no other test of this run uses.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A client of the DynamoDB Local at `endpoint` as the product makes one, with no timeouts
/// but the tests' own deadlines: for making tables, reading what a test checks, and the
/// stores the conformance suite tests for what they store (a table takes long to make on a
/// busy machine or a DynamoDB Local just started). The gateways keep the product's timeouts.
pub fn patient_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let client = DynamoStore::local_client(endpoint);
    let config =
        client.config().to_builder().timeout_config(aws_sdk_dynamodb::config::timeout::TimeoutConfig::disabled());
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// A new, empty table in DynamoDB Local, created from template.yaml's definition.
pub async fn fresh_table() -> String {
    let table = unique_name("test");
    let client = patient_client(&dynamodb().endpoint());
    let definition = sam_template::Template::embedded().table().expect("template defines the table");
    sam_template::create_table(&client, &table, &definition).await.expect("table is created");
    table
}

/// Every item of `table` in DynamoDB Local, as JSON (`serde_dynamo`'s reading of each).
pub async fn scan_table(table: &str) -> Vec<serde_json::Value> {
    let client = patient_client(&dynamodb().endpoint());
    let mut pages = client.scan().table_name(table).consistent_read(true).into_paginator().send();
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        for item in page.expect("DynamoDB Local answers").items.unwrap_or_default() {
            items.push(serde_dynamo::from_item(item).expect("an item reads as JSON"));
        }
    }
    items
}

/// Writes `items`, in DynamoDB's JSON (`[{"PK": {"S": "..."}, ...}]`, as a scan answers),
/// into `table` in DynamoDB Local as they are.
pub async fn load_items(table: &str, items: &serde_json::Value) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let items: Vec<serde_dynamo::Item> = serde_json::from_value(items.clone()).expect("items in DynamoDB's JSON");
    let client = patient_client(&dynamodb().endpoint());
    for chunk in items.chunks(25) {
        let requests = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(item.clone().into())).build().expect("an item");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        let written = client.batch_write_item().request_items(table, requests).send().await.expect("written");
        assert!(written.unprocessed_items.unwrap_or_default().is_empty(), "DynamoDB Local takes a batch at once");
    }
}

/// The releases `infra/releases` lists, oldest first: each one's tag and commit.
pub fn releases() -> Vec<(String, String)> {
    let listed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/releases")).unwrap();
    listed
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (tag, commit) = line.split_once(' ').expect("a release: `tag commit`");
            (tag.to_owned(), commit.trim().to_owned())
        })
        .collect()
}

/// The message-id counter's value in `table` in DynamoDB Local: every id handed out to any
/// session so far.
pub async fn message_ids_taken(table: &str) -> u64 {
    use aws_sdk_dynamodb::types::AttributeValue;
    let client = patient_client(&dynamodb().endpoint());
    let key = |name: &str| AttributeValue::S(name.to_owned());
    let read = client.get_item().table_name(table).key("PK", key("COUNTER")).key("SK", key("MESSAGE_ID"));
    let item = read.consistent_read(true).send().await.expect("DynamoDB Local answers").item;
    let value = item.as_ref().and_then(|item| item.get("value")).and_then(|value| value.as_n().ok());
    value.map_or(0, |value| value.parse().expect("a number"))
}

/// Records `connection` in `store` as `$connect` does, its token made to stand first (a
/// ghost's, say, whose token no client holds).
pub async fn record_connection<S: shared::storage::ChatStore + ?Sized>(store: &S, connection: &Connection) {
    let token = connection.token_hash.clone().expect("a connection opened with a token");
    store.put_token(&token, connection.principal).await.expect("the token is stored");
    assert!(store.open_connection(connection).await.expect("the connection is stored"), "its token stands");
}

/// A DynamoDB store on a new, empty table, waiting on DynamoDB Local as long as the test
/// does: what it is tested for is what it stores, not how fast a loaded machine answers.
pub async fn fresh_dynamo_store() -> DynamoStore {
    let table = fresh_table().await;
    DynamoStore::new(patient_client(&dynamodb().endpoint()), &table)
}

/// A binary of this workspace, built by the test command before the tests run.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    // A test runs as target/<profile>/deps/<test>, a tool as target/<profile>/<tool>.
    let mut dir = exe.parent().expect("target dir");
    if dir.ends_with("deps") {
        dir = dir.parent().expect("profile dir");
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; build the binaries first (`cargo build --workspace --bins`, as the test command does)",
        path.display()
    );
    path
}

/// The recorded API Gateway event of `function`, from `events/`.
pub fn recorded_event(function: &str) -> serde_json::Value {
    let path = format!("{}/../events/{function}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every change of `table` in DynamoDB Local that means something outside, as its stream
/// has them so far (shard after shard, each from its start), read back as the events
/// function reads them.
pub async fn dynamodb_changes(table: &str) -> Vec<shared::domain::ChangeRecord> {
    use aws_sdk_dynamodbstreams::types::ShardIteratorType;
    let endpoint = dynamodb().endpoint();
    let described = patient_client(&endpoint).describe_table().table_name(table).send().await.expect("the table");
    let stream_arn = described.table.and_then(|t| t.latest_stream_arn).expect("the table has a stream");
    let sdk = shared::deadline::local_sdk_config(&endpoint);
    let streams = aws_sdk_dynamodbstreams::Client::new(
        &sdk.to_builder().timeout_config(aws_sdk_dynamodb::config::timeout::TimeoutConfig::disabled()).build(),
    );
    let stream = streams.describe_stream().stream_arn(&stream_arn).send().await.expect("the stream");
    let shards = stream.stream_description.and_then(|d| d.shards).unwrap_or_default();
    let mut changes = Vec::new();
    for shard in shards.iter().filter_map(|shard| shard.shard_id.as_deref()) {
        let start = streams.get_shard_iterator().stream_arn(&stream_arn).shard_id(shard);
        let start = start.shard_iterator_type(ShardIteratorType::TrimHorizon).send().await.expect("an iterator");
        let mut iterator = start.shard_iterator;
        while let Some(at) = iterator {
            let page = streams.get_records().shard_iterator(at).send().await.expect("the shard's records");
            let records = page.records.unwrap_or_default();
            if records.is_empty() {
                break;
            }
            for record in records {
                let change = record.dynamodb.expect("a change");
                let image = |image: Option<std::collections::HashMap<_, _>>| {
                    serde_dynamo::Item::from(image.unwrap_or_default())
                };
                let meaning = shared::storage::table_change(image(change.old_image), image(change.new_image));
                if let Some(meaning) = meaning.expect("a readable record") {
                    let sequence_number = change.sequence_number.expect("a sequence number");
                    changes.push(shared::domain::ChangeRecord { sequence_number, change: meaning });
                }
            }
            iterator = page.next_shard_iterator;
        }
    }
    changes
}
