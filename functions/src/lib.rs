//! The support-chat functions, one per route of `template.yaml`. Each file of `src/bin/` is
//! one function: a plain async `handle` over the shared use cases, and a `main` that runs it
//! on the Lambda runtime. Cargo builds each as its own binary (the `Binary` that
//! `template.yaml` names); this library holds the same handlers for the local gateway and
//! the tests.

include!(concat!(env!("OUT_DIR"), "/functions.rs"));

/// The handler of the function whose binary is `name`.
pub fn handler(name: &str) -> Option<shared::http::HttpHandler> {
    HANDLERS.iter().find(|(function, _)| *function == name).map(|(_, handler)| *handler)
}

/// The handler of the scheduled function whose binary is `name`.
pub fn scheduled(name: &str) -> Option<shared::schedule::ScheduledHandler> {
    SCHEDULED.iter().find(|(function, _)| *function == name).map(|(_, handler)| *handler)
}

/// The handler of the stream function whose binary is `name`.
pub fn streamed(name: &str) -> Option<shared::stream::StreamHandler> {
    STREAMED.iter().find(|(function, _)| *function == name).map(|(_, handler)| *handler)
}

/// The handler of the queue function whose binary is `name`.
pub fn queued(name: &str) -> Option<shared::queue::QueueHandler> {
    QUEUED.iter().find(|(function, _)| *function == name).map(|(_, handler)| *handler)
}
