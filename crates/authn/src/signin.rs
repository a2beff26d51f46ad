//! One password sign-in: lockout check (before any hashing), lookup, exactly
//! one argon2 verification, counters, rehash, audit.

use portcullis_core::Clock;
use portcullis_store::{AuditOutcome, Store, User};
use serde_json::json;
use std::sync::Arc;
use time::OffsetDateTime;

use crate::audit::{RequestInfo, record};
use crate::lockout::{account_key, ip_key};
use crate::{AuthnError, Lockouts, Password, PasswordHasher, Verification};

/// What a sign-in needs besides the attempt itself.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The hasher.
    pub hasher: &'a Arc<PasswordHasher>,
    /// The back-off policies.
    pub lockouts: &'a Lockouts,
    /// The clock.
    pub clock: &'a dyn Clock,
}

/// How a sign-in ended.
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

/// Runs one password sign-in attempt for `login` from `request`.
pub async fn sign_in(
    ctx: SignIn<'_>,
    login: &str,
    password: Password,
    request: &RequestInfo,
) -> Result<SignInOutcome, AuthnError> {
    let now = ctx.clock.now();
    let mut keys = vec![account_key(login)];
    keys.extend(request.ip.as_deref().map(ip_key));
    let (refused, counted) = Lockouts::counters(ctx.store, &keys, now).await?;
    if let Some(until) = refused {
        tracing::info!(%until, "sign-in refused: backing off");
        return Ok(SignInOutcome::Refused { until });
    }

    let user = ctx.store.find_user_by_login(login).await?.filter(|u| !u.disabled);
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let verification = ctx.hasher.verify_blocking(stored, password.clone()).await;

    match (user, verification) {
        (Some(user), Verification::Match { needs_rehash }) => {
            // Counters that did not exist when checked need no clearing (one
            // counted meanwhile by a concurrent failure stays: the safe side).
            for key in counted {
                ctx.store.clear_rate_limit(key).await?;
            }
            if needs_rehash {
                rehash(ctx, &user, password).await;
            }
            record(
                ctx.store,
                now,
                "signin.success",
                AuditOutcome::Success,
                Some(user.id),
                request,
                json!({ "method": "pwd" }),
            )
            .await;
            Ok(SignInOutcome::Success(Box::new(user)))
        }
        (user, _) => {
            let user_id = user.map(|u| u.id);
            record(
                ctx.store,
                now,
                "signin.failure",
                AuditOutcome::Failure,
                user_id,
                request,
                json!({ "method": "pwd" }),
            )
            .await;
            count_failure(ctx, &keys, user_id, request, now).await?;
            Ok(SignInOutcome::Failed)
        }
    }
}

/// Counts the failure on every key; audits a lockout when one starts.
async fn count_failure(
    ctx: SignIn<'_>,
    keys: &[String],
    user_id: Option<uuid::Uuid>,
    request: &RequestInfo,
    now: OffsetDateTime,
) -> Result<(), AuthnError> {
    for (i, key) in keys.iter().enumerate() {
        let (policy, scope) =
            if i == 0 { (&ctx.lockouts.account, "account") } else { (&ctx.lockouts.ip, "ip") };
        if let Some(until) = Lockouts::fail(ctx.store, policy, key, now).await? {
            let detail = json!({ "scope": scope, "until": until.unix_timestamp() });
            record(ctx.store, now, "signin.lockout", AuditOutcome::Failure, user_id, request, detail).await;
        }
    }
    Ok(())
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
