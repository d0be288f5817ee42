//! A WebSocket client as a browser would use the API: `?token=` on connect, JSON frames out,
//! events in.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::gateway::{FrameLedger, Gateway};

/// How long an expected event may take.
const EVENT_DEADLINE: Duration = Duration::from_secs(20);

pub struct Client {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    ledger: FrameLedger,
}

impl Client {
    /// Connects with `token`; a refused upgrade is its HTTP status.
    pub async fn connect(gateway: &Gateway, token: Option<&str>) -> Result<Client, u16> {
        let url = match token {
            Some(token) => format!("{}?token={token}", gateway.websocket_url()),
            None => gateway.websocket_url().to_owned(),
        };
        match connect_async(url).await {
            Ok((stream, _)) => Ok(Client { stream, ledger: gateway.frame_ledger() }),
            Err(Error::Http(response)) => Err(response.status().as_u16()),
            Err(error) => panic!("the WebSocket API did not answer: {error}"),
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_text(&frame.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ledger.sent_one();
        self.stream.send(Message::text(text)).await.expect("the frame is sent");
    }

    /// The next event, whatever it is.
    pub async fn next_event(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(EVENT_DEADLINE, self.stream.next())
                .await
                .expect("an event arrives in time")
                .expect("the connection stays open")
                .expect("a readable frame");
            if let Message::Text(text) = frame {
                return serde_json::from_str(&text).expect("events are JSON");
            }
        }
    }

    /// The next event of `kind`, passing over others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next_event().await;
            if event["type"] == kind {
                return event;
            }
        }
    }

    /// Every event caused by the frames and requests sent so far: once their invocations are
    /// done, the answer to a ping sent then comes after all they posted.
    pub async fn drain(&mut self) -> Vec<Value> {
        let ledger = self.ledger.clone();
        tokio::task::spawn_blocking(move || ledger.wait_until_done()).await.expect("the wait ends");
        self.send(json!({"action": "ping"})).await;
        let mut events = Vec::new();
        loop {
            let event = self.next_event().await;
            if event["type"] == "pong" {
                return events;
            }
            events.push(event);
        }
    }

    /// How the server closed the connection: its close code, passing over other frames.
    pub async fn closed_by_server(mut self) -> u16 {
        loop {
            let frame =
                tokio::time::timeout(EVENT_DEADLINE, self.stream.next()).await.expect("the close comes in time");
            match frame {
                Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
                Some(Ok(Message::Close(None))) => return 1005,
                Some(Ok(_)) => {}
                other => panic!("the connection ended without a close frame: {other:?}"),
            }
        }
    }

    /// Drops the connection without a close frame, as a phone going out of range does.
    pub fn vanish(self) {
        drop(self.stream);
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
