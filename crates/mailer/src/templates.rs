//! Mail templates: each mail is an askama pair over
//! `web/templates/email/<name>.{html,txt}` (HTML escaped, text not), plus
//! a subject line, rendered into a [`NewMail`] ready for the outbox.

use askama::Template;
use portcullis_store::NewMail;

use crate::MailError;

#[derive(Template)]
#[template(path = "email/password_changed.html")]
struct PasswordChangedHtml<'a> {
    subject: &'a str,
    product: &'a str,
    username: &'a str,
}

#[derive(Template)]
#[template(path = "email/password_changed.txt")]
struct PasswordChangedTxt<'a> {
    product: &'a str,
    username: &'a str,
}

/// "Your password was changed", to the account's address.
pub fn password_changed(product: &str, to: &str, username: &str) -> Result<NewMail, MailError> {
    let subject = format!("Your {product} password was changed");
    let html = PasswordChangedHtml { subject: &subject, product, username }.render()?;
    let text = PasswordChangedTxt { product, username }.render()?;
    Ok(NewMail { to: to.to_owned(), subject, text, html })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_changed_has_both_parts_and_escapes_html_only() {
        let mail = password_changed("Acme ID", "a@example.test", "<bob>").expect("render");
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
}
