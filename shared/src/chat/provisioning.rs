//! Stores a platform's JWTs name, provisioned from the JWTs' claims when first needed.

use crate::domain::StoreId;
use crate::{App, ChatError};

/// A store a platform's JWT named, seen for the first time: provisioned from the JWT's
/// claims before what needs its profile (opening its session). Once per instance.
pub(super) async fn provision_from_claims(app: &App, store: StoreId) -> Result<(), ChatError> {
    let Some(account) = app.auth.take_claimed_account(store) else { return Ok(()) };
    if let Err(error) = app.store.upsert_store(&account).await {
        app.auth.keep_claimed_account(account);
        return Err(error.into());
    }
    tracing::info!(store = store.0, "a store was provisioned from a JWT's claims");
    Ok(())
}
