//! How long anything may take, so that a stalled dependency is a quick 503 and never a hang.
//!
//! The budget, inside the functions' 10 s `Timeout` (template.yaml), with room for a cold
//! start and for the answer itself:
//!
//! | what | limit | why |
//! |---|---|---|
//! | connecting to DynamoDB or `@connections` | 1 s | a TCP and TLS handshake in-region takes milliseconds |
//! | one attempt of an AWS call | 1 s | DynamoDB answers in milliseconds; a second is a stall, not load |
//! | one DynamoDB call, retries included | 2 s | standard retries (up to 3 attempts, backoff from 50 ms); a stalled call gets two |
//! | one `@connections` call | 0.5 s, no retry | a post is live delivery, after the change is stored: a stalled one must not cost the request its deadline |
//! | one invocation | 3 s | then the route answers the family's 503 |
//!
//! A write that was cut off either committed or did not: each is one conditional
//! request or transaction (retried transactions carry the SDK's idempotency token), so a
//! client that retries with the same `client_message_id` finds its message.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);
pub const MAX_ATTEMPTS: u32 = 3;
const INITIAL_BACKOFF: Duration = Duration::from_millis(50);
/// How long one invocation may run before it answers 503.
pub const INVOCATION_DEADLINE: Duration = Duration::from_secs(3);

/// The timeouts of every AWS client.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The retries of every AWS client.
pub fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS).with_initial_backoff(INITIAL_BACKOFF)
}

/// How long one post to (or close of) a WebSocket connection may take, retries included.
pub const PUSH_TIMEOUT: Duration = Duration::from_millis(500);

/// The timeouts of the `@connections` client: one attempt, [`PUSH_TIMEOUT`] in all (a
/// retried post could also deliver an event twice).
pub fn push_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(PUSH_TIMEOUT)
        .operation_attempt_timeout(PUSH_TIMEOUT)
        .operation_timeout(PUSH_TIMEOUT)
        .build()
}

/// The SDK's default configuration (credentials, region) with these timeouts and retries.
pub fn aws_config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts()).retry_config(retries())
}

/// The configuration of any service client for a stand-in on this machine at `endpoint`
/// (DynamoDB Local, moto, the S3 server): its fixed credentials and region, with these
/// timeouts and retries.
pub fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::SharedCredentialsProvider;
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new("local", "local", None, None, "local")))
        .timeout_config(timeouts())
        .retry_config(retries())
        .build()
}

/// An invocation's deadline as it began (`started` + `limit`), and the time it spent in
/// [`not_counted`] waits: finished ones, and the one under way since when. `changed` wakes
/// the deadline's watch when a wait begins or ends.
struct Excused {
    started: Instant,
    limit: Duration,
    finished: Duration,
    waiting_since: Option<Instant>,
    changed: Arc<Notify>,
}

impl Excused {
    fn deadline(&self) -> Instant {
        self.started + self.limit + self.finished
    }
}

tokio::task_local! {
    static EXCUSED: Arc<Mutex<Excused>>;
}

fn lock(excused: &Mutex<Excused>) -> std::sync::MutexGuard<'_, Excused> {
    excused.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long one run of a scheduled function may take, inside its 50 s `Timeout`.
pub const SCHEDULED_DEADLINE: Duration = Duration::from_secs(45);

/// Runs `work` within [`INVOCATION_DEADLINE`]: `None` if it ran out of time (and was
/// dropped). Time spent in [`not_counted`] waits is not charged: the deadline is not
/// watched during one, and moves by its length afterwards.
pub async fn within_deadline<F: Future>(work: F) -> Option<F::Output> {
    within(INVOCATION_DEADLINE, work).await
}

/// [`within_deadline`] with a deadline of its own: a scheduled run's.
pub async fn within<F: Future>(limit: Duration, work: F) -> Option<F::Output> {
    let record = Excused {
        started: Instant::now(),
        limit,
        finished: Duration::ZERO,
        waiting_since: None,
        changed: Arc::default(),
    };
    let record = Arc::new(Mutex::new(record));
    let changed = lock(&record).changed.clone();
    let work = EXCUSED.scope(record.clone(), work);
    tokio::pin!(work);
    loop {
        let (deadline, waiting) = {
            let record = lock(&record);
            (record.deadline(), record.waiting_since.is_some())
        };
        if !waiting && Instant::now() >= deadline {
            return None;
        }
        tokio::select! {
            output = &mut work => return Some(output),
            _ = sleep_until(deadline), if !waiting => {}
            _ = changed.notified() => {}
        }
    }
}

/// What the running invocation has left before its deadline; `None` outside one.
pub fn time_left() -> Option<Duration> {
    let deadline = EXCUSED.try_with(|record| lock(record).deadline()).ok()?;
    Some(deadline.saturating_duration_since(Instant::now()))
}

/// Runs `work`, optional to the invocation, in what it can spare: the time left before its
/// deadline less `reserve` (for what must follow), or `at_most` if that is less. `None` if
/// there was no time to spare or it ran out (and `work` was dropped).
pub async fn in_spare_time<F: Future>(reserve: Duration, at_most: Duration, work: F) -> Option<F::Output> {
    let spare = time_left().map_or(at_most, |left| left.saturating_sub(reserve).min(at_most));
    if spare.is_zero() {
        return None;
    }
    tokio::time::timeout(spare, work).await.ok()
}

/// Awaits `wait` without charging it to the invocation's deadline. For waiting on other
/// requests of this process only (the local gateway serves them all in one process; a
/// Lambda instance serves one at a time and never waits here): never for a dependency.
pub async fn not_counted<F: Future>(wait: F) -> F::Output {
    let started = Instant::now();
    let record = EXCUSED.try_with(Arc::clone).ok();
    let mark = |change: &dyn Fn(&mut Excused)| {
        if let Some(record) = &record {
            let mut excused = lock(record);
            change(&mut excused);
            excused.changed.notify_one();
        }
    };
    mark(&|excused| excused.waiting_since = Some(started));
    let output = wait.await;
    mark(&|excused| {
        excused.finished += started.elapsed();
        excused.waiting_since = None;
    });
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn work_past_the_deadline_is_dropped() {
        assert_eq!(within_deadline(async { 7 }).await, Some(7));
        let slow = tokio::time::sleep(INVOCATION_DEADLINE + Duration::from_millis(1));
        assert_eq!(within_deadline(slow).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_for_a_turn_is_not_charged() {
        let turn = Duration::from_secs(5);
        let work = async {
            not_counted(tokio::time::sleep(turn)).await;
            tokio::time::sleep(INVOCATION_DEADLINE - Duration::from_millis(10)).await;
            "done"
        };
        assert_eq!(within_deadline(work).await, Some("done"));
        let too_slow = async {
            not_counted(tokio::time::sleep(turn)).await;
            tokio::time::sleep(INVOCATION_DEADLINE + Duration::from_millis(10)).await;
        };
        assert_eq!(within_deadline(too_slow).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn spare_time_is_what_the_deadline_leaves_less_the_reserve() {
        let (reserve, at_most) = (Duration::from_secs(1), Duration::from_secs(10));
        assert_eq!(time_left(), None);
        let left_after = |spent: Duration| async move {
            tokio::time::sleep(spent).await;
            let left = time_left();
            let spare = in_spare_time(reserve, at_most, tokio::time::sleep(Duration::from_millis(1500))).await;
            (left, spare)
        };
        let (left, spare) = within_deadline(left_after(Duration::ZERO)).await.unwrap();
        assert_eq!(left, Some(INVOCATION_DEADLINE));
        assert_eq!(spare, Some(()), "1.5 s of work fits in the 2 s to spare");
        let (left, spare) = within_deadline(left_after(Duration::from_secs(1))).await.unwrap();
        assert_eq!(left, Some(INVOCATION_DEADLINE - Duration::from_secs(1)));
        assert_eq!(spare, None, "1 s to spare is cut short, within the deadline");
        let (_, spare) = within_deadline(left_after(INVOCATION_DEADLINE - reserve)).await.unwrap();
        assert_eq!(spare, None, "nothing to spare");
    }
}
