//! The admin console's account operations: who may use the console
//! ([`AdminConsole::access`], decided at every request by
//! [`crate::journey::admin_standing`]), what it shows, and each change to a
//! user as one function: one store transaction with its audit event, which
//! names the acting administrator (`actor` in its detail).

use portcullis_store::{
    AuditOutcome, Effects, EndedAccess, FactorRef, NewAuditEvent, PasskeyRow, Session, User,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{RequestInfo, event, logged};
use crate::journey::{AdminStanding, admin_standing};
use crate::{AuthnError, Factors, Interaction, TotpState};

/// An administrator's session in the console.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The browser's session.
    pub session: Session,
    /// The administrator.
    pub user: User,
    /// What the session may do (`Read` or `Change`).
    pub standing: AdminStanding,
}

impl Admin {
    /// Whether this session may change things now (authenticated within 5
    /// minutes); reading needs less.
    pub fn may_change(&self) -> bool {
        self.standing == AdminStanding::Change
    }
}

/// Who is asking for the console.
#[derive(Debug, Clone)]
pub enum AdminAccess {
    /// An administrator who may read it (and, with `Change`, change).
    Allowed(Box<Admin>),
    /// Not allowed: why (never `Read` or `Change`).
    Refused(AdminStanding),
}

/// What the console shows about one user.
#[derive(Debug, Clone)]
pub struct UserDetail {
    /// The user.
    pub user: User,
    /// Their factors.
    pub factors: Factors,
    /// The authenticator app.
    pub totp: TotpState,
    /// Their passkeys.
    pub passkeys: Vec<PasskeyRow>,
    /// Their live sessions, most recently used first.
    pub sessions: Vec<Session>,
}

/// The console's account operations.
#[derive(Debug, Clone, Copy)]
pub struct AdminConsole<'a> {
    /// The journey (store, clock, policies).
    pub interaction: Interaction<'a>,
}

impl AdminConsole<'_> {
    /// What `session` may do in the console, now.
    #[tracing::instrument(skip_all)]
    pub async fn access(&self, session: Option<&Session>) -> Result<AdminAccess, AuthnError> {
        let i = &self.interaction;
        let (Some(session), Some((user, standing))) = (session, i.standing_of(session).await?) else {
            return Ok(AdminAccess::Refused(AdminStanding::NotAdmin));
        };
        let standing = admin_standing(&user, standing, session, i.clock.now());
        Ok(if standing.may_read() {
            AdminAccess::Allowed(Box::new(Admin { session: session.clone(), user, standing }))
        } else {
            AdminAccess::Refused(standing)
        })
    }

    /// Every user, by username.
    #[tracing::instrument(skip_all)]
    pub async fn users(&self, _admin: &Admin) -> Result<Vec<User>, AuthnError> {
        Ok(self.interaction.store.list_users().await?)
    }

    /// One user as the console shows them; `UnknownUser` for an unknown id.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn user(&self, _admin: &Admin, id: Uuid) -> Result<UserDetail, AuthnError> {
        let i = &self.interaction;
        let user = i.store.find_user(id).await?.ok_or(AuthnError::UnknownUser)?;
        Ok(UserDetail {
            factors: Factors::of(i.store, &user).await?,
            totp: i.totp.state(user.id).await?,
            passkeys: i.store.list_passkeys(user.id).await?,
            sessions: i.store.list_user_sessions(user.id).await?,
            user,
        })
    }

    /// A change may be made by `admin` now: `ReauthenticationRequired`
    /// otherwise (authenticated more than 5 minutes ago).
    fn may_change(admin: &Admin) -> Result<(), AuthnError> {
        if admin.may_change() { Ok(()) } else { Err(AuthnError::ReauthenticationRequired) }
    }

    /// The event `kind` about `target`, by `admin`.
    fn event(
        &self,
        admin: &Admin,
        kind: &str,
        target: Uuid,
        request: &RequestInfo,
        detail: Value,
    ) -> NewAuditEvent {
        let mut detail = detail;
        if let Some(map) = detail.as_object_mut() {
            map.insert("actor".into(), json!(admin.user.id));
        }
        let now = self.interaction.clock.now();
        event(now, kind, AuditOutcome::Success, Some(target), request, detail)
    }

    /// Disables `id` and ends everything of theirs (sessions with their
    /// back-channel logouts, refresh tokens) in one transaction with its
    /// audit event. An administrator cannot disable themselves.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn disable(
        &self,
        admin: &Admin,
        id: Uuid,
        request: &RequestInfo,
    ) -> Result<EndedAccess, AuthnError> {
        Self::may_change(admin)?;
        if id == admin.user.id {
            return Err(AuthnError::NotOnYourself);
        }
        let audit = [self.event(admin, "user.disabled", id, request, json!({}))];
        let ended = self.store_err(
            self.interaction
                .store
                .disable_user(id, self.interaction.clock.now(), &Effects::audit(&audit))
                .await,
        )?;
        logged(&audit, Some(ended));
        Ok(ended)
    }

    /// Re-enables `id`, with its audit event.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn enable(&self, admin: &Admin, id: Uuid, request: &RequestInfo) -> Result<(), AuthnError> {
        Self::may_change(admin)?;
        let audit = [self.event(admin, "user.enabled", id, request, json!({}))];
        let now = self.interaction.clock.now();
        self.store_err(self.interaction.store.enable_user(id, now, &Effects::audit(&audit)).await)?;
        logged(&audit, None);
        Ok(())
    }

    /// Removes every second factor of `id` (passkeys, app, recovery codes)
    /// and ends everything of theirs, in one transaction with its audit event.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn reset_second_factors(
        &self,
        admin: &Admin,
        id: Uuid,
        request: &RequestInfo,
    ) -> Result<EndedAccess, AuthnError> {
        Self::may_change(admin)?;
        if id == admin.user.id {
            return Err(AuthnError::NotOnYourself);
        }
        let i = &self.interaction;
        i.store.find_user(id).await?.ok_or(AuthnError::UnknownUser)?;
        let audit = [self.event(admin, "user.mfa_reset", id, request, json!({}))];
        let now = i.clock.now();
        let ended = i.store.remove_factor(id, FactorRef::All, now, &Effects::audit(&audit)).await?;
        let ended = ended.unwrap_or_default();
        logged(&audit, Some(ended));
        Ok(ended)
    }

    /// Marks `id` as having to use a second factor (or not).
    #[tracing::instrument(skip_all, fields(user_id = %id, required))]
    pub async fn require_second_factor(
        &self,
        admin: &Admin,
        id: Uuid,
        required: bool,
        request: &RequestInfo,
    ) -> Result<(), AuthnError> {
        Self::may_change(admin)?;
        let audit = [self.event(admin, "user.mfa_required", id, request, json!({ "required": required }))];
        let now = self.interaction.clock.now();
        let effects = Effects::audit(&audit);
        self.store_err(self.interaction.store.set_mfa_required(id, required, now, &effects).await)?;
        logged(&audit, None);
        Ok(())
    }

    /// Ends every session of `id` (with their back-channel logouts).
    /// Ending one's own ends this console session too.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn end_sessions(
        &self,
        admin: &Admin,
        id: Uuid,
        request: &RequestInfo,
    ) -> Result<u64, AuthnError> {
        Self::may_change(admin)?;
        let audit = [self.event(admin, "user.sessions_ended", id, request, json!({}))];
        let now = self.interaction.clock.now();
        let ended = self.interaction.store.end_user_sessions(id, now, &Effects::audit(&audit)).await?;
        logged(&audit, Some(EndedAccess { sessions: ended, grants: 0 }));
        Ok(ended)
    }

    /// A store answer where `NotFound` means the user is unknown.
    fn store_err<T>(&self, result: Result<T, portcullis_store::StoreError>) -> Result<T, AuthnError> {
        match result {
            Err(portcullis_store::StoreError::NotFound) => Err(AuthnError::UnknownUser),
            other => Ok(other?),
        }
    }
}
