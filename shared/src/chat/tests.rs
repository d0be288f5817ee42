//! The use cases in process: the embedded store and a push that records what would have
//! gone out, no gateway and no binaries.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::*;
use crate::config::Config;
use crate::domain::input::MessageInput;
use crate::domain::{AdminId, AdminProfile, Connection, LifecycleAction, StoreId, StoreProfile, TokenHash};
use crate::live::{Push, PushError, TypingState};
use crate::storage::{ChatStore, ConnectionStore, IdentityStore, MemoryStore};
use crate::{App, Timestamp};

pub(super) const STORE: StoreId = StoreId(5);
pub(super) const SARAH: AdminId = AdminId(2);
pub(super) const OMAR: AdminId = AdminId(3);

/// What would have gone out: each post as (connection, event), and each closed connection.
#[derive(Default)]
pub(super) struct Recorder {
    posts: Mutex<Vec<(String, Value)>>,
    pub(super) closed: Mutex<Vec<String>>,
    /// A connection made (in this store) as the next post goes out.
    connects_at_next_post: Mutex<Option<(Arc<dyn ChatStore>, Connection)>>,
}

impl Recorder {
    /// The events posted to `connection` since the last call, in order.
    fn take(&self, connection: &str) -> Vec<Value> {
        let mut posts = self.posts.lock().unwrap();
        let (theirs, rest) = posts.drain(..).partition(|(to, _)| to == connection);
        *posts = rest;
        theirs.into_iter().map(|(_, event)| event).collect()
    }

    /// The `type`s of [`Self::take`].
    fn kinds(&self, connection: &str) -> Vec<String> {
        self.take(connection).iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
    }
}

#[async_trait]
impl Push for Recorder {
    async fn post(&self, connection_id: &str, data: &[u8]) -> Result<(), PushError> {
        let connects = self.connects_at_next_post.lock().unwrap().take();
        if let Some((store, connection)) = connects {
            assert!(store.open_connection(&connection).await.unwrap(), "its token stands");
        }
        let event = serde_json::from_slice(data).expect("events are JSON");
        self.posts.lock().unwrap().push((connection_id.to_owned(), event));
        Ok(())
    }

    async fn disconnect(&self, connection_id: &str) -> Result<(), PushError> {
        self.closed.lock().unwrap().push(connection_id.to_owned());
        Ok(())
    }
}

pub(super) fn app_over(store: &Arc<MemoryStore>, recorder: &Arc<Recorder>) -> App {
    App::with_push(store.clone(), Config::local("chat", None, None), recorder.clone())
}

/// A store and two admins, each with one live connection named after it.
async fn world() -> (App, Arc<Recorder>) {
    let store = Arc::new(MemoryStore::new());
    let profile = StoreProfile { id: STORE, name: "Tech Store".into(), logo_url: String::new(), email: String::new() };
    store.put_store(&profile).await.unwrap();
    for (id, name) in [(SARAH, "Sarah"), (OMAR, "Omar")] {
        store.put_admin(&AdminProfile { id, name: name.into(), email: String::new() }).await.unwrap();
    }
    let now = Timestamp::now();
    for (name, principal) in
        [("store", Principal::Store(STORE)), ("sarah", Principal::Admin(SARAH)), ("omar", Principal::Admin(OMAR))]
    {
        store.put_token(&TokenHash::of(name), principal).await.unwrap();
        let connection = Connection::new(name.into(), principal, TokenHash::of(name), now);
        assert!(store.open_connection(&connection).await.unwrap());
    }
    let recorder = Arc::new(Recorder::default());
    (app_over(&store, &recorder), recorder)
}

fn text(content: &str) -> MessageInput {
    MessageInput { content: content.into(), ..MessageInput::default() }
}

#[tokio::test]
async fn a_stores_first_message_opens_a_session_every_admin_hears_of() {
    let (app, out) = world().await;
    let sent = send_message(&app, Principal::Store(STORE), None, text("hello")).await.unwrap();
    assert!(sent.created);
    // Nobody holds it: every admin hears of the new session and of the message, which is
    // then delivered, and the store hears so.
    for admin in ["sarah", "omar"] {
        assert_eq!(out.kinds(admin), ["session.updated", "message.created"], "{admin}");
    }
    // The store hears of its message, that it was delivered, and its place in line.
    let mut store_events = out.take("store");
    store_events.sort_by_key(|event| event["type"].as_str().map(str::to_owned));
    let session_id = sent.message.session_id;
    assert_eq!(store_events[0]["type"], "message.created");
    assert_eq!(
        store_events[1],
        json!({"type": "message.status", "session_id": session_id, "reader_type": "admin",
               "status": "delivered", "up_to_message_id": sent.message.id})
    );
    assert_eq!(store_events[2], json!({"type": "queue.position", "session_id": session_id, "position": 1}));
    assert_eq!(store_events.len(), 3);
}

#[tokio::test]
async fn a_tab_that_connects_while_a_message_goes_out_gets_it_too() {
    let (app, out) = world().await;
    send_message(&app, Principal::Store(STORE), None, text("hello")).await.unwrap();
    for connection in ["store", "sarah", "omar"] {
        out.take(connection);
    }
    // Sarah opens a second tab after the send looked its listeners up, and fetches before
    // the message is there: the lookup once it is stored finds the tab.
    let tab = Connection::new("sarah-tab".into(), Principal::Admin(SARAH), TokenHash::of("sarah"), Timestamp::now());
    *out.connects_at_next_post.lock().unwrap() = Some((app.store.clone(), tab));
    let sent = send_message(&app, Principal::Store(STORE), None, text("again")).await.unwrap();
    let to_tab = out.take("sarah-tab");
    assert_eq!(to_tab.len(), 1, "{to_tab:?}");
    assert_eq!((&to_tab[0]["type"], &to_tab[0]["message"]["id"]), (&json!("message.created"), &json!(sent.message.id)));
    assert_eq!(out.kinds("sarah"), ["message.created"], "once, by the first lookup");
}

#[tokio::test]
async fn a_claim_is_heard_by_every_admin_and_the_store_and_tags_only_by_admins() {
    let (app, out) = world().await;
    let sent = send_message(&app, Principal::Store(STORE), None, text("hello")).await.unwrap();
    let session = Target::Session(sent.message.session_id);
    for connection in ["store", "sarah", "omar"] {
        out.take(connection);
    }
    change_lifecycle(&app, Principal::Admin(SARAH), session, LifecycleAction::Claim).await.unwrap();
    for connection in ["sarah", "omar"] {
        assert_eq!(out.kinds(connection), ["session.updated"], "{connection}: once, however many audiences");
    }
    // The store also hears who joined, by name.
    let mut to_store = out.take("store");
    to_store.sort_by_key(|event| event["type"].as_str().map(str::to_owned));
    assert_eq!(to_store.len(), 2, "{to_store:?}");
    assert_eq!(to_store[0]["type"], "session.assigned");
    assert_eq!(to_store[0]["admin"], json!({"id": SARAH, "name": "Sarah"}));
    assert_eq!(to_store[1]["type"], "session.updated");
    set_tags(&app, SARAH, sent.message.session_id, vec!["vip".into()]).await.unwrap();
    let to_sarah = out.take("sarah");
    assert_eq!(to_sarah[0]["session"]["tags"], json!(["vip"]));
    assert!(out.take("store").is_empty(), "retagging is not the store's business");
    assert!(out.take("omar").is_empty(), "nor that of admins who do not hold it");

    // The store's own view of a later change carries no tags.
    change_lifecycle(&app, Principal::Admin(SARAH), session, LifecycleAction::Close).await.unwrap();
    let to_store = out.take("store");
    assert_eq!(to_store[0]["session"]["status"], "closed");
    assert!(to_store[0]["session"].get("tags").is_none(), "{}", to_store[0]);
}

#[tokio::test]
async fn typing_reaches_the_other_party_only() {
    let (app, out) = world().await;
    let sent = send_message(&app, Principal::Store(STORE), None, text("hello")).await.unwrap();
    let session = sent.message.session_id;
    change_lifecycle(&app, Principal::Admin(SARAH), Target::Session(session), LifecycleAction::Claim).await.unwrap();
    for connection in ["store", "sarah", "omar"] {
        out.take(connection);
    }
    typing(&app, Principal::Store(STORE), None, TypingState::On).await.unwrap();
    assert_eq!(out.kinds("sarah"), ["typing"]);
    assert!(out.take("store").is_empty() && out.take("omar").is_empty());
    // Omar does not hold the session: he may not say he is typing in it.
    let refused = typing(&app, Principal::Admin(OMAR), Some(session), TypingState::On).await;
    assert_eq!(refused, Err(ChatError::forbidden("Session belongs to another admin")));
}
