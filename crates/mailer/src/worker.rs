//! The outbox worker: claims due mails under a lease, sends each through the
//! [`Mailer`], marks it sent after the server accepted it, and otherwise
//! reschedules it with exponential back-off and jitter, giving up (as
//! `failed`) once the mail is older than [`RetryPolicy::max_age`]. Due
//! times come from the app [`Clock`]; the loop wakes on an interval or when
//! [`OutboxWorker::notify`] is poked.

use portcullis_core::Clock;
use portcullis_store::{OutboxMail, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::{MailError, MailMetrics, Mailer};

/// When to retry and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure; doubles with each further one.
    pub base_delay: Duration,
    /// Ceiling of the delay (before jitter).
    pub max_delay: Duration,
    /// How long a claimed mail stays leased to one worker.
    pub lease: Duration,
    /// A mail still unsent this long after it was queued is failed.
    pub max_age: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
            lease: Duration::from_secs(300),
            max_age: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempts + 1`: `base * 2^(attempts-1)`,
    /// capped, plus up to a quarter of it as jitter (`jitter` in 0..=1).
    pub fn delay(&self, attempts: u32, jitter: f64) -> Duration {
        let delay =
            portcullis_core::backoff::backoff(self.base_delay, self.max_delay, attempts.saturating_sub(1));
        delay + delay.mul_f64(jitter.clamp(0.0, 1.0) / 4.0)
    }
}

/// Something that turns queued requests into outbox mails before each pass
/// of the worker (the "mail me a link" requests, whose answer must not
/// depend on whether the address has an account: the request path only
/// queues them, and the mail is made here).
#[async_trait::async_trait]
pub trait MailSource: std::fmt::Debug + Send + Sync {
    /// Turns what is queued into mails; returns how many requests it handled.
    async fn produce(&self) -> Result<usize, MailError>;
}

/// Sends what the outbox holds.
#[derive(Debug, Clone)]
pub struct OutboxWorker {
    store: Arc<dyn Store>,
    sources: Vec<Arc<dyn MailSource>>,
    /// `None`: nothing is sent, only the gauges are kept current.
    mailer: Option<Arc<dyn Mailer>>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    metrics: Option<MailMetrics>,
    wake: Arc<Notify>,
    stopping: Arc<AtomicBool>,
}

/// A spawned worker; [`WorkerHandle::stop`] ends it between two mails.
#[derive(Debug)]
pub struct WorkerHandle {
    wake: Arc<Notify>,
    stopping: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Lets the mail being sent finish (so it is marked sent and never
    /// resent), then stops the worker.
    pub async fn stop(self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "mail outbox worker ended abnormally");
        }
    }
}

fn random_unit() -> f64 {
    let [a, b] = portcullis_core::random::bytes::<2>();
    f64::from(u16::from_be_bytes([a, b])) / f64::from(u16::MAX)
}

impl OutboxWorker {
    /// A worker over `store`, sending with `mailer`.
    pub fn new(
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        policy: RetryPolicy,
        metrics: Option<MailMetrics>,
    ) -> Self {
        Self {
            store,
            sources: Vec::new(),
            mailer: Some(mailer),
            clock,
            policy,
            metrics,
            wake: Arc::new(Notify::new()),
            stopping: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A worker that sends nothing (no SMTP configured) but keeps the queue
    /// gauges current, so a growing backlog shows in the metrics.
    pub fn metrics_only(store: Arc<dyn Store>, clock: Arc<dyn Clock>, metrics: MailMetrics) -> Self {
        Self {
            store,
            sources: Vec::new(),
            mailer: None,
            clock,
            policy: RetryPolicy::default(),
            metrics: Some(metrics),
            wake: Arc::new(Notify::new()),
            stopping: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Adds a source whose requests become mails at the start of each pass.
    #[must_use]
    pub fn with_source(mut self, source: Arc<dyn MailSource>) -> Self {
        self.sources.push(source);
        self
    }

    /// Pokes the worker to look at the outbox now (after an enqueue).
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Lets every source produce, then sends every mail due now; returns
    /// how many were sent.
    pub async fn run_once(&self) -> Result<usize, MailError> {
        for source in &self.sources {
            if let Err(e) = source.produce().await {
                tracing::error!(error = %e, "mail source failed");
            }
        }
        let mut sent = 0;
        while self.mailer.is_some() && !self.stopping.load(Ordering::SeqCst) {
            let now = self.clock.now();
            let Some(mail) = self.store.claim_due_mail(now, now + self.policy.lease).await? else { break };
            if self.deliver(mail, now).await? {
                sent += 1;
            }
        }
        self.update_gauges().await?;
        Ok(sent)
    }

    /// Sends one claimed mail and records the outcome; true if it was sent.
    async fn deliver(&self, mail: OutboxMail, now: OffsetDateTime) -> Result<bool, MailError> {
        let Some(mailer) = &self.mailer else { return Ok(false) };
        let error = match mailer.send(&mail.id, &mail.mail).await {
            Ok(()) => {
                self.store.mark_mail_sent(&mail.id, self.clock.now()).await?;
                if let Some(m) = &self.metrics {
                    m.sent.inc();
                }
                tracing::info!(mail_id = %mail.id, attempts = mail.attempts, "mail sent");
                return Ok(true);
            }
            Err(e) => e.to_string(),
        };
        if now - mail.created_at >= self.policy.max_age {
            self.store.fail_mail(&mail.id, &error).await?;
            if let Some(m) = &self.metrics {
                m.failed.inc();
            }
            tracing::error!(mail_id = %mail.id, attempts = mail.attempts, %error, "mail given up");
        } else {
            let next = now + self.policy.delay(mail.attempts, random_unit());
            self.store.retry_mail(&mail.id, next, &error).await?;
            tracing::warn!(mail_id = %mail.id, attempts = mail.attempts, %error, %next, "mail not sent; will retry");
        }
        Ok(false)
    }

    async fn update_gauges(&self) -> Result<(), MailError> {
        let Some(m) = &self.metrics else { return Ok(()) };
        let stats = self.store.outbox_stats().await?;
        m.queued.set(i64::try_from(stats.pending).unwrap_or(i64::MAX));
        let age = stats.oldest_pending_at.map_or(0, |at| (self.clock.now() - at).whole_seconds().max(0));
        m.oldest_age.set(age);
        Ok(())
    }

    /// Runs until stopped: after each pass, waits for `interval` or a poke.
    pub fn spawn(self, interval: Duration) -> WorkerHandle {
        let (wake, stopping) = (self.wake.clone(), self.stopping.clone());
        let task = tokio::spawn(async move {
            while !self.stopping.load(Ordering::SeqCst) {
                if let Err(e) = self.run_once().await {
                    tracing::error!(error = %e, "mail outbox pass failed");
                }
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = self.wake.notified() => {}
                }
            }
        });
        WorkerHandle { wake, stopping, task }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_doubles_is_capped_and_jitter_adds_at_most_a_quarter() {
        let p = RetryPolicy {
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(1, 0.0), Duration::from_secs(10));
        assert_eq!(p.delay(2, 0.0), Duration::from_secs(20));
        assert_eq!(p.delay(3, 0.0), Duration::from_secs(40));
        assert_eq!(p.delay(4, 0.0), Duration::from_secs(60));
        assert_eq!(p.delay(40, 0.0), Duration::from_secs(60));
        assert_eq!(p.delay(2, 1.0), Duration::from_secs(25));
        assert_eq!(p.delay(2, 7.0), Duration::from_secs(25));
    }
}
