//! The mail settings of [`crate::AppState`]: whether mail can go out, the
//! product name and link base ([`MailContext`]), the link rules, the
//! magic-link switch, and a way to wake the outbox worker after queuing a mail.

use portcullis_authn::notify::MailContext;
use portcullis_authn::recovery::RecoveryRules;
use std::sync::Arc;

/// The mail settings ([`crate::AppState::mail`]).
#[derive(Clone)]
pub struct Mail {
    /// Product name and the base URL of links.
    pub context: MailContext,
    /// True when mail can reach people: SMTP is configured, or `dev_mode`
    /// logs each mail's links. When false the recovery pages say so.
    pub available: bool,
    /// Lifetimes and rate limits of mailed links.
    pub rules: RecoveryRules,
    /// Whether the sign-in page offers "Email me a sign-in link".
    pub magic_link: bool,
    /// Wakes the outbox worker (when one runs) after a mail was queued.
    pub wake: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("context", &self.context)
            .field("available", &self.available)
            .field("rules", &self.rules)
            .field("magic_link", &self.magic_link)
            .finish_non_exhaustive()
    }
}

impl Mail {
    /// Tells the outbox worker to look now.
    pub fn wake(&self) {
        if let Some(wake) = &self.wake {
            wake();
        }
    }
}
