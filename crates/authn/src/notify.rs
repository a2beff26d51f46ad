//! Security notifications from the authentication side: one call after a
//! sensitive change tells the account holder by mail (through the outbox).
//!
//! ```ignore
//! use portcullis_authn::notify::{Notification, security_event};
//! security_event(store, &mail_context, clock.now(), &user,
//!                &Notification::PasskeyAdded { name: "laptop".into() }).await?;
//! ```
//!
//! A change made inside a store transaction should instead pass
//! [`notification_mails`] to that transaction, so change and mail commit
//! together (as password reset and email change do).

pub use portcullis_mailer::MailContext;
pub use portcullis_mailer::notify::{Notification, notification_mails};
use portcullis_store::{Store, User};
use time::OffsetDateTime;

use crate::AuthnError;

/// Renders `notification` for `user` (to their address; an email change to
/// the old and the new one) and writes it to the outbox at `now`.
pub async fn security_event(
    store: &dyn Store,
    mail: &MailContext,
    now: OffsetDateTime,
    user: &User,
    notification: &Notification,
) -> Result<(), AuthnError> {
    let ids = portcullis_mailer::notify::enqueue(store, mail, now, user, notification).await?;
    tracing::info!(kind = notification.kind(), user_id = %user.id, mails = ids.len(), "security notification queued");
    Ok(())
}
