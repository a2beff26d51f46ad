//! The Back-Channel Logout sender (OIDC Back-Channel Logout 1.0): ending a
//! session queues one notification per client in the same transaction
//! (`LogoutRepo::end_session`); this worker claims each under a lease, signs
//! a fresh logout token and POSTs it to the client's
//! `backchannel_logout_uri`. A 2xx completes it; anything else retries with
//! exponential back-off for up to a day. Redirects are not followed.

use portcullis_core::{Clock, Issuer};
use portcullis_keys::LiveKeys;
use portcullis_protocol::{Client, ClientCache, Ctx, ProtocolConfig, TokenStateCache, logout::logout_token};
use portcullis_store::{BackchannelLogout, Store};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::Duration;

/// How long a claimed notification is ours before another instance may retry it.
const LEASE: Duration = Duration::seconds(60);
/// Give up after this long (the RP has been unreachable for a day).
const GIVE_UP_AFTER: Duration = Duration::hours(24);
/// The RP must answer within this.
const REQUEST_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// Delivers queued back-channel logout tokens.
#[derive(Debug, Clone)]
pub struct BackchannelWorker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    keys: Arc<LiveKeys>,
    issuer: Issuer,
    config: Arc<ProtocolConfig>,
    /// Unused for lookups here (the client is read from the store each time).
    clients: Arc<ClientCache>,
    /// Unused here (no access token is checked).
    tokens: Arc<TokenStateCache>,
    http: reqwest::Client,
}

/// The delay before attempt `attempts + 1`: 5 s doubling, at most an hour.
pub fn backoff(attempts: u32) -> Duration {
    let max = std::time::Duration::from_secs(3_600);
    let delay = portcullis_core::backoff::backoff(std::time::Duration::from_secs(5), max, attempts);
    Duration::try_from(delay).unwrap_or(Duration::HOUR)
}

impl BackchannelWorker {
    /// A worker over the shared state.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        keys: Arc<LiveKeys>,
        issuer: Issuer,
        config: Arc<ProtocolConfig>,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let clients = Arc::new(ClientCache::new(config.client_cache_ttl));
        let tokens = Arc::new(TokenStateCache::new(Duration::ZERO));
        Ok(Self { store, clock, keys, issuer, config, clients, tokens, http })
    }

    /// Delivers every due notification, then waits `every`, until aborted.
    pub async fn run(self, every: StdDuration) {
        loop {
            loop {
                match self.deliver_one().await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "back-channel logout queue failed");
                        break;
                    }
                }
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Claims and tries one due notification; false when none was due.
    pub async fn deliver_one(&self) -> Result<bool, portcullis_store::StoreError> {
        let now = self.clock.now();
        let Some(job) = self.store.claim_due_backchannel_logout(now, now + LEASE).await? else {
            return Ok(false);
        };
        match self.send(&job).await {
            Ok(()) => {
                self.store.complete_backchannel_logout(&job.id).await?;
                tracing::info!(client_id = %job.client_id, "back-channel logout delivered");
            }
            Err(error) if now - job.created_at >= GIVE_UP_AFTER => {
                self.store.complete_backchannel_logout(&job.id).await?;
                tracing::warn!(client_id = %job.client_id, %error, "back-channel logout abandoned after a day");
            }
            Err(error) => {
                let next = now + backoff(job.attempts);
                self.store.retry_backchannel_logout(&job.id, next, &error).await?;
                tracing::warn!(client_id = %job.client_id, %error, attempts = job.attempts, "back-channel logout failed; will retry");
            }
        }
        Ok(true)
    }

    async fn send(&self, job: &BackchannelLogout) -> Result<(), String> {
        let record = self.store.find_client(&job.client_id).await.map_err(|e| e.to_string())?;
        let Some(client) = record.and_then(|r| Client::from_record(&r).ok()) else {
            return Err("the client no longer exists".into());
        };
        let keys = self.keys.current();
        let ctx = Ctx {
            store: self.store.as_ref(),
            keys: &keys,
            issuer: &self.issuer,
            config: &self.config,
            clients: &self.clients,
            tokens: &self.tokens,
            requests: self.store.as_ref(),
            // Signing a logout token authenticates no client.
            throttle: &portcullis_store::MemoryThrottle::new(),
            // Nor does it check a DPoP proof.
            dpop: &portcullis_protocol::dpop::Dpop::with_capacity([0; 32], 0),
            now: self.clock.now(),
        };
        let token = logout_token(&ctx, &client, job.user_id, &job.sid).map_err(|e| e.to_string())?;
        let res = self
            .http
            .post(&job.uri)
            .form(&[("logout_token", token.as_str())])
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if res.status().is_success() { Ok(()) } else { Err(format!("the client answered {}", res.status())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_an_hour() {
        assert_eq!(backoff(0), Duration::seconds(5));
        assert_eq!(backoff(1), Duration::seconds(10));
        assert_eq!(backoff(4), Duration::seconds(80));
        assert_eq!(backoff(30), Duration::seconds(3_600));
    }
}
