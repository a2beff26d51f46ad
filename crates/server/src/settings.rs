//! Typed, layered configuration: defaults → TOML file → `PORTCULLIS__…` env.
//!
//! Every option is documented once, here. Unknown keys and malformed values are
//! errors naming the key. Secrets are redacted wherever settings are printed.

mod auth;
mod clients;
mod database;
mod keys;
mod load;
mod recovery;
mod redis;
mod resources;
mod smtp;
mod tokens;
mod upstreams;

pub use auth::AuthSettings;
pub use clients::ClientSettings;
pub use database::{DatabaseKind, DatabaseSettings, DatabaseUrl};
pub use keys::{KeysSettings, SecretKey};
pub use load::ConfigError;
pub use recovery::RecoverySettings;
pub use redis::{RedisSettings, RedisUrl};
pub use resources::ResourceSettings;
pub use smtp::{MailSettings, SmtpSettings, SmtpTls};
pub use tokens::TokenSettings;
pub use upstreams::{UpstreamClaimSettings, UpstreamRuleSettings, UpstreamSettings};

use portcullis_core::Issuer;
use portcullis_protocol::Resources;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address of the public HTTP listener (OIDC endpoints, pages).
    pub listen: SocketAddr,
    /// Address of the Prometheus listener serving `/metrics`; keep it private.
    pub metrics_listen: SocketAddr,
    /// The issuer identifier: the public base URL relying parties see, https
    /// (http only on localhost), no trailing slash.
    pub issuer: Issuer,
    /// Where Portcullis keeps its files (the SQLite database by default).
    pub data_dir: PathBuf,
    /// Development mode: with no `smtp.host`, each mail's links are logged
    /// at INFO instead of being sent. Never on a real deployment (the links
    /// are secrets).
    pub dev_mode: bool,
    /// Database connection.
    pub database: DatabaseSettings,
    /// Logging.
    pub log: LogSettings,
    /// HTTP server tuning.
    pub http: HttpSettings,
    /// Signing keys: rotation, JWKS caching, encryption at rest.
    pub keys: KeysSettings,
    /// Accounts and sign-in: password hashing and policy, lockout, sessions.
    pub auth: AuthSettings,
    /// The SMTP server mail goes through (none: mails stay queued).
    pub smtp: SmtpSettings,
    /// Mail content and the outbox's retry policy.
    pub mail: MailSettings,
    /// Mailed links: password reset, email verification, magic-link sign-in.
    pub recovery: RecoverySettings,
    /// Issued tokens: the refresh reuse grace.
    pub tokens: TokenSettings,
    /// Redis, for the sign-in throttles shared by several instances (none:
    /// they stay in the database).
    pub redis: RedisSettings,
    /// Relying parties declared here (`[[clients]]`), synced into the store at start.
    pub clients: Vec<ClientSettings>,
    /// Resource servers (`[[resources]]`, RFC 8707) access tokens may be for.
    pub resources: Vec<ResourceSettings>,
    /// Upstream identity providers (`[[upstreams]]`) offered on the sign-in
    /// page ("Continue with …").
    pub upstreams: Vec<UpstreamSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            #[allow(clippy::expect_used)]
            issuer: Issuer::parse("http://localhost:8080").expect("the default issuer is valid"),
            data_dir: PathBuf::from("./data"),
            dev_mode: false,
            database: DatabaseSettings::default(),
            log: LogSettings::default(),
            http: HttpSettings::default(),
            keys: KeysSettings::default(),
            auth: AuthSettings::default(),
            smtp: SmtpSettings::default(),
            mail: MailSettings::default(),
            recovery: RecoverySettings::default(),
            tokens: TokenSettings::default(),
            redis: RedisSettings::default(),
            clients: Vec::new(),
            resources: Vec::new(),
            upstreams: Vec::new(),
        }
    }
}

impl Settings {
    /// Loads the file (if any) and the environment, and validates.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let settings: Settings = load::layered(file, env.iter().cloned())?;
        settings.loaded(&env)
    }

    /// [`Settings::load`] with the file's contents given as `text` (named
    /// `shown` in errors): the process environment is not read, nor the
    /// file system but for an upstream's `client_secret_file`.
    pub fn from_toml_str(
        shown: &str,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let settings: Settings = load::layered_str(shown, text, env.iter().cloned())?;
        settings.loaded(&env)
    }

    /// Reads the upstreams' secrets (from their files, or from `env`: the
    /// environment the settings were loaded with), then validates.
    fn loaded(mut self, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        upstreams::load_secrets(&mut self.upstreams, &lookup)?;
        self.validate()?;
        Ok(self)
    }

    /// The configured resource servers, typed (validated at load).
    pub fn resource_servers(&self) -> Resources {
        resources::resources(&self.resources).unwrap_or_default()
    }

    /// The database URL in effect (the SQLite default when none was given).
    pub fn database_url(&self) -> DatabaseUrl {
        self.database
            .url
            .clone()
            .unwrap_or_else(|| DatabaseUrl::sqlite_file(&self.data_dir.join("portcullis.db")))
    }

    /// Checks that cannot be expressed by types alone.
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, msg: &str| Err(ConfigError::invalid(key, msg));
        if self.listen == self.metrics_listen && self.listen.port() != 0 {
            return invalid("metrics_listen", "must differ from listen");
        }
        if self.data_dir.as_os_str().is_empty() {
            return invalid("data_dir", "must not be empty");
        }
        if self.database.max_connections == Some(0) {
            return invalid("database.max_connections", "must be at least 1");
        }
        if self.database.connect_timeout_secs == 0 {
            return invalid("database.connect_timeout_secs", "must be at least 1");
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return invalid("log.level", &e.to_string());
        }
        if self.http.workers == Some(0) {
            return invalid("http.workers", "must be at least 1");
        }
        if self.http.drain_secs > 3600 {
            return invalid("http.drain_secs", "must be at most 3600");
        }
        if !(1..=3600).contains(&self.http.body_read_timeout_secs) {
            return invalid("http.body_read_timeout_secs", "must be between 1 and 3600");
        }
        self.keys.validate()?;
        self.auth.validate()?;
        self.smtp.validate()?;
        self.mail.validate()?;
        self.recovery.validate()?;
        self.tokens.validate()?;
        self.redis.validate()?;
        clients::validate(&self.clients)?;
        upstreams::validate(&self.upstreams, &self.issuer)?;
        let resources =
            resources::validate(&self.resources, &self.keys.algorithms, self.keys.max_token_lifetime_secs)?;
        for (i, c) in self.clients.iter().enumerate() {
            if let Ok(client) = c.to_client()
                && let Err(e) = resources.check_client(&client)
            {
                return invalid(&format!("clients[{i}].resources"), &e.to_string());
            }
            if !self.keys.algorithms.contains(&c.id_token_signed_response_alg) {
                return invalid(
                    &format!("clients[{i}].id_token_signed_response_alg"),
                    "is not one of keys.algorithms, so no key could sign its ID tokens",
                );
            }
            let fits =
                c.to_client().map(|client| client.fits_token_lifetime(self.keys.max_token_lifetime_secs));
            if matches!(fits, Ok(Err(_))) {
                return invalid(
                    &format!("clients[{i}].access_token_ttl"),
                    "exceeds keys.max_token_lifetime_secs",
                );
            }
        }
        Ok(())
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn to_redacted_toml(&self) -> String {
        let mut effective = self.clone();
        effective.database.url = Some(self.database_url());
        toml::to_string_pretty(&effective).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    #[default]
    Human,
    /// One JSON object a line, for log shippers.
    Json,
}

/// Logging.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `human` or `json` (the `--log-format` flag overrides it).
    pub format: LogFormat,
    /// A tracing filter: `info`, `debug`, `portcullis_web=debug,info`, …
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Human, level: "info".into() }
    }
}

/// HTTP server tuning.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Worker threads; defaults to the number of CPU cores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT, once
    /// the drain below is over.
    pub shutdown_timeout_secs: u64,
    /// Seconds the instance keeps serving after SIGTERM/SIGINT while
    /// `/readyz` answers 503, so a load balancer takes it out of rotation
    /// before it stops accepting connections (0: stop at once).
    pub drain_secs: u64,
    /// Seconds a request's whole body may take to arrive after its head;
    /// later, the request is answered 408 and its connection closed.
    pub body_read_timeout_secs: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self { workers: None, shutdown_timeout_secs: 30, drain_secs: 5, body_read_timeout_secs: 10 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml).expect("write");
        Settings::load(Some(&path), env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
    }

    #[test]
    fn environment_overrides_the_file() {
        let s = load(
            "listen = \"127.0.0.1:1000\"\n[database]\nmax_connections = 3\n",
            &[("PORTCULLIS__LISTEN", "127.0.0.1:2000"), ("PORTCULLIS__DATABASE__MAX_CONNECTIONS", "7")],
        )
        .expect("valid");
        assert_eq!(s.listen.port(), 2000);
        assert_eq!(s.database.max_connections, Some(7));
    }

    #[test]
    fn a_numeric_environment_value_is_text_where_text_is_wanted() {
        let s = load("", &[("PORTCULLIS__DATA_DIR", "2026")]).expect("valid");
        assert_eq!(s.data_dir, PathBuf::from("2026"));
        assert_eq!(s.database_url().expose(), "sqlite://2026/portcullis.db");
    }

    #[test]
    fn errors_name_the_key_and_variable() {
        let err = load("", &[("PORTCULLIS__DATABASE__MAX_CONNECTIONS", "many")]).expect_err("invalid");
        let line = err.to_string();
        assert!(line.contains("database.max_connections"), "{line}");
        assert!(line.contains("PORTCULLIS__DATABASE__MAX_CONNECTIONS"), "{line}");

        let err = load("[log]\nlevel = \"[[[\"\n", &[]).expect_err("invalid");
        assert!(err.to_string().starts_with("invalid configuration: log.level:"), "{err}");

        let err = load("", &[("PORTCULLIS__NOPE", "1")]).expect_err("unknown");
        assert!(err.to_string().contains("nope"), "{err}");

        let err = load("listen = \"127.0.0.1:5000\"\nmetrics_listen = \"127.0.0.1:5000\"\n", &[])
            .expect_err("same port");
        assert!(err.to_string().contains("metrics_listen"), "{err}");
    }

    #[test]
    fn the_drain_defaults_to_a_few_seconds_and_is_bounded() {
        assert_eq!(load("", &[]).expect("defaults").http.drain_secs, 5);
        let s = load("[http]\ndrain_secs = 0\n", &[]).expect("0 stops at once");
        assert_eq!(s.http.drain_secs, 0);
        let s = load("", &[("PORTCULLIS__HTTP__DRAIN_SECS", "30")]).expect("from the environment");
        assert_eq!(s.http.drain_secs, 30);
        let err = load("[http]\ndrain_secs = 3601\n", &[]).expect_err("too long");
        assert!(err.to_string().contains("http.drain_secs"), "{err}");
    }

    /// Every key of `Settings` appears in docs/configuration.md, so the doc
    /// cannot silently fall behind the code.
    #[test]
    fn every_key_is_documented() {
        let mut all = Settings::default();
        all.database.url = Some(DatabaseUrl::sqlite_file(Path::new("x.db")));
        all.database.max_connections = Some(1);
        all.http.workers = Some(1);
        all.keys.encryption_key = Some(SecretKey::new("k".into()));
        all.keys.encryption_key_file = Some(PathBuf::from("kek"));
        all.keys.lead_time_secs = Some(1);
        all.smtp.host = Some("smtp.example.com".into());
        all.smtp.username = Some("u".into());
        all.smtp.password = Some(SecretKey::new("p".into()));
        let client = "client_id = \"rp\"\nclient_secret = \"kq3TtV0qfXWmJ2cZ1bN8yR5uA7eL4oHs\"\nbackchannel_logout_uri = \"https://rp.example/b\"\nredirect_uris = [\"https://rp.example/cb\"]\n";
        let mut client: ClientSettings = toml::from_str(client).expect("client");
        client.name = Some("RP".into());
        client.client_secret_sha256 = Some("00".repeat(32));
        all.clients.push(client);
        all.resources.push(ResourceSettings {
            identifier: "https://api.example/".into(),
            scopes: vec!["read".into()],
            access_token_ttl: Some(60),
            access_token_signing_alg: Some("ES256".into()),
        });
        let mut upstream = UpstreamSettings::new("corp", "Corp", "https://corp.example", "rp", "s");
        upstream.client_secret_file = Some(PathBuf::from("secret"));
        upstream.client_secret_env = Some("CORP_SECRET".into());
        upstream.rules.push(UpstreamRuleSettings {
            claim: "groups".into(),
            equals: Some("a".into()),
            matches: Some("a".into()),
            add_role: Some("a".into()),
            add_group: Some("a".into()),
        });
        all.upstreams.push(upstream);
        let table: toml::Table = toml::from_str(&toml::to_string(&all).expect("serialise")).expect("parse");
        let doc = include_str!("../../../docs/configuration.md");
        fn keys(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
            for (k, v) in table {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                match v {
                    toml::Value::Table(t) => keys(&key, t, out),
                    // Arrays of tables (`[[clients]]`) are documented as `clients[].key`.
                    toml::Value::Array(a) if a.first().is_some_and(toml::Value::is_table) => {
                        for t in a.iter().filter_map(toml::Value::as_table) {
                            keys(&format!("{key}[]"), t, out);
                        }
                    }
                    _ => out.push(key),
                }
            }
        }
        let mut all_keys = Vec::new();
        keys("", &table, &mut all_keys);
        assert!(all_keys.len() >= 10);
        for key in all_keys {
            assert!(doc.contains(&format!("| `{key}` |")), "docs/configuration.md lacks `{key}`");
        }
    }

    #[test]
    fn the_example_configuration_is_valid() {
        let text = include_str!("../../../deploy/portcullis.example.toml");
        let s = load(text, &[]).expect("the example is valid");
        assert_eq!(s.issuer.as_str(), "https://id.example.com");
    }
}
