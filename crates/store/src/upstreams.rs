//! Identities at upstream identity providers linked to accounts
//! (`portcullis_authn::upstream` decides when one is linked). An identity
//! is `(issuer, subject)`, never an email: at most one account holds it.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Effects, NewUser, StoreError, User};

/// An upstream identity linked to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    /// The upstream's issuer identifier, exactly as its ID tokens carry it.
    pub issuer: String,
    /// The `sub` claim at that issuer.
    pub subject: String,
    /// The configured upstream (`[[upstreams]]` `id`) it was linked through.
    pub upstream_id: String,
    /// The account.
    pub user_id: Uuid,
    /// The address the upstream asserted when the link was made (shown on
    /// the account page; never used to find the account).
    pub email: Option<String>,
    /// When the link was made (kept to the second).
    pub linked_at: OffsetDateTime,
    /// The last sign-in through it, if any (kept to the second).
    pub last_sign_in_at: Option<OffsetDateTime>,
}

/// The roles and groups an upstream's rules grant at one sign-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamGrants {
    /// Roles, each once.
    pub roles: Vec<String>,
    /// Group names, each once.
    pub groups: Vec<String>,
}

/// An upstream sign-in's writes ([`UpstreamRepo::upstream_sign_in`]).
#[derive(Debug, Clone, Copy)]
pub struct UpstreamSignIn<'a> {
    /// The identity, with its account (`linked_at` and `last_sign_in_at`
    /// are the sign-in's instant when the link is new).
    pub identity: &'a UpstreamIdentity,
    /// Create this account first (just-in-time provisioning); its id is
    /// the identity's `user_id`.
    pub create: Option<&'a NewUser>,
    /// Link the identity now (it is new); otherwise it is linked already.
    pub link: bool,
    /// What the upstream's rules grant now.
    pub grants: &'a UpstreamGrants,
    /// When.
    pub at: OffsetDateTime,
}

/// Linked upstream identities. Every write takes the [`Effects`] that go
/// with it (its audit event, the notice mailed to the account holder) and
/// writes them in its transaction when it changes something.
#[async_trait]
pub trait UpstreamRepo {
    /// The link of `(issuer, subject)`, if any.
    async fn find_upstream_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<UpstreamIdentity>, StoreError>;

    /// Links an identity to its `user_id`. `Conflict` when the identity is
    /// linked already (to this or another account), `NotFound` for an
    /// unknown user; nothing is written then.
    async fn link_upstream_identity(
        &self,
        identity: &UpstreamIdentity,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError>;

    /// Removes the link of `(issuer, subject)` to `user_id`; false, and
    /// nothing written, when that account does not hold it.
    async fn unlink_upstream_identity(
        &self,
        user_id: Uuid,
        issuer: &str,
        subject: &str,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<bool, StoreError>;

    /// An upstream sign-in, in one transaction: the account created (JIT)
    /// and the identity linked when asked, the sign-in recorded, and the
    /// account's roles and groups changed from what the rules granted at
    /// the identity's last sign-in to `grants` — what they no longer grant
    /// is removed, what they grant now is added (a group that does not
    /// exist is created), and what was held before the rules gave it (given
    /// by hand) is never theirs to take away — with
    /// `effects`. Returns the account as it is then. `NotFound` when the
    /// account is missing or (without `link`) the identity is not linked;
    /// `Conflict` when the identity is linked already (with `link`) or the
    /// created account's username or address is taken; nothing is written
    /// then.
    async fn upstream_sign_in(
        &self,
        sign_in: &UpstreamSignIn<'_>,
        effects: &Effects<'_>,
    ) -> Result<User, StoreError>;

    /// The identities linked to an account, oldest link first.
    async fn user_upstream_identities(&self, user_id: Uuid) -> Result<Vec<UpstreamIdentity>, StoreError>;
}
