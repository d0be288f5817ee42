//! Lambda's concurrency for the linked-in functions, as far as one process can show it: each
//! function runs at most [`PER_FUNCTION`] invocations at once, and a request beyond that waits
//! for one to finish (where AWS would start another instance). Without a bound, a burst of
//! hundreds of requests would all reach DynamoDB Local at once and time out there, under a
//! load no table in AWS shows; the wait happens before the invocation, so it is not part of
//! its deadline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Invocations of one function at once.
pub const PER_FUNCTION: usize = 8;

/// The running invocations of every linked-in function, by its binary's name.
#[derive(Default)]
pub struct Concurrency {
    functions: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Concurrency {
    /// Waits until the function `binary` may start one more invocation; it may until
    /// the returned permit is dropped.
    pub async fn invocation(&self, binary: &str) -> OwnedSemaphorePermit {
        let function = {
            let mut functions = self.functions.lock().unwrap_or_else(|p| p.into_inner());
            functions.entry(binary.to_owned()).or_insert_with(|| Arc::new(Semaphore::new(PER_FUNCTION))).clone()
        };
        function.acquire_owned().await.expect("the semaphore is never closed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_function_runs_a_bounded_number_of_invocations() {
        let concurrency = Concurrency::default();
        let mut running = Vec::new();
        for _ in 0..PER_FUNCTION {
            running.push(concurrency.invocation("send_message").await);
        }
        let next = concurrency.invocation("send_message");
        tokio::pin!(next);
        assert!(futures::poll!(next.as_mut()).is_pending(), "a ninth invocation waits");
        // Another function is not held up.
        let _ping = concurrency.invocation("ping").await;
        running.pop();
        let _ninth = next.await;
    }
}
