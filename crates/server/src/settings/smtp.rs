//! `[smtp]`: where mail goes; `[mail]`: what it says and how long the outbox
//! keeps trying. With no `smtp.host` the server runs and mails stay queued.

use serde::{Deserialize, Serialize};

use super::{ConfigError, SecretKey};

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text: a local relay or tests only.
    None,
    /// STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// The SMTP server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// Server host name; unset means no mail is sent (it stays queued).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Server port.
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: SmtpTls,
    /// Login name, if the server wants one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password (a secret, redacted when printed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretKey>,
    /// Sender mailbox, e.g. `Portcullis <no-reply@example.com>`.
    pub from: String,
    /// Timeout of each SMTP command, in seconds.
    pub timeout_secs: u64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: None,
            port: 587,
            tls: SmtpTls::Starttls,
            username: None,
            password: None,
            from: "Portcullis <no-reply@localhost>".into(),
            timeout_secs: 10,
        }
    }
}

impl SmtpSettings {
    /// Checks values types cannot.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.host.as_deref().is_some_and(|h| h.trim().is_empty()) {
            return Err(ConfigError::invalid("smtp.host", "must not be empty (leave it unset instead)"));
        }
        if self.timeout_secs == 0 {
            return Err(ConfigError::invalid("smtp.timeout_secs", "must be at least 1"));
        }
        if self.username.is_some() != self.password.is_some() {
            return Err(ConfigError::invalid("smtp.username", "username and password go together"));
        }
        if !portcullis_mailer::is_valid_mailbox(&self.from) {
            return Err(ConfigError::invalid("smtp.from", "must be a mailbox like `Name <a@b.example>`"));
        }
        Ok(())
    }
}

/// What mails say and how long the outbox keeps trying.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// The product name in subjects and bodies.
    pub product_name: String,
    /// Seconds before the first retry of a failed send; doubles each time.
    pub retry_base_secs: u64,
    /// Longest delay between retries, in seconds.
    pub retry_max_secs: u64,
    /// A mail still unsent this many seconds after it was queued is failed.
    pub max_age_secs: u64,
    /// How often the worker looks at the outbox, in seconds.
    pub poll_interval_secs: u64,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            product_name: "Portcullis".into(),
            retry_base_secs: 30,
            retry_max_secs: 3600,
            max_age_secs: 3 * 24 * 3600,
            poll_interval_secs: 5,
        }
    }
}

impl MailSettings {
    /// Checks values types cannot.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, msg: &str| Err(ConfigError::invalid(key, msg));
        if self.product_name.trim().is_empty() {
            return invalid("mail.product_name", "must not be empty");
        }
        if self.retry_base_secs == 0 {
            return invalid("mail.retry_base_secs", "must be at least 1");
        }
        if self.retry_max_secs < self.retry_base_secs {
            return invalid("mail.retry_max_secs", "must be at least mail.retry_base_secs");
        }
        if self.max_age_secs == 0 {
            return invalid("mail.max_age_secs", "must be at least 1");
        }
        if self.poll_interval_secs == 0 {
            return invalid("mail.poll_interval_secs", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_send_nothing() {
        let smtp = SmtpSettings::default();
        assert!(smtp.host.is_none());
        smtp.validate().expect("smtp defaults");
        MailSettings::default().validate().expect("mail defaults");
    }

    #[test]
    fn the_password_is_redacted_when_printed() {
        let smtp = SmtpSettings {
            host: Some("smtp.example.com".into()),
            username: Some("mailer".into()),
            password: Some(SecretKey::new("hunter2-secret".into())),
            ..SmtpSettings::default()
        };
        let shown = [format!("{smtp:?}"), toml::to_string(&smtp).expect("toml")];
        for text in shown {
            assert!(!text.contains("hunter2-secret"), "{text}");
            assert!(text.contains("[redacted]"), "{text}");
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases: [(&str, SmtpSettings); 4] = [
            ("smtp.host", SmtpSettings { host: Some(" ".into()), ..SmtpSettings::default() }),
            ("smtp.timeout_secs", SmtpSettings { timeout_secs: 0, ..SmtpSettings::default() }),
            ("smtp.username", SmtpSettings { username: Some("u".into()), ..SmtpSettings::default() }),
            ("smtp.from", SmtpSettings { from: "not a mailbox".into(), ..SmtpSettings::default() }),
        ];
        for (key, smtp) in cases {
            let err = smtp.validate().expect_err(key);
            assert!(err.to_string().contains(key), "{err}");
        }
        let mail = MailSettings { retry_max_secs: 1, ..MailSettings::default() };
        assert!(mail.validate().expect_err("max < base").to_string().contains("mail.retry_max_secs"));
    }
}
