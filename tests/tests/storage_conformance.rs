//! One conformance suite for both stores: every test runs unchanged against the embedded
//! store and against the DynamoDB store on DynamoDB Local.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use e2e::cast::{OMAR, SARAH, TECH_STORE, tech_store};
use e2e::stack::{dynamodb_changes, fresh_dynamo_store, fresh_table, patient_client};
use futures::StreamExt;
use futures::future::join_all;
use shared::Timestamp;
use shared::auth::TokenHash;
use shared::domain::{
    AdminId, AdminProfile, Availability, AwayReason, ChangeRecord, DEFAULT_CAPACITY, DIGEST_WINDOW_SECONDS, EmailClaim,
    EmailKind, Holder, Language, MAX_SAVED_REPLIES, Message, MessageId, NewMessage, Principal, ReceiptKind, Recipient,
    ReplyScope, Revision, RevisionAction, RevisionDenied, SavedReply, SendLimit, SenderType, Session, SessionFilter,
    SessionId, SessionStatus, StoreId, StoreProfile, away_reply, decide_revision, digest_window, events_of,
};
use shared::storage::{
    AppendGuard, AppendOutcome, Assignment, ChatStore, DynamoStore, IdsFor, MemoryStore, MessageWindow, Opening,
    RevisionOutcome, SaveOutcome, SessionQuery, WriteOutcome,
};

type Store = Arc<dyn ChatStore>;

async fn store_with_tech_store(store: Store) -> Store {
    store.put_store(&tech_store()).await.unwrap();
    store
}

fn text(sender_type: SenderType, content: &str) -> NewMessage {
    NewMessage {
        sender_type,
        sender_id: match sender_type {
            SenderType::Store => TECH_STORE.0,
            SenderType::Admin => SARAH.0,
        },
        content: content.into(),
        attachment_url: String::new(),
        attachment_type: String::new(),
        upload_id: None,
        attachment_key: None,
        client_message_id: None,
        automatic: false,
    }
}

async fn open_session(store: &Store) -> Session {
    store.get_or_create_active_session(TECH_STORE, 0, Timestamp::now()).await.unwrap().unwrap().session
}

async fn append(store: &Store, session: &Session, message: NewMessage) -> AppendOutcome {
    let id = store.reserve_message_ids(IdsFor::Session(session.id)).await.unwrap();
    let guard = AppendGuard::Seen(session);
    store.append_message(session.id, guard, id, message, Timestamp::now(), SendLimit::NONE).await.unwrap()
}

async fn appended(store: &Store, session: &Session, message: NewMessage) -> shared::domain::Message {
    match append(store, session, message).await {
        AppendOutcome::Appended(message) => message,
        other => panic!("expected the message to be stored, got {other:?}"),
    }
}

async fn identities_round_trip(store: Store) {
    let admin = AdminProfile { id: SARAH, name: "Sarah".into(), email: "sarah@example.com".into() };
    store.put_store(&tech_store()).await.unwrap();
    store.put_admin(&admin).await.unwrap();
    assert_eq!(store.store_profile(TECH_STORE).await.unwrap(), Some(tech_store()));
    assert_eq!(store.admin_profile(SARAH).await.unwrap(), Some(admin));
    assert_eq!(store.store_profile(StoreId(999)).await.unwrap(), None);

    let token = TokenHash::of("a-token-long-enough-to-be-accepted-anywhere");
    assert_eq!(store.principal_for(&token).await.unwrap(), None);
    store.put_token(&token, Principal::Store(TECH_STORE)).await.unwrap();
    assert_eq!(store.principal_for(&token).await.unwrap(), Some(Principal::Store(TECH_STORE)));
    assert!(store.revoke_token(&token).await.unwrap());
    assert!(!store.revoke_token(&token).await.unwrap());
    assert_eq!(store.principal_for(&token).await.unwrap(), None);
}

async fn get_or_create_returns_the_active_session(store: Store) {
    let store = store_with_tech_store(store).await;
    assert_eq!(store.get_or_create_active_session(StoreId(999), 200, Timestamp::now()).await.unwrap(), None);
    let now = Timestamp::now();
    let first = store.get_or_create_active_session(TECH_STORE, 200, now).await.unwrap().unwrap();
    assert_eq!(first.session.status, SessionStatus::Open);
    assert_eq!(first.session.admin_id, None);
    assert_eq!(first.session.store, tech_store());
    assert_eq!(first.session.created, now);
    assert_eq!(first.session.last_message_at, now);
    assert!(first.messages.is_empty());
    assert!(first.opened);
    let again = store.get_or_create_active_session(TECH_STORE, 200, Timestamp::now()).await.unwrap().unwrap();
    assert_eq!(again.session, first.session);
    assert!(!again.opened);
    assert_eq!(store.session_page(first.session.id, 200).await.unwrap().unwrap().session, first.session);
}

async fn fifty_concurrent_get_or_create_make_one_session(store: Store) {
    let store = store_with_tech_store(store).await;
    let calls = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.get_or_create_active_session(TECH_STORE, 200, Timestamp::now()).await })
    });
    let pages: Vec<_> = join_all(calls).await.into_iter().map(|r| r.unwrap().unwrap().unwrap()).collect();
    let ids: HashSet<SessionId> = pages.iter().map(|page| page.session.id).collect();
    assert_eq!(ids.len(), 1, "concurrent calls saw sessions {ids:?}");
    assert_eq!(pages.iter().filter(|page| page.opened).count(), 1, "one call opened it");
    // The one session is the store's active session from now on.
    assert_eq!(open_session(&store).await.id, *ids.iter().next().unwrap());
}

async fn a_view_carries_the_newest_messages_ascending(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let mut ids = Vec::new();
    for i in 0..205 {
        let sender = if i % 2 == 0 { SenderType::Store } else { SenderType::Admin };
        ids.push(appended(&store, &session, text(sender, &format!("message {i}"))).await.id);
    }
    let page = store.session_page(session.id, 200).await.unwrap().unwrap();
    let page_ids: Vec<MessageId> = page.messages.iter().map(|m| m.id).collect();
    assert_eq!(page_ids, ids[5..]);
    assert_eq!(page.messages[0].content, "message 5");
    assert_eq!(page.session.message_count(), 205);
    assert_eq!(page.session.store_message_count, 103);
    assert_eq!(page.session.last_message_id, *ids.last().unwrap());
    // The store's own view is the same page.
    let store_view = store.get_or_create_active_session(TECH_STORE, 200, Timestamp::now()).await.unwrap().unwrap();
    assert_eq!(store_view, page);
}

async fn no_two_messages_anywhere_share_an_id(store: Store) {
    let store = store_with_tech_store(store).await;
    let other = StoreProfile { id: StoreId(6), name: "Other".into(), logo_url: String::new(), email: String::new() };
    store.put_store(&other).await.unwrap();
    let first = open_session(&store).await;
    let second = store.get_or_create_active_session(other.id, 0, Timestamp::now()).await.unwrap().unwrap().session;
    // 40 sends into each, all at once: each session's blocks of ids are its own.
    let sends = (0..80).map(|i| {
        let (store, session) = (store.clone(), if i % 2 == 0 { first.clone() } else { second.clone() });
        tokio::spawn(async move { appended(&store, &session, text(SenderType::Admin, &format!("m{i}"))).await.id })
    });
    let ids: HashSet<MessageId> = join_all(sends).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(ids.len(), 80, "every message has its own id");
    for session in [&first, &second] {
        let fetched = store.messages(session.id, MessageWindow::After(MessageId(0)), 200).await.unwrap().unwrap();
        let in_session: Vec<MessageId> = fetched.messages.iter().map(|m| m.id).collect();
        assert_eq!(in_session.len(), 40);
        assert!(in_session.windows(2).all(|w| w[0] < w[1]), "ids ascend: {in_session:?}");
    }
}

async fn ids_increase_in_commit_order_under_concurrency(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let sends = (0..40).map(|i| {
        let (store, session) = (store.clone(), session.clone());
        let sender = if i % 2 == 0 { SenderType::Store } else { SenderType::Admin };
        tokio::spawn(async move { appended(&store, &session, text(sender, &format!("m{i}"))).await.id })
    });
    let sent: HashSet<MessageId> = join_all(sends).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(sent.len(), 40, "every send got its own id");
    let fetched = store.messages(session.id, MessageWindow::After(MessageId(0)), 200).await.unwrap().unwrap();
    let ids: Vec<MessageId> = fetched.messages.iter().map(|m| m.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids ascend: {ids:?}");
    assert_eq!(ids.iter().copied().collect::<HashSet<_>>(), sent);
    assert!(!fetched.has_more);
    assert_eq!(fetched.session.message_count(), 40);
}

/// Tech Store's session with five messages of its own, and their ids.
async fn session_with_five_messages(store: Store) -> (Store, Session, Vec<MessageId>) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(appended(&store, &session, text(SenderType::Store, &format!("m{i}"))).await.id);
    }
    (store, session, ids)
}

async fn messages_after_pages(store: Store) {
    let (store, session, ids) = session_with_five_messages(store).await;
    let first = store.messages(session.id, MessageWindow::After(MessageId(0)), 2).await.unwrap().unwrap();
    assert_eq!(first.messages.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..2]);
    assert!(first.has_more);
    let rest = store.messages(session.id, MessageWindow::After(ids[1]), 10).await.unwrap().unwrap();
    assert_eq!(rest.messages.iter().map(|m| m.id).collect::<Vec<_>>(), ids[2..]);
    assert!(!rest.has_more);
    let none = store.messages(session.id, MessageWindow::After(ids[4]), 10).await.unwrap().unwrap();
    assert!(none.messages.is_empty() && !none.has_more);
    assert_eq!(store.messages(SessionId(987_654), MessageWindow::After(MessageId(0)), 10).await.unwrap(), None);
    assert_eq!(store.session_page(SessionId(987_654), 10).await.unwrap(), None);
}

/// History pages: the newest messages below an id, ascending, and whether older ones remain.
async fn messages_before_pages(store: Store) {
    let (store, session, ids) = session_with_five_messages(store).await;
    let page = |before: MessageId, limit: usize| {
        let store = store.clone();
        async move { store.messages(session.id, MessageWindow::Before(before), limit).await.unwrap().unwrap() }
    };
    let newest = page(MessageId(u64::MAX), 2).await;
    assert_eq!(newest.messages.iter().map(|m| m.id).collect::<Vec<_>>(), ids[3..]);
    assert!(newest.has_more);
    let older = page(ids[3], 10).await;
    assert_eq!(older.messages.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..3]);
    assert!(!older.has_more);
    let exactly = page(ids[3], 3).await;
    assert_eq!((exactly.messages.len(), exactly.has_more), (3, false));
    for before in [ids[0], MessageId(0)] {
        let none = page(before, 10).await;
        assert!(none.messages.is_empty() && !none.has_more);
    }
    let missing = store.messages(SessionId(987_654), MessageWindow::Before(MessageId(9)), 10).await.unwrap();
    assert_eq!(missing, None);
}

async fn a_client_message_id_is_stored_once(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let message = NewMessage { client_message_id: Some("c-1".into()), ..text(SenderType::Store, "hello") };
    let original = appended(&store, &session, message.clone()).await;
    assert_eq!(append(&store, &session, message.clone()).await, AppendOutcome::Duplicate(original.clone()));
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

async fn a_client_message_id_is_per_sender(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let with_id = |sender_type, sender_id, content: &str| NewMessage {
        sender_id,
        client_message_id: Some("x".into()),
        ..text(sender_type, content)
    };
    let from_store = appended(&store, &session, with_id(SenderType::Store, TECH_STORE.0, "from the store")).await;
    // The same value from the admin, then from another admin, is a message of each.
    let from_sarah = appended(&store, &session, with_id(SenderType::Admin, SARAH.0, "from Sarah")).await;
    let from_omar = appended(&store, &session, with_id(SenderType::Admin, OMAR.0, "from Omar")).await;
    assert_eq!(
        append(&store, &session, with_id(SenderType::Admin, SARAH.0, "again")).await,
        AppendOutcome::Duplicate(from_sarah.clone())
    );
    assert_eq!(
        append(&store, &session, with_id(SenderType::Store, TECH_STORE.0, "again")).await,
        AppendOutcome::Duplicate(from_store.clone())
    );
    let page = store.session_page(session.id, 200).await.unwrap().unwrap();
    assert_eq!(page.messages, vec![from_store, from_sarah, from_omar]);
    assert_eq!(page.session.message_count(), 3);
}

/// An upload is attached to one message: racing sends with it store one, the others hear
/// which; a repeated send (its `client_message_id`) is still the same message.
async fn an_upload_is_attached_to_one_message(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let with_upload = |client_message_id: &str| NewMessage {
        upload_id: Some("0123456789abcdef0123456789abcdef".into()),
        attachment_key: Some(format!(
            "sessions/{}/store-5/0123456789abcdef0123456789abcdef/{client_message_id}",
            session.id
        )),
        attachment_type: "image/png".into(),
        client_message_id: Some(client_message_id.into()),
        ..text(SenderType::Store, "")
    };
    let sends = (0..8).map(|n| {
        let (store, session, message) = (store.clone(), session.clone(), with_upload(&format!("c-{n}")));
        tokio::spawn(async move { append(&store, &session, message).await })
    });
    let outcomes: Vec<AppendOutcome> = join_all(sends).await.into_iter().map(Result::unwrap).collect();
    let stored: Vec<_> =
        outcomes.iter().filter_map(|o| if let AppendOutcome::Appended(m) = o { Some(m) } else { None }).collect();
    assert_eq!(stored.len(), 1, "{outcomes:?}");
    let attached = stored[0].clone();
    assert_eq!(attached.upload_id.as_deref(), Some("0123456789abcdef0123456789abcdef"));
    for outcome in &outcomes {
        assert!(
            matches!(outcome, AppendOutcome::Appended(_)) || *outcome == AppendOutcome::UploadTaken(attached.id),
            "{outcome:?}"
        );
    }
    let again = with_upload(attached.client_message_id.as_deref().unwrap());
    assert_eq!(append(&store, &session, again).await, AppendOutcome::Duplicate(attached.clone()));
    let page = store.session_page(session.id, 200).await.unwrap().unwrap();
    assert_eq!(page.messages, vec![attached.clone()]);
    assert_eq!(page.session.last_message, Some(attached));
}

/// A change dated before the session's last message (another writer's clock is ahead).
async fn nothing_is_dated_before_the_last_message(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let (now, later) = (Timestamp::now(), Timestamp::now().plus_seconds(10));
    let at = |session: &Session, message: NewMessage, now: Timestamp| {
        let (store, session) = (store.clone(), session.clone());
        async move {
            let id = store.reserve_message_ids(IdsFor::Session(session.id)).await.unwrap();
            match store
                .append_message(session.id, AppendGuard::NotClosed, id, message, now, SendLimit::NONE)
                .await
                .unwrap()
            {
                AppendOutcome::Appended(message) => message,
                other => panic!("expected the message to be stored, got {other:?}"),
            }
        }
    };
    let first = at(&session, text(SenderType::Store, "from a clock ahead"), later).await;
    let second = at(&session, text(SenderType::Store, "from a clock behind"), now).await;
    assert!(second.id > first.id && second.created >= first.created, "{first:?} then {second:?}");
    let current = store.session(session.id).await.unwrap().unwrap();
    assert_eq!(current.last_message_at, later);

    // A close decided at `now` is dated after the message.
    let closed = match store.change_lifecycle(&current, SessionStatus::Closed, None, now).await {
        Ok(WriteOutcome::Written(closed)) => closed,
        other => panic!("close failed: {other:?}"),
    };
    assert_eq!((closed.closed_at, closed.updated), (Some(later), later));
    assert_eq!(store.session(session.id).await.unwrap().unwrap().closed_at, Some(later));

    // A store's close from its pointer is dated after its last message too.
    let session = open_session(&store).await;
    let last = at(&session, text(SenderType::Store, "ahead again"), later.plus_seconds(5)).await;
    let closed = store.close_active_session(TECH_STORE, now).await.unwrap().unwrap();
    assert_eq!(closed.closed_at, last.created);
    assert_eq!(store.session(session.id).await.unwrap().unwrap().closed_at, Some(last.created));
}

async fn writes_are_conditional_on_the_lifecycle_seen(store: Store) {
    let store = store_with_tech_store(store).await;
    let seen = open_session(&store).await;
    let claimed = match store.change_lifecycle(&seen, SessionStatus::Claimed, Some(SARAH), Timestamp::now()).await {
        Ok(WriteOutcome::Written(session)) => session,
        other => panic!("claim failed: {other:?}"),
    };
    assert_eq!((claimed.status, claimed.admin_id), (SessionStatus::Claimed, Some(SARAH)));
    assert_eq!(store.session_page(seen.id, 0).await.unwrap().unwrap().session, claimed);
    // A decision taken on the open session no longer applies.
    match store.change_lifecycle(&seen, SessionStatus::Claimed, Some(OMAR), Timestamp::now()).await.unwrap() {
        WriteOutcome::Stale(current) => assert_eq!(current, claimed),
        other => panic!("a stale claim went through: {other:?}"),
    }
    assert_eq!(
        append(&store, &seen, text(SenderType::Admin, "late")).await,
        AppendOutcome::Stale(Box::new(claimed.clone()))
    );
    appended(&store, &claimed, text(SenderType::Admin, "on time")).await;
}

async fn twenty_concurrent_claims_have_one_winner(store: Store) {
    let store = store_with_tech_store(store).await;
    let seen = open_session(&store).await;
    let claims = (1..=20).map(AdminId).map(|admin| {
        let (store, seen) = (store.clone(), seen.clone());
        tokio::spawn(async move {
            store.change_lifecycle(&seen, SessionStatus::Claimed, Some(admin), Timestamp::now()).await.unwrap()
        })
    });
    let outcomes: Vec<WriteOutcome> = join_all(claims).await.into_iter().map(Result::unwrap).collect();
    let winners: Vec<&Session> = outcomes
        .iter()
        .filter_map(|o| match o {
            WriteOutcome::Written(session) => Some(session),
            WriteOutcome::Stale(_) => None,
        })
        .collect();
    assert_eq!(winners.len(), 1);
    let current = store.session_page(seen.id, 0).await.unwrap().unwrap().session;
    assert_eq!(current.admin_id, winners[0].admin_id);
    assert_eq!(current.revision, seen.revision + 1);
}

async fn a_store_closes_its_active_session_from_the_pointer(store: Store) {
    let store = store_with_tech_store(store).await;
    assert_eq!(store.close_active_session(TECH_STORE, Timestamp::now()).await.unwrap(), None);
    let seen = open_session(&store).await;
    // Claimed and tagged first, so the close moves the session between lists.
    let WriteOutcome::Written(claimed) =
        store.change_lifecycle(&seen, SessionStatus::Claimed, Some(SARAH), Timestamp::now()).await.unwrap()
    else {
        panic!("claim failed")
    };
    store.set_tags(&claimed, vec!["vip".into()], Timestamp::now()).await.unwrap();
    let now = Timestamp::now();
    let closed = store.close_active_session(TECH_STORE, now).await.unwrap().unwrap();
    assert_eq!(
        (closed.id, closed.status, closed.admin_id, closed.closed_at),
        (seen.id, SessionStatus::Closed, Some(SARAH), now)
    );
    let current = store.session(seen.id).await.unwrap().unwrap();
    assert_eq!(
        (current.status, current.closed_at, current.revision),
        (SessionStatus::Closed, Some(now), seen.revision + 3)
    );
    assert_eq!(store.active_session(TECH_STORE).await.unwrap(), None);
    let sarahs = store.list_sessions(&query(SARAH, None, Some("vip"), 10)).await.unwrap();
    assert_eq!((sarahs.total_count, sarahs.sessions[0].status), (1, SessionStatus::Closed));
    let claimed_now = store.list_sessions(&query(SARAH, Some(SessionStatus::Claimed), None, 10)).await.unwrap();
    assert_eq!(claimed_now.total_count, 0);
    assert_ne!(open_session(&store).await.id, seen.id);
}

async fn response_times_are_kept_by_the_writes(store: Store) {
    let store = store_with_tech_store(store).await;
    let seen = open_session(&store).await;
    let WriteOutcome::Written(claimed) =
        store.change_lifecycle(&seen, SessionStatus::Claimed, Some(SARAH), Timestamp::now()).await.unwrap()
    else {
        panic!("claim failed")
    };
    let start = Timestamp::now();
    let at = |seconds| start.plus_seconds(seconds);
    let send = |sender, second, seen: Session| {
        let store = store.clone();
        async move {
            let id = store.reserve_message_ids(IdsFor::Session(seen.id)).await.unwrap();
            let guard = if sender == SenderType::Admin { AppendGuard::Seen(&seen) } else { AppendGuard::NotClosed };
            let outcome =
                store.append_message(seen.id, guard, id, text(sender, "m"), at(second), SendLimit::NONE).await.unwrap();
            assert!(matches!(outcome, AppendOutcome::Appended(_)), "{outcome:?}");
        }
    };
    // The admin decides on a session read before the store wrote: its answer still counts
    // from the store's first unanswered message.
    send(SenderType::Store, 0, claimed.clone()).await;
    send(SenderType::Store, 10, claimed.clone()).await;
    send(SenderType::Admin, 30, claimed.clone()).await;
    send(SenderType::Admin, 35, claimed.clone()).await;
    send(SenderType::Store, 40, claimed.clone()).await;
    let current = store.session(seen.id).await.unwrap().unwrap();
    assert_eq!(current.awaiting_reply_since, Some(at(40)));
    send(SenderType::Admin, 45, current).await;
    let current = store.session(seen.id).await.unwrap().unwrap();
    assert_eq!((current.reply_count, current.reply_ms_total, current.awaiting_reply_since), (2, 35_000, None));
    assert_eq!(current.response_time_avg(), Some(17.5));
}

/// A connection is recorded only while its token stands, and the token's connections are
/// found by it: a revocation closes every one opened before it, and none opens after it.
async fn a_revoked_token_gets_no_connection(store: Store) {
    use shared::domain::Connection;
    let (token, other) = (TokenHash::of("revoked"), TokenHash::of("other"));
    for token in [&token, &other] {
        store.put_token(token, Principal::Store(TECH_STORE)).await.unwrap();
    }
    let now = Timestamp::now();
    let opened =
        |id: &str, token: &TokenHash| Connection::new(id.into(), Principal::Store(TECH_STORE), token.clone(), now);
    assert!(store.open_connection(&opened("tab", &token)).await.unwrap());
    assert!(store.open_connection(&opened("phone", &other)).await.unwrap());
    let ids = |token: TokenHash| {
        let store = store.clone();
        async move {
            store
                .connections_with_token(&token, now)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.connection_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(token.clone()).await, ["tab"]);

    assert!(store.revoke_token(&token).await.unwrap());
    assert!(!store.open_connection(&opened("late-tab", &token)).await.unwrap(), "a revoked token gets no connection");
    assert_eq!(store.connection("late-tab").await.unwrap(), None);
    assert_eq!(ids(token.clone()).await, ["tab"], "what the revocation closes");
    store.delete_connection("tab").await.unwrap();
    assert_eq!(ids(token).await, Vec::<String>::new());
    assert_eq!(ids(other).await, ["phone"]);
}

/// The sweep's read: connections whose expiry has passed, the longest expired first, and
/// none once forgotten.
async fn expired_connections_are_found_by_their_expiry(store: Store) {
    use shared::domain::Connection;
    let token = TokenHash::of("expiring");
    store.put_token(&token, Principal::Store(TECH_STORE)).await.unwrap();
    let now = Timestamp::now();
    let opened = |id: &str, seconds: i64| {
        Connection::new(id.into(), Principal::Store(TECH_STORE), token.clone(), now)
            .until(Some(now.plus_seconds(seconds)))
    };
    for connection in [opened("in-a-minute", 60), opened("just-now", 0), opened("a-while-ago", -30), opened("b", -30)] {
        assert!(store.open_connection(&connection).await.unwrap());
    }
    let expired = |limit| {
        let store = store.clone();
        async move {
            let expired = store.expired_connections(now, limit).await.unwrap();
            expired.into_iter().map(|c| c.connection_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(expired(10).await, ["a-while-ago", "b", "just-now"]);
    assert_eq!(expired(1).await, ["a-while-ago"]);
    store.delete_connection("a-while-ago").await.unwrap();
    assert_eq!(expired(10).await, ["b", "just-now"]);
    let later = store.expired_connections(now.plus_seconds(60), 10).await.unwrap();
    assert_eq!(later.len(), 3, "{later:?}");
}

async fn connections_are_found_by_whose_they_are(store: Store) {
    use shared::domain::{Audience, Connection};
    let now = Timestamp::now();
    let connect = |id: &str, principal| Connection::new(id.to_owned(), principal, TokenHash::of(id), now);
    for connection in [
        connect("s5-a", Principal::Store(TECH_STORE)),
        connect("s5-b", Principal::Store(TECH_STORE)),
        connect("s6-a", Principal::Store(StoreId(6))),
        connect("a2-a", Principal::Admin(SARAH)),
        connect("a3-a", Principal::Admin(OMAR)),
        connect("a20-a", Principal::Admin(AdminId(20))),
    ] {
        e2e::stack::record_connection(store.as_ref(), &connection).await;
    }
    // An item whose connection outlived API Gateway's limit, not yet removed by the TTL.
    let stale = Connection { expires_at: now.unix_seconds() - 1, ..connect("s5-stale", Principal::Store(TECH_STORE)) };
    e2e::stack::record_connection(store.as_ref(), &stale).await;
    let ids = |audience| {
        let store = store.clone();
        async move {
            let connections = store.connections_of(audience, now).await.unwrap();
            connections.into_iter().map(|c| c.connection_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(Audience::Store(TECH_STORE)).await, ["s5-a", "s5-b"]);
    assert_eq!(ids(Audience::Admin(SARAH)).await, ["a2-a"]);
    assert_eq!(ids(Audience::Admin(AdminId(20))).await, ["a20-a"], "admin 2 is not a prefix of admin 20");
    assert_eq!(ids(Audience::AllAdmins).await, ["a2-a", "a20-a", "a3-a"]);
    assert_eq!(store.connection("a2-a").await.unwrap().unwrap().principal, Principal::Admin(SARAH));
    store.delete_connection("s5-a").await.unwrap();
    assert_eq!(ids(Audience::Store(TECH_STORE)).await, ["s5-b"]);
    assert_eq!(store.connection("s5-a").await.unwrap(), None);
}

async fn a_late_id_is_replaced_by_a_fresh_one(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let early = store.reserve_message_ids(IdsFor::Session(session.id)).await.unwrap();
    let later = appended(&store, &session, text(SenderType::Store, "first")).await;
    let guard = AppendGuard::NotClosed;
    let AppendOutcome::Appended(late) = store
        .append_message(session.id, guard, early, text(SenderType::Admin, "late"), Timestamp::now(), SendLimit::NONE)
        .await
        .unwrap()
    else {
        panic!("the late send was not stored")
    };
    assert!(late.id > later.id, "ids increase in commit order: {} after {}", late.id, later.id);
}

async fn a_send_on_a_pointer_read_before_a_transfer_is_refused(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let pointer = store.active_session(TECH_STORE).await.unwrap().unwrap();
    assert_eq!((pointer.id, pointer.revision), (session.id, session.revision));
    let WriteOutcome::Written(claimed) =
        store.change_lifecycle(&session, SessionStatus::Claimed, Some(SARAH), Timestamp::now()).await.unwrap()
    else {
        panic!("claim failed")
    };
    assert_eq!(store.active_session(TECH_STORE).await.unwrap().unwrap().revision, claimed.revision);
    // The store read its pointer before the claim: its send names the old revision.
    let ids = store.reserve_message_ids(IdsFor::ActiveSessionOf(TECH_STORE)).await.unwrap();
    let guard = AppendGuard::Revision(pointer.revision);
    let outcome =
        store.append_message(session.id, guard, ids, text(SenderType::Store, "hi"), Timestamp::now(), SendLimit::NONE);
    match outcome.await.unwrap() {
        AppendOutcome::Stale(current) => assert_eq!(current.admin_id, Some(SARAH)),
        other => panic!("a send went in on a stale holder: {other:?}"),
    }
}

async fn a_store_cannot_send_into_a_closed_session(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    store.change_lifecycle(&session, SessionStatus::Closed, None, Timestamp::now()).await.unwrap();
    let id = store.reserve_message_ids(IdsFor::Session(session.id)).await.unwrap();
    let outcome = store.append_message(
        session.id,
        AppendGuard::NotClosed,
        id,
        text(SenderType::Store, "hi"),
        Timestamp::now(),
        SendLimit::NONE,
    );
    match outcome.await.unwrap() {
        AppendOutcome::Stale(current) => assert_eq!(current.status, SessionStatus::Closed),
        other => panic!("a message went into a closed session: {other:?}"),
    }
}

async fn receipts_are_watermarks_with_exact_read_counts(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let s1 = appended(&store, &session, text(SenderType::Store, "s1")).await;
    let a1 = appended(&store, &session, text(SenderType::Admin, "a1")).await;
    let s2 = appended(&store, &session, text(SenderType::Store, "s2")).await;
    let s3 = appended(&store, &session, text(SenderType::Store, "s3")).await;
    let mark = |reader, kind, up_to| {
        let store = store.clone();
        async move { store.mark_receipt(session.id, reader, kind, up_to, Timestamp::now()).await.unwrap().unwrap() }
    };

    // A mark below the store's newest message: counted from the messages above it.
    let marked = mark(SenderType::Admin, ReceiptKind::Read, s2.id).await;
    assert_eq!((marked.admin_receipts.read_up_to, marked.admin_receipts.read_count), (s2.id, 2));
    assert_eq!(marked.unread_by(SenderType::Admin), 1);
    assert_eq!(marked.unread_by(SenderType::Store), 1, "the store has not read a1");
    // Marks never move back.
    let lower = mark(SenderType::Admin, ReceiptKind::Read, s1.id).await;
    assert_eq!((lower.admin_receipts.read_up_to, lower.admin_receipts.read_count), (s2.id, 2));
    // Up to the newest, or past it: all of them, and no further than the last message.
    let all = mark(SenderType::Admin, ReceiptKind::Read, MessageId(s3.id.0 + 1000)).await;
    assert_eq!((all.admin_receipts.read_up_to, all.admin_receipts.read_count), (s3.id, 3));
    assert_eq!(all.unread_by(SenderType::Admin), 0);

    let delivered = mark(SenderType::Store, ReceiptKind::Delivered, a1.id).await;
    assert_eq!(delivered.store_receipts.delivered_up_to, a1.id);
    assert_eq!(delivered.store_receipts.read_up_to, MessageId(0));
    let page = store.session_page(session.id, 10).await.unwrap().unwrap();
    let statuses: Vec<String> =
        page.messages.iter().map(|m| format!("{:?}", page.session.message_view(m).status)).collect();
    assert_eq!(statuses, ["Read", "Delivered", "Read", "Read"]);

    assert_eq!(
        store
            .mark_receipt(SessionId(987_654), SenderType::Admin, ReceiptKind::Read, MessageId(1), Timestamp::now())
            .await
            .unwrap(),
        None
    );
}

async fn tags_and_ratings(store: Store) {
    let store = store_with_tech_store(store).await;
    let seen = open_session(&store).await;
    // A message arrives after the tagger read the session; the tags do not depend on it.
    appended(&store, &seen, text(SenderType::Store, "meanwhile")).await;
    let tagged = match store.set_tags(&seen, vec!["billing".into(), "vip".into()], Timestamp::now()).await.unwrap() {
        WriteOutcome::Written(session) => session,
        other => panic!("tagging failed: {other:?}"),
    };
    assert_eq!(tagged.tags, ["billing", "vip"]);
    // Both stores answer the session as the writer read it, with its change.
    assert_eq!(tagged.message_count(), seen.message_count());
    assert!(matches!(store.set_tags(&seen, vec![], Timestamp::now()).await.unwrap(), WriteOutcome::Stale(_)));
    assert_eq!(store.session(seen.id).await.unwrap().unwrap().tags, ["billing", "vip"]);

    // Only a closed session can be rated, and only once.
    let current = store.session(seen.id).await.unwrap().unwrap();
    assert!(matches!(store.rate_session(&current, 5, None, Timestamp::now()).await.unwrap(), WriteOutcome::Stale(_)));
    let WriteOutcome::Written(closed) =
        store.change_lifecycle(&current, SessionStatus::Closed, None, Timestamp::now()).await.unwrap()
    else {
        panic!("close failed")
    };
    let rated = store.rate_session(&closed, 4, Some("quick".into()), Timestamp::now()).await.unwrap();
    assert!(matches!(rated, WriteOutcome::Written(ref s) if s.rating == Some(4)));
    match store.rate_session(&closed, 1, None, Timestamp::now()).await.unwrap() {
        WriteOutcome::Stale(current) => assert_eq!((current.rating, current.feedback), (Some(4), Some("quick".into()))),
        other => panic!("rated twice: {other:?}"),
    }
}

async fn replacing_tags_moves_their_counts(store: Store) {
    let store = store_with_tech_store(store).await;
    let mut session = open_session(&store).await;
    // Tags removed and added in one change: both counts of the list move in one write.
    for tags in [vec!["billing", "vip"], vec!["vip", "urgent"]] {
        let tags = tags.into_iter().map(str::to_owned).collect();
        session = match store.set_tags(&session, tags, Timestamp::now()).await.unwrap() {
            WriteOutcome::Written(session) => session,
            other => panic!("tagging failed: {other:?}"),
        };
    }
    assert_eq!(store.session(session.id).await.unwrap().unwrap().tags, ["vip", "urgent"]);
    for (tag, count) in [("billing", 0), ("vip", 1), ("urgent", 1)] {
        let list = store.list_sessions(&query(SARAH, Some(SessionStatus::Open), Some(tag), 10)).await.unwrap();
        assert_eq!((list.total_count, list.sessions.len()), (count, count as usize), "{tag}");
    }
}

async fn an_offset_past_every_session_is_an_empty_page(store: Store) {
    let store = store_with_tech_store(store).await;
    open_session(&store).await;
    for offset in [1, usize::MAX] {
        let page = store.list_sessions(&SessionQuery { offset, ..query(SARAH, None, None, 10) }).await.unwrap();
        assert_eq!((page.sessions.len(), page.total_count, page.next), (0, 1, None), "offset {offset}");
    }
}

fn query(admin: AdminId, status: Option<SessionStatus>, tag: Option<&str>, limit: usize) -> SessionQuery {
    SessionQuery {
        admin,
        statuses: status.into_iter().collect(),
        tag: tag.map(str::to_owned),
        limit,
        offset: 0,
        after: None,
        filter: SessionFilter::default(),
    }
}

async fn admins_list_the_open_queue_and_their_own_sessions(store: Store) {
    // Five stores, each with a session: 0 and 1 stay open, 2 is Sarah's, 3 is Omar's,
    // 4 was Sarah's and is closed. Each gets one message, in store order, so activity
    // is newest for store 4.
    let mut sessions = Vec::new();
    let start = Timestamp::now();
    let at = |second: i64| start.plus_seconds(second);
    for i in 0..5u64 {
        let id = StoreId(100 + i);
        store
            .put_store(&StoreProfile {
                id,
                name: format!("Store {i}"),
                logo_url: String::new(),
                email: format!("Owner{i}@Example.com"),
            })
            .await
            .unwrap();
        let session = store.get_or_create_active_session(id, 0, at(i as i64)).await.unwrap().unwrap().session;
        sessions.push(session);
    }
    let held =
        [(2, SARAH, SessionStatus::Claimed), (3, OMAR, SessionStatus::Claimed), (4, SARAH, SessionStatus::Claimed)];
    for (i, admin, status) in held {
        let WriteOutcome::Written(s) =
            store.change_lifecycle(&sessions[i], status, Some(admin), Timestamp::now()).await.unwrap()
        else {
            panic!("claim failed")
        };
        sessions[i] = s;
    }
    let WriteOutcome::Written(s) =
        store.change_lifecycle(&sessions[4], SessionStatus::Closed, Some(SARAH), Timestamp::now()).await.unwrap()
    else {
        panic!("close failed")
    };
    sessions[4] = s;
    let WriteOutcome::Written(s) = store.set_tags(&sessions[1], vec!["vip".into()], Timestamp::now()).await.unwrap()
    else {
        panic!("tag failed")
    };
    sessions[1] = s;
    let WriteOutcome::Written(s) = store.set_tags(&sessions[2], vec!["vip".into()], Timestamp::now()).await.unwrap()
    else {
        panic!("tag failed")
    };
    sessions[2] = s;
    for (i, session) in sessions.iter().enumerate() {
        let id = store.reserve_message_ids(IdsFor::Session(session.id)).await.unwrap();
        let guard = AppendGuard::NotClosed;
        let message = NewMessage { sender_id: session.store.id.0, ..text(SenderType::Store, "hello") };
        store.append_message(session.id, guard, id, message, at(10 + i as i64), SendLimit::NONE).await.unwrap();
    }
    let ids = |list: &shared::storage::SessionList| list.sessions.iter().map(|s| s.id).collect::<Vec<_>>();
    let id_of = |i: usize| sessions[i].id;

    let all = store.list_sessions(&query(SARAH, None, None, 10)).await.unwrap();
    // Store 4's message was refused (closed), so its activity is its creation; the others
    // moved with their messages, the last sent first.
    assert_eq!(ids(&all), [id_of(2), id_of(1), id_of(0), id_of(4)]);
    assert_eq!((all.total_count, all.next.clone()), (4, None));
    assert_eq!(all.sessions[0].last_message.as_ref().unwrap().content, "hello");

    let open = store.list_sessions(&query(OMAR, Some(SessionStatus::Open), None, 10)).await.unwrap();
    assert_eq!((ids(&open), open.total_count), (vec![id_of(1), id_of(0)], 2));
    let claimed = store.list_sessions(&query(OMAR, Some(SessionStatus::Claimed), None, 10)).await.unwrap();
    assert_eq!((ids(&claimed), claimed.total_count), (vec![id_of(3)], 1));
    let closed = store.list_sessions(&query(SARAH, Some(SessionStatus::Closed), None, 10)).await.unwrap();
    assert_eq!((ids(&closed), closed.total_count), (vec![id_of(4)], 1));
    let vip = store.list_sessions(&query(SARAH, None, Some("vip"), 10)).await.unwrap();
    assert_eq!((ids(&vip), vip.total_count), (vec![id_of(2), id_of(1)], 2));
    let omar_vip = store.list_sessions(&query(OMAR, None, Some("vip"), 10)).await.unwrap();
    assert_eq!((ids(&omar_vip), omar_vip.total_count), (vec![id_of(1)], 1));

    // Pages of one, by cursor, walk the same order; offset skips.
    assert_eq!(pages_of_one(&store, query(SARAH, None, None, 1), 4).await, ids(&all));
    let skipped = store.list_sessions(&SessionQuery { offset: 2, ..query(SARAH, None, None, 10) }).await.unwrap();
    assert_eq!(ids(&skipped), ids(&all)[2..]);

    // Narrowed: by a search of the store's name or email in any case, by whose, by when
    // last active; counted whatever narrows them, and paged by the same cursor.
    let filtered = |filter: SessionFilter, tag: Option<&str>| {
        let query = SessionQuery { filter, ..query(SARAH, None, tag, 10) };
        let store = store.clone();
        async move { store.list_sessions(&query).await.unwrap() }
    };
    let search = |typed: &str| SessionFilter::default().with_search(typed).unwrap();
    let found = filtered(search("STORE 1"), None).await;
    assert_eq!((ids(&found), found.total_count), (vec![id_of(1)], 1));
    let found = filtered(search("owner4@example"), None).await;
    assert_eq!((ids(&found), found.total_count), (vec![id_of(4)], 1));
    let found = filtered(search("owner3"), None).await;
    assert_eq!((ids(&found), found.total_count), (vec![], 0), "Omar's is not Sarah's to find");
    let found = filtered(search("store"), Some("vip")).await;
    assert_eq!((ids(&found), found.total_count), (vec![id_of(2), id_of(1)], 2));
    let whose = |holder| SessionFilter { holder, ..SessionFilter::default() };
    let mine = filtered(whose(Holder::Me), None).await;
    assert_eq!((ids(&mine), mine.total_count), (vec![id_of(2), id_of(4)], 2));
    let nobodys = filtered(whose(Holder::Nobody), None).await;
    assert_eq!((ids(&nobodys), nobodys.total_count), (vec![id_of(1), id_of(0)], 2));
    let active =
        |from: i64, before: i64| SessionFilter::default().with_activity(Some(at(from)), Some(at(before))).unwrap();
    let between = filtered(active(11, 13), None).await;
    assert_eq!((ids(&between), between.total_count), (vec![id_of(2), id_of(1)], 2));
    let between = filtered(active(10, 12), None).await;
    assert_eq!((ids(&between), between.total_count), (vec![id_of(1), id_of(0)], 2));
    let ranged = SessionQuery { filter: active(4, 13), ..query(SARAH, None, None, 1) };
    assert_eq!(pages_of_one(&store, ranged, 4).await, ids(&all));
    // A cursor already before the range's start: nothing after it, the range still counted.
    let early = Some(shared::storage::ListPosition { last_message_at: at(1), session_id: id_of(0) });
    let before_the_range = SessionQuery { after: early, filter: active(10, 13), ..query(SARAH, None, None, 10) };
    let past = store.list_sessions(&before_the_range).await.unwrap();
    assert_eq!((ids(&past), past.total_count), (vec![], 3));
}

/// The sessions of `query`, walked page by page by its cursor, each page counting `total`.
async fn pages_of_one(store: &Store, query: SessionQuery, total: u64) -> Vec<SessionId> {
    let (mut walked, mut next) = (Vec::new(), None);
    loop {
        let page = store.list_sessions(&SessionQuery { after: next, ..query.clone() }).await.unwrap();
        assert_eq!(page.total_count, total);
        walked.extend(page.sessions.iter().map(|s| s.id));
        next = page.next;
        if next.is_none() {
            return walked;
        }
    }
}

/// A store's sessions, newest first, and how many it has had, whoever held them.
async fn a_stores_sessions_newest_first(store: Store) {
    let store = store_with_tech_store(store).await;
    let mut opened = Vec::new();
    for _ in 0..3 {
        let session = open_session(&store).await;
        appended(&store, &session, text(SenderType::Store, "hello")).await;
        store.close_active_session(TECH_STORE, Timestamp::now()).await.unwrap().unwrap();
        opened.push(session.id);
    }
    let current = open_session(&store).await;
    let (newest, count) = store.sessions_of_store(TECH_STORE, 2).await.unwrap();
    assert_eq!(count, 4);
    assert_eq!(newest.iter().map(|s| s.id).collect::<Vec<_>>(), [current.id, opened[2]]);
    assert_eq!((newest[1].status, newest[1].message_count()), (SessionStatus::Closed, 1));
    assert_eq!(store.sessions_of_store(StoreId(999), 20).await.unwrap(), (Vec::new(), 0));
}

async fn closing_frees_the_stores_active_slot(store: Store) {
    let store = store_with_tech_store(store).await;
    let seen = open_session(&store).await;
    appended(&store, &seen, text(SenderType::Store, "bye")).await;
    let now = Timestamp::now();
    let closed = match store.change_lifecycle(&seen, SessionStatus::Closed, None, now).await.unwrap() {
        WriteOutcome::Written(session) => session,
        other => panic!("close failed: {other:?}"),
    };
    assert_eq!((closed.status, closed.closed_at), (SessionStatus::Closed, Some(now)));
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
        (old.session.status, old.session.closed_at, old.session.message_count()),
        (SessionStatus::Closed, Some(now), 1)
    );
    assert_eq!(old.messages.len(), 1);
}

async fn the_latest_session_is_the_active_one_or_else_the_last_closed(store: Store) {
    let store = store_with_tech_store(store).await;
    let latest = |store: Store| async move {
        store.latest_session(TECH_STORE, 200).await.unwrap().map(|page| (page.session.id, page.session.status))
    };
    assert_eq!(latest(store.clone()).await, None);
    assert_eq!(store.active_session(TECH_STORE).await.unwrap(), None, "looking up opened a session");
    let first = open_session(&store).await;
    appended(&store, &first, text(SenderType::Store, "hello")).await;
    assert_eq!(latest(store.clone()).await, Some((first.id, SessionStatus::Open)));
    store.close_active_session(TECH_STORE, Timestamp::now()).await.unwrap().unwrap();
    let page = store.latest_session(TECH_STORE, 200).await.unwrap().unwrap();
    assert_eq!((page.session.id, page.session.status, page.messages.len()), (first.id, SessionStatus::Closed, 1));
    assert_eq!(store.active_session(TECH_STORE).await.unwrap(), None, "looking up opened a session");

    // The next session is the latest while active, and once an admin closes it.
    let second = open_session(&store).await;
    assert_eq!(latest(store.clone()).await, Some((second.id, SessionStatus::Open)));
    let WriteOutcome::Written(_) =
        store.change_lifecycle(&second, SessionStatus::Closed, None, Timestamp::now()).await.unwrap()
    else {
        panic!("close failed")
    };
    assert_eq!(latest(store.clone()).await, Some((second.id, SessionStatus::Closed)));
    assert_eq!(store.latest_session(StoreId(999), 200).await.unwrap(), None);
}

/// Sessions wait in the order their stores first wrote: not opened, not re-ordered by later
/// messages, and a session handed back keeps its place.
async fn the_waiting_queue_is_in_order_of_first_message(store: Store) {
    let store = store_with_tech_store(store).await;
    let profiles = [
        tech_store(),
        StoreProfile { id: StoreId(6), ..tech_store() },
        StoreProfile { id: StoreId(7), ..tech_store() },
    ];
    let mut sessions = Vec::new();
    for profile in &profiles {
        store.put_store(profile).await.unwrap();
        let page = store.get_or_create_active_session(profile.id, 0, Timestamp::now()).await.unwrap().unwrap();
        sessions.push(page.session);
    }
    assert_eq!(store.waiting_sessions(10).await.unwrap(), [], "a session nobody wrote in waits for nothing");
    // Written in the order 2, 3, 1, each a second after the other; then 2 writes again.
    let base = Timestamp::now();
    for (seconds, index) in [(1, 1), (2, 2), (3, 0), (4, 1)] {
        let session = store.session(sessions[index].id).await.unwrap().unwrap();
        let ids = store.reserve_message_ids(IdsFor::Session(session.id)).await.unwrap();
        let sent = text(SenderType::Store, "waiting");
        let outcome = store.append_message(
            session.id,
            AppendGuard::NotClosed,
            ids,
            sent,
            base.plus_seconds(seconds),
            SendLimit::NONE,
        );
        assert!(matches!(outcome.await.unwrap(), AppendOutcome::Appended(_)));
    }
    let order = |store: Store| async move {
        store.waiting_sessions(10).await.unwrap().into_iter().map(|w| (w.session, w.store)).collect::<Vec<_>>()
    };
    let [one, two, three] = [0, 1, 2].map(|i| (sessions[i].id, profiles[i].id));
    assert_eq!(order(store.clone()).await, [two, three, one]);
    assert_eq!(store.waiting_sessions(2).await.unwrap().len(), 2);
    let ahead = |session: SessionId| {
        let store = store.clone();
        async move { store.waiting_ahead_of(&store.session(session).await.unwrap().unwrap()).await.unwrap() }
    };
    assert_eq!((ahead(two.0).await, ahead(three.0).await, ahead(one.0).await), (0, 1, 2));

    let seen = store.session(two.0).await.unwrap().unwrap();
    let WriteOutcome::Written(claimed) =
        store.change_lifecycle(&seen, SessionStatus::Claimed, Some(SARAH), Timestamp::now()).await.unwrap()
    else {
        panic!("claim failed")
    };
    assert_eq!(order(store.clone()).await, [three, one]);
    assert_eq!(ahead(one.0).await, 1);
    let WriteOutcome::Written(_) =
        store.change_lifecycle(&claimed, SessionStatus::Open, None, Timestamp::now()).await.unwrap()
    else {
        panic!("hand-back failed")
    };
    assert_eq!(order(store.clone()).await, [two, three, one], "a session handed back keeps its place");
    store.close_active_session(StoreId(7), Timestamp::now()).await.unwrap().unwrap();
    assert_eq!(order(store.clone()).await, [two, one]);
}

/// `seen` as it waits for its first message: the store wrote.
async fn waiting_session(store: &Store, profile: StoreProfile) -> Session {
    store.put_store(&profile).await.unwrap();
    let seen = store.get_or_create_active_session(profile.id, 0, Timestamp::now()).await.unwrap().unwrap().session;
    appended(store, &seen, text(SenderType::Store, "anyone there?")).await;
    store.session(seen.id).await.unwrap().unwrap()
}

async fn admins_have_desks_with_presence_and_capacity(store: Store) {
    let admin = |id, name: &str| AdminProfile { id, name: name.into(), email: String::new() };
    store.put_admin(&admin(SARAH, "Sarah")).await.unwrap();
    store.put_admin(&admin(OMAR, "Omar")).await.unwrap();
    let now = Timestamp::now();
    let desks = store.desks(now).await.unwrap();
    assert_eq!(
        desks.iter().map(|d| (d.desk.admin_id, d.desk.name.as_str())).collect::<Vec<_>>(),
        [(SARAH, "Sarah"), (OMAR, "Omar")]
    );
    assert!(desks.iter().all(|d| d.desk.capacity == DEFAULT_CAPACITY && d.load == 0 && !d.connected));
    assert!(desks.iter().all(|d| d.desk.availability == Availability::Available && d.desk.told_offline));

    // Availability and capacity are the admin's and the operator's; a profile update keeps them.
    assert_eq!(
        store.set_availability(SARAH, Availability::Away).await.unwrap().unwrap().availability,
        Availability::Away
    );
    assert!(store.set_capacity(SARAH, 2).await.unwrap());
    store.put_admin(&admin(SARAH, "Sarah K.")).await.unwrap();
    let sarah = store.desks(now).await.unwrap().remove(0);
    assert_eq!(
        (sarah.desk.name.as_str(), sarah.desk.availability, sarah.desk.capacity),
        ("Sarah K.", Availability::Away, 2)
    );
    assert_eq!(store.set_availability(AdminId(999), Availability::Away).await.unwrap(), None);
    assert!(!store.set_capacity(AdminId(999), 2).await.unwrap());

    // Presence: connected, left, told offline once; back.
    let connection =
        shared::domain::Connection::new("inbox".into(), Principal::Admin(OMAR), TokenHash::of("omar"), now);
    store.put_token(&TokenHash::of("omar"), Principal::Admin(OMAR)).await.unwrap();
    assert!(store.open_connection(&connection).await.unwrap());
    assert!(store.desk_connected(OMAR).await.unwrap(), "told offline before: it is back");
    assert!(!store.desk_connected(OMAR).await.unwrap(), "a second tab is no news");
    let omar = store.desks(now).await.unwrap().remove(1);
    assert!(omar.connected && !omar.desk.told_offline);
    store.delete_connection("inbox").await.unwrap();
    let left = Timestamp::now();
    store.desk_left(OMAR, left).await.unwrap();
    let omar = store.desks(left).await.unwrap().remove(1);
    assert_eq!((omar.connected, omar.desk.left_at), (false, Some(left)));
    assert!(!store.desk_told_offline(OMAR, left.plus_seconds(-1)).await.unwrap(), "left again since");
    assert!(store.desk_told_offline(OMAR, left).await.unwrap());
    assert!(!store.desk_told_offline(OMAR, left).await.unwrap(), "told once");
}

/// The guards of an assignment: the session's revision (no session assigned twice), the
/// admin's load below its capacity (no admin above it), and its availability.
async fn an_assignment_is_conditional_on_the_session_capacity_and_availability(store: Store) {
    for (id, name) in [(SARAH, "Sarah"), (OMAR, "Omar")] {
        store.put_admin(&AdminProfile { id, name: name.into(), email: String::new() }).await.unwrap();
    }
    let profile = |id| StoreProfile { id: StoreId(id), ..tech_store() };
    let first = waiting_session(&store, profile(5)).await;
    let second = waiting_session(&store, profile(6)).await;
    let third = waiting_session(&store, profile(7)).await;
    let now = Timestamp::now();
    let Assignment::Assigned(assigned) = store.assign(&first, SARAH, 2, now).await.unwrap() else {
        panic!("the first assignment failed")
    };
    assert_eq!((assigned.status, assigned.admin_id), (SessionStatus::Claimed, Some(SARAH)));
    assert_eq!(store.session(first.id).await.unwrap().unwrap().admin_id, Some(SARAH));
    // Seen before it was assigned: not again, to anyone.
    assert_eq!(store.assign(&first, OMAR, 2, now).await.unwrap(), Assignment::NotNow);
    let Assignment::Assigned(_) = store.assign(&second, SARAH, 2, now).await.unwrap() else { panic!("second") };
    // Two of two: full.
    assert_eq!(store.assign(&third, SARAH, 2, now).await.unwrap(), Assignment::NotNow);
    assert_eq!(store.session(third.id).await.unwrap().unwrap().status, SessionStatus::Open);
    let desks = store.desks(now).await.unwrap();
    assert_eq!((desks[0].load, desks[0].desk.last_assigned_at), (2, Some(now)));
    assert_eq!((desks[1].load, desks[1].desk.last_assigned_at), (0, None), "Omar was given nothing");
    // Closing one frees a place, but an away admin takes none.
    store.close_active_session(StoreId(5), Timestamp::now()).await.unwrap().unwrap();
    assert_eq!(store.desks(now).await.unwrap()[0].load, 1);
    store.set_availability(SARAH, Availability::Away).await.unwrap();
    assert_eq!(store.assign(&third, SARAH, 2, now).await.unwrap(), Assignment::NotNow);
    store.set_availability(SARAH, Availability::Available).await.unwrap();
    let Assignment::Assigned(_) = store.assign(&third, SARAH, 2, now).await.unwrap() else { panic!("third") };
    assert_eq!(store.desks(now).await.unwrap()[0].load, 2);
    assert_eq!(store.waiting_sessions(10).await.unwrap(), []);
}

/// Racing assignments of many sessions to one admin: never above its capacity.
async fn racing_assignments_never_exceed_capacity(store: Store) {
    store.put_admin(&AdminProfile { id: SARAH, name: "Sarah".into(), email: String::new() }).await.unwrap();
    let mut sessions = Vec::new();
    for id in 0..12 {
        sessions.push(waiting_session(&store, StoreProfile { id: StoreId(300 + id), ..tech_store() }).await);
    }
    let now = Timestamp::now();
    let outcomes = join_all(sessions.iter().map(|seen| store.assign(seen, SARAH, 5, now))).await;
    let assigned = outcomes.into_iter().filter(|o| matches!(o, Ok(Assignment::Assigned(_)))).count();
    let load = store.desks(now).await.unwrap()[0].load;
    let held = store.list_sessions(&query(SARAH, Some(SessionStatus::Claimed), None, 100)).await.unwrap();
    assert!(assigned <= 5 && load <= 5, "assigned {assigned}, load {load}");
    assert_eq!(
        (load, held.total_count, held.sessions.len() as u64),
        (assigned as u64, assigned as u64, assigned as u64)
    );
}

/// Away replies racing into one waiting session: one commits, marks the session, and
/// leaves the store waiting for a person; the others leave nothing.
async fn racing_away_replies_commit_once(store: Store) {
    let seen = waiting_session(&store, StoreProfile { id: StoreId(410), ..tech_store() }).await;
    let now = Timestamp::now();
    let reply = away_reply(AwayReason::NobodyTookIt, None, Language::English, now, false);
    let appends = (0..6).map(|_| async {
        let ids = store.reserve_message_ids(IdsFor::Session(seen.id)).await.unwrap();
        store.append_message(seen.id, AppendGuard::NotClosed, ids, reply.clone(), now, SendLimit::NONE).await.unwrap()
    });
    let outcomes = join_all(appends).await;
    let appended: Vec<_> = outcomes.iter().filter(|o| matches!(o, AppendOutcome::Appended(_))).collect();
    assert_eq!(appended.len(), 1, "{outcomes:?}");
    let session = store.session(seen.id).await.unwrap().unwrap();
    assert!(session.away_replied_at.is_some());
    assert_eq!(session.awaiting_reply_since, seen.awaiting_reply_since, "still waiting for a person");
    assert_eq!((session.admin_message_count, session.reply_count), (1, 0));
    let page = store.messages(seen.id, MessageWindow::After(MessageId(0)), 10).await.unwrap().unwrap();
    let automatic: Vec<_> = page.messages.iter().filter(|m| m.automatic).collect();
    assert_eq!((automatic.len(), automatic[0].sender_id), (1, 0));
    // The refused replies held nobody up: the store's next message commits after it.
    let ids = store.reserve_message_ids(IdsFor::Session(seen.id)).await.unwrap();
    let next = store
        .append_message(seen.id, AppendGuard::NotClosed, ids, text(SenderType::Store, "thanks"), now, SendLimit::NONE)
        .await;
    let AppendOutcome::Appended(next) = next.unwrap() else { panic!("not appended") };
    assert!(next.id > automatic[0].id);
}

/// Eight jobs racing to claim one digest, then the transcript and the on-call alert of a
/// session: each is claimed once; a digest covers an answer once, and the next waits for the
/// next quarter hour however many answers come.
async fn racing_email_claims_commit_once(store: Store) {
    let seen = waiting_session(&store, StoreProfile { id: StoreId(420), ..tech_store() }).await;
    let now = Timestamp::now();
    let window = digest_window(now);
    let digest = EmailClaim::Digest { up_to: MessageId(5), window };
    let claims = (0..8).map(|_| store.claim_email(&seen, digest.clone(), now));
    let written = join_all(claims).await.into_iter().filter(|o| matches!(o, Ok(WriteOutcome::Written(_)))).count();
    assert_eq!(written, 1);
    let session = store.session(seen.id).await.unwrap().unwrap();
    assert_eq!((session.emails.digested_up_to, session.emails.digested_at), (MessageId(5), Some(now)));
    // The same answers again, or later ones within the quarter hour: stale.
    let later = EmailClaim::Digest { up_to: MessageId(9), window };
    for claim in [digest, later] {
        assert!(matches!(store.claim_email(&session, claim, now).await.unwrap(), WriteOutcome::Stale(_)));
    }
    // The next quarter hour takes the later ones.
    let next = window.plus_seconds(DIGEST_WINDOW_SECONDS);
    let claim = EmailClaim::Digest { up_to: MessageId(9), window: next };
    let WriteOutcome::Written(session) = store.claim_email(&session, claim, next).await.unwrap() else {
        panic!("the next window's digest")
    };
    for kind in [EmailKind::OnCall, EmailKind::Transcript] {
        let claims = (0..8).map(|_| store.claim_email(&session, EmailClaim::Once(kind), now));
        let outcomes = join_all(claims).await;
        assert_eq!(outcomes.iter().filter(|o| matches!(o, Ok(WriteOutcome::Written(_)))).count(), 1, "{kind:?}");
    }
    let session = store.session(seen.id).await.unwrap().unwrap();
    assert!(session.emails.on_call_emailed_at.is_some() && session.emails.transcript_emailed_at.is_some());
    assert_eq!(session.emails.digested_up_to, MessageId(9));
}

/// The link key is made once, whoever asks first; unsubscribing is kept, per recipient.
async fn email_link_key_and_unsubscribes(store: Store) {
    assert_eq!(store.existing_email_link_key().await.unwrap(), None);
    let keys = join_all((0..6).map(|_| store.email_link_key())).await;
    let first = keys[0].as_ref().unwrap().clone();
    assert!(first.len() >= 32);
    assert!(keys.iter().all(|key| key.as_ref().unwrap() == &first), "one key");
    assert_eq!(store.existing_email_link_key().await.unwrap(), Some(first));
    let (five, six, admin) = (Recipient::Store(StoreId(5)), Recipient::Store(StoreId(6)), Recipient::Admin(AdminId(5)));
    assert_eq!(store.unsubscribed(&[five, six, admin]).await.unwrap(), [false, false, false]);
    store.unsubscribe(five, Timestamp::now()).await.unwrap();
    store.unsubscribe(five, Timestamp::now()).await.unwrap();
    store.unsubscribe(admin, Timestamp::now()).await.unwrap();
    assert_eq!(store.unsubscribed(&[six, five, admin, five]).await.unwrap(), [false, true, true, true]);
}

/// Racing assignments of one waiting session to eight admins, as racing sweeps and triggers
/// may choose: it is given once, to one of them, whose load alone rises.
async fn racing_assignments_give_a_session_once(store: Store) {
    let admins: Vec<AdminId> = (1..=8).map(AdminId).collect();
    for admin in &admins {
        store
            .put_admin(&AdminProfile { id: *admin, name: format!("Admin {admin}"), email: String::new() })
            .await
            .unwrap();
    }
    let seen = waiting_session(&store, StoreProfile { id: StoreId(400), ..tech_store() }).await;
    let now = Timestamp::now();
    let outcomes = join_all(admins.iter().map(|admin| store.assign(&seen, *admin, 5, now))).await;
    let given: Vec<AdminId> = outcomes
        .into_iter()
        .filter_map(|outcome| match outcome.unwrap() {
            Assignment::Assigned(session) => session.admin_id,
            Assignment::NotNow => None,
        })
        .collect();
    assert_eq!(given.len(), 1, "given to {given:?}");
    assert_eq!(store.session(seen.id).await.unwrap().unwrap().admin_id, Some(given[0]));
    let loads: Vec<(AdminId, u64)> =
        store.desks(now).await.unwrap().iter().map(|state| (state.desk.admin_id, state.load)).collect();
    assert_eq!(loads.iter().map(|(_, load)| load).sum::<u64>(), 1, "{loads:?}");
    assert!(loads.contains(&(given[0], 1)), "{loads:?}");
}

/// A session's whole life, written at times counted from `start`: opened by the store's
/// first message, assigned, answered, tagged, read, transferred, closed and rated; and a
/// second opened empty, claimed and closed by its admin.
async fn live_two_sessions(store: &Store, start: Timestamp) -> (SessionId, SessionId) {
    let at = |second: i64| start.plus_seconds(second);
    for (id, name) in [(SARAH, "Sarah"), (OMAR, "Omar")] {
        store.put_admin(&AdminProfile { id, name: name.into(), email: String::new() }).await.unwrap();
    }
    store.put_store(&tech_store()).await.unwrap();
    let ids = store.reserve_message_ids(IdsFor::ActiveSessionOf(TECH_STORE)).await.unwrap();
    let Opening::Opened { session, .. } = store
        .open_with_message(TECH_STORE, ids, text(SenderType::Store, "My order is late"), at(1), SendLimit::NONE)
        .await
        .unwrap()
    else {
        panic!("not opened")
    };
    let Assignment::Assigned(assigned) = store.assign(&session, SARAH, 5, at(2)).await.unwrap() else {
        panic!("not assigned")
    };
    let ids = store.reserve_message_ids(IdsFor::Session(session.id)).await.unwrap();
    let guard = AppendGuard::Seen(&assigned);
    let answer = text(SenderType::Admin, "Let me look");
    assert!(matches!(
        store.append_message(session.id, guard, ids, answer, at(3), SendLimit::NONE).await.unwrap(),
        AppendOutcome::Appended(_)
    ));
    let written = |outcome: WriteOutcome| match outcome {
        WriteOutcome::Written(session) => session,
        other => panic!("not written: {other:?}"),
    };
    let current = store.session(session.id).await.unwrap().unwrap();
    written(store.set_tags(&current, vec!["shipping".into()], at(4)).await.unwrap());
    store.mark_receipt(session.id, SenderType::Store, ReceiptKind::Read, MessageId(u64::MAX), at(5)).await.unwrap();
    let current = store.session(session.id).await.unwrap().unwrap();
    written(store.change_lifecycle(&current, SessionStatus::Claimed, Some(OMAR), at(6)).await.unwrap());
    store.close_active_session(TECH_STORE, at(7)).await.unwrap().unwrap();
    let closed = store.session(session.id).await.unwrap().unwrap();
    written(store.rate_session(&closed, 5, Some("quick".into()), at(8)).await.unwrap());

    let empty = store.get_or_create_active_session(TECH_STORE, 0, at(9)).await.unwrap().unwrap().session;
    let claimed = written(store.change_lifecycle(&empty, SessionStatus::Claimed, Some(SARAH), at(10)).await.unwrap());
    written(store.change_lifecycle(&claimed, SessionStatus::Closed, Some(SARAH), at(11)).await.unwrap());
    (session.id, empty.id)
}

/// The events a change feed tells, by session, each session's in the feed's order.
fn told_by_session(changes: &[ChangeRecord]) -> BTreeMap<SessionId, Vec<serde_json::Value>> {
    let mut told: BTreeMap<SessionId, Vec<serde_json::Value>> = BTreeMap::new();
    for event in changes.iter().flat_map(|record| events_of(&record.change)) {
        told.entry(event.session_id).or_default().push(serde_json::to_value(&event).unwrap());
    }
    told
}

/// The embedded store's change feed tells what DynamoDB's stream tells: the same lives,
/// written to both at the same times, read back as the same events, in the same order.
#[tokio::test(flavor = "multi_thread")]
async fn both_stores_feed_the_same_changes() {
    let memory = Arc::new(MemoryStore::new());
    let table = fresh_table().await;
    let dynamodb: Store = Arc::new(DynamoStore::new(patient_client(&e2e::stack::dynamodb().endpoint()), &table));
    let start = Timestamp::now();
    let sessions = live_two_sessions(&(memory.clone() as Store), start).await;
    assert_eq!(live_two_sessions(&dynamodb, start).await, sessions);

    let fed = memory.changes_after(None, usize::MAX);
    let streamed = dynamodb_changes(&table).await;
    let (from_memory, from_dynamodb) = (told_by_session(&fed), told_by_session(&streamed));
    let kinds = |events: &[serde_json::Value]| {
        events.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&from_memory[&sessions.0]),
        [
            "session.created",
            "message.created",
            "session.assigned",
            "message.created",
            "session.tagged",
            "session.transferred",
            "session.closed",
            "session.rated"
        ]
    );
    assert_eq!(kinds(&from_memory[&sessions.1]), ["session.created", "session.claimed", "session.closed"]);
    assert_eq!(from_memory, from_dynamodb);

    // The feed's numbers rise, and it is read on from any of them, a page at a time.
    let numbers: Vec<u64> = fed.iter().map(|r| r.sequence_number.parse().unwrap()).collect();
    assert!(numbers.is_sorted() && numbers.len() == fed.len());
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = memory.changes_after(after.as_deref(), 3);
        let Some(last) = page.last() else { break };
        after = Some(last.sequence_number.clone());
        paged.extend(page);
    }
    assert_eq!(paged, fed);
}

/// Subscriptions up to a limit, oldest first; a delivery log read entry by entry and newest
/// event first, a page at a time; dead deliveries kept, oldest first, and forgotten.
async fn webhooks_their_logs_and_dead_deliveries(store: Store) {
    use shared::domain::{DeliveryRecord, DeliveryStatus, QueuedDelivery, Subscription, Webhook, WebhookSecret};
    let subscription = |n: i64| Subscription {
        webhook: Webhook {
            id: shared::domain::new_webhook_id(),
            url: format!("https://hooks.example.com/{n}"),
            event_types: vec!["*".into()],
            created_at: Timestamp::now().plus_seconds(n),
        },
        secret: WebhookSecret::generate(),
    };
    let (first, second) = (subscription(1), subscription(2));
    assert!(store.add_webhook(&second, 2).await.unwrap());
    assert!(store.add_webhook(&first, 2).await.unwrap());
    assert!(!store.add_webhook(&subscription(3), 2).await.unwrap(), "two at most");
    let ids = |subscriptions: Vec<Subscription>| subscriptions.into_iter().map(|s| s.webhook.id).collect::<Vec<_>>();
    assert_eq!(ids(store.webhooks().await.unwrap()), [first.webhook.id.clone(), second.webhook.id.clone()]);
    assert_eq!(store.webhook(&first.webhook.id).await.unwrap(), Some(first.clone()));

    let hook = first.webhook.id.as_str();
    let delivery = |sequence: u64| QueuedDelivery {
        webhook_id: hook.to_owned(),
        event_id: format!("message-{sequence}"),
        event_type: "message.created".into(),
        session_id: SessionId(1),
        sequence: sequence.to_string(),
        payload: "{}".into(),
        replays: 0,
    };
    let now = Timestamp::now();
    // Sequence numbers compare as numbers: 9 before 10.
    for sequence in [9, 10, 11] {
        let record = DeliveryRecord::of(&delivery(sequence), DeliveryStatus::Retrying, 1, now);
        store.record_delivery(&record, now).await.unwrap();
    }
    let delivered = DeliveryRecord::of(&delivery(10), DeliveryStatus::Delivered, 2, now);
    store.record_delivery(&delivered, now).await.unwrap();
    assert_eq!(store.delivery(hook, "10", "message-10").await.unwrap(), Some(delivered));
    assert_eq!(store.delivery(hook, "12", "message-12").await.unwrap(), None);
    let page = store.deliveries(hook, None, 2).await.unwrap();
    let events = |records: &[DeliveryRecord]| records.iter().map(|r| r.event_id.clone()).collect::<Vec<_>>();
    assert_eq!(events(&page.deliveries), ["message-11", "message-10"]);
    let rest = store.deliveries(hook, page.next.as_deref(), 2).await.unwrap();
    assert_eq!((events(&rest.deliveries), rest.next), (vec!["message-9".to_owned()], None));
    assert!(store.deliveries(&second.webhook.id, None, 2).await.unwrap().deliveries.is_empty());

    for sequence in [11, 9] {
        store.keep_dead(&delivery(sequence), now).await.unwrap();
    }
    assert_eq!(store.dead_deliveries(hook, 10).await.unwrap(), [delivery(9), delivery(11)]);
    store.forget_dead(&delivery(9)).await.unwrap();
    assert_eq!(store.dead_deliveries(hook, 10).await.unwrap(), [delivery(11)]);

    assert!(store.delete_webhook(hook).await.unwrap());
    assert!(!store.delete_webhook(hook).await.unwrap());
    assert_eq!(ids(store.webhooks().await.unwrap()), [second.webhook.id]);
}

/// Revises `message` (as read) with `revision`, decided as of `now`.
async fn revise(
    store: &Store,
    session: &Session,
    message: &Message,
    revision: Revision,
    now: Timestamp,
) -> RevisionOutcome {
    let by = Principal::Store(TECH_STORE);
    let decided = decide_revision(message, by, revision, now, WINDOW_SECONDS).expect("within the window");
    store.revise_message(session, message, &decided).await.unwrap()
}

const WINDOW_SECONDS: u64 = 900;

fn edit(content: &str) -> Revision {
    Revision::Edit { content: content.into() }
}

/// Edits and deletes are decided by their conditions: of racing revisions decided on one
/// version, one commits; a delete ends all editing; the window's end is the writer's; the
/// trail keeps each version; the session's copy of its last message follows.
async fn revisions_race_by_their_conditions(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    let first = appended(&store, &session, text(SenderType::Store, "helo")).await;
    let last = appended(&store, &session, text(SenderType::Store, "my ordr")).await;
    let session = store.session(session.id).await.unwrap().unwrap();
    let now = Timestamp::now();

    // Eight edits decided on the same version: one commits, the others find version 1.
    let edits = (0..8).map(|i| revise(&store, &session, &last, edit(&format!("my order {i}")), now));
    let outcomes = join_all(edits).await;
    let revised: Vec<&Message> =
        outcomes.iter().filter_map(|o| if let RevisionOutcome::Revised(m) = o { Some(m) } else { None }).collect();
    assert_eq!(revised.len(), 1, "{outcomes:?}");
    for outcome in &outcomes {
        if let RevisionOutcome::Refused(current) = outcome {
            assert_eq!(current, revised[0], "refused with the message as it is");
        }
    }
    let edited = store.message(session.id, last.id).await.unwrap().unwrap();
    assert_eq!((&edited, edited.version), (revised[0], 1));
    assert_eq!(store.session(session.id).await.unwrap().unwrap().last_message.as_ref(), Some(&edited));

    // An edit racing a delete, both on version 1: one commits; a delete is final.
    let (edit_outcome, delete_outcome) = tokio::join!(
        revise(&store, &session, &edited, edit("my order, please"), now),
        revise(&store, &session, &edited, Revision::Delete, now)
    );
    let committed =
        [&edit_outcome, &delete_outcome].iter().filter(|o| matches!(o, RevisionOutcome::Revised(_))).count();
    assert_eq!(committed, 1, "{edit_outcome:?} {delete_outcome:?}");
    let current = store.message(session.id, last.id).await.unwrap().unwrap();
    if current.is_deleted() {
        assert!(current.content.is_empty() && current.deleted_at.is_some());
        let again = decide_revision(&current, Principal::Store(TECH_STORE), edit("back"), now, WINDOW_SECONDS);
        assert_eq!(again, Err(RevisionDenied::Deleted));
    }
    assert_eq!(store.session(session.id).await.unwrap().unwrap().last_message.as_ref(), Some(&current));

    // The window's end: decided at its last moment, it commits; a revision whose window
    // started after the message was sent does not, whenever storage gets to it.
    let at_the_end = first.created.plus_seconds(WINDOW_SECONDS as i64);
    let RevisionOutcome::Revised(fixed) = revise(&store, &session, &first, edit("hello"), at_the_end).await else {
        panic!("an edit at the window's last moment commits")
    };
    let mut late =
        decide_revision(&fixed, Principal::Store(TECH_STORE), edit("hello!"), at_the_end, WINDOW_SECONDS).unwrap();
    late.condition.sent_at_or_after = fixed.created.plus_millis(1);
    assert_eq!(store.revise_message(&session, &fixed, &late).await.unwrap(), RevisionOutcome::Refused(fixed.clone()));
    // An earlier message's edit leaves the session's last message as it was.
    assert_eq!(store.session(session.id).await.unwrap().unwrap().last_message.as_ref(), Some(&current));

    // The trail: each change, oldest first, with what the message said before it.
    let trail = store.revisions(session.id, last.id).await.unwrap();
    let said: Vec<(u32, RevisionAction, &str)> =
        trail.iter().map(|r| (r.version, r.action, r.previous_content.as_str())).collect();
    assert_eq!(said[0], (1, RevisionAction::Edited, "my ordr"));
    assert_eq!(said.len(), 2);
    assert_eq!((said[1].0, said[1].2), (2, edited.content.as_str()));
    let trail = store.revisions(session.id, first.id).await.unwrap();
    assert_eq!(trail.iter().map(|r| r.previous_content.as_str()).collect::<Vec<_>>(), ["helo"]);
    // Read back through every view the same.
    let page = store.messages(session.id, MessageWindow::After(MessageId(0)), 10).await.unwrap().unwrap();
    assert_eq!(page.messages, [fixed, current]);
}

/// Notes are kept apart from the messages: none is in a session's page, its messages, its
/// counts or its last message; they come back newest last, numbered apart.
async fn notes_stay_apart_from_the_messages(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = open_session(&store).await;
    appended(&store, &session, text(SenderType::Store, "hello")).await;
    let before = store.session_page(session.id, 200).await.unwrap().unwrap();
    let mut written = Vec::new();
    for i in 0..3 {
        written.push(store.add_note(session.id, SARAH, format!("note {i}"), Timestamp::now()).await.unwrap());
    }
    assert!(written.windows(2).all(|pair| pair[0].id < pair[1].id), "{written:?}");
    assert_eq!(store.notes(session.id, 200).await.unwrap(), (written.clone(), false));
    assert_eq!(store.notes(session.id, 2).await.unwrap(), (written[1..].to_vec(), true));
    assert_eq!(store.notes(SessionId(999_999), 200).await.unwrap(), (Vec::new(), false));
    let after = store.session_page(session.id, 200).await.unwrap().unwrap();
    assert_eq!(after, before, "the session and its messages are as they were");
    let latest = store.latest_session(TECH_STORE, 200).await.unwrap().unwrap();
    assert_eq!(latest.messages, before.messages);
}

/// Saved replies: the team's and each admin's own, replaced by shortcut, at most
/// [`MAX_SAVED_REPLIES`] a scope, racing creates included.
async fn saved_replies_by_scope_within_their_limit(store: Store) {
    let reply = |scope, shortcut: &str, content: &str| SavedReply {
        shortcut: shortcut.into(),
        content: content.into(),
        scope,
        updated: Timestamp::now(),
        updated_by: SARAH,
    };
    let (team, sarahs, omars) = (ReplyScope::Team, ReplyScope::Personal(SARAH), ReplyScope::Personal(OMAR));
    assert_eq!(store.save_reply(reply(team, "hi", "Hello {store_name}")).await.unwrap(), SaveOutcome::Created);
    assert_eq!(store.save_reply(reply(team, "hi", "Hi {store_name}")).await.unwrap(), SaveOutcome::Replaced);
    assert_eq!(store.save_reply(reply(sarahs, "hi", "Sarah here")).await.unwrap(), SaveOutcome::Created);
    assert_eq!(store.save_reply(reply(omars, "bye", "Omar out")).await.unwrap(), SaveOutcome::Created);
    let listed = |replies: Vec<SavedReply>| -> Vec<(String, String)> {
        replies.into_iter().map(|r| (r.shortcut, r.content)).collect()
    };
    let sarah_sees = listed(store.saved_replies(SARAH).await.unwrap());
    assert_eq!(sarah_sees.len(), 2);
    assert!(sarah_sees.contains(&("hi".into(), "Hi {store_name}".into())), "{sarah_sees:?}");
    assert!(sarah_sees.contains(&("hi".into(), "Sarah here".into())), "{sarah_sees:?}");
    assert_eq!(
        listed(store.saved_replies(OMAR).await.unwrap()),
        [("bye".to_owned(), "Omar out".to_owned()), ("hi".to_owned(), "Hi {store_name}".to_owned())]
    );
    assert!(store.delete_reply(sarahs, "hi").await.unwrap());
    assert!(!store.delete_reply(sarahs, "hi").await.unwrap());
    assert!(!store.delete_reply(omars, "hi").await.unwrap(), "the team's is not Omar's own");

    // Up to the limit less one, then racing creates: one fits.
    for i in 1..MAX_SAVED_REPLIES - 1 {
        let created = store.save_reply(reply(team, &format!("r{i}"), "text")).await.unwrap();
        assert_eq!(created, SaveOutcome::Created);
    }
    let racing = (0..6).map(|i| store.save_reply(reply(team, &format!("race{i}"), "text")));
    let outcomes: Vec<SaveOutcome> = join_all(racing).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == SaveOutcome::Created).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == SaveOutcome::Full).count(), 5, "{outcomes:?}");
    assert_eq!(store.save_reply(reply(team, "hi", "still editable")).await.unwrap(), SaveOutcome::Replaced);
    // A delete makes room.
    assert!(store.delete_reply(team, "r1").await.unwrap());
    assert_eq!(store.save_reply(reply(team, "r1", "again")).await.unwrap(), SaveOutcome::Created);
    let team_count = store.saved_replies(OMAR).await.unwrap().iter().filter(|r| r.scope == team).count();
    assert_eq!(team_count as u64, MAX_SAVED_REPLIES);
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
    no_two_messages_anywhere_share_an_id,
    a_send_on_a_pointer_read_before_a_transfer_is_refused,
    messages_after_pages,
    messages_before_pages,
    a_client_message_id_is_stored_once,
    a_client_message_id_is_per_sender,
    an_upload_is_attached_to_one_message,
    nothing_is_dated_before_the_last_message,
    writes_are_conditional_on_the_lifecycle_seen,
    twenty_concurrent_claims_have_one_winner,
    closing_frees_the_stores_active_slot,
    a_late_id_is_replaced_by_a_fresh_one,
    connections_are_found_by_whose_they_are,
    a_revoked_token_gets_no_connection,
    expired_connections_are_found_by_their_expiry,
    response_times_are_kept_by_the_writes,
    a_store_closes_its_active_session_from_the_pointer,
    a_store_cannot_send_into_a_closed_session,
    receipts_are_watermarks_with_exact_read_counts,
    tags_and_ratings,
    replacing_tags_moves_their_counts,
    an_offset_past_every_session_is_an_empty_page,
    admins_list_the_open_queue_and_their_own_sessions,
    the_latest_session_is_the_active_one_or_else_the_last_closed,
    the_waiting_queue_is_in_order_of_first_message,
    admins_have_desks_with_presence_and_capacity,
    an_assignment_is_conditional_on_the_session_capacity_and_availability,
    racing_assignments_never_exceed_capacity,
    racing_assignments_give_a_session_once,
    racing_away_replies_commit_once,
    racing_email_claims_commit_once,
    email_link_key_and_unsubscribes,
    webhooks_their_logs_and_dead_deliveries,
    revisions_race_by_their_conditions,
    a_stores_sessions_newest_first,
    notes_stay_apart_from_the_messages,
    saved_replies_by_scope_within_their_limit,
    sends_are_limited_per_sender_and_minute,
    closed_sessions_expire_by_their_last_activity,
    report_figures_count_each_change_once,
);

/// Figure changes written in racing batches, each batch twice at once, then a batch given
/// again with one new change in it: each change is counted once, exactly; a read covers the
/// days asked for, and counts what waits now; a write takes at most one transaction's worth.
async fn report_figures_count_each_change_once(store: Store) {
    use shared::domain::{Durations, FigureChange, Tallies, Tally, TallyKey};
    use shared::storage::FIGURE_CHANGES_PER_WRITE;
    let (today, tomorrow): (jiff::civil::Date, jiff::civil::Date) =
        ("2026-12-04".parse().unwrap(), "2026-12-05".parse().unwrap());
    let change = |n: u64| {
        let day = if n < 40 { today } else { tomorrow };
        let answered = Tally { team_messages: 1, first_response: Durations::of(n * 7_000), ..Tally::default() };
        FigureChange {
            id: format!("message-1-{n}"),
            tallies: vec![
                (TallyKey::Admin(day, AdminId(100 + n % 3)), answered.clone()),
                (TallyKey::Team(day), Tally { ratings: [0, 0, 0, 0, n % 2], ..answered }),
            ],
        }
    };
    let changes: Vec<FigureChange> = (0..60).map(change).collect();
    let writes = changes.chunks(12).flat_map(|chunk| [chunk.to_vec(), chunk.to_vec()]).map(|chunk| {
        let store = store.clone();
        async move { store.record_figures(&chunk).await.unwrap() }
    });
    assert_eq!(join_all(writes).await.into_iter().sum::<usize>(), 60, "each change once");
    let again: Vec<FigureChange> = changes[..10].iter().cloned().chain([change(60)]).collect();
    assert_eq!(store.record_figures(&again).await.unwrap(), 1, "only the new one");

    let mut expected = Tallies::default();
    (0..=60).map(change).for_each(|change| expected.record(&change));
    assert_eq!(store.tallies(today, tomorrow).await.unwrap(), expected);
    let only_today = store.tallies(today, today).await.unwrap();
    assert!(only_today.by_key.keys().all(|key| key.day() == today));
    assert_eq!(only_today.by_key.len(), 4, "the team's day and three admins'");
    assert_eq!(only_today.waiting, 0);
    waiting_session(&store, tech_store()).await;
    assert_eq!(store.tallies(today, today).await.unwrap().waiting, 1, "what waits now, whatever the days");
    let too_many = vec![change(99); FIGURE_CHANGES_PER_WRITE + 1];
    assert!(store.record_figures(&too_many).await.is_err());
}

/// A sender's sends into one session within a minute, racing: exactly the limit commit,
/// the rest are told when the minute is over; the other party's count is its own, and the
/// next minute opens again.
async fn sends_are_limited_per_sender_and_minute(store: Store) {
    let store = store_with_tech_store(store).await;
    let session = store.get_or_create_active_session(TECH_STORE, 0, Timestamp::now()).await.unwrap().unwrap().session;
    // Ten seconds into a minute an hour from now: every send is dated then.
    let minute = Timestamp::now().unix_millis() / 60_000 + 60;
    let t0 = Timestamp::from_unix_millis(minute * 60_000 + 10_000).unwrap();
    let limit = SendLimit(5);
    let send_as = |message: NewMessage, at: Timestamp| {
        let store = store.clone();
        async move {
            let ids = store.reserve_message_ids(IdsFor::Session(session.id)).await.unwrap();
            store.append_message(session.id, AppendGuard::NotClosed, ids, message, at, limit).await.unwrap()
        }
    };
    let send = |sender: SenderType, at: Timestamp| send_as(text(sender, "m"), at);
    let keyed = NewMessage { client_message_id: Some("first".into()), ..text(SenderType::Store, "first") };
    let AppendOutcome::Appended(first) = send_as(keyed.clone(), t0).await else { panic!("the first send") };
    let outcomes = join_all((0..20).map(|_| send(SenderType::Store, t0))).await;
    let accepted = outcomes.iter().filter(|o| matches!(o, AppendOutcome::Appended(_))).count();
    let refused: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            AppendOutcome::TooMany(too_many) => Some(too_many.retry_after_seconds),
            _ => None,
        })
        .collect();
    assert_eq!((accepted, refused.len()), (4, 16), "{outcomes:?}");
    assert!(refused.iter().all(|seconds| *seconds == 50), "{refused:?}");
    // A repeat of a send that went through gets its original, whatever the count.
    assert_eq!(send_as(keyed, t0).await, AppendOutcome::Duplicate(first));
    assert!(matches!(send(SenderType::Admin, t0).await, AppendOutcome::Appended(_)), "the admin's count is its own");
    assert!(matches!(send(SenderType::Store, t0.plus_seconds(49)).await, AppendOutcome::TooMany(_)));
    assert!(matches!(send(SenderType::Store, t0.plus_seconds(50)).await, AppendOutcome::Appended(_)));
    let current = store.session(session.id).await.unwrap().unwrap();
    assert_eq!((current.store_message_count, current.admin_message_count), (6, 1));
    assert_eq!((current.store_sends.minute, current.store_sends.count), (minute + 1, 1));
}

/// Closed sessions are found for expiry by their last activity, oldest first, and only
/// closed ones; erased, one is found no more.
async fn closed_sessions_expire_by_their_last_activity(store: Store) {
    let now = Timestamp::now();
    let days_ago = |days: i64| now.plus_seconds(-days * 86_400);
    let mut opened = Vec::new();
    for (id, days, close) in [(5, 10, true), (6, 10, false), (7, 1, true), (8, 12, true)] {
        let profile = StoreProfile { id: StoreId(id), ..tech_store() };
        store.put_store(&profile).await.unwrap();
        let ids = store.reserve_message_ids(IdsFor::ActiveSessionOf(StoreId(id))).await.unwrap();
        let message = text(SenderType::Store, "hello");
        let outcome = store.open_with_message(StoreId(id), ids, message, days_ago(days), SendLimit::NONE).await;
        let Ok(Opening::Opened { session, .. }) = outcome else { panic!("{outcome:?}") };
        if close {
            // Sarah's, so that her closed list counts it.
            let claimed = store.change_lifecycle(&session, SessionStatus::Claimed, Some(SARAH), days_ago(days)).await;
            assert!(matches!(claimed, Ok(WriteOutcome::Written(_))), "{claimed:?}");
            store.close_active_session(StoreId(id), days_ago(days)).await.unwrap().unwrap();
        }
        opened.push(session.id);
    }
    let expired = store.expired_sessions(days_ago(5), 10).await.unwrap();
    assert_eq!(expired, [opened[3], opened[0]], "closed before the cut, oldest first");
    assert_eq!(store.expired_sessions(days_ago(5), 1).await.unwrap(), [opened[3]]);
    let counts = async || {
        let mut counts = Vec::new();
        for status in [SessionStatus::Open, SessionStatus::Closed] {
            let listed = store.list_sessions(&query(SARAH, Some(status), None, 10)).await.unwrap();
            counts.push((listed.sessions.len() as u64, listed.total_count));
        }
        counts
    };
    assert_eq!(counts().await, [(1, 1), (3, 3)]);
    assert_eq!(store.erase_session(opened[3]).await.unwrap(), Some(1));
    assert_eq!(store.erase_session(opened[3]).await.unwrap(), None, "a repeat does nothing");
    assert_eq!(counts().await, [(1, 1), (2, 2)], "the closed list and its count lost it, once");
    assert_eq!(store.expired_sessions(days_ago(5), 10).await.unwrap(), [opened[0]]);
    assert!(store.session(opened[3]).await.unwrap().is_none());
}

/// What the embedded store cannot show: two processes (the store's send function and the
/// admin's, in AWS) writing one session by turns. As the use cases do, the admin's side reads
/// the session beside its place in the session's order; the store's, its pointer. Ids rise
/// in commit order, none is skipped, and every send commits at its first try.
#[tokio::test]
async fn dynamodb_two_processes_taking_turns_propose_the_right_ids() {
    use shared::storage::{DynamoStore, IdentityStore, SessionStore};
    let table = e2e::stack::fresh_table().await;
    let endpoint = e2e::stack::dynamodb().endpoint();
    let (stores, admins) = (
        DynamoStore::new(e2e::stack::patient_client(&endpoint), &table),
        DynamoStore::new(e2e::stack::patient_client(&endpoint), &table),
    );
    stores.put_store(&tech_store()).await.unwrap();
    let session = stores.get_or_create_active_session(TECH_STORE, 0, Timestamp::now()).await.unwrap().unwrap();
    let session = session.session;
    let (mut sent, mut transactions) = (Vec::new(), 0);
    for i in 0..40 {
        let sender = if i % 2 == 0 { SenderType::Store } else { SenderType::Admin };
        let send = async {
            let message = text(sender, &format!("m{i}"));
            match sender {
                SenderType::Store => {
                    let (_, ids) = tokio::join!(
                        stores.active_session(TECH_STORE),
                        stores.reserve_message_ids(IdsFor::ActiveSessionOf(TECH_STORE))
                    );
                    let guard = AppendGuard::NotClosed;
                    stores
                        .append_message(session.id, guard, ids.unwrap(), message, Timestamp::now(), SendLimit::NONE)
                        .await
                        .unwrap()
                }
                SenderType::Admin => {
                    let (seen, ids) = tokio::join!(
                        admins.session(session.id),
                        admins.reserve_message_ids(IdsFor::Session(session.id))
                    );
                    let seen = seen.unwrap().unwrap();
                    let guard = AppendGuard::Seen(&seen);
                    admins
                        .append_message(session.id, guard, ids.unwrap(), message, Timestamp::now(), SendLimit::NONE)
                        .await
                        .unwrap()
                }
            }
        };
        let (outcome, calls) = shared::telemetry::count_calls(send).await;
        let AppendOutcome::Appended(message) = outcome else { panic!("send {i}: {outcome:?}") };
        transactions += calls.transaction_attempts.load(std::sync::atomic::Ordering::Relaxed);
        sent.push(message.id);
    }
    assert_eq!(transactions, 40, "every send committed at its first try");
    assert!(sent.windows(2).all(|w| w[0].next() == w[1]), "ids follow each other in commit order: {sent:?}");
    let stored = stores.messages(session.id, MessageWindow::After(MessageId(0)), 200).await.unwrap().unwrap();
    assert_eq!(stored.messages.iter().map(|m| m.id).collect::<Vec<_>>(), sent);
}

/// Four processes (as many instances of the send functions) on a new table, and the tech
/// store's open session there.
async fn four_processes_on_one_session() -> (Vec<DynamoStore>, SessionId) {
    use shared::storage::{IdentityStore, SessionStore};
    let table = e2e::stack::fresh_table().await;
    let endpoint = e2e::stack::dynamodb().endpoint();
    let processes: Vec<DynamoStore> =
        (0..4).map(|_| DynamoStore::new(e2e::stack::patient_client(&endpoint), &table)).collect();
    processes[0].put_store(&tech_store()).await.unwrap();
    let session = processes[0].get_or_create_active_session(TECH_STORE, 0, Timestamp::now()).await.unwrap().unwrap();
    (processes, session.session.id)
}

/// Sends racing into one session from four processes, two at a time each (what four
/// instances of the send functions do in a burst): every one commits, in the order of the
/// places they took, so ids and dates rise together and no id is skipped.
#[tokio::test]
async fn dynamodb_processes_racing_into_one_session_all_commit() {
    use shared::storage::SessionStore;
    let (processes, session) = four_processes_on_one_session().await;
    let sends = (0..20).flat_map(|i| processes.iter().enumerate().map(move |(p, process)| (p, process, i)));
    let sends = sends.map(|(p, process, i)| async move {
        let message = text(SenderType::Store, &format!("m{}", p * 100 + i));
        let ids = process.reserve_message_ids(IdsFor::Session(session)).await.unwrap();
        process.append_message(session, AppendGuard::NotClosed, ids, message, Timestamp::now(), SendLimit::NONE).await
    });
    let outcomes = futures::stream::iter(sends).buffer_unordered(8).collect::<Vec<_>>().await;
    for outcome in &outcomes {
        assert!(matches!(outcome, Ok(AppendOutcome::Appended(_))), "{outcome:?}");
    }
    let stored =
        processes[1].messages(session, MessageWindow::After(MessageId(0)), 200).await.unwrap().unwrap().messages;
    assert_eq!(stored.len(), 80);
    assert!(stored.windows(2).all(|w| w[0].id.next() == w[1].id && w[0].created <= w[1].created));
}

/// Sends by one store racing into one session from four processes past the limit: the
/// count moves in each send's own write, so exactly the limit commit whatever each
/// process last knew of it.
#[tokio::test]
async fn dynamodb_processes_racing_past_the_send_limit_commit_exactly_the_limit() {
    use shared::storage::SessionStore;
    let (processes, session) = four_processes_on_one_session().await;
    let minute = Timestamp::now().unix_millis() / 60_000 + 60;
    let t0 = Timestamp::from_unix_millis(minute * 60_000).unwrap();
    // Each process first learns the count of the minute before: its guesses start wrong.
    for (i, process) in processes.iter().enumerate() {
        let ids = process.reserve_message_ids(IdsFor::Session(session)).await.unwrap();
        let earlier = t0.plus_seconds(-60 + i as i64);
        let outcome = process
            .append_message(
                session,
                AppendGuard::NotClosed,
                ids,
                text(SenderType::Store, "warm"),
                earlier,
                SendLimit(7),
            )
            .await;
        assert!(matches!(outcome, Ok(AppendOutcome::Appended(_))), "{outcome:?}");
    }
    let sends = (0..5).flat_map(|i| processes.iter().map(move |process| (process, i)));
    let sends = sends.map(|(process, i)| async move {
        let ids = process.reserve_message_ids(IdsFor::Session(session)).await.unwrap();
        let message = text(SenderType::Store, &format!("m{i}"));
        process.append_message(session, AppendGuard::NotClosed, ids, message, t0.plus_seconds(i), SendLimit(7)).await
    });
    let outcomes = futures::stream::iter(sends).buffer_unordered(20).collect::<Vec<_>>().await;
    let accepted = outcomes.iter().filter(|o| matches!(o, Ok(AppendOutcome::Appended(_)))).count();
    let refused = outcomes.iter().filter(|o| matches!(o, Ok(AppendOutcome::TooMany(_)))).count();
    assert_eq!((accepted, refused), (7, 13), "{outcomes:?}");
    let current = processes[0].session(session).await.unwrap().unwrap();
    assert_eq!((current.store_message_count, current.store_sends.count), (4 + 7, 7));
}

/// What the embedded store cannot show: four processes (instances of the reports' function,
/// one per shard, or one retried while another reads on) recording overlapping batches of the
/// same day's changes at once. Each change is counted once, exactly, whichever won.
#[tokio::test]
async fn dynamodb_processes_racing_to_record_figures_count_each_change_once() {
    use shared::domain::{FigureChange, Tallies, Tally, TallyKey};
    use shared::storage::ReportStore;
    let table = e2e::stack::fresh_table().await;
    let endpoint = e2e::stack::dynamodb().endpoint();
    let processes: Vec<DynamoStore> =
        (0..4).map(|_| DynamoStore::new(e2e::stack::patient_client(&endpoint), &table)).collect();
    let today: jiff::civil::Date = "2026-12-04".parse().unwrap();
    let change = |n: u64| FigureChange {
        id: format!("message-9-{n}"),
        tallies: vec![
            (TallyKey::Team(today), Tally { team_messages: 1, ..Tally::default() }),
            (TallyKey::Admin(today, AdminId(100 + n % 2)), Tally { team_messages: 1, ..Tally::default() }),
        ],
    };
    let changes: Vec<FigureChange> = (0..48).map(change).collect();
    // Each process records every batch, in its own order: every change is offered four times.
    let runs = processes.iter().enumerate().map(|(p, process)| {
        let mut batches: Vec<&[FigureChange]> = changes.chunks(12).collect();
        batches.rotate_left(p);
        async move {
            let mut recorded = 0;
            for batch in batches {
                recorded += process.record_figures(batch).await.unwrap();
            }
            recorded
        }
    });
    assert_eq!(join_all(runs).await.into_iter().sum::<usize>(), 48, "each change recorded by one process");
    let mut expected = Tallies::default();
    changes.iter().for_each(|change| expected.record(change));
    assert_eq!(processes[0].tallies(today, today).await.unwrap(), expected);
}
