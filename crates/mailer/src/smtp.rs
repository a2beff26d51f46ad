//! The SMTP transport: [`SmtpMailer`] sends one [`NewMail`] as a
//! multipart/alternative (text + HTML) message over lettre, and succeeds
//! only when the server answered the DATA with a positive (250) reply.

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart, header::MessageId};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use portcullis_store::NewMail;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

use crate::MailError;

/// Sends one mail. The outbox worker calls it; tests may substitute it.
#[async_trait]
pub trait Mailer: Send + Sync + std::fmt::Debug + 'static {
    /// Delivers `mail` with Message-ID `<id@…>`; `Ok` only once the server
    /// accepted it.
    async fn send(&self, id: &str, mail: &NewMail) -> Result<(), MailError>;
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text: for a local relay or tests only.
    None,
    /// Plain connection upgraded with STARTTLS (required, not opportunistic).
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Server host name (also the name checked on its certificate).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Connection protection.
    pub tls: TlsMode,
    /// Optional login.
    pub username: Option<String>,
    /// Optional password (redacted in `Debug`).
    pub password: Option<SecretString>,
    /// The sender mailbox, e.g. `Portcullis <no-reply@example.com>`.
    pub from: String,
    /// Timeout of each SMTP command.
    pub timeout: Duration,
}

/// The lettre SMTP transport.
#[derive(Debug, Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
}

impl SmtpMailer {
    /// Builds the transport (no connection is made until the first send).
    pub fn new(config: &SmtpConfig) -> Result<Self, MailError> {
        let from: Mailbox = config.from.parse().map_err(|_| MailError::Address(config.from.clone()))?;
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            TlsMode::Starttls => Tls::Required(tls_parameters(&config.host)?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters(&config.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_owned()));
        }
        let domain = from.email.domain().to_owned();
        Ok(Self { transport: builder.build(), from, domain })
    }

    fn message(&self, id: &str, mail: &NewMail) -> Result<Message, MailError> {
        let to: Mailbox = mail.to.parse().map_err(|_| MailError::Address(mail.to.clone()))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(MessageId::from(format!("<{id}@{}>", self.domain)))
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
            .map_err(|e| MailError::Build(e.to_string()))
    }
}

/// True when `s` is a mailbox (`a@b.example` or `Name <a@b.example>`).
pub fn is_valid_mailbox(s: &str) -> bool {
    s.parse::<Mailbox>().is_ok()
}

fn tls_parameters(host: &str) -> Result<TlsParameters, MailError> {
    TlsParameters::new(host.to_owned()).map_err(|e| MailError::Config(e.to_string()))
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, id: &str, mail: &NewMail) -> Result<(), MailError> {
        let message = self.message(id, mail)?;
        let response = self.transport.send(message).await.map_err(|e| MailError::Smtp(e.to_string()))?;
        if response.is_positive() {
            Ok(())
        } else {
            Err(MailError::Smtp(format!("server answered {}", response.code())))
        }
    }
}
