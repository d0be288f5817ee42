//! What a function builds once per instance and every invocation shares.

use std::sync::Arc;

use crate::attachments::Attachments;
use crate::auth::Authenticator;
use crate::bus::EventBus;
use crate::config::{Config, ConfigError};
use crate::deliveries::{DeliveryQueue, WebhookPoster};
use crate::live::{ApiGatewayPush, Live, NoPush, Push};
use crate::mail::{EmailJobs, Mailer};
use crate::storage::{ChatStore, DynamoStore};

pub struct App {
    pub store: Arc<dyn ChatStore>,
    pub auth: Authenticator,
    pub live: Live,
    pub config: Config,
    /// The bucket of attached files, when one is configured.
    pub attachments: Option<Attachments>,
    /// Where events out go, when a bus is configured.
    pub event_bus: Option<EventBus>,
    /// Where webhook deliveries wait, when a queue is configured.
    pub webhook_queue: Option<DeliveryQueue>,
    pub webhook_poster: WebhookPoster,
    /// Where email jobs wait until due, when email is configured.
    pub email_jobs: Option<EmailJobs>,
    /// What sends mail, when a sender is configured.
    pub mailer: Option<Mailer>,
}

impl App {
    /// Storage only; nothing is pushed.
    pub fn new(store: Arc<dyn ChatStore>, config: Config) -> Self {
        Self::with_push(store, config, Arc::new(NoPush))
    }

    pub fn with_push(store: Arc<dyn ChatStore>, config: Config, push: Arc<dyn Push>) -> Self {
        let auth = Authenticator::new(store.clone()).with_jwt(config.jwt.clone());
        let live = Live::new(store.clone(), push);
        App {
            auth,
            live,
            store,
            config,
            attachments: None,
            event_bus: None,
            webhook_queue: None,
            webhook_poster: WebhookPoster::default(),
            email_jobs: None,
            mailer: None,
        }
    }

    /// Email jobs queued on `jobs`, and mail sent with `mailer`.
    pub fn with_email(self, jobs: EmailJobs, mailer: Option<Mailer>) -> Self {
        App { email_jobs: Some(jobs), mailer, ..self }
    }

    /// Events out put on `bus`.
    pub fn with_event_bus(self, bus: EventBus) -> Self {
        App { event_bus: Some(bus), ..self }
    }

    /// Webhook deliveries queued on `queue`.
    pub fn with_webhook_queue(self, queue: DeliveryQueue) -> Self {
        App { webhook_queue: Some(queue), ..self }
    }

    /// Attached files kept in `attachments`.
    pub fn with_attachments(self, attachments: Attachments) -> Self {
        App { attachments: Some(attachments), ..self }
    }

    /// The deployed wiring: DynamoDB, and the WebSocket API's `@connections` endpoint when
    /// `WEBSOCKET_ENDPOINT` names one, with the SDK's default credentials and region and the
    /// timeouts of [`crate::deadline`]. Builds clients only; the first network call happens
    /// in the first invocation.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = crate::deadline::aws_config_loader().load().await;
        let store = Arc::new(DynamoStore::new(DynamoStore::client(&sdk), &config.table_name));
        let push: Arc<dyn Push> = match &config.websocket_endpoint {
            Some(endpoint) => Arc::new(ApiGatewayPush::new(&sdk, endpoint)),
            None => Arc::new(NoPush),
        };
        let attachments = config
            .attachments_bucket
            .as_deref()
            .map(|bucket| Attachments::new(&sdk, bucket).with_link_lifetime(config.attachment_link_lifetime));
        let event_bus = config.event_bus_name.as_deref().map(|name| EventBus::new(&sdk, name));
        let webhook_queue = config.webhook_queue_url.as_deref().map(|url| DeliveryQueue::new(&sdk, url));
        // Email is on only with a sender: without one, no job is queued.
        let email_jobs = (config.email.sender.as_ref())
            .and(config.email.jobs_queue_url.as_deref())
            .map(|url| EmailJobs::new(&sdk, url));
        let mailer = (config.email.sender.as_deref())
            .map(|sender| Mailer::new(&sdk, sender, config.email.configuration_set.as_deref()));
        let app = App { event_bus, webhook_queue, email_jobs, mailer, ..App::with_push(store, config, push) };
        Ok(match attachments {
            Some(attachments) => app.with_attachments(attachments),
            None => app,
        })
    }
}
