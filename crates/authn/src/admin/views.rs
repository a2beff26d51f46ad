//! What the console shows: the dashboard's figures and the pages of users.

use portcullis_store::{AuditOutcome, OutboxStats, User, UserCounts, UserQuery};
use time::{Duration, OffsetDateTime};

use super::{AdminConsole, By};
use crate::AuthnError;

/// Rows on one page of the console (and an API page without `limit`).
pub const PAGE_SIZE: u32 = 50;

/// The most rows one page may hold (an API page's `limit`).
pub const MAX_PAGE_SIZE: u32 = 200;

/// `limit` within `1..=MAX_PAGE_SIZE`.
pub(crate) fn page_size(limit: u32) -> usize {
    limit.clamp(1, MAX_PAGE_SIZE) as usize
}

/// The dashboard's figures.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// Users: total, disabled, without a second factor.
    pub users: UserCounts,
    /// Live sessions of signed-in users.
    pub live_sessions: u64,
    /// Successful sign-ins in the last 24 hours.
    pub signins: u64,
    /// Failed sign-in attempts (a first factor or a second factor) in the
    /// last 24 hours.
    pub signin_failures: u64,
    /// Lockouts started in the last 24 hours.
    pub lockouts: u64,
    /// The mail outbox: backlog and oldest unsent.
    pub outbox: OutboxStats,
    /// When the figures were taken.
    pub at: OffsetDateTime,
}

/// One page of users.
#[derive(Debug, Clone)]
pub struct UsersPage {
    /// The users, by username.
    pub users: Vec<User>,
    /// The names of each user's groups (as `users`, in order): read only by
    /// [`AdminConsole::users_page_with_groups`], empty otherwise.
    pub groups: Vec<Vec<String>>,
    /// The cursor of the next page (the last username), if there is one.
    pub next: Option<String>,
}

impl AdminConsole<'_> {
    /// The dashboard's figures, now.
    #[tracing::instrument(skip_all)]
    pub async fn dashboard(&self, _by: impl Into<By<'_>>) -> Result<Dashboard, AuthnError> {
        let i = &self.interaction;
        let (store, now) = (i.store, i.clock.now());
        let day = now - Duration::days(1);
        let (idle, absolute) = (i.sessions.idle_timeout, i.sessions.absolute_timeout);
        Ok(Dashboard {
            users: store.user_counts().await?,
            live_sessions: store.count_live_sessions(now - idle, now - absolute).await?,
            signins: store.count_audit_since("signin.success", Some(AuditOutcome::Success), day).await?,
            signin_failures: store
                .count_audit_since("signin.failure", Some(AuditOutcome::Failure), day)
                .await?
                + store.count_audit_since("signin.second_factor", Some(AuditOutcome::Failure), day).await?,
            lockouts: store.count_audit_since("signin.lockout", None, day).await?,
            outbox: store.outbox_stats().await?,
            at: now,
        })
    }

    /// A page of at most `limit` users whose username, email or name begins
    /// with `prefix` (case-insensitively; blank: everyone), after the
    /// username `after`.
    #[tracing::instrument(skip_all)]
    pub async fn users_page(
        &self,
        _by: impl Into<By<'_>>,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<UsersPage, AuthnError> {
        let limit = page_size(limit);
        let prefix = Some(prefix.trim()).filter(|p| !p.is_empty()).map(str::to_owned);
        let after = Some(after).filter(|a| !a.is_empty()).map(str::to_owned);
        let query = UserQuery { prefix, after, limit: limit as u32 + 1 };
        let mut users = self.interaction.store.search_users(&query).await?;
        let next = if users.len() > limit {
            users.truncate(limit);
            users.last().map(|u| u.username.clone())
        } else {
            None
        };
        Ok(UsersPage { users, groups: Vec::new(), next })
    }

    /// [`Self::users_page`] with each user's groups (the API's users carry
    /// them; the console's list does not show them, so it does not read them).
    #[tracing::instrument(skip_all)]
    pub async fn users_page_with_groups(
        &self,
        by: impl Into<By<'_>>,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<UsersPage, AuthnError> {
        let mut page = self.users_page(by, prefix, after, limit).await?;
        for user in &page.users {
            page.groups.push(self.interaction.store.user_groups(user.id).await?);
        }
        Ok(page)
    }
}
