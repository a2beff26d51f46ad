//! The account holder's security operations (the account page): one
//! function each. Every operation checks what the session may do
//! ([`AccountSecurity::check_change`]), then makes its writes in ONE store
//! transaction together with its audit event, its notice mail and the
//! session's NEW id ([`Rotated`]) — `UserRepo::change_password`,
//! `MfaRepo::remove_factor`, `MfaRepo::enroll_factor`, `LogoutRepo::end_session`
//! with [`portcullis_store::Effects`]. A refusal writes only its audit event.
//!
//! - factors ([`AccountSecurity::begin_totp`], [`AccountSecurity::confirm_totp`],
//!   [`AccountSecurity::register_passkey`], [`AccountSecurity::remove_factor`]);
//! - recovery codes ([`AccountSecurity::regenerate_recovery_codes`],
//!   [`AccountSecurity::initial_recovery_codes`]);
//! - the password ([`AccountSecurity::change_password`]) and the user's
//!   other sessions ([`AccountSecurity::end_other_session`]);
//! - linked upstream identities ([`AccountSecurity::unlink_upstream`]);
//! - what the page shows ([`AccountSecurity::overview`]).

mod apps;
mod factors;
mod password;
mod sessions;
mod upstreams;

pub use factors::{PasskeyRegistered, RecoveryCodes, TotpConfirmed};

use portcullis_mailer::MailContext;
use portcullis_store::{AuditOutcome, NewAuditEvent, PasskeyRow, Rotation, Session, UpstreamIdentity, User};
use serde_json::json;

use crate::accounts::Accounts;
use crate::audit::{RequestInfo, event, record};
use crate::journey::{Change, may_change};
use crate::totp::{Enrollment, TotpState};
use crate::{AuthnError, Factors, Interaction, PasswordPolicy};

/// A signed-in session on the account pages, with its user.
#[derive(Debug, Clone)]
pub struct AccountSession {
    /// The browser's session.
    pub session: Session,
    /// Its (enabled) user.
    pub user: User,
    /// The policy wants a second factor the user has none of: the session
    /// may only enroll one.
    pub enroll_only: bool,
}

/// What a change needs of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Enrolling a second factor: also in a session that must enroll one.
    Enrollment,
    /// Anything else: a fully signed-in session.
    FullOnly,
}

/// The session after a change: the same session under a NEW id.
#[derive(Debug)]
pub struct Rotated {
    /// The session (its CSRF token, `sid` and `auth_time` stay).
    pub session: Session,
    /// Its new cookie value.
    pub cookie: String,
}

impl Rotated {
    /// `session` under a new id (with `amr` when given), to be written by
    /// the change's transaction ([`Self::of`]).
    fn renew(session: &Session, amr: Option<Vec<String>>) -> Self {
        let (session, cookie) = crate::sessions::renewed(session, amr);
        Self { session, cookie }
    }

    /// The rotation of `old` into this session, for the store.
    fn of<'a>(&'a self, old: &'a Session) -> Rotation<'a> {
        Rotation { old_id_hash: &old.id_hash, new: &self.session }
    }
}

/// What the account page shows.
#[derive(Debug, Clone)]
pub struct AccountOverview {
    /// The user's factors.
    pub factors: Factors,
    /// The authenticator app.
    pub totp: TotpState,
    /// The app's enrollment in progress (to show again), if any.
    pub enrollment: Option<Enrollment>,
    /// The user's passkeys, oldest first.
    pub passkeys: Vec<PasskeyRow>,
    /// The user's sessions, most recently used first.
    pub sessions: Vec<Session>,
    /// The clients the user is connected to.
    pub apps: Vec<portcullis_store::ConnectedClient>,
    /// The identities at upstream providers linked to the account.
    pub upstreams: Vec<UpstreamIdentity>,
    /// The policy wants a second factor the user has none of.
    pub must_enroll: bool,
    /// Changes are allowed without confirming again.
    pub recent: bool,
    /// A new password needs no current password (a recent second factor
    /// or passkey).
    pub password_confirmed: bool,
}

impl AccountOverview {
    /// The page after [`AccountSecurity::begin_totp`] started `enrollment`.
    pub fn with_enrollment(self, enrollment: Enrollment) -> Self {
        Self { totp: TotpState::Pending, enrollment: Some(enrollment), ..self }
    }
}

/// The account holder's security operations.
#[derive(Debug, Clone, Copy)]
pub struct AccountSecurity<'a> {
    /// The journey: store, clock, hasher, lockouts, policies, TOTP, passkeys.
    pub interaction: Interaction<'a>,
    /// The password policy.
    pub policy: &'a PasswordPolicy,
    /// Product name and link base of the notices.
    pub mail: &'a MailContext,
}

impl<'a> AccountSecurity<'a> {
    /// Account administration over the same store and clock.
    fn accounts(&self) -> Accounts<'a> {
        let i = &self.interaction;
        Accounts { store: i.store, hasher: i.hasher, policy: self.policy, clock: i.clock }
    }

    /// Whether `account` may make a change now, without side effects:
    /// `EnrollFirst` when the session may only enroll and the change is
    /// not an enrollment; `ReauthenticationRequired` when its
    /// authentication is not recent and strong enough.
    pub fn may_change_now(&self, account: &AccountSession, allowed: Allowed) -> Result<(), AuthnError> {
        if account.enroll_only && allowed == Allowed::FullOnly {
            return Err(AuthnError::EnrollFirst);
        }
        if !may_change(&account.session, Change::Security, self.interaction.clock.now()) {
            return Err(AuthnError::ReauthenticationRequired);
        }
        Ok(())
    }

    /// [`Self::may_change_now`], auditing a refused re-authentication
    /// (`account.reauth_required`, with the `path` asked for).
    pub async fn check_change(
        &self,
        account: &AccountSession,
        allowed: Allowed,
        path: &str,
        request: &RequestInfo,
    ) -> Result<(), AuthnError> {
        let checked = self.may_change_now(account, allowed);
        if let Err(AuthnError::ReauthenticationRequired) = checked {
            self.reauth_required(&account.user, path, request).await;
        }
        checked
    }

    /// Audits that a change at `path` asked the user to confirm it is them.
    async fn reauth_required(&self, user: &User, path: &str, request: &RequestInfo) {
        let (i, detail) = (&self.interaction, json!({ "path": path }));
        let (kind, outcome) = ("account.reauth_required", AuditOutcome::Failure);
        record(i.store, i.clock.now(), kind, outcome, Some(user.id), request, detail).await;
    }

    /// A successful change `kind` on `user`'s account, now, for its transaction.
    fn event(
        &self,
        user: &User,
        kind: &str,
        request: &RequestInfo,
        detail: serde_json::Value,
    ) -> NewAuditEvent {
        event(self.interaction.clock.now(), kind, AuditOutcome::Success, Some(user.id), request, detail)
    }

    /// What the account page shows to `account`.
    #[tracing::instrument(skip_all, fields(user_id = %account.user.id))]
    pub async fn overview(&self, account: &AccountSession) -> Result<AccountOverview, AuthnError> {
        let i = &self.interaction;
        let (user, session) = (&account.user, &account.session);
        let factors = Factors::of(i.store, user).await?;
        let totp = i.totp.state(user.id).await?;
        let enrollment = match totp {
            TotpState::Pending => i.totp.pending(user.id, &user.username).await?,
            _ => None,
        };
        let passkeys = i.store.list_passkeys(user.id).await?;
        let sessions = i.store.list_user_sessions(user.id).await?;
        let now = i.clock.now();
        let apps = i.store.connected_clients(user.id, now).await?;
        let upstreams = i.store.user_upstream_identities(user.id).await?;
        Ok(AccountOverview {
            upstreams,
            must_enroll: i.mfa.must_enroll(user, &factors),
            factors,
            totp,
            enrollment,
            passkeys,
            sessions,
            apps,
            recent: may_change(session, Change::Security, now),
            password_confirmed: may_change(session, Change::Password { current_password_given: false }, now),
        })
    }
}
