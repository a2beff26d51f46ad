//! Repository traits and row models for Portcullis.
//!
//! [`Store`] is the whole storage surface the rest of the product sees, as
//! one object-safe trait built from per-aggregate repositories ([`AuditRepo`], [`ClientRepo`],
//! [`UserRepo`], [`SessionRepo`], [`RateLimitRepo`], [`SetupTokenRepo`], [`MfaRepo`], [`EmailTokenRepo`], …). Each backend (`portcullis-store-sqlite`, `portcullis-store-postgres`)
//! implements every repository with its own SQL; nothing above this crate
//! knows which one it talks to. Errors are [`StoreError`].

mod audit;
mod clients;
mod email_tokens;
mod error;
mod grants;
mod keys;
mod mfa;
mod migrations;
mod outbox;
mod rate_limits;
mod sessions;
mod setup;
mod users;

pub use audit::{AuditEvent, AuditOutcome, AuditRepo, NewAuditEvent};
pub use clients::{ClientRecord, ClientRepo};
pub use email_tokens::{EmailToken, EmailTokenPurpose, EmailTokenRepo};
pub use error::StoreError;
pub use grants::{
    AuthRequestRow, BackchannelLogout, CodeRow, GrantRepo, GrantRow, Redemption, RefreshTokenRow,
};
pub use keys::{SigningKeyRepo, SigningKeyRow, SigningKeyState};
pub use mfa::{MfaRepo, PasskeyRow, TotpRow};
pub use migrations::{AppliedMigration, EmbeddedMigration, MigrationStatus};
pub use outbox::{MailStatus, NewMail, OutboxMail, OutboxRepo, OutboxStats};
pub use rate_limits::{RateLimit, RateLimitRepo};
pub use sessions::{Session, SessionRepo};
pub use setup::SetupTokenRepo;
pub use users::{NewUser, ROLE_ADMIN, User, UserRepo, normalise_login};

use async_trait::async_trait;
use std::fmt;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded SQLite, the single-machine default.
    Sqlite,
    /// PostgreSQL, shared by several instances.
    Postgres,
}

impl Backend {
    /// The lowercase name used in logs, metrics and test names.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The storage surface: every repository, plus schema management and health.
#[async_trait]
pub trait Store:
    AuditRepo
    + ClientRepo
    + GrantRepo
    + SigningKeyRepo
    + UserRepo
    + SessionRepo
    + RateLimitRepo
    + SetupTokenRepo
    + OutboxRepo
    + MfaRepo
    + EmailTokenRepo
    + fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// Which database this is.
    fn backend(&self) -> Backend;

    /// Applies every pending migration; returns how many it applied.
    /// Safe to run from several instances at once (the backend serialises).
    async fn migrate(&self) -> Result<usize, StoreError>;

    /// Compares the migrations recorded in the database with those built in.
    /// Also proves the database answers.
    async fn migration_status(&self) -> Result<MigrationStatus, StoreError>;

    /// Waits for open connections to finish and closes the pool.
    async fn close(&self);
}
