//! The first administrator: on a start with no users, a one-time setup link
//! (random token, stored hashed, valid one hour, single use, and only the
//! newest link works).

use portcullis_store::StoreError;
use sha2::{Digest, Sha256};
use time::Duration;

use crate::AppState;

/// How long a setup link works.
pub const SETUP_LINK_LIFETIME: Duration = Duration::hours(1);

/// The stored form of a setup token.
pub(crate) fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// When no user exists, creates a setup token and returns the link
/// `<issuer>/setup?token=…`; otherwise `None`. Links printed before stop
/// working: the store deletes every earlier token with the new one's
/// creation, so an old link found later in a log is of no use.
pub async fn create_setup_link(state: &AppState) -> Result<Option<String>, StoreError> {
    if state.store.count_users().await? > 0 {
        return Ok(None);
    }
    let token = hex::encode(portcullis_core::random::bytes::<32>());
    let expires_at = state.clock.now() + SETUP_LINK_LIFETIME;
    state.store.create_setup_token(&hash_token(&token), expires_at).await?;
    Ok(Some(state.issuer.endpoint(&format!("/setup?token={token}"))))
}
