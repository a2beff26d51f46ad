//! New accounts from the console: created without a password, with an
//! invitation mail carrying a single-use link to choose one (the reset
//! link's rules: stored hashed, bound to the account's security stamp,
//! used once, a first factor only).

use portcullis_mailer::MailContext;
use portcullis_store::{EmailToken, EmailTokenPurpose, NewUser, ROLE_ADMIN, StoreError, User};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use super::{Admin, AdminConsole};
use crate::AuthnError;
use crate::accounts::{check_email, check_username};
use crate::audit::{RequestInfo, logged};
use crate::recovery::new_token;

/// How long an invitation link works.
pub const INVITATION_TTL: Duration = Duration::days(7);

/// A user to create from the console.
#[derive(Debug, Clone)]
pub struct NewMember {
    /// Login name.
    pub username: String,
    /// Email address (where the invitation goes).
    pub email: String,
    /// Display name, if any.
    pub display_name: Option<String>,
    /// Roles.
    pub roles: Vec<String>,
}

impl AdminConsole<'_> {
    /// Creates a user without a password and mails them an invitation to
    /// choose one (`mail`: product name and link base), in one transaction
    /// with the audit event. `Taken` when the username or email is in use;
    /// `InvalidIdentity` for a malformed one. An account that must use a
    /// second factor (an administrator) cannot be invited: a mailed link
    /// never stands in for one, so it could never sign in.
    #[tracing::instrument(skip_all, fields(username = %new.username))]
    pub async fn invite(
        &self,
        admin: &Admin,
        new: NewMember,
        mail: &MailContext,
        request: &RequestInfo,
    ) -> Result<User, AuthnError> {
        Self::may_change(admin)?;
        let (username, email) = (new.username.trim().to_owned(), new.email.trim().to_owned());
        check_username(&username)?;
        check_email(&email)?;
        let i = &self.interaction;
        let now = i.clock.now();
        let user = NewUser {
            id: Uuid::new_v4(),
            username,
            email,
            email_verified: false,
            display_name: new.display_name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
            roles: new.roles,
            password_hash: None,
            created_at: now,
        };
        // A new account needs a second factor only through the admin role
        // (it has no per-user requirement yet): refused whatever the policy.
        if user.roles.iter().any(|r| r == ROLE_ADMIN) {
            return Err(AuthnError::InvalidIdentity(
                "an account that must use a second factor cannot be invited by mail".into(),
            ));
        }
        let (raw, hash) = new_token();
        let token = EmailToken {
            token_hash: hash,
            purpose: EmailTokenPurpose::Reset,
            user_id: user.id,
            new_email: None,
            session_hash: None,
            created_at: now,
            expires_at: now + INVITATION_TTL,
            used_at: None,
            account_stamp: None,
        };
        let link = mail.url(&format!("/recover/reset?token={raw}"));
        let mails = [portcullis_mailer::templates::invitation(
            mail,
            &user.email,
            &user.username,
            &link,
            INVITATION_TTL,
        )?];
        let detail = json!({ "username": user.username, "roles": user.roles, "invited": true });
        let audit = [self.event(admin, "user.created", Some(user.id), request, detail)];
        let effects = portcullis_store::Effects { audit: &audit, mails: &mails, rotate: None };
        let created = match i.store.invite_user(&user, &token, &effects).await {
            Err(StoreError::Conflict(_)) => return Err(AuthnError::Taken),
            other => other?,
        };
        logged(&audit, None);
        Ok(created)
    }
}
