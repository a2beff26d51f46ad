//! The admin console's account operations: who may use the console
//! ([`AdminConsole::access`], decided at every request by
//! [`crate::journey::admin_standing`]), what it shows, and each change to a
//! user as one function: one store transaction with its audit event, which
//! names the acting administrator (`actor` in its detail).

use portcullis_store::{
    AuditOutcome, Effects, EndedAccess, FactorRef, NewAuditEvent, PasskeyRow, Session, User, UserEdit,
};
use serde_json::{Value, json};
use uuid::Uuid;

mod activity;
mod groups;
mod invite;
mod views;

pub use activity::{AuditPage, EXPORT_LIMIT, SessionRow, SessionsPage};
pub use groups::{GroupDetail, Groups, group_version};
pub use invite::{INVITATION_TTL, NewMember};
use views::page_size;
pub use views::{Dashboard, MAX_PAGE_SIZE, PAGE_SIZE, UsersPage};

use crate::audit::{RequestInfo, event, logged};
use crate::journey::{AdminStanding, admin_standing};
use crate::{AuthnError, Factors, Interaction, TotpState};

/// What an administrator changes of a user at once (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// The name to show (blank: none).
    pub display_name: Option<String>,
    /// The email address (a new one is unverified).
    pub email: Option<String>,
    /// The roles.
    pub roles: Option<Vec<String>>,
}

/// The version of a user as an administrator sees them (profile, roles,
/// groups, state): it changes whenever any of it does. The admin API's
/// `ETag`; an edit names the version it was based on.
pub fn user_version(user: &User, groups: &[String]) -> String {
    let shown = json!([
        user.id,
        user.username,
        user.email,
        user.email_verified,
        user.display_name,
        user.roles,
        groups,
        user.disabled,
        user.mfa_required,
    ]);
    version_of(&shown)
}

/// A short digest of `value`'s JSON: a version tag.
pub fn version_of(value: &Value) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(value.to_string().as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// A display name as typed: trimmed, blank is none, at most 128 characters.
fn display_name_of(name: &str) -> Result<Option<&str>, AuthnError> {
    let name = Some(name.trim()).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > 128 || n.chars().any(char::is_control)) {
        return Err(AuthnError::InvalidIdentity("a name is at most 128 characters".into()));
    }
    Ok(name)
}

/// Roles as typed: trimmed, sorted, deduplicated, each 1–64 letters,
/// digits or `_ - . :`. An administrator cannot take their own `admin` role.
fn clean_roles(by: By<'_>, id: Uuid, roles: &[String]) -> Result<Vec<String>, AuthnError> {
    let mut roles: Vec<String> =
        roles.iter().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect();
    roles.sort();
    roles.dedup();
    let valid =
        |r: &String| r.len() <= 64 && r.chars().all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c));
    if !roles.iter().all(valid) {
        return Err(AuthnError::InvalidIdentity("a role is 1–64 letters, digits or _ - . :".into()));
    }
    if by.user_id() == Some(id) && !roles.iter().any(|r| r == portcullis_store::ROLE_ADMIN) {
        return Err(AuthnError::NotOnYourself);
    }
    Ok(roles)
}

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
    /// Whether this session may make changes now (authenticated within 5
    /// minutes); `ReauthenticationRequired` otherwise.
    pub fn may_change(&self) -> Result<(), AuthnError> {
        match self.standing {
            AdminStanding::Change => Ok(()),
            _ => Err(AuthnError::ReauthenticationRequired),
        }
    }
}

/// Who makes a console operation: an administrator in the browser (who
/// must have authenticated within 5 minutes to change anything), a client
/// of the admin API holding an access token with the `admin` scope (its
/// token was checked by the protocol side), or the operator at the command
/// line. Audit events name them in `actor`.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    /// An administrator's console session.
    Admin(&'a Admin),
    /// An admin-API client (`admin_api`), by client id.
    Client(&'a str),
    /// `portcullis …` at the command line.
    Operator,
}

impl<'a> From<&'a Admin> for By<'a> {
    fn from(admin: &'a Admin) -> Self {
        By::Admin(admin)
    }
}

impl By<'_> {
    /// Whether a change may be made now: `ReauthenticationRequired` for an
    /// administrator who authenticated more than 5 minutes ago.
    pub fn may_change(self) -> Result<(), AuthnError> {
        match self {
            By::Admin(admin) => admin.may_change(),
            By::Client(_) | By::Operator => Ok(()),
        }
    }

    /// The administrator making the change, if a person in the console.
    pub fn user_id(self) -> Option<Uuid> {
        match self {
            By::Admin(admin) => Some(admin.user.id),
            By::Client(_) | By::Operator => None,
        }
    }

    /// `actor` in audit events: the administrator's id, `client:<id>`, or `cli`.
    pub fn actor(self) -> Value {
        match self {
            By::Admin(admin) => json!(admin.user.id),
            By::Client(id) => json!(format!("client:{id}")),
            By::Operator => json!("cli"),
        }
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
    /// The names of their groups.
    pub groups: Vec<String>,
    /// The clients they are connected to.
    pub clients: Vec<portcullis_store::ConnectedClient>,
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

    /// One user as the console shows them; `UnknownUser` for an unknown id.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn user(&self, _by: impl Into<By<'_>>, id: Uuid) -> Result<UserDetail, AuthnError> {
        let i = &self.interaction;
        let user = i.store.find_user(id).await?.ok_or(AuthnError::UnknownUser)?;
        Ok(UserDetail {
            factors: Factors::of(i.store, &user).await?,
            totp: i.totp.state(user.id).await?,
            passkeys: i.store.list_passkeys(user.id).await?,
            sessions: i.store.list_user_sessions(user.id).await?,
            groups: i.store.user_groups(user.id).await?,
            clients: i.store.connected_clients(user.id, i.clock.now()).await?,
            user,
        })
    }

    /// The event `kind` about `target` (a user, when there is one), by `admin`.
    fn event(
        &self,
        by: By<'_>,
        kind: &str,
        target: Option<Uuid>,
        request: &RequestInfo,
        detail: Value,
    ) -> NewAuditEvent {
        let mut detail = detail;
        if let Some(map) = detail.as_object_mut() {
            map.insert("actor".into(), by.actor());
        }
        let now = self.interaction.clock.now();
        event(now, kind, AuditOutcome::Success, target, request, detail)
    }

    /// Disables `id` and ends everything of theirs (sessions with their
    /// back-channel logouts, refresh tokens) in one transaction with its
    /// audit event. An administrator cannot disable themselves.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn disable(
        &self,
        by: impl Into<By<'_>>,
        id: Uuid,
        request: &RequestInfo,
    ) -> Result<EndedAccess, AuthnError> {
        let by = by.into();
        by.may_change()?;
        if by.user_id() == Some(id) {
            return Err(AuthnError::NotOnYourself);
        }
        let audit = [self.event(by, "user.disabled", Some(id), request, json!({}))];
        let ended = self.store_err(
            self.interaction
                .store
                .disable_user(id, self.interaction.clock.now(), &Effects::audit(&audit))
                .await,
        )?;
        logged(&audit, Some(ended));
        Ok(ended)
    }

    /// Replaces the roles of `id` (`admin` among them or not), with its
    /// audit event. An administrator cannot take their own `admin` role.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn set_roles(
        &self,
        by: impl Into<By<'_>>,
        id: Uuid,
        roles: &[String],
        request: &RequestInfo,
    ) -> Result<(), AuthnError> {
        let by = by.into();
        by.may_change()?;
        let roles = clean_roles(by, id, roles)?;
        let audit = [self.event(by, "user.roles_changed", Some(id), request, json!({ "roles": roles }))];
        let now = self.interaction.clock.now();
        self.store_err(self.interaction.store.set_roles(id, &roles, now, &Effects::audit(&audit)).await)?;
        logged(&audit, None);
        Ok(())
    }

    /// Deletes user `id` — with `typed`, only once it is exactly their
    /// username (the console's typed confirmation; anything else changes
    /// nothing: `ConfirmationMismatch`; the API's `DELETE` names the user
    /// by id and types nothing): everything of theirs ends and goes, in one
    /// transaction with the audit event; earlier audit events keep the id.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn delete_user(
        &self,
        by: impl Into<By<'_>>,
        id: Uuid,
        typed: Option<&str>,
        request: &RequestInfo,
    ) -> Result<EndedAccess, AuthnError> {
        let by = by.into();
        by.may_change()?;
        if by.user_id() == Some(id) {
            return Err(AuthnError::NotOnYourself);
        }
        let i = &self.interaction;
        let user = i.store.find_user(id).await?.ok_or(AuthnError::UnknownUser)?;
        if typed.is_some_and(|typed| typed != user.username) {
            return Err(AuthnError::ConfirmationMismatch);
        }
        let detail = json!({ "username": user.username, "email": user.email });
        let audit = [self.event(by, "user.deleted", Some(id), request, detail)];
        let now = i.clock.now();
        let ended = self.store_err(i.store.delete_user(id, now, &Effects::audit(&audit)).await)?;
        logged(&audit, Some(ended));
        Ok(ended)
    }

    /// Sets the display name and email address of `id`, with its audit
    /// event. A new address is unverified and kills the account's mailed
    /// links. `Taken` when another account has the address.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn update_profile(
        &self,
        by: impl Into<By<'_>>,
        id: Uuid,
        display_name: &str,
        email: &str,
        request: &RequestInfo,
    ) -> Result<User, AuthnError> {
        let by = by.into();
        by.may_change()?;
        let email = email.trim();
        crate::accounts::check_email(email)?;
        let name = display_name_of(display_name)?;
        let detail = json!({ "display_name": name, "email": email });
        let audit = [self.event(by, "user.profile_changed", Some(id), request, detail)];
        let now = self.interaction.clock.now();
        let updated = match self
            .interaction
            .store
            .update_profile(id, name, email, now, &Effects::audit(&audit))
            .await
        {
            Err(portcullis_store::StoreError::Conflict(_)) => return Err(AuthnError::Taken),
            other => self.store_err(other)?,
        };
        logged(&audit, None);
        Ok(updated)
    }

    /// Sends `id` a password-reset link, as "Forgot password?" would (the
    /// same queue, rules and limits), audited with the admin.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn send_password_reset(
        &self,
        by: impl Into<By<'_>>,
        id: Uuid,
        recovery: &crate::recovery::Recovery<'_>,
        request: &RequestInfo,
    ) -> Result<(), AuthnError> {
        let by = by.into();
        by.may_change()?;
        let user = self.interaction.store.find_user(id).await?.ok_or(AuthnError::UnknownUser)?;
        recovery.request_reset(&user.email, request).await?;
        let audit = [self.event(by, "user.reset_sent", Some(id), request, json!({}))];
        self.interaction.store.record_audit(&audit[0]).await?;
        logged(&audit, None);
        Ok(())
    }

    /// Re-enables `id`, with its audit event.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn enable(
        &self,
        by: impl Into<By<'_>>,
        id: Uuid,
        request: &RequestInfo,
    ) -> Result<(), AuthnError> {
        let by = by.into();
        by.may_change()?;
        let audit = [self.event(by, "user.enabled", Some(id), request, json!({}))];
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
        by: impl Into<By<'_>>,
        id: Uuid,
        request: &RequestInfo,
    ) -> Result<EndedAccess, AuthnError> {
        let by = by.into();
        by.may_change()?;
        if by.user_id() == Some(id) {
            return Err(AuthnError::NotOnYourself);
        }
        let i = &self.interaction;
        i.store.find_user(id).await?.ok_or(AuthnError::UnknownUser)?;
        let audit = [self.event(by, "user.mfa_reset", Some(id), request, json!({}))];
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
        by: impl Into<By<'_>>,
        id: Uuid,
        required: bool,
        request: &RequestInfo,
    ) -> Result<(), AuthnError> {
        let by = by.into();
        by.may_change()?;
        let audit = [self.event(by, "user.mfa_required", Some(id), request, json!({ "required": required }))];
        let now = self.interaction.clock.now();
        let effects = Effects::audit(&audit);
        self.store_err(self.interaction.store.set_mfa_required(id, required, now, &effects).await)?;
        logged(&audit, None);
        Ok(())
    }

    /// Disconnects user `id` from `client_id` (consent deleted, grants
    /// revoked, back-channel logouts queued), with its audit event.
    /// `UnknownClient` when they were not connected.
    #[tracing::instrument(skip_all, fields(user_id = %id, client_id = %client_id))]
    pub async fn revoke_client(
        &self,
        by: impl Into<By<'_>>,
        id: Uuid,
        client_id: &str,
        request: &RequestInfo,
    ) -> Result<u64, AuthnError> {
        let by = by.into();
        by.may_change()?;
        let detail = json!({ "client_id": client_id });
        let audit = [self.event(by, "client.disconnected", Some(id), request, detail)];
        let now = self.interaction.clock.now();
        let store = self.interaction.store;
        let revoked = store.disconnect_client(id, client_id, now, &Effects::audit(&audit)).await?;
        let Some(revoked) = revoked else { return Err(AuthnError::UnknownClient) };
        logged(&audit, None);
        Ok(revoked)
    }

    /// Ends every session of `id` (with their back-channel logouts).
    /// Ending one's own ends this console session too.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn end_sessions(
        &self,
        by: impl Into<By<'_>>,
        id: Uuid,
        request: &RequestInfo,
    ) -> Result<u64, AuthnError> {
        let by = by.into();
        by.may_change()?;
        let audit = [self.event(by, "user.sessions_ended", Some(id), request, json!({}))];
        let now = self.interaction.clock.now();
        let ended = self.interaction.store.end_user_sessions(id, now, &Effects::audit(&audit)).await?;
        logged(&audit, Some(EndedAccess { sessions: ended, grants: 0 }));
        Ok(ended)
    }

    /// Edits user `id` as `edit` says (fields left out stay as they are),
    /// only if the user is still at `version` ([`user_version`]: what an
    /// API client read, its `ETag`) — checked again inside the write's
    /// transaction, so a change committed meanwhile by another
    /// administrator is never overwritten: `Stale` then, nothing written.
    /// One transaction with its audit event.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn edit_user(
        &self,
        by: impl Into<By<'_>>,
        id: Uuid,
        version: &str,
        edit: &UserChanges,
        request: &RequestInfo,
    ) -> Result<(User, Vec<String>), AuthnError> {
        let by = by.into();
        by.may_change()?;
        let i = &self.interaction;
        let current = i.store.find_user(id).await?.ok_or(AuthnError::UnknownUser)?;
        let groups = i.store.user_groups(id).await?;
        if user_version(&current, &groups) != version {
            return Err(AuthnError::Stale);
        }
        let email = edit.email.as_deref().map(str::trim).unwrap_or(&current.email);
        if edit.email.is_some() {
            crate::accounts::check_email(email)?;
        }
        let name = match &edit.display_name {
            Some(name) => display_name_of(name)?,
            None => current.display_name.as_deref(),
        };
        let roles = match &edit.roles {
            Some(roles) => clean_roles(by, id, roles)?,
            None => current.roles.clone(),
        };
        let detail = json!({ "display_name": name, "email": email, "roles": roles });
        let audit = [self.event(by, "user.edited", Some(id), request, detail)];
        let edit = UserEdit { display_name: name, email, roles: &roles };
        let unchanged = |user: &User, groups: &[String]| user_version(user, groups) == version;
        let now = i.clock.now();
        let updated = match i.store.edit_user(id, &edit, &unchanged, now, &Effects::audit(&audit)).await {
            Err(portcullis_store::StoreError::Conflict(_)) => return Err(AuthnError::Taken),
            other => self.store_err(other)?.ok_or(AuthnError::Stale)?,
        };
        logged(&audit, None);
        Ok((updated, groups))
    }

    /// A store answer where `NotFound` means the user is unknown.
    fn store_err<T>(&self, result: Result<T, portcullis_store::StoreError>) -> Result<T, AuthnError> {
        match result {
            Err(portcullis_store::StoreError::NotFound) => Err(AuthnError::UnknownUser),
            other => Ok(other?),
        }
    }
}
