//! Outbox metrics: mails queued (gauge), sent and failed (counters), and the
//! age of the oldest unsent mail (gauge, seconds).

use prometheus::{IntCounter, IntGauge, Registry};

/// The mailer's metrics, registered in the app's registry.
#[derive(Debug, Clone)]
pub struct MailMetrics {
    pub(crate) queued: IntGauge,
    pub(crate) sent: IntCounter,
    pub(crate) failed: IntCounter,
    pub(crate) oldest_age: IntGauge,
}

impl MailMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let queued = IntGauge::new("portcullis_mail_queued", "Mails in the outbox not yet sent nor failed")?;
        let sent = IntCounter::new("portcullis_mail_sent_total", "Mails accepted by the SMTP server")?;
        let failed =
            IntCounter::new("portcullis_mail_failed_total", "Mails given up on after the maximum age")?;
        let oldest_age = IntGauge::new(
            "portcullis_mail_oldest_unsent_age_seconds",
            "Age of the oldest mail still waiting in the outbox (0 when empty)",
        )?;
        registry.register(Box::new(queued.clone()))?;
        registry.register(Box::new(sent.clone()))?;
        registry.register(Box::new(failed.clone()))?;
        registry.register(Box::new(oldest_age.clone()))?;
        Ok(Self { queued, sent, failed, oldest_age })
    }
}

impl MailMetrics {
    /// Mails currently queued (as of the worker's last pass).
    pub fn queued(&self) -> i64 {
        self.queued.get()
    }

    /// Mails sent since start.
    pub fn sent_total(&self) -> u64 {
        self.sent.get()
    }

    /// Mails given up on since start.
    pub fn failed_total(&self) -> u64 {
        self.failed.get()
    }

    /// Age of the oldest unsent mail at the worker's last pass, in seconds.
    pub fn oldest_unsent_age_secs(&self) -> i64 {
        self.oldest_age.get()
    }
}
