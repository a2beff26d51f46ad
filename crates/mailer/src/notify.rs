//! Security notifications: one [`Notification`] per sensitive change, each
//! rendered (text + HTML, subject) to the account's address — and, for an
//! email change, to the old and the new address — and written to the outbox.
//!
//! Flows that change state call [`notification_mails`] and hand the mails
//! to the store method that makes the change, so both commit together.
//! Where the change already happened, [`enqueue`] writes them on their own.

use portcullis_store::{NewMail, Store, User};
use time::OffsetDateTime;

use crate::MailError;
use crate::templates::{MailContext, notice};

/// A sensitive change the account holder is told about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notification {
    /// The password was changed (or reset).
    PasswordChanged,
    /// Someone asked to move the account to `new` (sent to the current address).
    EmailChangeRequested {
        /// The address being verified.
        new: String,
    },
    /// The address changed from `old` to `new` (sent to both).
    EmailChanged {
        /// The previous address.
        old: String,
        /// The address now in use.
        new: String,
    },
    /// A passkey was registered.
    PasskeyAdded {
        /// Its name as the user sees it.
        name: String,
    },
    /// A passkey was removed.
    PasskeyRemoved {
        /// Its name as the user saw it.
        name: String,
    },
    /// An authenticator app (TOTP) was set up.
    TotpEnabled,
    /// The authenticator app (TOTP) was removed.
    TotpDisabled,
    /// New recovery codes were made (the old ones no longer work).
    RecoveryCodesRegenerated,
    /// An identity at an upstream provider was linked: it signs in to the account.
    UpstreamLinked {
        /// The provider's display name.
        provider: String,
    },
    /// An upstream identity was unlinked.
    UpstreamUnlinked {
        /// The provider's display name.
        provider: String,
    },
}

impl Notification {
    /// A stable name for logs, audit and metrics (`passkey_added`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::PasswordChanged => "password_changed",
            Self::EmailChangeRequested { .. } => "email_change_requested",
            Self::EmailChanged { .. } => "email_changed",
            Self::PasskeyAdded { .. } => "passkey_added",
            Self::PasskeyRemoved { .. } => "passkey_removed",
            Self::TotpEnabled => "totp_enabled",
            Self::TotpDisabled => "totp_disabled",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::UpstreamLinked { .. } => "upstream_linked",
            Self::UpstreamUnlinked { .. } => "upstream_unlinked",
        }
    }

    /// Subject, the sentence saying what happened, and detail lines.
    fn wording(&self, product: &str) -> (String, String, Vec<String>) {
        let account = format!("your {product} account");
        match self {
            Self::PasswordChanged => (
                format!("Your {product} password was changed"),
                format!("The password of {account} was changed."),
                vec![],
            ),
            Self::EmailChangeRequested { new } => (
                format!("Your {product} email address is about to change"),
                format!("Someone asked to change the email address of {account} to {new}."),
                vec!["The change happens only once the new address is confirmed.".to_owned()],
            ),
            Self::EmailChanged { old, new } => (
                format!("Your {product} email address was changed"),
                format!("The email address of {account} was changed from {old} to {new}."),
                vec![],
            ),
            Self::PasskeyAdded { name } => (
                format!("A passkey was added to your {product} account"),
                format!("A passkey named \u{201c}{name}\u{201d} was added to {account}."),
                vec!["It can now be used to sign in.".to_owned()],
            ),
            Self::PasskeyRemoved { name } => (
                format!("A passkey was removed from your {product} account"),
                format!("The passkey named \u{201c}{name}\u{201d} was removed from {account}."),
                vec![],
            ),
            Self::TotpEnabled => (
                format!("Two-step sign-in was turned on for your {product} account"),
                format!("An authenticator app (one-time codes) was set up for {account}."),
                vec![],
            ),
            Self::TotpDisabled => (
                format!("Two-step sign-in was turned off for your {product} account"),
                format!("The authenticator app (one-time codes) was removed from {account}."),
                vec![],
            ),
            Self::RecoveryCodesRegenerated => (
                format!("New recovery codes for your {product} account"),
                format!("New recovery codes were made for {account}."),
                vec!["The previous recovery codes no longer work.".to_owned()],
            ),
            Self::UpstreamLinked { provider } => (
                format!("{provider} can now sign in to your {product} account"),
                format!("An account at {provider} was linked to {account}."),
                vec![format!("Signing in with {provider} now signs in to {account}.")],
            ),
            Self::UpstreamUnlinked { provider } => (
                format!("{provider} was unlinked from your {product} account"),
                format!("The account at {provider} no longer signs in to {account}."),
                vec![],
            ),
        }
    }

    /// Who is told: the account's address, or both addresses of a change.
    fn recipients<'a>(&'a self, user: &'a User) -> Vec<&'a str> {
        match self {
            Self::EmailChanged { old, new } if old != new => vec![old, new],
            Self::EmailChanged { new, .. } => vec![new],
            _ => vec![user.email.as_str()],
        }
    }
}

/// Renders `notification` for `user`: one mail per recipient, each with a
/// subject, a text part and an HTML part.
pub fn notification_mails(
    ctx: &MailContext,
    user: &User,
    notification: &Notification,
) -> Result<Vec<NewMail>, MailError> {
    let (subject, what, details) = notification.wording(&ctx.product);
    notification
        .recipients(user)
        .into_iter()
        .map(|to| notice(ctx, to, user.shown_name(), subject.clone(), &what, &details))
        .collect()
}

/// Renders `notification` for `user` and writes it to the outbox (its own
/// transaction) at `now`; returns the outbox ids. For a change made in a
/// store transaction, pass [`notification_mails`] to that transaction instead.
pub async fn enqueue(
    store: &dyn Store,
    ctx: &MailContext,
    now: OffsetDateTime,
    user: &User,
    notification: &Notification,
) -> Result<Vec<String>, MailError> {
    let mails = notification_mails(ctx, user, notification)?;
    Ok(store.enqueue_mails(&mails, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        let at = OffsetDateTime::UNIX_EPOCH;
        User {
            id: uuid::Uuid::nil(),
            username: "ann".into(),
            email: "ann@example.test".into(),
            email_verified: true,
            display_name: None,
            disabled: false,
            mfa_required: false,
            security_stamp: String::new(),
            roles: vec![],
            password_hash: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn password_changed_has_both_parts_and_escapes_html_only() {
        let ctx = MailContext::new("Acme ID", "");
        let bob = User { username: "<bob>".into(), ..user() };
        let mails = notification_mails(&ctx, &bob, &Notification::PasswordChanged).expect("render");
        let mail = &mails[0];
        assert_eq!(mail.subject, "Your Acme ID password was changed");
        assert!(
            mail.html.contains("Hello &#60;bob&#62;") || mail.html.contains("Hello &lt;bob&gt;"),
            "{}",
            mail.html
        );
        assert!(mail.text.contains("Hello <bob>,"), "{}", mail.text);
        assert!(mail.text.contains("your Acme ID account"));
        assert!(mail.html.contains("your Acme ID account"));
    }

    #[test]
    fn an_email_change_tells_both_addresses() {
        let ctx = MailContext::new("Acme ID", "https://id.example.test");
        let n = Notification::EmailChanged { old: "ann@example.test".into(), new: "ann@new.test".into() };
        let mails = notification_mails(&ctx, &user(), &n).expect("render");
        let to: Vec<_> = mails.iter().map(|m| m.to.as_str()).collect();
        assert_eq!(to, ["ann@example.test", "ann@new.test"]);
        for m in &mails {
            assert!(m.text.contains("from ann@example.test to ann@new.test"), "{}", m.text);
            assert!(m.html.contains("https://id.example.test/recover"), "{}", m.html);
        }
    }

    #[test]
    fn a_passkey_name_is_escaped_in_html_only() {
        let ctx = MailContext::new("Acme ID", "https://id.example.test");
        let n = Notification::PasskeyAdded { name: "<b>laptop</b>".into() };
        let mails = notification_mails(&ctx, &user(), &n).expect("render");
        assert_eq!(mails.len(), 1);
        assert!(mails[0].text.contains("\u{201c}<b>laptop</b>\u{201d}"), "{}", mails[0].text);
        assert!(!mails[0].html.contains("<b>laptop</b>"), "{}", mails[0].html);
        assert_eq!(n.kind(), "passkey_added");
    }
}
