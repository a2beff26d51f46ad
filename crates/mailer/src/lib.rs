//! Mail for Portcullis: askama Html/Txt template pairs ([`templates`]), the
//! lettre SMTP transport behind the [`Mailer`] trait ([`SmtpMailer`],
//! configured by [`SmtpConfig`]), and the durable outbox worker
//! ([`OutboxWorker`], its [`WorkerHandle`], [`RetryPolicy`] and [`MailMetrics`]).
//! [`notify`] renders and queues security notifications ([`Notification`]);
//! [`LogMailer`] stands in for SMTP in development mode, logging links.
//!
//! Mails are rendered when they are caused and written to the store's
//! outbox (`portcullis_store::OutboxRepo`) in the same transaction as the
//! change; the worker sends them later, retrying with back-off, and marks
//! each sent only after the SMTP server's 250. Errors are [`MailError`].

mod error;
mod log;
mod metrics;
pub mod notify;
mod smtp;
pub mod templates;
mod worker;

pub use error::MailError;
pub use log::{LogMailer, links};
pub use metrics::MailMetrics;
pub use notify::Notification;
pub use smtp::{Mailer, SmtpConfig, SmtpMailer, TlsMode, is_valid_mailbox};
pub use templates::MailContext;
pub use worker::{MailSource, OutboxWorker, RetryPolicy, WorkerHandle};
