//! The local gateway running every function as Lambda does (`--lambda`): each function's
//! own binary, one OS process per instance, through the Lambda Runtime API. What only this
//! mode can show: instances as processes, cold and warm starts, and races between instances
//! that share nothing but the table.

use e2e::cast::{TECH_STORE, claimers, token_of_admin, token_of_store};
use e2e::gateway::{Gateway, get_json, post_json};
use e2e::stack::{fresh_table, unique_table_name};
use futures::future::join_all;
use serde_json::{Value, json};

/// The binary that serves `method path`, as the template says.
fn binary_of(method: &str, path: &str) -> String {
    let routes = sam_template::Template::embedded().http_routes().unwrap();
    let route = routes.iter().find(|route| route.method == method && route.path == path).expect("a routed path");
    route.binary.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_instance_is_a_process_started_cold_once_then_reused() {
    let table = fresh_table().await;
    let gateway = Gateway::start_as_lambda(&table, &[]);
    assert_eq!(gateway.child_programs(), Vec::<String>::new(), "nothing runs before it is used");
    let token = token_of_store(TECH_STORE);
    let view = binary_of("GET", "/v1/chat/store/session/");
    for _ in 0..3 {
        let (status, _) = get_json(&gateway.url("/v1/chat/store/session/"), Some(&token)).await;
        assert_eq!(status, 200);
    }
    // The third invocation's own log line comes after any cold start logged before it.
    gateway.invocation_of("GET /v1/chat/store/session/", 3);
    let starts = gateway.wait_for_cold_starts(&view, 1);
    assert_eq!(starts.len(), 1, "one cold start, then warm: {starts:?}");
    assert!(starts[0]["init_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{}", starts[0]);
    assert_eq!(gateway.child_programs(), vec![view.clone()]);

    let send = binary_of("POST", "/v1/chat/store/messages/");
    let (status, _) =
        post_json(&gateway.url("/v1/chat/store/messages/"), Some(&token), &json!({"content": "hi"})).await;
    assert_eq!(status, 201);
    let mut running = vec![view, send];
    running.sort();
    assert_eq!(gateway.child_programs(), running, "one process per warm instance");
}

/// Twenty admins claim one session at once while the claim function may run four
/// instances. DynamoDB Local is held still until all four have started, so every one of them
/// is in the race; only the table's condition decides it.
#[tokio::test(flavor = "multi_thread")]
async fn twenty_claims_across_four_instances_have_one_winner() {
    let dynamodb = dynamodb_local::DynamoDbLocal::start().expect("DynamoDB Local starts");
    let table = unique_table_name("claims");
    let client = shared::storage::DynamoStore::local_client(&dynamodb.endpoint());
    let definition = sam_template::Template::embedded().table().unwrap();
    sam_template::create_table(&client, &table, &definition).await.unwrap();
    let gateway = Gateway::start_as_lambda_on(&dynamodb.endpoint(), &table, &["--max-instances", "4"]);
    let (status, session) = get_json(&gateway.url("/v1/chat/store/session/"), Some(&token_of_store(TECH_STORE))).await;
    assert_eq!(status, 200);

    let claim_function = binary_of("POST", "/v1/chat/admin/session/claim/");
    let frozen = dynamodb.freeze().expect("DynamoDB Local can be held");
    let claims = claimers().map(|admin| {
        let (url, token, body) =
            (gateway.url("/v1/chat/admin/session/claim/"), token_of_admin(admin), json!({"session_id": session["id"]}));
        tokio::spawn(async move { post_json(&url, Some(&token), &body).await })
    });
    let claims: Vec<_> = claims.collect();
    assert_eq!(gateway.wait_for_cold_starts(&claim_function, 4).len(), 4);
    drop(frozen);
    let outcomes: Vec<(u16, Value)> = join_all(claims).await.into_iter().map(Result::unwrap).collect();

    let winners: Vec<&Value> = outcomes.iter().filter(|(status, _)| *status == 200).map(|(_, body)| body).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let losers = outcomes
        .iter()
        .filter(|(status, body)| *status == 409 && body == &json!({"error": "Session is claimed by another admin"}));
    assert_eq!(losers.count(), 19, "{outcomes:?}");
    assert_eq!(gateway.wait_for_cold_starts(&claim_function, 4).len(), 4, "no more than its cap");
    let instances = gateway.child_programs().into_iter().filter(|program| *program == claim_function).count();
    assert_eq!(instances, 4);
}
