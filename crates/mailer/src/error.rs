/// What sending or rendering a mail can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// A template could not be rendered.
    #[error("cannot render mail template: {0}")]
    Template(#[from] askama::Error),
    /// An address (sender or recipient) is not a valid mailbox.
    #[error("invalid address {0:?}")]
    Address(String),
    /// The message could not be built.
    #[error("cannot build message: {0}")]
    Build(String),
    /// The SMTP transport could not be configured (bad host for TLS, …).
    #[error("cannot configure SMTP: {0}")]
    Config(String),
    /// The SMTP server could not be reached or refused the mail.
    #[error("SMTP delivery failed: {0}")]
    Smtp(String),
    /// The outbox could not be read or written.
    #[error(transparent)]
    Store(#[from] portcullis_store::StoreError),
}
