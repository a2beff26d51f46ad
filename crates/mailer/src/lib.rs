//! Mail as askama Html/Txt template pairs, the lettre SMTP transport behind a
//! Mailer trait, and the durable outbox worker. Filled in by the
//! recovery-mailer issue.
