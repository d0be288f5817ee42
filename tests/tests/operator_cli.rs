//! The operator CLI against DynamoDB Local: table, identities, tokens.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use e2e::stack::{binary, dynamodb, unique_table_name};
use shared::auth::TokenHash;
use shared::domain::Principal;
use shared::storage::{ChatStore, DynamoStore};

fn chatctl(table: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(binary("chatctl"))
        .env_clear()
        .args(["--endpoint", &dynamodb().endpoint(), "--table", table])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chatctl starts");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout_of(output: &Output) -> String {
    assert!(output.status.success(), "chatctl failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap().trim().to_owned()
}

#[tokio::test]
async fn creates_the_table_identities_and_tokens() {
    let table = unique_table_name("cli");
    assert_eq!(stdout_of(&chatctl(&table, &["create-table"], "")), format!("table {table}: created"));
    assert_eq!(stdout_of(&chatctl(&table, &["create-table"], "")), format!("table {table}: already exists"));

    stdout_of(&chatctl(&table, &["create-store", "--id", "5", "--name", "Tech Store", "--email", "s@example.com"], ""));
    stdout_of(&chatctl(&table, &["create-admin", "--id", "2", "--name", "Sarah"], ""));
    let store_token = stdout_of(&chatctl(&table, &["issue-token", "--store", "5"], ""));
    let admin_token = stdout_of(&chatctl(&table, &["issue-token", "--admin", "2"], ""));
    assert_eq!(store_token.len(), 64);
    assert!(!chatctl(&table, &["issue-token", "--store", "99"], "").status.success(), "no token for a missing store");

    let store = DynamoStore::new(DynamoStore::local_client(&dynamodb().endpoint()), &table);
    assert_eq!(store.store_profile(5).await.unwrap().unwrap().email, "s@example.com");
    assert_eq!(store.principal_for(&TokenHash::of(&store_token)).await.unwrap(), Some(Principal::Store(5)));
    assert_eq!(store.principal_for(&TokenHash::of(&admin_token)).await.unwrap(), Some(Principal::Admin(2)));

    assert_eq!(stdout_of(&chatctl(&table, &["revoke-token"], &format!("{store_token}\n"))), "revoked");
    assert_eq!(store.principal_for(&TokenHash::of(&store_token)).await.unwrap(), None);
    let again = chatctl(&table, &["revoke-token"], &store_token);
    assert!(!again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "no such token");

    let seed_path = std::env::temp_dir().join(format!("{}.json", unique_table_name("cli-seed")));
    std::fs::write(&seed_path, serde_json::to_string(&e2e::cast::seed()).unwrap()).unwrap();
    let loaded = stdout_of(&chatctl(&table, &["load-seed", seed_path.to_str().unwrap()], ""));
    assert_eq!(loaded, "loaded 3 stores and 22 admins");
    let token = e2e::cast::token_of_admin(e2e::cast::OMAR);
    assert_eq!(store.principal_for(&TokenHash::of(&token)).await.unwrap(), Some(Principal::Admin(e2e::cast::OMAR)));
}
