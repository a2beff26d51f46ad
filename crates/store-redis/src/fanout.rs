//! The fan-out that tells every instance at once what another changed:
//! one pub/sub channel per deployment (`<prefix>changes`), a message per
//! change, `<instance id> <what>`. An instance drops the caches it holds of
//! `what` (clients, signing keys) when another instance says so.
//!
//! Pub/sub delivers at most once and only to connected subscribers, so it
//! is a shortcut, never what correctness rests on: the caches also expire
//! (clients after 5 s, keys every `keys.refresh_interval_secs`), and a
//! subscriber that (re)connects treats everything as changed, since it may
//! have missed messages. What must be seen by the very next request (a
//! revoked grant, an ended session) does not go through here: the
//! token-state generation is read from the database on every check.
//!
//! On a Redis Cluster a message published on any node reaches the
//! subscribers of every node; the subscriber connects to the first seed
//! node that answers.

use futures_util::StreamExt;
use portcullis_store::StoreError;
use std::time::Duration;

use crate::{Redis, RedisTarget, store_error};

/// What a subscriber hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Another instance changed this (e.g. `clients`, `keys`).
    Changed(String),
    /// The subscription (re)started: anything may have changed meanwhile.
    Resubscribed,
}

impl Redis {
    fn channel(&self) -> String {
        format!("{}changes", self.prefix)
    }

    /// Tells the other instances that `what` changed; `instance` is this
    /// instance's id (its own messages are ignored by its subscriber).
    pub async fn publish_change(&self, instance: &str, what: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        redis::cmd("PUBLISH")
            .arg(self.channel())
            .arg(format!("{instance} {what}"))
            .query_async::<i64>(&mut conn)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// Follows the other instances' changes until dropped: calls `on` with
    /// each change another instance than `instance` published, and with
    /// [`Heard::Resubscribed`] each time the subscription (re)starts. A
    /// lost connection is retried every half second.
    pub async fn follow_changes(&self, instance: &str, on: impl Fn(Heard)) {
        let urls = match &self.config.target {
            RedisTarget::Server(url) => vec![url.clone()],
            RedisTarget::Cluster(nodes) => nodes.clone(),
        };
        let mut next = 0;
        let mut failing = false;
        loop {
            let url = &urls[next % urls.len()];
            next += 1;
            match self.subscribe(url).await {
                Ok(mut pubsub) => {
                    failing = false;
                    on(Heard::Resubscribed);
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        let Ok(payload) = msg.get_payload::<String>() else { continue };
                        match payload.split_once(' ') {
                            Some((from, what)) if from != instance => on(Heard::Changed(what.to_owned())),
                            _ => {}
                        }
                    }
                    tracing::warn!("the Redis change subscription ended; resubscribing");
                }
                Err(e) => {
                    // Once per outage, not every half second.
                    if !failing {
                        tracing::warn!(error = %e, "cannot subscribe to Redis changes; retrying");
                    }
                    failing = true;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    async fn subscribe(&self, url: &str) -> redis::RedisResult<redis::aio::PubSub> {
        let client = self.config.client(url)?;
        let mut pubsub = tokio::time::timeout(self.timeout, client.get_async_pubsub())
            .await
            .map_err(|_| redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut)))??;
        pubsub.subscribe(self.channel()).await?;
        Ok(pubsub)
    }
}
