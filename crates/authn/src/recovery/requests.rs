//! The mail worker's half of "mail me a link": each queued request becomes
//! a token and a mail for an active account (bound to the account's current
//! password and email), or nothing — in one transaction with the removal of
//! the request — and one audit row.

use portcullis_core::Clock;
use portcullis_mailer::{MailContext, MailError, MailSource, templates};
use portcullis_store::{EmailToken, EmailTokenPurpose, LinkRequestRow, Store};
use std::sync::Arc;
use time::Duration;

use super::{Handled, RecoveryRules, audit_row, new_token};
use crate::audit::RequestInfo;
use crate::mfa::MfaPolicy;

/// Requests claimed per round.
const BATCH: u32 = 20;
/// How long a claimed request stays leased to one worker.
const LEASE: Duration = Duration::minutes(5);

/// Turns queued link requests into mails (a [`MailSource`] of the outbox worker).
#[derive(Clone)]
pub struct LinkRequestSource {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Product name and link base.
    pub mail: MailContext,
    /// Link lifetimes.
    pub rules: RecoveryRules,
    /// Who must have a second factor: an account that must but has none
    /// gets no link (see [`super::mailed_link_allowed`]).
    pub mfa: MfaPolicy,
}

impl std::fmt::Debug for LinkRequestSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkRequestSource").field("rules", &self.rules).finish_non_exhaustive()
    }
}

impl LinkRequestSource {
    /// Handles one claimed request.
    async fn handle(&self, row: LinkRequestRow) -> Result<(), MailError> {
        let user = match row.user_id {
            Some(id) => self.store.find_user(id).await?.filter(|u| !u.disabled),
            None => None,
        };
        let request = RequestInfo { ip: row.ip.clone(), user_agent: row.user_agent.clone() };
        let now = self.clock.now();
        let Some(user) = user.as_ref() else {
            self.store.complete_link_request(&row.id, None, &[]).await?;
            audit_row(self.store.as_ref(), now, row.purpose, Handled::NoAccount, None, &request).await;
            return Ok(());
        };
        if !super::mailed_link_allowed(self.store.as_ref(), &self.mfa, user).await? {
            self.store.complete_link_request(&row.id, None, &[]).await?;
            audit_row(self.store.as_ref(), now, row.purpose, Handled::NeedsOperator, Some(user), &request)
                .await;
            return Ok(());
        }
        let (raw, hash) = new_token();
        let ttl = self.rules.link_ttl;
        let mail = match row.purpose {
            EmailTokenPurpose::MagicLink => {
                let link = match row.resume.as_deref() {
                    Some(id) => self.mail.url(&format!("/login/magic?token={raw}&request={id}")),
                    None => self.mail.url(&format!("/login/magic?token={raw}")),
                };
                templates::magic_link(&self.mail, &user.email, user.shown_name(), &link, ttl)?
            }
            _ => {
                let link = self.mail.url(&format!("/recover/reset?token={raw}"));
                templates::password_reset(&self.mail, &user.email, user.shown_name(), &link, ttl)?
            }
        };
        let token = EmailToken {
            token_hash: hash,
            purpose: row.purpose,
            user_id: user.id,
            new_email: None,
            session_hash: row.session_hash.clone(),
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
            account_stamp: Some(user.security_stamp.clone()),
        };
        self.store.complete_link_request(&row.id, Some(&token), &[mail]).await?;
        audit_row(self.store.as_ref(), now, row.purpose, Handled::Sent, Some(user), &request).await;
        Ok(())
    }
}

#[async_trait::async_trait]
impl MailSource for LinkRequestSource {
    async fn produce(&self) -> Result<usize, MailError> {
        let mut handled = 0;
        loop {
            let now = self.clock.now();
            let rows = self.store.claim_link_requests(now, now + LEASE, BATCH).await?;
            if rows.is_empty() {
                return Ok(handled);
            }
            for row in rows {
                handled += 1;
                let id = row.id.clone();
                if let Err(e) = self.handle(row).await {
                    // Left leased: it is tried again once the lease ends.
                    tracing::error!(request_id = %id, error = %e, "a link request could not be handled");
                }
            }
        }
    }
}
