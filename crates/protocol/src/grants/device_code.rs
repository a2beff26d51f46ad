//! The device code grant (RFC 8628 §3.4–3.5): the device polls with its
//! device code until the user decides on `/device`. Each poll is decided
//! by [`crate::device::poll`] from the stored row and recorded by compare
//! and swap, so two polls at once cannot both pass the interval; once
//! approved, the device code is redeemed once for the grant's first
//! tokens, as an authorization code is.

use crate::context::{Ctx, ProtocolError, reject};
use crate::device::{Answer, Poll, poll};
use crate::dpop::Jkt;
use crate::grants::{FirstUse, TokenParams, first_tokens};
use crate::tokens::{TokenResponse, secret_hash};
use crate::{Client, OAuthError};

/// How often a poll that lost the compare and swap reads the row again.
const RETRIES: usize = 3;

/// The `device_code` of the form, which must not be empty.
pub fn presented_device_code(params: &TokenParams) -> Result<&str, ProtocolError> {
    match params.device_code.as_deref().filter(|c| !c.is_empty()) {
        Some(code) => Ok(code),
        None => reject(OAuthError::InvalidRequest, "device_code is required"),
    }
}

pub(crate) async fn exchange(
    ctx: &Ctx<'_>,
    client: &Client,
    params: &TokenParams,
    jkt: Option<&Jkt>,
) -> Result<TokenResponse, ProtocolError> {
    let hash = secret_hash(presented_device_code(params)?);
    for _ in 0..RETRIES {
        let Some((row, grant)) = ctx.store.find_device_code(&hash).await? else {
            return reject(OAuthError::InvalidGrant, "unknown device code");
        };
        let (interval_secs, answer) = match poll(&row, client.client_id.as_str(), ctx.now) {
            Poll::Refused(error, description) => return reject(error, description),
            Poll::Replayed => {
                // As for a replayed authorization code: revoke what it issued.
                if let Some(grant_id) = &row.grant_id {
                    ctx.store.revoke_grant(grant_id, ctx.now).await?;
                }
                tracing::warn!(client_id = %row.client_id, "device code replayed; its grant is revoked");
                return reject(OAuthError::InvalidGrant, "the device code was already used");
            }
            Poll::Answer { interval_secs, answer } => (interval_secs, answer),
        };
        let seen = (row.last_polled_at, row.interval_secs);
        if !ctx.store.record_device_poll(&hash, seen, (ctx.now, interval_secs)).await? {
            continue; // another poll came in between: decide again on what it left
        }
        return match (answer, grant) {
            (Answer::Pending, _) => reject(OAuthError::AuthorizationPending, "the user has not decided yet"),
            (Answer::SlowDown, _) => {
                reject(OAuthError::SlowDown, "poll less often: the interval grew by 5 s")
            }
            (Answer::Denied, _) => reject(OAuthError::AccessDenied, "the user denied the request"),
            (Answer::Approved, Some(grant)) => {
                first_tokens(ctx, client, &grant, None, FirstUse::DeviceCode(&hash), params, jkt).await
            }
            (Answer::Approved, None) => reject(OAuthError::InvalidGrant, "the grant was revoked"),
        };
    }
    reject(OAuthError::SlowDown, "poll less often: the interval grew by 5 s")
}
