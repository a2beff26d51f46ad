//! Email verification: of a new account's address, and of the new address
//! of an email change (which happens only when that link is followed).

use portcullis_mailer::notify::{Notification, notification_mails};
use portcullis_mailer::templates;
use portcullis_store::{AuditOutcome, EmailToken, EmailTokenPurpose, StoreError, User, normalise_login};
use serde_json::json;

use super::{Recovery, new_token};
use crate::accounts::check_email;
use crate::audit::{RequestInfo, record};
use crate::{AuthnError, Password, SignIn, SignInOutcome, confirm_password};

impl Recovery<'_> {
    /// Queues a verification link for `user`'s current address (account
    /// creation). Token and mail are stored in one transaction.
    #[tracing::instrument(skip_all, fields(user_id = %user.id))]
    pub async fn send_verification(&self, user: &User) -> Result<(), AuthnError> {
        self.queue_verification(user, None, Vec::new()).await
    }

    async fn queue_verification(
        &self,
        user: &User,
        new_email: Option<&str>,
        mut mails: Vec<portcullis_store::NewMail>,
    ) -> Result<(), AuthnError> {
        let now = self.clock.now();
        let (raw, hash) = new_token();
        let link = self.mail.url(&format!("/verify-email?token={raw}"));
        let to = new_email.unwrap_or(&user.email);
        let ttl = self.rules.verify_ttl;
        mails.insert(0, templates::verify_email(self.mail, to, user.shown_name(), &link, ttl)?);
        let token = EmailToken {
            token_hash: hash,
            purpose: EmailTokenPurpose::VerifyEmail,
            user_id: user.id,
            new_email: new_email.map(str::to_owned),
            session_hash: None,
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
            // A change of address dies with the account's password or email;
            // a new account's own verification does not.
            account_stamp: new_email.map(|_| user.security_stamp.clone()),
        };
        Ok(self.store.create_email_token(&token, &mails).await?)
    }

    /// Starts an email change for the signed-in `user`: unless the session
    /// authenticated recently and strongly enough (`current_password` is
    /// `None`: the account pages' gate said so), the current password must
    /// be re-entered, and it is checked on the same throttled counters as a
    /// sign-in. Requests are limited per account and client IP like other
    /// mails. A verification link goes to `new_email` and a notice to the
    /// current address; the address changes only when the link is followed.
    /// An address already used by another account gets no link (and the
    /// answer does not say so).
    #[tracing::instrument(skip_all, fields(user_id = %user.id))]
    pub async fn request_email_change(
        &self,
        user: &User,
        current_password: Option<Password>,
        new_email: &str,
        request: &RequestInfo,
    ) -> Result<(), AuthnError> {
        let new_email = new_email.trim();
        check_email(new_email)?;
        if normalise_login(new_email) == normalise_login(&user.email) {
            return Err(AuthnError::InvalidIdentity("that is already your email address".into()));
        }
        let now = self.clock.now();
        if let Some(typed) = current_password {
            let check = SignIn {
                store: self.store,
                throttle: self.throttle,
                hasher: self.hasher,
                lockouts: self.lockouts,
                clock: self.clock,
            };
            match confirm_password(check, user, typed, request).await? {
                SignInOutcome::Success(_) => {}
                SignInOutcome::Failed => {
                    let detail = json!({ "reason": "wrong_password" });
                    let kind = "email.change_requested";
                    record(self.store, now, kind, AuditOutcome::Failure, Some(user.id), request, detail)
                        .await;
                    return Err(AuthnError::WrongPassword);
                }
                SignInOutcome::Refused { until } => return Err(AuthnError::Locked { until }),
            }
        }
        if self.over_limit(format!("email_change:{}", user.id), request).await? {
            let detail = json!({ "reason": "limited" });
            let kind = "email.change_requested";
            record(self.store, now, kind, AuditOutcome::Failure, Some(user.id), request, detail).await;
            return Err(AuthnError::TooManyRequests);
        }
        let taken = self.store.find_user_by_login(new_email).await?.is_some_and(|other| other.id != user.id);
        if !taken {
            let notice = Notification::EmailChangeRequested { new: new_email.to_owned() };
            let mails = notification_mails(self.mail, user, &notice)?;
            self.queue_verification(user, Some(new_email), mails).await?;
        }
        let detail = json!({ "sent": !taken });
        record(
            self.store,
            now,
            "email.change_requested",
            AuditOutcome::Success,
            Some(user.id),
            request,
            detail,
        )
        .await;
        Ok(())
    }

    /// The live verification token of a link, with its user.
    #[tracing::instrument(skip_all)]
    pub async fn verification_link(&self, raw: &str) -> Result<(EmailToken, User), AuthnError> {
        self.live_token(raw, EmailTokenPurpose::VerifyEmail).await
    }

    /// Follows a verification link (once): marks the address verified or,
    /// for an email change, switches to the new address and tells both the
    /// old and the new one — in one store transaction. Returns the link and
    /// the user as it was before.
    #[tracing::instrument(skip_all)]
    pub async fn verify_email(
        &self,
        raw: &str,
        request: &RequestInfo,
    ) -> Result<(EmailToken, User), AuthnError> {
        let (token, user) = self.verification_link(raw).await?;
        let mails = match &token.new_email {
            Some(new) => {
                let change = Notification::EmailChanged { old: user.email.clone(), new: new.clone() };
                notification_mails(self.mail, &user, &change)?
            }
            None => Vec::new(),
        };
        let now = self.clock.now();
        let done = match self.store.verify_email(&token.token_hash, now, &mails).await {
            Err(StoreError::Conflict(_)) => return Err(AuthnError::Taken),
            other => other?,
        };
        if done != Some(user.id) {
            return Err(AuthnError::InvalidLink);
        }
        let kind = if token.new_email.is_some() { "email.changed" } else { "email.verified" };
        record(self.store, now, kind, AuditOutcome::Success, Some(user.id), request, json!({})).await;
        Ok((token, user))
    }
}
