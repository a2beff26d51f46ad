//! Accounts at start-up: the [`Auth`] the sign-in pages use, built from
//! `[auth]` and `[[upstreams]]`, the first-admin setup link when no user
//! exists, and the sweeper deleting expired sessions, counters and setup
//! tokens.

use portcullis_authn::upstream::Upstreams;
use portcullis_authn::{
    Argon2Cost, LockoutPolicy, Lockouts, MfaPolicy, Passkeys, PasswordHasher, PasswordPolicy,
};
use portcullis_core::Clock;
use portcullis_store::{Store, StoreError};
use portcullis_web::{AppState, Auth, AuthMetrics, SessionPolicy};
use prometheus::Registry;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

use crate::StartupError;
use crate::settings::{AuthSettings, Settings};

/// The argon2id cost configured in `[auth]`.
pub(crate) fn argon2_cost(auth: &AuthSettings) -> Argon2Cost {
    Argon2Cost {
        memory_kib: auth.argon2_memory_kib,
        iterations: auth.argon2_iterations,
        parallelism: auth.argon2_parallelism,
    }
}

/// The password policy configured in `[auth]`.
pub(crate) fn password_policy(auth: &AuthSettings) -> PasswordPolicy {
    PasswordPolicy { min_length: auth.password_min_length, ..PasswordPolicy::default() }
}

fn lockout(max_failures: u32, auth: &AuthSettings) -> LockoutPolicy {
    LockoutPolicy {
        max_failures,
        base_delay: Duration::seconds(auth.lockout_base_secs.into()),
        max_delay: Duration::seconds(auth.lockout_max_secs.into()),
        window: Duration::seconds(auth.failure_window_secs.into()),
    }
}

/// The back-off of every sign-in check, from `[auth]`.
pub(crate) fn lockouts(auth: &AuthSettings) -> Lockouts {
    Lockouts {
        account: lockout(auth.max_failures_per_account, auth),
        second_factor: lockout(auth.max_second_factor_failures, auth),
        ip: lockout(auth.max_failures_per_ip, auth),
        user_code: lockout(auth.max_user_code_failures, auth),
    }
}

/// Builds the hasher (computing its dummy hash once), the policies and the
/// sign-in metrics (registered in `registry`).
pub(crate) fn build_auth(
    settings: &Settings,
    registry: &Registry,
    kek: portcullis_keys::Kek,
) -> Result<Auth, StartupError> {
    let auth = &settings.auth;
    let metrics = AuthMetrics::register(registry)?;
    let hasher = PasswordHasher::new(argon2_cost(auth))
        .map_err(|e| StartupError::Accounts(e.to_string()))?
        .with_observer(metrics.hash_observer());
    Ok(Auth {
        hasher: Arc::new(hasher),
        policy: password_policy(auth),
        lockouts: lockouts(auth),
        sessions: SessionPolicy {
            idle_timeout: Duration::seconds(auth.session_idle_timeout_secs.into()),
            absolute_timeout: Duration::seconds(auth.session_absolute_timeout_secs.into()),
        },
        trusted_proxies: auth.trusted_proxies.clone(),
        metrics,
        mfa: MfaPolicy { admins_require_mfa: auth.admins_require_mfa },
        passkeys: passkeys(settings),
        kek: Arc::new(kek),
        totp_issuer: auth.totp_issuer.clone(),
        upstreams: Arc::new(upstreams(settings)?),
    })
}

/// The configured `[[upstreams]]`, each discovered at its first use: the
/// start contacts none of them.
fn upstreams(settings: &Settings) -> Result<Upstreams, StartupError> {
    let upstreams = settings.upstreams.iter().map(|u| u.to_upstream(&settings.issuer));
    Ok(Upstreams::new(upstreams.collect::<Result<_, _>>()?))
}

/// The WebAuthn relying party of the issuer, or `None` (logged) when its
/// host is an IP address: browsers accept only domain names as relying-party
/// ids, so passkeys need e.g. `http://localhost:8080` rather than 127.0.0.1.
fn passkeys(settings: &Settings) -> Option<Arc<Passkeys>> {
    match Passkeys::new(settings.issuer.url(), &settings.auth.totp_issuer) {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            tracing::warn!(issuer = %settings.issuer, error = %e, "passkeys are disabled");
            None
        }
    }
}

/// With no user yet, creates a one-time setup link and logs it prominently.
pub(crate) async fn announce_setup_link(state: &AppState) -> Result<Option<String>, StartupError> {
    let link = portcullis_authn::first_admin::create_setup_link(
        state.store.as_ref(),
        state.clock.as_ref(),
        &state.issuer,
    )
    .await
    .map_err(|e| StartupError::Accounts(format!("cannot create the setup link: {e}")))?;
    if let Some(link) = &link {
        // The token is a one-time secret by design: whoever reads this line
        // first becomes the administrator, within the hour.
        tracing::warn!(
            "No administrator yet. Open this one-time link within 1 hour to create the first one: {link}"
        );
    }
    Ok(link)
}

/// How often expired sessions, stale counters and dead setup tokens are deleted.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Sessions past their idle or absolute timeout.
    pub sessions: u64,
    /// Failure counters quiet for `auth.failure_window_secs` and blocking nothing.
    pub rate_limits: u64,
    /// Expired setup tokens.
    pub setup_tokens: u64,
    /// Expired authorization requests, codes, refresh tokens, grants and JWT ids.
    pub grants: u64,
    /// Expired ceremony state (WebAuthn challenges, pending second factors).
    pub session_states: u64,
    /// Mailed links (reset, verification, magic) past their expiry.
    pub email_tokens: u64,
}

/// Deletes what has expired at `now` (rows that would be refused anyway, so
/// the tables do not grow with abandoned sign-in pages).
pub async fn sweep_expired(
    store: &dyn Store,
    now: OffsetDateTime,
    auth: &AuthSettings,
) -> Result<Swept, StoreError> {
    let idle = Duration::seconds(auth.session_idle_timeout_secs.into());
    let absolute = Duration::seconds(auth.session_absolute_timeout_secs.into());
    let window = Duration::seconds(auth.failure_window_secs.into());
    Ok(Swept {
        sessions: store.delete_expired_sessions(now - idle, now - absolute).await?,
        rate_limits: store.delete_stale_rate_limits(now - window, now).await?,
        setup_tokens: store.delete_expired_setup_tokens(now).await?,
        grants: store.delete_expired_grants(now).await?,
        session_states: store.delete_expired_session_states(now).await?,
        email_tokens: store.delete_expired_email_tokens(now).await?,
    })
}

/// Sweeps every few minutes until aborted.
pub(crate) async fn run_sweeper(store: Arc<dyn Store>, clock: Arc<dyn Clock>, auth: AuthSettings) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.tick().await; // the first tick is immediate: nothing has expired yet
    loop {
        tick.tick().await;
        match sweep_expired(store.as_ref(), clock.now(), &auth).await {
            Ok(swept) if swept != Swept::default() => tracing::info!(?swept, "expired rows deleted"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot delete expired sessions"),
        }
    }
}
