//! Redis (7 or later) for the hot state several Portcullis instances share:
//! one server (`redis://`, `rediss://` over TLS) or a Redis Cluster (its
//! seed nodes). The commands used (`EVALSHA` of small Lua scripts, `HGETALL`,
//! `DEL`, `PUBLISH`/`SUBSCRIBE`) are also Valkey's, but only Redis 7 is
//! tested here.
//!
//! What lives here, and why only that (the design is in
//! `docs/architecture.md`, "Redis"):
//! - the **credential-check throttles** of sign-in ([`RedisThrottle`]):
//!   password, second factor, per-IP and device user-code counters. Every
//!   failed guess is a write; on Redis it is one script run in memory
//!   instead of a durable database commit, and every instance counts on the
//!   same counter. A reservation is one `EVALSHA` of a script that applies
//!   exactly the reference transition of `portcullis_store::reserve`, so
//!   parallel attempts on any instances cannot slip past a limit.
//! - **single-use artefacts** ([`RedisHot`]): pending and pushed
//!   authorization requests, the state of browser sessions' ceremonies
//!   (passkey challenges, a sign-in waiting for its second factor), taken
//!   by a script that reads and deletes in one step.
//! - the **fan-out** of client and key changes over pub/sub ([`Heard`]).
//!
//! Everything that must survive a restart stays in SQL: users, clients,
//! grants, refresh-token families, authorization codes, keys, sessions,
//! audit, outbox.
//!
//! Keys are `<prefix><kind>:{<name>}`: the configurable prefix separates
//! deployments sharing a server, and the braces make the name the Cluster
//! hash tag, so every operation touches one slot.
//!
//! When Redis is away, every call fails with
//! [`StoreError::Unavailable`](portcullis_store::StoreError::Unavailable)
//! within the configured timeout (never hangs, never panics): the pages that
//! need it answer 503 with `Retry-After`. The connection comes back by
//! itself once Redis answers again.

mod fanout;
mod hot;
mod throttle;

pub use fanout::Heard;
pub use hot::RedisHot;
pub use throttle::RedisThrottle;

use portcullis_store::StoreError;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Which Redis to use.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One server (or a primary behind a proxy): `redis://` or `rediss://`.
    Server(String),
    /// A Redis Cluster, found from these seed nodes.
    Cluster(Vec<String>),
}

impl fmt::Debug for RedisTarget {
    // URLs may carry a password: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Server(_) => f.write_str("Server([redacted])"),
            Self::Cluster(nodes) => write!(f, "Cluster({} nodes)", nodes.len()),
        }
    }
}

/// How to reach Redis.
#[derive(Clone)]
pub struct RedisConfig {
    /// The server or the cluster.
    pub target: RedisTarget,
    /// Put in front of every key (e.g. `portcullis:`).
    pub key_prefix: String,
    /// The longest wait for a connection or an answer: past it, the call
    /// fails as unavailable.
    pub timeout: Duration,
    /// For `rediss://`: the certificate authorities (PEM) to trust instead
    /// of the system's, e.g. a private CA.
    pub ca_pem: Option<Vec<u8>>,
}

impl RedisConfig {
    /// A client for `url` with this configuration's trust.
    fn client(&self, url: &str) -> redis::RedisResult<redis::Client> {
        match &self.ca_pem {
            Some(pem) => redis::Client::build_with_tls(url, self.certificates(pem)),
            None => redis::Client::open(url),
        }
    }

    fn certificates(&self, pem: &[u8]) -> redis::TlsCertificates {
        redis::TlsCertificates { client_tls: None, root_cert: Some(pem.to_vec()) }
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("target", &self.target)
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "[pem]"))
            .finish()
    }
}

/// Connecting failed.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// A URL is not a Redis URL.
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// Redis did not answer.
    #[error("cannot reach Redis: {0}")]
    Unreachable(String),
}

/// A connection to Redis, shared by every request (cheap to clone). It
/// multiplexes requests over one connection per server and reconnects by
/// itself after a failure.
#[derive(Clone)]
pub struct Redis {
    conn: Conn,
    prefix: Arc<str>,
    config: Arc<RedisConfig>,
    timeout: Duration,
}

#[derive(Clone)]
enum Conn {
    Server(ConnectionManager),
    Cluster(ClusterConnection),
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.conn {
            Conn::Server(_) => "server",
            Conn::Cluster(_) => "cluster",
        };
        f.debug_struct("Redis").field("kind", &kind).field("prefix", &self.prefix).finish()
    }
}

impl Redis {
    /// Connects (and proves that Redis answers).
    pub async fn connect(config: &RedisConfig) -> Result<Self, RedisError> {
        let unreachable = |e: redis::RedisError| RedisError::Unreachable(e.to_string());
        let conn = match &config.target {
            RedisTarget::Server(url) => {
                let client = config.client(url).map_err(|e| RedisError::InvalidUrl(e.to_string()))?;
                let manager = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(config.timeout))
                    .set_response_timeout(Some(config.timeout))
                    // A request fails at once when the server is away; the
                    // manager reconnects in the background, so the next
                    // request after Redis returns succeeds.
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(500));
                Conn::Server(ConnectionManager::new_with_config(client, manager).await.map_err(unreachable)?)
            }
            RedisTarget::Cluster(nodes) => {
                let mut builder = ClusterClientBuilder::new(nodes.iter().map(String::as_str));
                if let Some(pem) = &config.ca_pem {
                    builder = builder.certs(config.certificates(pem));
                }
                let client = builder
                    .connection_timeout(config.timeout)
                    .response_timeout(config.timeout)
                    .retries(2)
                    .min_retry_wait(50)
                    .max_retry_wait(500)
                    .build()
                    .map_err(|e| RedisError::InvalidUrl(e.to_string()))?;
                Conn::Cluster(client.get_async_connection().await.map_err(unreachable)?)
            }
        };
        let redis = Self {
            conn,
            prefix: config.key_prefix.as_str().into(),
            config: Arc::new(config.clone()),
            timeout: config.timeout,
        };
        redis.ping().await.map_err(|e| RedisError::Unreachable(e.to_string()))?;
        Ok(redis)
    }

    /// Whether Redis answers (`/readyz`). On a cluster, the node the
    /// command is routed to answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING").query_async::<String>(&mut conn).await.map_err(store_error)?;
        Ok(())
    }

    /// The full name of `name`: the prefix, then `name` as the hash tag.
    pub(crate) fn key(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}:{{{name}}}", self.prefix)
    }

    pub(crate) fn conn(&self) -> Conn {
        self.conn.clone()
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Server(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Server(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Server(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// A Redis failure as the store reports it: Redis being away (refused,
/// reset, timed out, a cluster without a node for the slot) is
/// [`StoreError::Unavailable`] (503 with `Retry-After`); anything else
/// (a script or type error: a bug) is [`StoreError::Backend`].
pub(crate) fn store_error(e: redis::RedisError) -> StoreError {
    let away = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_cluster_error()
        || e.is_unrecoverable_error()
        || matches!(e.kind(), redis::ErrorKind::ClusterConnectionNotFound);
    if away { StoreError::unavailable(RedisAway(e)) } else { StoreError::Backend(Box::new(e)) }
}

/// The cause of an unavailability: Redis, not the database.
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
struct RedisAway(#[source] redis::RedisError);
