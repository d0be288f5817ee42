//! What a platform does, server to server: provisions its stores and admins, mints
//! short-lived tokens for them, lists and revokes those, and deactivates an account
//! completely (its tokens, its live connections, the sessions it held; its history stays).

use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;

use super::connections::revoke_token;
use super::lifecycle::change_lifecycle;
use super::sessions::{ListParams, list_sessions};
use super::{Target, set_availability};
use crate::auth::generate_token;
use crate::domain::{
    AccountState, AdminAccount, AdminId, Audience, Availability, LifecycleAction, MAX_BATCH, Principal, SessionStatus,
    StoreAccount, TokenGrant, TokenHash, Upserted,
};
use crate::storage::StorageError;
use crate::{App, ChatError, Timestamp};

/// How many items of a batch are written at once: a batch of a hundred in about ten round
/// trips, well inside the deadline.
const ITEMS_IN_FLIGHT: usize = 10;

/// What became of one item of a batch, in the batch's order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemResult {
    /// Its id, if it had a readable one.
    pub id: Option<u64>,
    pub status: ItemStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Created,
    Updated,
    Deactivated,
    /// Refused for what it says; sending it again as it is will not help.
    Invalid,
    NotFound,
    /// Storage failed for this item: sending it again may succeed.
    Unavailable,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BatchAnswer {
    pub results: Vec<ItemResult>,
}

impl ItemResult {
    fn of(id: u64, status: ItemStatus) -> Self {
        ItemResult { id: Some(id), status, error: None }
    }

    fn refused(id: Option<u64>, status: ItemStatus, error: impl Into<String>) -> Self {
        ItemResult { id, status, error: Some(error.into()) }
    }

    fn upserted(id: u64, written: Result<Upserted, StorageError>) -> Self {
        match written {
            Ok(Upserted::Created) => Self::of(id, ItemStatus::Created),
            Ok(Upserted::Updated) => Self::of(id, ItemStatus::Updated),
            Err(error) => Self::unavailable(id, &error),
        }
    }

    fn unavailable(id: u64, error: &dyn std::fmt::Display) -> Self {
        tracing::warn!(%error, id, "a batch item could not be written");
        Self::refused(Some(id), ItemStatus::Unavailable, ChatError::Unavailable.to_string())
    }
}

/// Whether a batch of `items` is from one to [`MAX_BATCH`] long.
fn within_batch(items: usize) -> Result<(), ChatError> {
    if items == 0 || items > MAX_BATCH {
        return Err(ChatError::bad_request(format!("a batch has from 1 to {MAX_BATCH} items")));
    }
    Ok(())
}

/// Each item as `T`, validated by `validate`, then written by `write`, each answered on its own.
async fn each_item<T, W, F>(
    items: Vec<Value>,
    validate: fn(T) -> Result<T, String>,
    id_of: fn(&T) -> u64,
    write: W,
) -> Result<BatchAnswer, ChatError>
where
    T: serde::de::DeserializeOwned,
    W: Fn(T) -> F,
    F: Future<Output = ItemResult>,
{
    within_batch(items.len())?;
    let results = stream::iter(items.into_iter().map(|item| {
        let id = item.get("id").and_then(Value::as_u64);
        let parsed = serde_json::from_value::<T>(item).map_err(|e| e.to_string()).and_then(validate);
        let write = &write;
        async move {
            match parsed {
                Ok(account) if Some(id_of(&account)) == id => write(account).await,
                Ok(_) => ItemResult::refused(id, ItemStatus::Invalid, "id must be a positive integer"),
                Err(error) => ItemResult::refused(id, ItemStatus::Invalid, error),
            }
        }
    }))
    .buffered(ITEMS_IN_FLIGHT)
    .collect()
    .await;
    Ok(BatchAnswer { results })
}

/// Creates or updates stores; a deactivated one written again is active again.
pub async fn upsert_stores(app: &App, items: Vec<Value>) -> Result<BatchAnswer, ChatError> {
    each_item(items, StoreAccount::validated, |a| a.id.0, |account: StoreAccount| async move {
        ItemResult::upserted(account.id.0, app.store.upsert_store(&account).await)
    })
    .await
}

/// Creates or updates admins (and their capacity, if given).
pub async fn upsert_admins(app: &App, items: Vec<Value>) -> Result<BatchAnswer, ChatError> {
    each_item(items, AdminAccount::validated, |a| a.id.0, |account: AdminAccount| async move {
        ItemResult::upserted(account.id.0, app.store.upsert_admin(&account).await)
    })
    .await
}

/// Deactivates each of `principals`, completely: see [`deactivate`].
pub async fn deactivate_all(app: &App, principals: Vec<Principal>) -> Result<BatchAnswer, ChatError> {
    within_batch(principals.len())?;
    let results =
        stream::iter(principals).map(|principal| deactivate(app, principal)).buffered(ITEMS_IN_FLIGHT).collect();
    Ok(BatchAnswer { results: results.await })
}

/// A store or an admin deactivated: every token it has is revoked, every live connection
/// of it closed, and an admin's held sessions go back to the queue, away from automatic
/// assignment. Its profile and history stay. Repeating it finishes what a failure left.
async fn deactivate(app: &App, principal: Principal) -> ItemResult {
    let id = principal.id();
    match app.store.deactivate(principal, Timestamp::now()).await {
        Ok(true) => {}
        Ok(false) => return ItemResult::refused(Some(id), ItemStatus::NotFound, not_found(principal)),
        Err(error) => return ItemResult::unavailable(id, &error),
    }
    match close_everything_of(app, principal).await {
        Ok(()) => ItemResult::of(id, ItemStatus::Deactivated),
        Err(error) => ItemResult::unavailable(id, &error),
    }
}

pub(super) async fn close_everything_of(app: &App, principal: Principal) -> Result<(), ChatError> {
    for (token, _) in app.store.tokens_of(principal, Timestamp::now()).await? {
        revoke_token(app, &token).await?;
    }
    // Connections opened with tokens stored before tokens were listed, too; and expired
    // ones (from the epoch on), which hear nothing but may still be open.
    let epoch = Timestamp::from_unix_seconds(0).expect("the epoch");
    for connection in app.store.connections_of(Audience::of(principal), epoch).await? {
        if let Err(error) = app.live.disconnect(&connection.connection_id).await {
            tracing::warn!(%error, "could not close a connection of a deactivated account");
        }
    }
    if let Principal::Admin(admin) = principal {
        set_availability(app, admin, Availability::Away).await?;
        hand_back_everything(app, admin).await?;
    }
    Ok(())
}

/// Every session `admin` holds goes back to the queue, as if it had handed each back: one
/// pass over its list, page by page (what a racing claim adds meanwhile, a repeat takes).
async fn hand_back_everything(app: &App, admin: AdminId) -> Result<(), ChatError> {
    let mut cursor = None;
    loop {
        let params = ListParams {
            statuses: vec![SessionStatus::Claimed],
            tag: None,
            limit: 100,
            offset: 0,
            cursor,
            filter: Default::default(),
        };
        let page = list_sessions(app, admin, params).await?;
        for session in page.sessions {
            let hand_back = LifecycleAction::Transfer { to: None };
            change_lifecycle(app, Principal::Admin(admin), Target::Session(session.head.id), hand_back).await?;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}

fn not_found(principal: Principal) -> &'static str {
    match principal {
        Principal::Store(_) => "Store not found",
        Principal::Admin(_) => "Admin not found",
    }
}

/// A token minted for a platform's store or admin: shown once, never stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MintedToken {
    pub token: String,
    /// How the token is named when listed or revoked.
    pub token_id: String,
    pub expires_at: Timestamp,
}

/// A token of `principal`, for `lifetime_seconds` (an hour if `None`, a day at most).
pub async fn mint_token(
    app: &App,
    principal: Principal,
    lifetime_seconds: Option<i64>,
) -> Result<MintedToken, ChatError> {
    let grant = TokenGrant::minted(principal, lifetime_seconds, Timestamp::now()).map_err(ChatError::bad_request)?;
    if app.store.account_state(principal).await? != AccountState::Active {
        return Err(ChatError::not_found(not_found(principal)));
    }
    let token = generate_token();
    let hash = TokenHash::of(&token);
    app.store.grant_token(&hash, &grant).await?;
    let expires_at = grant.expires_at.expect("a minted token expires");
    Ok(MintedToken { token, token_id: hash.as_hex().to_owned(), expires_at })
}

/// A token as listed: never the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenListing {
    pub token_id: String,
    pub issued_at: Timestamp,
    /// `null` for a token that stands until it is revoked.
    pub expires_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenList {
    pub tokens: Vec<TokenListing>,
}

/// The valid tokens of `principal`, oldest first.
pub async fn list_tokens(app: &App, principal: Principal) -> Result<TokenList, ChatError> {
    let tokens = app.store.tokens_of(principal, Timestamp::now()).await?;
    let tokens = tokens
        .into_iter()
        .map(|(hash, grant)| TokenListing {
            token_id: hash.as_hex().to_owned(),
            issued_at: grant.issued_at,
            expires_at: grant.expires_at,
        })
        .collect();
    Ok(TokenList { tokens })
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenRevoked {
    pub token_id: String,
    /// Live connections opened with it, now closed.
    pub connections_closed: usize,
}

/// Revokes the token `token_id` names, closing the live connections opened with it.
pub async fn revoke_token_by_id(app: &App, token_id: &str) -> Result<TokenRevoked, ChatError> {
    let hash = TokenHash::from_hex(token_id)
        .ok_or_else(|| ChatError::bad_request("token_id must be the 64 hex digits a listing shows"))?;
    let revocation = revoke_token(app, &hash).await?;
    if !revocation.revoked && revocation.closed == 0 {
        return Err(ChatError::not_found("Token not found"));
    }
    Ok(TokenRevoked { token_id: token_id.to_owned(), connections_closed: revocation.closed })
}
