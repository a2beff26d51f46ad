//! `/device`: a signed-in user types a user code, sees which client asks
//! for which scopes, and approves or denies — each step one call.
//!
//! Only a complete sign-in may enter a code ([`SignIns::state`]; anything
//! else signs in first). Every lookup of a typed code is a guess, reserved
//! on the sign-in side's counters before it is made
//! ([`DeviceApprovals::guess`]: per user and per client IP): after too many
//! wrong codes even the right one is refused until the back-off ends. A
//! right code gives its reservation back, so the two steps (enter, decide)
//! cost an honest user nothing. Approval creates the grant as `/authorize`
//! does and records the consent; approval and denial are audited in their
//! own transaction.

use portcullis_store::{AuditOutcome, DeviceStatus, Effects, NewAuditEvent, Session};
use serde_json::{Value, json};
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

use super::UserCode;
use crate::context::{Ctx, ProtocolError};
use crate::grants::new_grant;
use crate::interaction::{Authentication, SignIns};
use crate::tokens::secret_hash;
use crate::{Client, ScopeSet};

/// How a throttled guess went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guess<T> {
    /// Right: its reservation was given back.
    Right(T),
    /// Wrong: it counts (and may have started a back-off).
    Wrong,
    /// Backing off: nothing was checked.
    Refused {
        /// Until when.
        until: OffsetDateTime,
    },
}

/// The sign-in side as `/device` asks it: where the browser stands
/// ([`SignIns`]), the throttle of user-code guesses and the audit trail
/// (both the sign-in side's, with this request's client IP).
pub trait DeviceApprovals: SignIns {
    /// Runs `check` as one guess of a user code by `user_id`: reserved on
    /// the guess counters first (not run at all while one backs off); a
    /// check answering `Some` gives the reservation back, `None` keeps it.
    fn guess<T>(
        &self,
        user_id: Uuid,
        check: impl Future<Output = Result<Option<T>, ProtocolError>>,
    ) -> impl Future<Output = Result<Guess<T>, ProtocolError>>;

    /// The audit event `kind` about `user_id`, from this request, at `at`.
    fn audit_event(
        &self,
        at: OffsetDateTime,
        kind: &str,
        outcome: AuditOutcome,
        user_id: Uuid,
        detail: Value,
    ) -> NewAuditEvent;

    /// Logs events once written (the audit log line).
    fn audit_logged(&self, events: &[NewAuditEvent]);
}

/// What the user is asked about.
#[derive(Debug, Clone)]
pub struct DevicePrompt {
    /// The code, as shown (`XXXX-XXXX`).
    pub user_code: String,
    /// The client asking.
    pub client: Client,
    /// What it asks for.
    pub scopes: ScopeSet,
}

/// Where `/device` goes next.
#[derive(Debug, Clone)]
pub enum DeviceStep {
    /// The browser is not (fully) signed in: sign in, then come back.
    SignIn,
    /// Signed in: ask for the code.
    Enter,
    /// Too many wrong codes: nothing was checked.
    Refused {
        /// Until when.
        until: OffsetDateTime,
    },
    /// No pending device has this code (wrong, expired, already decided).
    Unknown,
    /// Ask the user to approve or deny.
    Confirm(Box<DevicePrompt>),
    /// Approved: the device gets its tokens at its next poll.
    Approved(Box<DevicePrompt>),
    /// Denied: the device gets `access_denied`.
    Denied(Box<DevicePrompt>),
}

/// `GET /device`: ask a fully signed-in browser for the code.
#[tracing::instrument(skip_all)]
pub async fn entry(
    approvals: &impl DeviceApprovals,
    browser: Option<&Session>,
) -> Result<DeviceStep, ProtocolError> {
    Ok(match signed_in(approvals, browser).await? {
        Some(_) => DeviceStep::Enter,
        None => DeviceStep::SignIn,
    })
}

/// `POST /device`: the code typed, looked up as one guess; the prompt if
/// it names a pending device.
#[tracing::instrument(skip_all)]
pub async fn enter(
    ctx: &Ctx<'_>,
    approvals: &impl DeviceApprovals,
    browser: &Session,
    typed: &str,
) -> Result<DeviceStep, ProtocolError> {
    let Some(auth) = signed_in(approvals, Some(browser)).await? else { return Ok(DeviceStep::SignIn) };
    Ok(match lookup(ctx, approvals, &auth, typed).await? {
        Looked::Step(step) => step,
        Looked::Found(prompt, _) => DeviceStep::Confirm(prompt),
    })
}

/// `POST /device/decide`: the user's answer for the code (looked up again,
/// as one more guess): approve creates the grant and records the consent;
/// deny ends it. Each is audited (`device.approved`, `device.denied`).
#[tracing::instrument(skip_all, fields(allow))]
pub async fn decide(
    ctx: &Ctx<'_>,
    approvals: &impl DeviceApprovals,
    browser: &Session,
    typed: &str,
    allow: bool,
) -> Result<DeviceStep, ProtocolError> {
    let Some(auth) = signed_in(approvals, Some(browser)).await? else { return Ok(DeviceStep::SignIn) };
    let (prompt, user_code_hash) = match lookup(ctx, approvals, &auth, typed).await? {
        Looked::Step(step) => return Ok(step),
        Looked::Found(prompt, hash) => (prompt, hash),
    };
    let detail =
        json!({ "client_id": prompt.client.client_id.as_str(), "scopes": prompt.scopes.to_string() });
    let (kind, outcome) = if allow {
        ("device.approved", AuditOutcome::Success)
    } else {
        ("device.denied", AuditOutcome::Failure)
    };
    let audit = [approvals.audit_event(ctx.now, kind, outcome, auth.user_id, detail)];
    let effects = Effects::audit(&audit);
    let decided = if allow {
        let grant = new_grant(ctx, &prompt.client.client_id, &prompt.scopes, &auth, &[], Vec::new());
        let consent = consented(ctx, &auth, &prompt).await?;
        ctx.store.approve_device(&user_code_hash, &grant, &consent, ctx.now, &effects).await?
    } else {
        ctx.store.deny_device(&user_code_hash, ctx.now, &effects).await?
    };
    if !decided {
        return Ok(DeviceStep::Unknown); // decided (or expired) meanwhile
    }
    approvals.audit_logged(&audit);
    Ok(if allow { DeviceStep::Approved(prompt) } else { DeviceStep::Denied(prompt) })
}

/// The authentication of a fully signed-in browser, if it is one.
async fn signed_in(
    approvals: &impl DeviceApprovals,
    browser: Option<&Session>,
) -> Result<Option<Authentication>, ProtocolError> {
    if browser.is_none() {
        return Ok(None);
    }
    let state = approvals.state(browser).await.map_err(ProtocolError::SignIn)?;
    Ok(state.complete().cloned())
}

enum Looked {
    Step(DeviceStep),
    /// The prompt, and the user code's stored hash.
    Found(Box<DevicePrompt>, String),
}

/// Looks `typed` up as one guess of `auth`'s user. Input that is no user
/// code at all is not looked up (and does not count).
async fn lookup(
    ctx: &Ctx<'_>,
    approvals: &impl DeviceApprovals,
    auth: &Authentication,
    typed: &str,
) -> Result<Looked, ProtocolError> {
    let Some(code) = UserCode::parse(typed) else { return Ok(Looked::Step(DeviceStep::Unknown)) };
    let check = pending_device(ctx, &code);
    Ok(match approvals.guess(auth.user_id, check).await? {
        Guess::Right(found) => Looked::Found(found.0, found.1),
        Guess::Wrong => Looked::Step(DeviceStep::Unknown),
        Guess::Refused { until } => Looked::Step(DeviceStep::Refused { until }),
    })
}

/// The pending, unexpired device authorization `code` names, with its
/// (enabled) client; `None` for anything else.
async fn pending_device(
    ctx: &Ctx<'_>,
    code: &UserCode,
) -> Result<Option<(Box<DevicePrompt>, String)>, ProtocolError> {
    let Some(row) = ctx.store.find_device_by_user_code(&secret_hash(code.as_str())).await? else {
        return Ok(None);
    };
    if row.status != DeviceStatus::Pending || ctx.now >= row.expires_at {
        return Ok(None);
    }
    let Some(client) = crate::access::client_for_page(ctx, &row.client_id).await? else { return Ok(None) };
    let Ok(scopes) = ScopeSet::from_tokens(row.scopes.iter().map(String::as_str)) else { return Ok(None) };
    let prompt = DevicePrompt { user_code: code.display(), client, scopes };
    Ok(Some((Box::new(prompt), row.user_code_hash)))
}

/// The user's consent for the client after approving: what they allowed
/// before and what they allow now (the approval page is the consent page).
async fn consented(
    ctx: &Ctx<'_>,
    auth: &Authentication,
    prompt: &DevicePrompt,
) -> Result<Vec<String>, ProtocolError> {
    let client_id = prompt.client.client_id.as_str();
    let mut scopes = ctx.store.find_consent(auth.user_id, client_id).await?.unwrap_or_default();
    for scope in prompt.scopes.iter() {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}
