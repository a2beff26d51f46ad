//! The device authorization grant (RFC 8628): a device that cannot show a
//! browser (a CLI, a TV) gets a device code and a user code at the device
//! authorization endpoint ([`start`]); its user opens `/device` on another
//! screen, signs in, types the user code, sees which client asks for what
//! and approves or denies ([`verify`]); meanwhile the device polls the
//! token endpoint with the device code
//! ([`crate::grants::device_code`], decided by [`poll()`]).
//!
//! - [`UserCode`]: 8 characters of `BCDFGHJKLMNPQRSTVWXZ`, typed in any
//!   case, with or without the dash.
//! - Both codes are stored as SHA-256; the device code is a 256-bit secret.
//! - Guessing user codes is throttled by the sign-in side's counters
//!   ([`verify::DeviceApprovals::guess`]).

mod poll;
pub mod user_code;
pub mod verify;

pub use poll::{Answer, Poll, SLOW_DOWN_STEP_SECS, poll};
pub use user_code::UserCode;

use portcullis_store::{DeviceAuthorizationRow, DeviceStatus, StoreError};
use serde::Serialize;

use crate::authorize::allowed_scopes;
use crate::context::{Ctx, ProtocolError, reject};
use crate::tokens::{new_secret, secret_hash};
use crate::{Client, GrantType, OAuthError};

/// Where users go to enter a user code (the `verification_uri`'s path).
pub const VERIFICATION_PATH: &str = "/device";

/// How often [`start`] draws another user code when the one drawn is taken.
const USER_CODE_DRAWS: usize = 5;

/// The device authorization response (RFC 8628 §3.2).
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct DeviceAuthorizationResponse {
    /// The device's secret, for polling the token endpoint.
    pub device_code: String,
    /// What the user types, as shown (`XXXX-XXXX`).
    pub user_code: String,
    /// Where the user types it (`{issuer}/device`).
    pub verification_uri: String,
    /// The same page with the code filled in (still to be approved).
    pub verification_uri_complete: String,
    /// Seconds the codes live.
    pub expires_in: i64,
    /// Seconds to wait between polls.
    pub interval: i64,
}

impl std::fmt::Debug for DeviceAuthorizationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorizationResponse")
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// The device authorization request's rules for an authenticated
/// `client`: it is registered for the device grant
/// (`unauthorized_client`), and asks for `scope`s it may have, under the
/// rules of `/authorize` (`invalid_scope`).
pub fn check_request(client: &Client, scope: Option<&str>) -> Result<crate::ScopeSet, ProtocolError> {
    if !client.allows_grant(GrantType::DeviceCode) {
        return reject(OAuthError::UnauthorizedClient, "the client may not use the device grant");
    }
    allowed_scopes(scope, client)
        .map_err(|(error, description)| ProtocolError::Rejected { error, description })
}

/// `POST /device_authorization` after client authentication (RFC 8628
/// §3.1–3.2): stores a pending device authorization — a new device code
/// and a user code unique among the kept ones, both hashed — living
/// `config.device_code_ttl`, and answers the codes.
#[tracing::instrument(level = "debug", skip_all, fields(client_id = %client.client_id))]
pub async fn start(
    ctx: &Ctx<'_>,
    client: &Client,
    scope: Option<&str>,
) -> Result<DeviceAuthorizationResponse, ProtocolError> {
    let scopes = check_request(client, scope)?;
    let interval = ctx.config.device_poll_interval.whole_seconds();
    let ttl = ctx.config.device_code_ttl;
    for _ in 0..USER_CODE_DRAWS {
        let (device_code, user_code) = (new_secret(), UserCode::generate());
        let row = DeviceAuthorizationRow {
            device_code_hash: secret_hash(&device_code),
            user_code_hash: secret_hash(user_code.as_str()),
            client_id: client.client_id.as_str().to_owned(),
            scopes: scopes.iter().map(str::to_owned).collect(),
            status: DeviceStatus::Pending,
            grant_id: None,
            interval_secs: interval,
            last_polled_at: None,
            created_at: ctx.now,
            expires_at: ctx.now + ttl,
            decided_at: None,
            redeemed_at: None,
        };
        match ctx.store.create_device_authorization(&row).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => continue, // that user code is taken: draw another
            Err(e) => return Err(e.into()),
        }
        let verification_uri = ctx.issuer.endpoint(VERIFICATION_PATH);
        let shown = user_code.display();
        return Ok(DeviceAuthorizationResponse {
            device_code,
            verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
            user_code: shown,
            verification_uri,
            expires_in: ttl.whole_seconds(),
            interval,
        });
    }
    reject(OAuthError::TemporarilyUnavailable, "no free user code; try again")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::public;

    fn refusal(client: &Client, scope: Option<&str>) -> Option<OAuthError> {
        check_request(client, scope).err().map(|e| e.oauth())
    }

    #[test]
    fn only_clients_registered_for_the_grant_may_ask() {
        let device = Client { grant_types: vec![GrantType::DeviceCode], ..public() };
        assert_eq!(
            check_request(&device, Some("openid profile")).expect("allowed").to_string(),
            "openid profile"
        );
        assert_eq!(refusal(&public(), Some("openid")), Some(OAuthError::UnauthorizedClient));
    }

    #[test]
    fn scopes_follow_the_authorize_rules() {
        let device = Client { grant_types: vec![GrantType::DeviceCode], ..public() };
        assert_eq!(refusal(&device, None), Some(OAuthError::InvalidScope), "required");
        assert_eq!(refusal(&device, Some("openid api")), Some(OAuthError::InvalidScope), "not the client's");
        assert_eq!(refusal(&device, Some("openid  profile")), Some(OAuthError::InvalidScope), "malformed");
        let admin = Client { scopes: crate::ScopeSet::parse("openid admin").expect("valid"), ..device };
        assert_eq!(refusal(&admin, Some("admin")), Some(OAuthError::InvalidScope), "never the admin API");
    }
}
