//! What a function builds once per instance and every invocation shares.

use std::sync::Arc;

use aws_config::BehaviorVersion;

use crate::auth::Authenticator;
use crate::config::{Config, ConfigError};
use crate::storage::{ChatStore, DynamoStore};

pub struct App {
    pub store: Arc<dyn ChatStore>,
    pub auth: Authenticator,
    pub config: Config,
}

impl App {
    pub fn new(store: Arc<dyn ChatStore>, config: Config) -> Self {
        App { auth: Authenticator::new(store.clone()), store, config }
    }

    /// The deployed wiring: DynamoDB with the SDK's default credentials and region. Builds
    /// clients only; the first network call happens in the first invocation.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let store = DynamoStore::new(DynamoStore::client(&sdk), &config.table_name);
        Ok(App::new(Arc::new(store), config))
    }
}
