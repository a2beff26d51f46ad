//! New accounts from the console: created without a password, with an
//! invitation mail carrying a single-use link to choose one (the reset
//! link's rules: stored hashed, bound to the account's security stamp,
//! used once, a first factor only).

use portcullis_mailer::MailContext;
use portcullis_store::{Effects, EmailToken, EmailTokenPurpose, NewUser, ROLE_ADMIN, StoreError, User};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use super::{AdminConsole, By};
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
    /// Mail an invitation to choose a password (else the account waits,
    /// without a password, for a reset or a passkey to be sent later).
    pub send_invitation: bool,
}

impl AdminConsole<'_> {
    /// Creates a user without a password and (`send_invitation`) mails them
    /// an invitation to choose one (`mail`: product name and link base), in one transaction
    /// with the audit event. `Taken` when the username or email is in use;
    /// `InvalidIdentity` for a malformed one. An account that must use a
    /// second factor (an administrator) cannot be invited: a mailed link
    /// never stands in for one, so it could never sign in.
    #[tracing::instrument(skip_all, fields(username = %new.username))]
    pub async fn invite(
        &self,
        by: impl Into<By<'_>>,
        new: NewMember,
        mail: &MailContext,
        request: &RequestInfo,
    ) -> Result<User, AuthnError> {
        let by = by.into();
        by.may_change()?;
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
        let detail =
            json!({ "username": user.username, "roles": user.roles, "invited": new.send_invitation });
        let audit = [self.event(by, "user.created", Some(user.id), request, detail)];
        if !new.send_invitation {
            let created = match i.store.invite_user(&user, None, &Effects::audit(&audit)).await {
                Err(StoreError::Conflict(_)) => return Err(AuthnError::Taken),
                other => other?,
            };
            logged(&audit, None);
            return Ok(created);
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
        let effects = Effects { audit: &audit, mails: &mails, rotate: None };
        let created = match i.store.invite_user(&user, Some(&token), &effects).await {
            Err(StoreError::Conflict(_)) => return Err(AuthnError::Taken),
            other => other?,
        };
        logged(&audit, None);
        Ok(created)
    }
}
