//! One conformance suite for both stores: every test runs unchanged against the embedded
//! store and against the DynamoDB store on DynamoDB Local.

use std::collections::HashSet;
use std::sync::Arc;

use e2e::cast::{OMAR, SARAH, TECH_STORE, tech_store};
use e2e::stack::fresh_dynamo_store;
use futures::future::join_all;
use shared::Timestamp;
use shared::auth::TokenHash;
use shared::domain::{AdminProfile, NewMessage, Principal, SenderType, Session, SessionStatus};
use shared::storage::{AppendOutcome, ChatStore, LifecycleOutcome, MemoryStore};

type Store = Arc<dyn ChatStore>;

async fn store_with_tech_store(store: Store) -> Store {
    store.put_store(&tech_store()).await.unwrap();
    store
}

fn text(sender_type: SenderType, content: &str) -> NewMessage {
    NewMessage {
        sender_type,
        sender_id: match sender_type {
            SenderType::Store => TECH_STORE,
            SenderType::Admin => SARAH,
        },
        content: content.into(),
        attachment_url: String::new(),
        attachment_type: String::new(),
        client_message_id: None,
    }
}

async fn open_session(store: &Store) -> Session {
    store
        .get_or_create_active_session(TECH_STORE, 0, Timestamp::now())
        .await
        .unwrap()
        .unwrap()
        .session
}

async fn append(store: &Store, session: &Session, message: NewMessage) -> AppendOutcome {
    store
        .append_message(session, message, Timestamp::now())
        .await
        .unwrap()
}

async fn appended(
    store: &Store,
    session: &Session,
    message: NewMessage,
) -> shared::domain::Message {
    match append(store, session, message).await {
        AppendOutcome::Appended(message) => message,
        other => panic!("expected the message to be stored, got {other:?}"),
    }
}

async fn identities_round_trip(store: Store) {
    let admin = AdminProfile {
        id: SARAH,
        name: "Sarah".into(),
        email: "sarah@example.com".into(),
    };
    store.put_store(&tech_store()).await.unwrap();
    store.put_admin(&admin).await.unwrap();
    assert_eq!(
        store.store_profile(TECH_STORE).await.unwrap(),
        Some(tech_store())
    );
    assert_eq!(store.admin_profile(SARAH).await.unwrap(), Some(admin));
    assert_eq!(store.store_profile(999).await.unwrap(), None);

    let token = TokenHash::of("a-token-long-enough-to-be-accepted-anywhere");
    assert_eq!(store.principal_for(&token).await.unwrap(), None);
    store
        .put_token(&token, Principal::Store(TECH_STORE))
        .await
        .unwrap();
    assert_eq!(
        store.principal_for(&token).await.unwrap(),
        Some(Principal::Store(TECH_STORE))
    );
    assert!(store.revoke_token(&token).await.unwrap());
    assert!(!store.revoke_token(&token).await.unwrap());
    assert_eq!(store.principal_for(&token).await.unwrap(), None);
}

async fn get_or_create_returns_the_active_session(store: Store) {
    let store = store_with_tech_store(store).await;
    assert_eq!(
        store
            .get_or_create_active_session(999, 200, Timestamp::now())
            .await
            .unwrap(),
        None
    );
    let now = Timestamp::now();
    let first = store
        .get_or_create_active_session(TECH_STORE, 200, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.session.status, SessionStatus::Open);
    assert_eq!(first.session.admin_id, None);
    assert_eq!(first.session.store, tech_store());
    assert_eq!(first.session.created, now);
    assert_eq!(first.session.last_message_at, now);
    assert!(first.messages.is_empty());
    let again = store
        .get_or_create_active_session(TECH_STORE, 200, Timestamp::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.session, first.session);
    assert_eq!(
        store
            .session_page(first.session.id, 200)
            .await
            .unwrap()
            .unwrap()
            .session,
        first.session
    );
}

async fn fifty_concurrent_get_or_create_make_one_session(store: Store) {
    let store = store_with_tech_store(store).await;
    let calls = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .get_or_create_active_session(TECH_STORE, 200, Timestamp::now())
                .await
        })
    });
    let ids: HashSet<u64> = join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap().unwrap().session.id)
        .collect();
    assert_eq!(ids.len(), 1, "concurrent calls saw sessions {ids:?}");
    // The one session is the store's active session from now on.
    assert_eq!(open_session(&store).await.id, *ids.iter().next().unwrap());
}

async fn a_view_carries_the_newest_messages_ascending(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let mut ids = Vec::new();
    for i in 0..205 {
        let sender = if i % 2 == 0 {
            SenderType::Store
        } else {
            SenderType::Admin
        };
        ids.push(
            appended(&store, &session, text(sender, &format!("message {i}")))
                .await
                .id,
        );
    }
    let page = store.session_page(session.id, 200).await.unwrap().unwrap();
    let page_ids: Vec<u64> = page.messages.iter().map(|m| m.id).collect();
    assert_eq!(page_ids, ids[5..]);
    assert_eq!(page.messages[0].content, "message 5");
    assert_eq!(page.session.message_count(), 205);
    assert_eq!(page.session.store_message_count, 103);
    assert_eq!(page.session.last_message_id, *ids.last().unwrap());
    // The store's own view is the same page.
    let store_view = store
        .get_or_create_active_session(TECH_STORE, 200, Timestamp::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store_view, page);
}

async fn ids_increase_in_commit_order_under_concurrency(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let sends = (0..40).map(|i| {
        let (store, session) = (store.clone(), session.clone());
        let sender = if i % 2 == 0 {
            SenderType::Store
        } else {
            SenderType::Admin
        };
        tokio::spawn(async move {
            appended(&store, &session, text(sender, &format!("m{i}")))
                .await
                .id
        })
    });
    let sent: HashSet<u64> = join_all(sends)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(sent.len(), 40, "every send got its own id");
    let fetched = store
        .messages_after(session.id, 0, 200)
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<u64> = fetched.messages.iter().map(|m| m.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids ascend: {ids:?}");
    assert_eq!(ids.iter().copied().collect::<HashSet<_>>(), sent);
    assert!(!fetched.has_more);
    assert_eq!(fetched.session.message_count(), 40);
}

async fn messages_after_pages(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            appended(&store, &session, text(SenderType::Store, &format!("m{i}")))
                .await
                .id,
        );
    }
    let first = store
        .messages_after(session.id, 0, 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[..2]
    );
    assert!(first.has_more);
    let rest = store
        .messages_after(session.id, ids[1], 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rest.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[2..]
    );
    assert!(!rest.has_more);
    let none = store
        .messages_after(session.id, ids[4], 10)
        .await
        .unwrap()
        .unwrap();
    assert!(none.messages.is_empty() && !none.has_more);
    assert_eq!(store.messages_after(987_654, 0, 10).await.unwrap(), None);
    assert_eq!(store.session_page(987_654, 10).await.unwrap(), None);
}

async fn a_client_message_id_is_stored_once(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let message = NewMessage {
        client_message_id: Some("c-1".into()),
        ..text(SenderType::Store, "hello")
    };
    let original = appended(&store, &session, message.clone()).await;
    assert_eq!(
        append(&store, &session, message.clone()).await,
        AppendOutcome::Duplicate(original.clone())
    );
    let retries = (0..8).map(|_| {
        let (store, session, message) = (store.clone(), session.clone(), message.clone());
        tokio::spawn(async move { append(&store, &session, message).await })
    });
    for outcome in join_all(retries).await {
        assert_eq!(outcome.unwrap(), AppendOutcome::Duplicate(original.clone()));
    }
    let page = store.session_page(session.id, 200).await.unwrap().unwrap();
    assert_eq!(page.messages, vec![original]);
    assert_eq!(page.session.message_count(), 1);
}

async fn writes_are_conditional_on_the_lifecycle_seen(store: Store) {
    let store = store_with_tech_store(store).await;
    let seen = open_session(&store).await;
    let claimed = match store
        .change_lifecycle(&seen, SessionStatus::Claimed, Some(SARAH), Timestamp::now())
        .await
    {
        Ok(LifecycleOutcome::Changed(session)) => session,
        other => panic!("claim failed: {other:?}"),
    };
    assert_eq!(
        (claimed.status, claimed.admin_id),
        (SessionStatus::Claimed, Some(SARAH))
    );
    assert_eq!(
        store
            .session_page(seen.id, 0)
            .await
            .unwrap()
            .unwrap()
            .session,
        claimed
    );
    // A decision taken on the open session no longer applies.
    match store
        .change_lifecycle(&seen, SessionStatus::Claimed, Some(OMAR), Timestamp::now())
        .await
        .unwrap()
    {
        LifecycleOutcome::Stale(current) => assert_eq!(current, claimed),
        other => panic!("a stale claim went through: {other:?}"),
    }
    assert_eq!(
        append(&store, &seen, text(SenderType::Admin, "late")).await,
        AppendOutcome::Stale(claimed.clone())
    );
    appended(&store, &claimed, text(SenderType::Admin, "on time")).await;
}

async fn twenty_concurrent_claims_have_one_winner(store: Store) {
    let store = store_with_tech_store(store).await;
    let seen = open_session(&store).await;
    let claims = (1..=20).map(|admin| {
        let (store, seen) = (store.clone(), seen.clone());
        tokio::spawn(async move {
            store
                .change_lifecycle(&seen, SessionStatus::Claimed, Some(admin), Timestamp::now())
                .await
                .unwrap()
        })
    });
    let outcomes: Vec<LifecycleOutcome> = join_all(claims)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<&Session> = outcomes
        .iter()
        .filter_map(|o| match o {
            LifecycleOutcome::Changed(session) => Some(session),
            LifecycleOutcome::Stale(_) => None,
        })
        .collect();
    assert_eq!(winners.len(), 1);
    let current = store
        .session_page(seen.id, 0)
        .await
        .unwrap()
        .unwrap()
        .session;
    assert_eq!(current.admin_id, winners[0].admin_id);
    assert_eq!(current.revision, seen.revision + 1);
}

async fn closing_frees_the_stores_active_slot(store: Store) {
    let store = store_with_tech_store(store).await;
    let seen = open_session(&store).await;
    appended(&store, &seen, text(SenderType::Store, "bye")).await;
    let now = Timestamp::now();
    let closed = match store
        .change_lifecycle(&seen, SessionStatus::Closed, None, now)
        .await
        .unwrap()
    {
        LifecycleOutcome::Changed(session) => session,
        other => panic!("close failed: {other:?}"),
    };
    assert_eq!(
        (closed.status, closed.closed_at),
        (SessionStatus::Closed, Some(now))
    );
    match append(&store, &closed, text(SenderType::Store, "after")).await {
        AppendOutcome::Stale(current) => assert_eq!(current.status, SessionStatus::Closed),
        other => panic!("a message went into a closed session: {other:?}"),
    }
    let next = open_session(&store).await;
    assert_ne!(next.id, closed.id);
    assert_eq!(next.status, SessionStatus::Open);
    // The closed session keeps its messages and its state.
    let old = store.session_page(closed.id, 200).await.unwrap().unwrap();
    assert_eq!(
        (
            old.session.status,
            old.session.closed_at,
            old.session.message_count()
        ),
        (SessionStatus::Closed, Some(now), 1)
    );
    assert_eq!(old.messages.len(), 1);
}

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $test() {
                    super::$test(std::sync::Arc::new(super::MemoryStore::new())).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $test() {
                    super::$test(std::sync::Arc::new(super::fresh_dynamo_store().await)).await
                }
            )*
        }
    };
}

conformance!(
    identities_round_trip,
    get_or_create_returns_the_active_session,
    fifty_concurrent_get_or_create_make_one_session,
    a_view_carries_the_newest_messages_ascending,
    ids_increase_in_commit_order_under_concurrency,
    messages_after_pages,
    a_client_message_id_is_stored_once,
    writes_are_conditional_on_the_lifecycle_seen,
    twenty_concurrent_claims_have_one_winner,
    closing_frees_the_stores_active_slot,
);
