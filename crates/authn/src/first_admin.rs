//! The first administrator: on a start with no users, a one-time setup link
//! (random token, stored hashed, valid one hour, single use, and only the
//! newest link works); the setup page creates the administrator with it
//! ([`FirstAdmin`]).

use portcullis_core::{Clock, Issuer};
use portcullis_store::{Store, StoreError, User};
use sha2::{Digest, Sha256};
use time::Duration;

use crate::accounts::{Accounts, NewAccount, check_email, check_username};
use crate::audit::RequestInfo;
use crate::recovery::Recovery;
use crate::{AuthnError, Password};

/// How long a setup link works.
pub const SETUP_LINK_LIFETIME: Duration = Duration::hours(1);

/// The stored form of a setup token.
fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// When no user exists, creates a setup token and returns the link
/// `<issuer>/setup?token=…`; otherwise `None`. Links printed before stop
/// working: the store deletes every earlier token with the new one's
/// creation, so an old link found later in a log is of no use.
pub async fn create_setup_link(
    store: &dyn Store,
    clock: &dyn Clock,
    issuer: &Issuer,
) -> Result<Option<String>, StoreError> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let token = hex::encode(portcullis_core::random::bytes::<32>());
    let expires_at = clock.now() + SETUP_LINK_LIFETIME;
    store.create_setup_token(&hash_token(&token), expires_at).await?;
    Ok(Some(issuer.endpoint(&format!("/setup?token={token}"))))
}

/// What the setup page does.
#[derive(Debug, Clone, Copy)]
pub struct FirstAdmin<'a> {
    /// Creates the account.
    pub accounts: Accounts<'a>,
    /// Mails the new administrator's verification link, when mail can
    /// reach people.
    pub verification: Option<Recovery<'a>>,
}

impl FirstAdmin<'_> {
    /// Whether `token` is a live setup link: no user exists yet, and the
    /// token is known and unexpired.
    pub async fn link_valid(&self, token: &str) -> Result<bool, AuthnError> {
        let store = self.accounts.store;
        if token.is_empty() || store.count_users().await? > 0 {
            return Ok(false);
        }
        Ok(store.setup_token_valid(&hash_token(token), self.accounts.clock.now()).await?)
    }

    /// Creates the first administrator `new` with the setup link `token`:
    /// the form is checked (`PasswordsDiffer` with `confirm`,
    /// `InvalidIdentity`, `Policy`: the link stays usable), then the link is
    /// used (once) and the account created; its address gets a
    /// verification link when mail can reach people. `InvalidLink` when
    /// the link is not, or no longer, valid.
    #[tracing::instrument(skip_all, fields(username = %new.username))]
    pub async fn create(
        &self,
        token: &str,
        new: NewAccount,
        confirm: &Password,
        request: &RequestInfo,
    ) -> Result<User, AuthnError> {
        if !self.link_valid(token).await? {
            return Err(AuthnError::InvalidLink);
        }
        if new.password.expose() != confirm.expose() {
            return Err(AuthnError::PasswordsDiffer);
        }
        check_username(new.username.trim())?;
        check_email(new.email.trim())?;
        self.accounts.policy.check(&new.password, &[new.username.as_str(), new.email.as_str()])?;
        let now = self.accounts.clock.now();
        if !self.accounts.store.consume_setup_token(&hash_token(token), now).await? {
            return Err(AuthnError::InvalidLink);
        }
        let user = self.accounts.create(new, request).await?;
        if let Some(recovery) = &self.verification
            && !user.email_verified
        {
            recovery.send_verification(&user).await?;
        }
        Ok(user)
    }
}
