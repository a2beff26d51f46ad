//! Second factors: what a user has enrolled, the enrollment policy, and one
//! second-factor check (TOTP or a recovery code), throttled on its own
//! per-account counter (which no first factor clears) and the client IP's.

use portcullis_core::Clock;
use portcullis_store::{AuditOutcome, ROLE_ADMIN, Store, StoreError, Throttle, User};
use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{RequestInfo, record};
use crate::journey::Method;
use crate::signin::lockouts_started;
use crate::throttle::{Admission, ip_key, reserve, second_factor_key};
use crate::totp::Totp;
use crate::{AuthnError, Lockouts, recovery_codes};

/// What a user has enrolled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors {
    /// Registered passkeys.
    pub passkeys: usize,
    /// A confirmed authenticator app.
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes: u64,
}

impl Factors {
    /// Reads the user's factors.
    pub async fn of(store: &dyn Store, user: &User) -> Result<Self, StoreError> {
        Ok(Self {
            passkeys: store.list_passkeys(user.id).await?.len(),
            totp: store.find_totp(user.id).await?.is_some_and(|t| t.confirmed_at.is_some()),
            recovery_codes: store.count_recovery_codes(user.id).await?,
        })
    }

    /// True when the user has a second factor (a passkey or an app).
    /// Recovery codes alone do not count: they back up a factor.
    pub fn any(&self) -> bool {
        self.passkeys > 0 || self.totp
    }
}

/// Who must have a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaPolicy {
    /// Users with the `admin` role must have a passkey or an app.
    pub admins_require_mfa: bool,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self { admins_require_mfa: true }
    }
}

impl MfaPolicy {
    /// True when `user` must use a second factor (and so enroll one).
    pub fn requires_mfa(&self, user: &User) -> bool {
        user.mfa_required || (self.admins_require_mfa && user.has_role(ROLE_ADMIN))
    }

    /// True when `user` must enroll before going anywhere else.
    pub fn must_enroll(&self, user: &User, factors: &Factors) -> bool {
        self.requires_mfa(user) && !factors.any()
    }
}

/// A second factor as typed.
#[derive(Debug, Clone, Copy)]
pub enum SecondFactor<'a> {
    /// A code from the authenticator app.
    Totp(&'a str),
    /// One of the recovery codes.
    RecoveryCode(&'a str),
}

impl SecondFactor<'_> {
    fn label(&self) -> &'static str {
        match self {
            Self::Totp(_) => "totp",
            Self::RecoveryCode(_) => "recovery_code",
        }
    }

    /// The journey's name for it.
    pub fn method(&self) -> Method {
        match self {
            Self::Totp(_) => Method::Totp,
            Self::RecoveryCode(_) => Method::RecoveryCode,
        }
    }
}

/// How a second-factor check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactorOutcome {
    /// Accepted: this step joins the first factor's (see [`Method::amr`]).
    Success(Method),
    /// Wrong, reused or unknown code.
    Failed,
    /// The account or the client IP is backing off.
    Refused {
        /// Until when.
        until: OffsetDateTime,
    },
}

/// What a second-factor check needs.
#[derive(Debug, Clone, Copy)]
pub struct SecondFactorCheck<'a> {
    /// TOTP over the store.
    pub totp: Totp<'a>,
    /// The throttle counters.
    pub throttle: &'a dyn Throttle,
    /// The back-off policies.
    pub lockouts: &'a Lockouts,
    /// The clock.
    pub clock: &'a dyn Clock,
}

/// Checks one second factor of `user` (who passed a first factor): the
/// attempt is reserved on the user's second-factor counter and the IP's
/// first; only a right second factor clears the former.
#[tracing::instrument(skip_all, fields(user_id = %user.id, method = ?factor.method()))]
pub async fn check_second_factor(
    ctx: SecondFactorCheck<'_>,
    user: &User,
    factor: SecondFactor<'_>,
    request: &RequestInfo,
) -> Result<SecondFactorOutcome, AuthnError> {
    let store = ctx.totp.store;
    let now = ctx.clock.now();
    let account = second_factor_key(user);
    let mut counters = vec![(account.clone(), &ctx.lockouts.second_factor)];
    counters.extend(request.ip.as_deref().map(|ip| (ip_key(ip), &ctx.lockouts.ip)));
    let attempt = match reserve(ctx.throttle, &counters, now).await? {
        Admission::Admitted(attempt) => attempt,
        Admission::Refused { until } => return Ok(SecondFactorOutcome::Refused { until }),
    };
    let ok = match factor {
        SecondFactor::Totp(code) => ctx.totp.check(user.id, code, false, now).await?,
        SecondFactor::RecoveryCode(code) => recovery_codes::redeem(store, user.id, code, now).await?,
    };
    let detail = json!({ "method": factor.label() });
    if ok {
        attempt.succeeded(&[&account]).await?;
        record(store, now, "signin.second_factor", AuditOutcome::Success, Some(user.id), request, detail)
            .await;
        if matches!(factor, SecondFactor::RecoveryCode(_)) {
            let left = store.count_recovery_codes(user.id).await?;
            tracing::info!(user_id = %user.id, left, "a recovery code was used");
        }
        return Ok(SecondFactorOutcome::Success(factor.method()));
    }
    record(store, now, "signin.second_factor", AuditOutcome::Failure, Some(user.id), request, detail).await;
    lockouts_started(store, attempt.failed(), Some(user.id), request, now).await;
    Ok(SecondFactorOutcome::Failed)
}
