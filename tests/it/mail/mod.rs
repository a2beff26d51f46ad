//! The mail outbox and its worker against a real SMTP server (aiosmtpd).

mod app;
mod outbox;
mod worker;
