//! Live delivery: who must hear of a change is the domain's to say
//! ([`crate::domain::Audience`]); this module says how they hear of it. [`events`] are the
//! wire events, [`transport`] the way to one connection (API Gateway's `@connections` API),
//! and [`Live`] fans events out to the live connections of their audiences.
//!
//! Another outbound channel (webhooks, say) goes beside [`Live`], fed the same
//! `(Audience, ServerEvent)` pairs the use cases publish.

mod events;
mod transport;

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use futures::future::join_all;

pub use events::{ServerEvent, TypingState};
pub use transport::{ApiGatewayPush, NoPush, Push, PushError};

use crate::Timestamp;
use crate::domain::{Audience, Connection};
use crate::storage::{ConnectionStore, StorageError, StorageResult};

/// The most posts one delivery has in flight at once.
pub const MAX_POSTS_IN_FLIGHT: usize = 64;

/// The live connections of some audiences, as [`Live::find`] found them.
pub struct Listeners {
    /// Per audience read: its connections, or why they could not be read.
    found: Vec<(Audience, StorageResult<Vec<Connection>>)>,
    all_admins: bool,
    /// Connections a delivery found gone (and forgot): later deliveries skip them.
    gone: std::sync::Mutex<HashSet<String>>,
}

impl Listeners {
    /// The read that finds `audience`'s connections: one admin's are among all admins'.
    fn read_for(audience: Audience, all_admins: bool) -> Audience {
        match audience {
            Audience::Admin(_) if all_admins => Audience::AllAdmins,
            audience => audience,
        }
    }

    /// `audience`'s connections not known to be gone, if they were looked up.
    fn of(&self, audience: Audience) -> Option<Result<Vec<&Connection>, &StorageError>> {
        let read = Self::read_for(audience, self.all_admins);
        let (_, found) = self.found.iter().find(|(of, _)| *of == read)?;
        let gone = self.gone.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let live = |c: &&Connection| audience.includes(c.principal) && !gone.contains(&c.connection_id);
        Some(found.as_ref().map(|connections| connections.iter().filter(live).collect()))
    }

    /// Whether `audience` has a connection here.
    pub fn includes_anyone_of(&self, audience: Audience) -> bool {
        matches!(self.of(audience), Some(Ok(connections)) if !connections.is_empty())
    }

    /// Whether no connection was found.
    pub fn is_empty(&self) -> bool {
        self.found.iter().all(|(_, found)| found.as_ref().is_ok_and(Vec::is_empty))
    }

    /// The connections `later` found that these did not (made between the two lookups, or
    /// missed by a lookup of these that failed).
    pub fn newcomers_in(&self, later: &Listeners) -> Listeners {
        let known: HashSet<&str> = self
            .found
            .iter()
            .filter_map(|(_, found)| found.as_ref().ok())
            .flatten()
            .map(|connection| connection.connection_id.as_str())
            .collect();
        let found = later
            .found
            .iter()
            .map(|(audience, found)| {
                let new = match found {
                    Ok(connections) => {
                        connections.iter().filter(|c| !known.contains(c.connection_id.as_str())).cloned().collect()
                    }
                    // The connections the first lookup found have the event; nobody else can.
                    Err(error) => {
                        tracing::warn!(%error, ?audience, "could not look up live connections again");
                        Vec::new()
                    }
                };
                (*audience, Ok(new))
            })
            .collect();
        Listeners { found, all_admins: later.all_admins, gone: Default::default() }
    }
}

/// Fans events out to the live connections of their audiences.
pub struct Live {
    store: Arc<dyn ConnectionStore>,
    push: Arc<dyn Push>,
}

impl Live {
    pub fn new(store: Arc<dyn ConnectionStore>, push: Arc<dyn Push>) -> Self {
        Live { store, push }
    }

    /// The live connections of `audiences`: one index read per audience, in parallel, and
    /// none for one admin when all admins are read anyway.
    pub async fn find(&self, audiences: &[Audience]) -> Listeners {
        let all_admins = audiences.contains(&Audience::AllAdmins);
        let now = Timestamp::now();
        let mut distinct = HashSet::new();
        let reads: Vec<Audience> = audiences
            .iter()
            .map(|audience| Listeners::read_for(*audience, all_admins))
            .filter(|read| distinct.insert(*read))
            .collect();
        let found = join_all(reads.iter().map(|audience| self.store.connections_of(*audience, now))).await;
        Listeners { found: reads.into_iter().zip(found).collect(), all_admins, gone: Default::default() }
    }

    /// Finds the audiences' connections, then [`Self::deliver`]s.
    pub async fn publish(&self, events: &[(Audience, ServerEvent)]) -> HashSet<Audience> {
        let audiences: Vec<Audience> = events.iter().map(|(audience, _)| *audience).collect();
        let listeners = self.find(&audiences).await;
        self.deliver(&listeners, events).await
    }

    /// [`Self::publish`] to every connection but `connecting`, one whose `$connect` is still
    /// running: API Gateway answers a post to it 410 Gone, which would forget it.
    pub async fn publish_except(&self, events: &[(Audience, ServerEvent)], connecting: &str) -> HashSet<Audience> {
        let audiences: Vec<Audience> = events.iter().map(|(audience, _)| *audience).collect();
        let listeners = self.find(&audiences).await;
        listeners.gone.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(connecting.to_owned());
        self.deliver(&listeners, events).await
    }

    /// Posts each event to every connection `listeners` found for its audience, in parallel.
    /// A connection API Gateway says is gone is forgotten; any other failure is logged and
    /// the rest go on, because the state change that caused the event is already stored and
    /// fetchable. Returns the audiences that at least one post reached.
    pub async fn deliver(&self, listeners: &Listeners, events: &[(Audience, ServerEvent)]) -> HashSet<Audience> {
        let mut posts = Vec::new();
        let mut sent: HashSet<(String, usize)> = HashSet::new();
        for (index, (audience, event)) in events.iter().enumerate() {
            let connections = match listeners.of(*audience) {
                Some(Ok(connections)) => connections,
                Some(Err(error)) => {
                    tracing::warn!(%error, ?audience, "could not look up live connections");
                    continue;
                }
                None => {
                    tracing::error!(?audience, "an event for an audience whose connections were not looked up");
                    continue;
                }
            };
            let payload = event.to_json();
            // The same event can reach one connection through two audiences (an admin and
            // all admins); it goes once.
            let same_event = events.iter().position(|(_, e)| e == event).unwrap_or(index);
            for connection in connections {
                if sent.insert((connection.connection_id.clone(), same_event)) {
                    posts.push((*audience, connection.connection_id.clone(), payload.clone()));
                }
            }
        }
        // In parallel, but at most so many at once: a fan-out to a thousand inboxes neither
        // opens a thousand connections to the @connections API nor gets throttled by it.
        let pending: Vec<_> = posts.iter().map(|(_, id, payload)| self.push.post(id, payload)).collect();
        let outcomes: Vec<_> = futures::stream::iter(pending).buffered(MAX_POSTS_IN_FLIGHT).collect().await;
        let mut reached = HashSet::new();
        let mut gone = Vec::new();
        for ((audience, id, _), outcome) in posts.iter().zip(outcomes) {
            match outcome {
                Ok(()) => {
                    reached.insert(*audience);
                }
                Err(PushError::Gone) => gone.push(id.clone()),
                Err(PushError::Failed(error)) => tracing::warn!(%error, connection = %id, "push failed"),
            }
        }
        // Deliveries side by side may each find one connection gone; it is forgotten once.
        gone.retain(|id| listeners.gone.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(id.clone()));
        if !gone.is_empty() {
            crate::telemetry::record(crate::telemetry::Figure::GoneConnections, gone.len() as f64);
        }
        for outcome in join_all(gone.iter().map(|id| self.store.delete_connection(id))).await {
            if let Err(error) = outcome {
                tracing::warn!(%error, "could not forget a stale connection");
            }
        }
        reached
    }

    /// Forgets a connection, then closes it. Forgotten first, so that even if the close
    /// fails it gets no more events and its next frame is refused; a connection API Gateway
    /// no longer knows is closed already. Any other failure is the caller's to report.
    pub async fn disconnect(&self, connection_id: &str) -> Result<(), PushError> {
        self.store.delete_connection(connection_id).await.map_err(|error| PushError::Failed(error.to_string()))?;
        match self.push.disconnect(connection_id).await {
            Ok(()) | Err(PushError::Gone) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Posts one event to one connection (a reply to that connection alone).
    pub async fn reply(&self, connection_id: &str, event: &ServerEvent) {
        match self.push.post(connection_id, &event.to_json()).await {
            Ok(()) => {}
            Err(PushError::Gone) => {
                crate::telemetry::record(crate::telemetry::Figure::GoneConnections, 1.0);
                let _ = self.store.delete_connection(connection_id).await;
            }
            Err(PushError::Failed(error)) => tracing::warn!(%error, "reply failed"),
        }
    }
}
