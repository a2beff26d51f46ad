//! Wires the mail outbox worker from `[smtp]` and `[mail]`: with an SMTP
//! host it sends through lettre; without one, in `dev_mode` it logs each
//! mail's links ([`LogMailer`]), otherwise nothing is sent and mails wait in
//! the outbox (logged once at start). Also builds the recovery pages'
//! [`portcullis_web::Mail`].

use portcullis_authn::recovery::LinkRequestSource;
use portcullis_core::Clock;
use portcullis_mailer::{
    LogMailer, MailContext, MailMetrics, MailSource, OutboxWorker, RetryPolicy, SmtpConfig, SmtpMailer,
    TlsMode,
};
use portcullis_store::Store;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

use crate::settings::{MailSettings, Settings, SmtpSettings, SmtpTls};

/// The retry policy `[mail]` asks for.
pub(crate) fn retry_policy(mail: &MailSettings) -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_secs(mail.retry_base_secs),
        max_delay: Duration::from_secs(mail.retry_max_secs),
        max_age: Duration::from_secs(mail.max_age_secs),
        ..RetryPolicy::default()
    }
}

/// The transport settings for lettre, or `None` when no host is set.
pub(crate) fn smtp_config(smtp: &SmtpSettings) -> Option<SmtpConfig> {
    let host = smtp.host.clone()?;
    Some(SmtpConfig {
        host,
        port: smtp.port,
        tls: match smtp.tls {
            SmtpTls::None => TlsMode::None,
            SmtpTls::Starttls => TlsMode::Starttls,
            SmtpTls::Tls => TlsMode::Tls,
        },
        username: smtp.username.clone(),
        password: smtp.password.as_ref().map(|p| SecretString::from(p.expose().to_owned())),
        from: smtp.from.clone(),
        timeout: Duration::from_secs(smtp.timeout_secs),
    })
}

/// The worker to spawn: through SMTP, through the log (`dev_mode`), or —
/// without SMTP (logged) — one that only keeps the queue gauges current.
/// Registers the mail metrics.
pub(crate) fn build_worker(
    settings: &Settings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    registry: &prometheus::Registry,
) -> Result<Option<OutboxWorker>, String> {
    let metrics = MailMetrics::register(registry).map_err(|e| e.to_string())?;
    let policy = retry_policy(&settings.mail);
    // "Mail me a link" requests become tokens and mails in the worker, so
    // the request path does the same work whether or not an account exists.
    let links: Arc<dyn MailSource> = Arc::new(LinkRequestSource {
        store: store.clone(),
        clock: clock.clone(),
        mail: mail_context(settings),
        rules: settings.recovery.rules(),
        mfa: portcullis_authn::MfaPolicy { admins_require_mfa: settings.auth.admins_require_mfa },
    });
    let Some(config) = smtp_config(&settings.smtp) else {
        if settings.dev_mode {
            tracing::warn!(
                "dev_mode: no SMTP server configured; each mail's links are logged at INFO, not sent"
            );
            let worker = OutboxWorker::new(store, Arc::new(LogMailer), clock, policy, Some(metrics));
            return Ok(Some(worker.with_source(links)));
        }
        tracing::warn!(
            "no SMTP server configured (smtp.host): mails stay queued in the outbox until one is, \
             and the recovery pages say that mail is not set up"
        );
        // Sends nothing; keeps portcullis_mail_queued and the oldest age current.
        return Ok(Some(OutboxWorker::metrics_only(store, clock, metrics).with_source(links)));
    };
    let mailer = SmtpMailer::new(&config).map_err(|e| e.to_string())?;
    tracing::info!(host = %config.host, port = config.port, "mail outbox worker sending through SMTP");
    Ok(Some(OutboxWorker::new(store, Arc::new(mailer), clock, policy, Some(metrics)).with_source(links)))
}

/// What the recovery pages need: mail is available with SMTP or in
/// `dev_mode`; `worker` (if any) is woken after each queued mail.
pub(crate) fn web_mail(settings: &Settings, worker: Option<&OutboxWorker>) -> portcullis_web::Mail {
    let wake = worker.cloned().map(|w| Arc::new(move || w.notify()) as Arc<dyn Fn() + Send + Sync>);
    portcullis_web::Mail {
        context: mail_context(settings),
        available: mail_available(settings),
        rules: settings.recovery.rules(),
        magic_link: settings.recovery.magic_link,
        wake,
    }
}

/// The product name and link base of mails.
pub(crate) fn mail_context(settings: &Settings) -> MailContext {
    MailContext::new(settings.mail.product_name.clone(), settings.issuer.as_str())
}

/// True when mails reach people (SMTP, or `dev_mode`'s log).
pub(crate) fn mail_available(settings: &Settings) -> bool {
    settings.smtp.host.is_some() || settings.dev_mode
}
