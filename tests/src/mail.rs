//! Mails to put in the outbox when a test needs one, rendered as the
//! product renders them.

use portcullis_mailer::notify::{Notification, notification_mails};
use portcullis_mailer::templates::MailContext;
use portcullis_store::{NewMail, User};
use time::OffsetDateTime;

/// The "your password was changed" notice of `product` for `username` at `to`.
pub fn password_changed_mail(product: &str, to: &str, username: &str) -> NewMail {
    let user = User {
        id: uuid::Uuid::new_v4(),
        username: username.to_owned(),
        email: to.to_owned(),
        email_verified: true,
        display_name: None,
        disabled: false,
        mfa_required: false,
        security_stamp: String::new(),
        roles: vec![],
        password_hash: None,
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    };
    let mut mails = notification_mails(&MailContext::new(product, ""), &user, &Notification::PasswordChanged)
        .expect("the notice renders");
    assert_eq!(mails.len(), 1, "one recipient");
    mails.remove(0)
}
