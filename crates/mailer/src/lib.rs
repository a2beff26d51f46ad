//! Mail for Portcullis: askama Html/Txt template pairs ([`templates`]), the
//! lettre SMTP transport behind the [`Mailer`] trait ([`SmtpMailer`],
//! configured by [`SmtpConfig`]), and the durable outbox worker
//! ([`OutboxWorker`], its [`WorkerHandle`], [`RetryPolicy`] and [`MailMetrics`]).
//!
//! Mails are rendered when they are caused and written to the store's
//! outbox (`portcullis_store::OutboxRepo`) in the same transaction as the
//! change; the worker sends them later, retrying with back-off, and marks
//! each sent only after the SMTP server's 250. Errors are [`MailError`].

mod error;
mod metrics;
mod smtp;
pub mod templates;
mod worker;

pub use error::MailError;
pub use metrics::MailMetrics;
pub use smtp::{Mailer, SmtpConfig, SmtpMailer, TlsMode, is_valid_mailbox};
pub use worker::{OutboxWorker, RetryPolicy, WorkerHandle};
