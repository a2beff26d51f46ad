//! `[redis]`: optional shared hot state for several instances.

use serde::{Deserialize, Serialize};
use std::fmt;
use url::Url;

use super::ConfigError;

/// Redis 7 or later. Without `url` or `cluster_nodes`, none:
/// everything stays in the database.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// One server: `redis://[:PASSWORD@]HOST:PORT[/DB]`, or `rediss://…`
    /// for TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<RedisUrl>,
    /// Instead of `url`: seed nodes of a Redis Cluster (`redis://HOST:PORT`
    /// each; the rest of the cluster is discovered from them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cluster_nodes: Vec<RedisUrl>,
    /// Put in front of every key, to share a Redis with other deployments.
    pub key_prefix: String,
    /// Milliseconds to wait for a connection or an answer; past it the
    /// request that needed Redis answers 503.
    pub timeout_ms: u64,
    /// For `rediss://`: a PEM file of the certificate authorities to trust
    /// instead of the system's (a private CA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<std::path::PathBuf>,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: None,
            cluster_nodes: Vec::new(),
            key_prefix: "portcullis:".into(),
            timeout_ms: 1000,
            tls_ca_file: None,
        }
    }
}

impl RedisSettings {
    /// Checks what types cannot express.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.url.is_some() && !self.cluster_nodes.is_empty() {
            return Err(ConfigError::invalid(
                "redis.cluster_nodes",
                "give either redis.url or redis.cluster_nodes",
            ));
        }
        if self.key_prefix.contains(['{', '}']) {
            return Err(ConfigError::invalid("redis.key_prefix", "must not contain { or } (hash tags)"));
        }
        if !(1..=60_000).contains(&self.timeout_ms) {
            return Err(ConfigError::invalid("redis.timeout_ms", "must be between 1 and 60000"));
        }
        Ok(())
    }

    /// The connection settings, when Redis is configured (reading
    /// `tls_ca_file`: an unreadable one is an error naming it).
    pub fn config(&self) -> Result<Option<portcullis_store_redis::RedisConfig>, String> {
        use portcullis_store_redis::RedisTarget;
        let target = match (&self.url, self.cluster_nodes.as_slice()) {
            (Some(url), _) => RedisTarget::Server(url.raw.clone()),
            (None, []) => return Ok(None),
            (None, nodes) => RedisTarget::Cluster(nodes.iter().map(|n| n.raw.clone()).collect()),
        };
        let ca_pem = match &self.tls_ca_file {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| format!("redis.tls_ca_file: cannot read {}: {e}", path.display()))?,
            ),
            None => None,
        };
        Ok(Some(portcullis_store_redis::RedisConfig {
            target,
            key_prefix: self.key_prefix.clone(),
            timeout: std::time::Duration::from_millis(self.timeout_ms),
            ca_pem,
        }))
    }
}

/// A Redis URL. Printing it (Debug, Display, Serialize) hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    raw: String,
}

impl RedisUrl {
    /// Parses and checks the scheme.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw).map_err(|e| format!("malformed Redis URL: {e}"))?;
        if !matches!(url.scheme(), "redis" | "rediss") || url.host_str().is_none_or(str::is_empty) {
            return Err("unsupported Redis URL: expected redis://HOST:PORT or rediss://HOST:PORT".into());
        }
        Ok(Self { raw: raw.to_owned() })
    }

    /// The URL with any password replaced by `[redacted]`.
    pub fn redacted(&self) -> String {
        super::database::without_password(&self.raw).unwrap_or_else(|| self.raw.clone())
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({})", self.redacted())
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for RedisUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for RedisUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_never_printed() {
        let url = RedisUrl::parse("redis://:hunter2@cache:6379/0").expect("url");
        assert!(!format!("{url} {url:?}").contains("hunter2"));
        assert!(url.to_string().contains("[redacted]"));
        let settings = RedisSettings { url: Some(url), ..RedisSettings::default() };
        let config = settings.config().expect("readable").expect("configured");
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn only_redis_urls_and_one_target() {
        assert!(RedisUrl::parse("postgres://x").is_err());
        assert!(RedisUrl::parse("rediss://cache.internal:6380").is_ok());
        assert!(RedisSettings::default().validate().is_ok());
        assert!(RedisSettings::default().config().expect("nothing to read").is_none());
        let node = RedisUrl::parse("redis://127.0.0.1:7000").expect("url");
        let both = RedisSettings {
            url: Some(node.clone()),
            cluster_nodes: vec![node.clone()],
            ..RedisSettings::default()
        };
        assert!(both.validate().expect_err("both").to_string().contains("redis.cluster_nodes"));
        let tagged = RedisSettings { key_prefix: "a{b}".into(), ..RedisSettings::default() };
        assert!(tagged.validate().is_err());
        let cluster = RedisSettings { cluster_nodes: vec![node], ..RedisSettings::default() };
        assert!(matches!(
            cluster.config().expect("nothing to read").map(|c| c.target),
            Some(portcullis_store_redis::RedisTarget::Cluster(nodes)) if nodes.len() == 1
        ));
    }
}
