//! The live connections, by id: what the management API reaches them through.

use std::collections::HashMap;
use std::sync::Mutex;

use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite::Message;

use super::event::ConnectionInfo;

/// What a connection's writer task sends next.
#[derive(Debug)]
pub enum Outgoing {
    Frame(Message),
    /// A close frame with this code and reason; nothing is written after it.
    Close(u16, String),
}

struct Entry {
    info: ConnectionInfo,
    last_active_at: OffsetDateTime,
    outbox: UnboundedSender<Outgoing>,
}

/// A connection as `GET @connections/{id}` reports it.
pub struct Snapshot {
    pub info: ConnectionInfo,
    pub last_active_at: OffsetDateTime,
}

#[derive(Default)]
pub struct Connections {
    live: Mutex<HashMap<String, Entry>>,
}

impl Connections {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // Every critical section is a single map operation: a poisoned map is still consistent.
        self.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn insert(&self, info: ConnectionInfo, outbox: UnboundedSender<Outgoing>) {
        let entry = Entry { last_active_at: info.connected_at, info, outbox };
        self.live().insert(entry.info.id.clone(), entry);
    }

    /// Forgets the connection; dropping its outbox ends its writer task.
    pub fn remove(&self, id: &str) -> bool {
        self.live().remove(id).is_some()
    }

    /// Queues a frame; `false` when the connection is gone.
    pub fn send(&self, id: &str, frame: Message) -> bool {
        self.live().get(id).is_some_and(|entry| entry.outbox.send(Outgoing::Frame(frame)).is_ok())
    }

    /// Forgets the connection and queues its close frame; `false` when it was gone already.
    pub fn close(&self, id: &str, code: u16, reason: &str) -> bool {
        let Some(entry) = self.live().remove(id) else { return false };
        // A writer that has ended already belongs to a socket that is closing anyway.
        let _ = entry.outbox.send(Outgoing::Close(code, reason.to_owned()));
        true
    }

    pub fn touch(&self, id: &str) {
        if let Some(entry) = self.live().get_mut(id) {
            entry.last_active_at = OffsetDateTime::now_utc();
        }
    }

    pub fn snapshot(&self, id: &str) -> Option<Snapshot> {
        self.live().get(id).map(|entry| Snapshot { info: entry.info.clone(), last_active_at: entry.last_active_at })
    }
}
