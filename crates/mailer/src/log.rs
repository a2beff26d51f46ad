//! [`LogMailer`]: development mode without SMTP. "Sends" a mail by logging
//! its recipient, subject and links at INFO — deliberately including the
//! single-use tokens in those links, which is why only `dev_mode` uses it.

use async_trait::async_trait;
use portcullis_store::NewMail;

use crate::{MailError, Mailer};

/// Logs each mail's links instead of sending it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

/// The `http(s)://` links of a text part, in order.
pub fn links(text: &str) -> Vec<&str> {
    text.split_whitespace().filter(|w| w.starts_with("http://") || w.starts_with("https://")).collect()
}

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, id: &str, mail: &NewMail) -> Result<(), MailError> {
        let links = links(&mail.text);
        tracing::info!(
            mail_id = %id,
            to = %mail.to,
            subject = %mail.subject,
            links = %links.join(" "),
            "dev_mode: mail not sent (no SMTP configured); its links follow"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_links() {
        let text =
            "Hello,\n\nSign in:\nhttp://localhost:8080/login/magic?token=abc\n\nor https://x.test/recover.";
        assert_eq!(
            super::links(text),
            ["http://localhost:8080/login/magic?token=abc", "https://x.test/recover."]
        );
    }
}
