//! Mail templates: each mail is an askama pair over
//! `web/templates/email/<name>.{html,txt}` (HTML escaped, text not), plus
//! a subject line, rendered into a [`NewMail`] ready for the outbox.
//!
//! Two pairs cover every mail: `link` (a single-use link: password reset,
//! email verification, magic-link sign-in) and `notice` (a security
//! notification after a sensitive change, see [`crate::notify`]).

use askama::Template;
use portcullis_store::NewMail;

use crate::MailError;

/// What every mail needs to know about the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailContext {
    /// The product name in subjects and bodies (`mail.product_name`).
    pub product: String,
    /// The public base URL links start with (the issuer), no trailing slash.
    pub base_url: String,
}

impl MailContext {
    /// A context for `product` with links under `base_url`.
    pub fn new(product: impl Into<String>, base_url: &str) -> Self {
        Self { product: product.into(), base_url: base_url.trim_end_matches('/').to_owned() }
    }

    /// `base_url` + `path_and_query`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url)
    }
}

#[derive(Template)]
#[template(path = "email/link.html")]
struct LinkHtml<'a> {
    subject: &'a str,
    product: &'a str,
    username: &'a str,
    intro: &'a str,
    action: &'a str,
    link: &'a str,
    expires: &'a str,
    outro: &'a str,
}

#[derive(Template)]
#[template(path = "email/link.txt")]
struct LinkTxt<'a> {
    product: &'a str,
    username: &'a str,
    intro: &'a str,
    action: &'a str,
    link: &'a str,
    expires: &'a str,
    outro: &'a str,
}

#[derive(Template)]
#[template(path = "email/notice.html")]
struct NoticeHtml<'a> {
    subject: &'a str,
    product: &'a str,
    username: &'a str,
    what: &'a str,
    details: &'a [String],
    recover_link: &'a str,
}

#[derive(Template)]
#[template(path = "email/notice.txt")]
struct NoticeTxt<'a> {
    product: &'a str,
    username: &'a str,
    what: &'a str,
    details: &'a [String],
    recover_link: &'a str,
}

/// A single-use-link mail.
struct Link<'a> {
    to: &'a str,
    username: &'a str,
    subject: String,
    intro: String,
    action: &'a str,
    link: &'a str,
    expires: String,
    outro: &'a str,
}

fn link_mail(ctx: &MailContext, m: &Link<'_>) -> Result<NewMail, MailError> {
    let product = ctx.product.as_str();
    let html = LinkHtml {
        subject: &m.subject,
        product,
        username: m.username,
        intro: &m.intro,
        action: m.action,
        link: m.link,
        expires: &m.expires,
        outro: m.outro,
    }
    .render()?;
    let text = LinkTxt {
        product,
        username: m.username,
        intro: &m.intro,
        action: m.action,
        link: m.link,
        expires: &m.expires,
        outro: m.outro,
    }
    .render()?;
    Ok(NewMail { to: m.to.to_owned(), subject: m.subject.clone(), text, html })
}

/// "15 minutes", "1 hour", "2 days".
pub fn lifetime(d: time::Duration) -> String {
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    let secs = d.whole_seconds().max(60);
    if secs % 86_400 == 0 {
        plural(secs / 86_400, "day")
    } else if secs % 3600 == 0 {
        plural(secs / 3600, "hour")
    } else {
        plural(secs / 60, "minute")
    }
}

/// The password-reset link, to the account's address.
pub fn password_reset(
    ctx: &MailContext,
    to: &str,
    username: &str,
    link: &str,
    valid_for: time::Duration,
) -> Result<NewMail, MailError> {
    link_mail(
        ctx,
        &Link {
            to,
            username,
            subject: format!("Reset your {} password", ctx.product),
            intro: format!("Someone asked to reset the password of your {} account.", ctx.product),
            action: "Choose a new password",
            link,
            expires: lifetime(valid_for),
            outro: "If you did not ask for this, ignore this mail: your password stays as it is.",
        },
    )
}

/// An invitation to a new account: a link to choose its password.
pub fn invitation(
    ctx: &MailContext,
    to: &str,
    username: &str,
    link: &str,
    valid_for: time::Duration,
) -> Result<NewMail, MailError> {
    link_mail(
        ctx,
        &Link {
            to,
            username,
            subject: format!("Your {} account is ready", ctx.product),
            intro: format!("An administrator made you an account on {}.", ctx.product),
            action: "Choose your password",
            link,
            expires: lifetime(valid_for),
            outro: "If you did not expect this, ignore this mail: the account stays unused.",
        },
    )
}

/// The email-verification link, to the address being verified.
pub fn verify_email(
    ctx: &MailContext,
    to: &str,
    username: &str,
    link: &str,
    valid_for: time::Duration,
) -> Result<NewMail, MailError> {
    link_mail(
        ctx,
        &Link {
            to,
            username,
            subject: format!("Confirm your email address for {}", ctx.product),
            intro: format!("Confirm that {to} is the email address of your {} account.", ctx.product),
            action: "Confirm this address",
            link,
            expires: lifetime(valid_for),
            outro: "If you did not ask for this, ignore this mail: nothing changes.",
        },
    )
}

/// The magic sign-in link, to the account's address.
pub fn magic_link(
    ctx: &MailContext,
    to: &str,
    username: &str,
    link: &str,
    valid_for: time::Duration,
) -> Result<NewMail, MailError> {
    link_mail(
        ctx,
        &Link {
            to,
            username,
            subject: format!("Your {} sign-in link", ctx.product),
            intro: format!("Someone asked to sign in to your {} account with a link.", ctx.product),
            action: "Sign in",
            link,
            expires: lifetime(valid_for),
            outro: "If you did not ask for this, ignore this mail: nobody is signed in.",
        },
    )
}

/// A security notice: `what` happened to the account of `username`.
pub(crate) fn notice(
    ctx: &MailContext,
    to: &str,
    username: &str,
    subject: String,
    what: &str,
    details: &[String],
) -> Result<NewMail, MailError> {
    let recover_link = ctx.url("/recover");
    let product = ctx.product.as_str();
    let html =
        NoticeHtml { subject: &subject, product, username, what, details, recover_link: &recover_link }
            .render()?;
    let text = NoticeTxt { product, username, what, details, recover_link: &recover_link }.render()?;
    Ok(NewMail { to: to.to_owned(), subject, text, html })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_mails_carry_the_link_in_both_parts_and_say_when_it_expires() {
        let ctx = MailContext::new("Acme ID", "https://id.example.test/");
        let link = ctx.url("/recover/reset?token=abc");
        assert_eq!(link, "https://id.example.test/recover/reset?token=abc");
        let mail = password_reset(&ctx, "a@example.test", "ann", &link, time::Duration::minutes(15))
            .expect("render");
        assert_eq!(mail.subject, "Reset your Acme ID password");
        for part in [&mail.text, &mail.html] {
            assert!(part.contains(&link), "{part}");
            assert!(part.contains("expires in 15 minutes"), "{part}");
        }
        assert!(mail.html.contains(&format!("<a href=\"{link}\">")), "{}", mail.html);
    }

    #[test]
    fn lifetimes_read_naturally() {
        assert_eq!(lifetime(time::Duration::minutes(15)), "15 minutes");
        assert_eq!(lifetime(time::Duration::hours(1)), "1 hour");
        assert_eq!(lifetime(time::Duration::days(2)), "2 days");
        assert_eq!(lifetime(time::Duration::seconds(5)), "1 minute");
    }
}
