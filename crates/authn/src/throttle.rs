//! Every credential check is throttled, each with its own counters, and the
//! attempt is reserved before the check (see `portcullis_store::Throttle`):
//!
//! | counter | key | cleared by |
//! |---|---|---|
//! | password, per account | `pwd:<user id>`, or `pwd:login:<name>` for unknown names | a right password |
//! | second factor, per account | `mfa:<user id>` | a right second factor (never a first factor) |
//! | per client IP, every sign-in check | `ip:<address>` | nothing but time |
//! | device user codes, per signed-in user | `code:<user id>` | nothing but time |
//! | device user codes, per client IP | `code:ip:<address>` | nothing but time |
//!
//! A success gives its reservations back; a failure keeps them and, when its
//! reservation reached the limit, starts (is) a back-off, which is audited.

use portcullis_store::{LockoutPolicy, Reservation, StoreError, Throttle, User, normalise_login};
use time::OffsetDateTime;

/// The back-off rules of the sign-in checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockouts {
    /// Passwords, per account (by its id once the name is resolved; per
    /// name typed for names of no account, so a lockout reveals nothing).
    pub account: LockoutPolicy,
    /// Second factors (authenticator-app and recovery codes), per account.
    pub second_factor: LockoutPolicy,
    /// Every sign-in check from one client IP (more lenient: many people
    /// may share an address).
    pub ip: LockoutPolicy,
    /// Wrong device user codes typed on `/device`, per signed-in user
    /// (and, with the `ip` policy, per client IP on a counter of their own).
    pub user_code: LockoutPolicy,
}

/// The password counter of `user`, or of the name typed when no account has it.
pub(crate) fn password_key(user: Option<&User>, login: &str) -> String {
    match user {
        Some(user) => format!("pwd:{}", user.id),
        None => format!("pwd:login:{}", normalise_login(login)),
    }
}

/// The second-factor counter of `user`.
pub(crate) fn second_factor_key(user: &User) -> String {
    format!("mfa:{}", user.id)
}

/// The counter of a client IP.
pub(crate) fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// The user-code counter of a signed-in user.
pub(crate) fn user_code_key(user_id: uuid::Uuid) -> String {
    format!("code:{user_id}")
}

/// The user-code counter of a client IP.
pub(crate) fn user_code_ip_key(ip: &str) -> String {
    format!("code:ip:{ip}")
}

/// The attempt's counters: each key with its policy and, once reserved,
/// the back-off its failure starts.
pub(crate) struct Attempt<'a> {
    throttle: &'a dyn Throttle,
    reserved: Vec<(String, Option<OffsetDateTime>)>,
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt").field("reserved", &self.reserved).finish_non_exhaustive()
    }
}

/// [`reserve`]'s answer.
#[derive(Debug)]
pub(crate) enum Admission<'a> {
    /// Check the credential, then [`Attempt::failed`] or [`Attempt::succeeded`].
    Admitted(Attempt<'a>),
    /// One of the counters is backing off: do not check.
    Refused {
        /// Until when.
        until: OffsetDateTime,
    },
}

/// Reserves one attempt on each counter, in order; when one refuses, the
/// reservations already made are given back.
pub(crate) async fn reserve<'a>(
    throttle: &'a dyn Throttle,
    counters: &[(String, &LockoutPolicy)],
    now: OffsetDateTime,
) -> Result<Admission<'a>, StoreError> {
    let mut attempt = Attempt { throttle, reserved: Vec::with_capacity(counters.len()) };
    for (key, policy) in counters {
        match throttle.reserve_attempt(key, policy, now).await {
            Ok(Reservation::Admitted { blocked_until, .. }) => {
                attempt.reserved.push((key.clone(), blocked_until))
            }
            Ok(Reservation::Refused { until }) => {
                attempt.release_all(&[]).await?;
                return Ok(Admission::Refused { until });
            }
            Err(e) => {
                attempt.release_all(&[]).await?;
                return Err(e);
            }
        }
    }
    Ok(Admission::Admitted(attempt))
}

impl Attempt<'_> {
    /// The check failed: the reservations stand. Returns the counters whose
    /// back-off this failure starts (or prolongs), with its end.
    pub(crate) fn failed(self) -> Vec<(String, OffsetDateTime)> {
        self.reserved.into_iter().filter_map(|(key, until)| until.map(|u| (key, u))).collect()
    }

    /// The check succeeded: the counters in `clear` are forgotten, the
    /// others get their reservation back.
    pub(crate) async fn succeeded(self, clear: &[&str]) -> Result<(), StoreError> {
        self.release_all(clear).await
    }

    async fn release_all(&self, clear: &[&str]) -> Result<(), StoreError> {
        for (key, _) in &self.reserved {
            if clear.contains(&key.as_str()) {
                self.throttle.clear_attempts(key).await?;
            } else {
                self.throttle.release_attempt(key).await?;
            }
        }
        Ok(())
    }
}
