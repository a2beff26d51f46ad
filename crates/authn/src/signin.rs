//! One password check: lookup, reservation on the account's and the IP's
//! counters (before any hashing), exactly one argon2 verification, then the
//! reservations kept or given back, rehash, audit.

use portcullis_core::Clock;
use portcullis_store::{AuditOutcome, Store, Throttle, User};
use serde_json::json;
use std::sync::Arc;
use time::OffsetDateTime;

use crate::audit::{RequestInfo, record};
use crate::throttle::{Admission, ip_key, password_key, reserve};
use crate::{AuthnError, Lockouts, Password, PasswordHasher, Verification};

/// What a password check needs.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The throttle counters.
    pub throttle: &'a dyn Throttle,
    /// The hasher.
    pub hasher: &'a Arc<PasswordHasher>,
    /// The back-off policies.
    pub lockouts: &'a Lockouts,
    /// The clock.
    pub clock: &'a dyn Clock,
}

/// How a password check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInOutcome {
    /// Right password, active account.
    Success(Box<User>),
    /// Unknown user, wrong password or disabled account: one answer for all.
    Failed,
    /// Refused before hashing: the account or the client IP is backing off.
    Refused {
        /// When attempts are allowed again.
        until: OffsetDateTime,
    },
}

impl SignInOutcome {
    /// A label for metrics: `success`, `failure` or `locked`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Success(_) => "success",
            Self::Failed => "failure",
            Self::Refused { .. } => "locked",
        }
    }
}

/// Checks `password` for the account `login` names (a sign-in), from `request`.
#[tracing::instrument(skip_all)]
pub async fn sign_in(
    ctx: SignIn<'_>,
    login: &str,
    password: Password,
    request: &RequestInfo,
) -> Result<SignInOutcome, AuthnError> {
    let user = ctx.store.find_user_by_login(login).await?.filter(|u| !u.disabled);
    check_password(ctx, login, user, password, request, "signin").await
}

/// Checks the current password of a signed-in `user` (a change on the
/// account page): the same counters and back-off as a sign-in.
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn confirm_password(
    ctx: SignIn<'_>,
    user: &User,
    password: Password,
    request: &RequestInfo,
) -> Result<SignInOutcome, AuthnError> {
    check_password(ctx, &user.username, Some(user.clone()), password, request, "password.confirm").await
}

async fn check_password(
    ctx: SignIn<'_>,
    login: &str,
    user: Option<User>,
    password: Password,
    request: &RequestInfo,
    audit: &str,
) -> Result<SignInOutcome, AuthnError> {
    let now = ctx.clock.now();
    let account = password_key(user.as_ref(), login);
    let mut counters = vec![(account.clone(), &ctx.lockouts.account)];
    counters.extend(request.ip.as_deref().map(|ip| (ip_key(ip), &ctx.lockouts.ip)));
    let attempt = match reserve(ctx.throttle, &counters, now).await? {
        Admission::Admitted(attempt) => attempt,
        Admission::Refused { until } => {
            tracing::info!(%until, "password check refused: backing off");
            return Ok(SignInOutcome::Refused { until });
        }
    };
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let verification = ctx.hasher.verify_blocking(stored, password.clone()).await;
    let kind = |outcome| format!("{audit}.{outcome}");
    match (user, verification) {
        (Some(user), Verification::Match { needs_rehash }) => {
            attempt.succeeded(&[&account]).await?;
            if needs_rehash {
                rehash(ctx, &user, password).await;
            }
            let detail = json!({ "method": "pwd" });
            record(ctx.store, now, &kind("success"), AuditOutcome::Success, Some(user.id), request, detail)
                .await;
            Ok(SignInOutcome::Success(Box::new(user)))
        }
        (user, _) => {
            let user_id = user.map(|u| u.id);
            let detail = json!({ "method": "pwd" });
            record(ctx.store, now, &kind("failure"), AuditOutcome::Failure, user_id, request, detail).await;
            lockouts_started(ctx.store, attempt.failed(), user_id, request, now).await;
            Ok(SignInOutcome::Failed)
        }
    }
}

/// Audits each back-off a failure started (`signin.lockout`).
pub(crate) async fn lockouts_started(
    store: &dyn Store,
    started: Vec<(String, OffsetDateTime)>,
    user_id: Option<uuid::Uuid>,
    request: &RequestInfo,
    now: OffsetDateTime,
) {
    for (key, until) in started {
        let scope = match key.split(':').next() {
            Some("pwd") => "account",
            Some("mfa") => "second_factor",
            Some("ip") => "ip",
            Some("code") => "user_code",
            _ => "other",
        };
        let detail = json!({ "scope": scope, "until": until.unix_timestamp() });
        record(store, now, "signin.lockout", AuditOutcome::Failure, user_id, request, detail).await;
    }
}

/// Upgrades a hash made with outdated parameters; a failure only logs.
async fn rehash(ctx: SignIn<'_>, user: &User, password: Password) {
    let upgraded = match ctx.hasher.hash_blocking(password).await {
        Ok(hash) => {
            ctx.store.set_password_hash(user.id, &hash, ctx.clock.now()).await.map_err(AuthnError::from)
        }
        Err(e) => Err(e),
    };
    match upgraded {
        Ok(()) => tracing::info!(user_id = %user.id, "password hash upgraded to the current parameters"),
        Err(e) => tracing::warn!(user_id = %user.id, error = %e, "cannot upgrade a password hash"),
    }
}
