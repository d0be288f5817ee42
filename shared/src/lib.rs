//! Everything the support-chat functions share: the domain and its rules, storage behind a
//! trait per aggregate (DynamoDB and an embedded in-memory twin), the use cases, live
//! delivery, auth, errors and their wire shapes, configuration and per-invocation telemetry.

pub mod app;
pub mod attachments;
pub mod auth;
pub mod bus;
pub mod chat;
pub mod config;
pub mod deadline;
pub mod deliveries;
pub mod domain;
pub mod error;
pub mod http;
pub mod identities;
pub mod jwt;
pub mod live;
pub mod mail;
pub mod queue;
pub mod schedule;
pub mod storage;
pub mod stream;
pub mod telemetry;
pub mod timestamp;
pub mod ws;

pub use app::App;
pub use error::{ChatError, Family};
pub use timestamp::{NotATimestamp, Timestamp};
