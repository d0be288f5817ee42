//! The harness of the end-to-end tests: DynamoDB Local, fresh tables, the built binaries,
//! a local gateway process, a Lambda Runtime API, and a fixed cast of stores and admins.

pub mod bus;
pub mod cast;
pub mod crash;
pub mod emf;
pub mod files;
pub mod gateway;
pub mod identity_provider;
pub mod mailbox;
pub mod platform;
pub mod receiver;
pub mod runtime_api;
pub mod stack;
pub mod ws;
