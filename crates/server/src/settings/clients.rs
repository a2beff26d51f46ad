//! `[[clients]]`: relying parties declared in configuration, synced into the
//! store at start (upserted, marked `from_config`).

use portcullis_protocol::clients::{ClientSpec, DEFAULT_GRANT_TYPES, DEFAULT_SCOPES};
use portcullis_protocol::{Client, ClientSecretHash, ModelError};
use serde::{Deserialize, Serialize};

use super::{ConfigError, SecretKey};

/// One configuration-declared client.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    /// The public identifier.
    pub client_id: String,
    /// A name to show on the consent page (default: the client id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The secret in clear (hashed with SHA-256 at load); prefer `client_secret_sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretKey>,
    /// Lowercase hex SHA-256 of the secret (64 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_sha256: Option<String>,
    /// Registered redirect URIs, matched exactly.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    #[serde(default = "default_grants")]
    pub grant_types: Vec<String>,
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` or `none` (public).
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: String,
    /// Scopes the client may ask for.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Whether users must consent (false for first-party clients).
    #[serde(default = "default_true")]
    pub require_consent: bool,
    /// Where Back-Channel Logout tokens are posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// `RS256` (default), `ES256` or `EdDSA`.
    #[serde(default = "default_alg")]
    pub id_token_signed_response_alg: String,
    /// Access token lifetime in seconds (default 300).
    #[serde(default = "default_ttl")]
    pub access_token_ttl: u32,
    /// The client's public keys as a JWKS document (JSON text), for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<String>,
    /// May use the admin API (the `admin` scope through `client_credentials`).
    #[serde(default)]
    pub admin_api: bool,
    /// Web origins (`https://app.example`: scheme, host, optional port, no
    /// path) whose pages may call the token, userinfo and revocation
    /// endpoints (CORS), besides the origins of a public client's redirect URIs.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Every access token must be DPoP-bound (RFC 9449 §5.2): token
    /// requests without a DPoP proof are refused.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Must push its authorization requests (PAR, RFC 9126): `/authorize`
    /// without a pushed `request_uri` is refused.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// The identifiers of the `[[resources]]` (RFC 8707) it may ask access
    /// tokens for.
    #[serde(default)]
    pub resources: Vec<String>,
}

fn default_grants() -> Vec<String> {
    DEFAULT_GRANT_TYPES.map(String::from).to_vec()
}
fn default_auth_method() -> String {
    "client_secret_basic".into()
}
fn default_scopes() -> Vec<String> {
    DEFAULT_SCOPES.map(String::from).to_vec()
}
fn default_true() -> bool {
    true
}
fn default_alg() -> String {
    "RS256".into()
}
fn default_ttl() -> u32 {
    Client::DEFAULT_ACCESS_TOKEN_TTL_SECS
}

impl ClientSettings {
    /// The typed client, marked as declared in configuration.
    pub fn to_client(&self) -> Result<Client, ModelError> {
        let secret = match (&self.client_secret, &self.client_secret_sha256) {
            (Some(_), Some(_)) => {
                return Err(ModelError::Inconsistent("give client_secret or client_secret_sha256"));
            }
            (Some(s), None) => Some(ClientSecretHash::of(s.expose())),
            (None, Some(h)) => Some(ClientSecretHash::from_hex(h)?),
            (None, None) => None,
        };
        let spec = ClientSpec {
            client_id: self.client_id.clone(),
            name: self.name.clone(),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            grant_types: self.grant_types.clone(),
            token_endpoint_auth_method: self.token_endpoint_auth_method.clone(),
            scopes: self.scopes.clone(),
            require_consent: self.require_consent,
            backchannel_logout_uri: self.backchannel_logout_uri.clone(),
            id_token_signed_response_alg: self.id_token_signed_response_alg.clone(),
            access_token_ttl_secs: self.access_token_ttl,
            jwks: self.jwks.clone(),
            admin_api: self.admin_api,
            allowed_origins: self.allowed_origins.clone(),
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            resources: self.resources.clone(),
        };
        spec.to_client(secret, true)
    }
}

/// The fewest characters a configured `client_secret` may have.
///
/// A client secret is a password a machine types: it must be high-entropy
/// (RFC 6819 §5.1.4.2.2, for secrets not meant for humans), since it is
/// stored as one unsalted SHA-256, cheap to guess against if it leaks,
/// unlike a user's argon2id hash. The secrets
/// `portcullis clients add` generates are 43 base64url characters (256
/// bits). 32 characters is the floor that still admits the usual ways to
/// make one by hand — `openssl rand -base64 32` (44), `openssl rand -hex 16`
/// (32, 128 bits), a UUID (36) — and refuses passwords people pick. A string
/// of one repeated character is refused whatever its length. (A
/// `client_secret_sha256` cannot be checked: prefer it only for secrets made
/// by such a generator.)
pub(crate) const MIN_CLIENT_SECRET_CHARS: usize = 32;

/// Why a configured secret is too weak to use, if it is.
fn secret_weakness(secret: &str) -> Option<String> {
    let mut chars = secret.chars();
    let first = chars.next();
    if secret.chars().count() < MIN_CLIENT_SECRET_CHARS {
        return Some(format!(
            "is too short: use at least {MIN_CLIENT_SECRET_CHARS} random characters \
             (e.g. `openssl rand -base64 32`)"
        ));
    }
    if chars.all(|c| Some(c) == first) {
        return Some(
            "is one character repeated: use random characters (e.g. `openssl rand -base64 32`)".into(),
        );
    }
    None
}

/// Checks every declared client, naming the offending entry; ids are
/// unique; secrets given in clear are long enough to be high-entropy.
pub(super) fn validate(clients: &[ClientSettings]) -> Result<(), ConfigError> {
    for (i, c) in clients.iter().enumerate() {
        let key = format!("clients[{i}]");
        if let Some(weakness) = c.client_secret.as_ref().and_then(|s| secret_weakness(s.expose())) {
            return Err(ConfigError::invalid(&format!("{key}.client_secret"), &weakness));
        }
        c.to_client().map_err(|e| ConfigError::invalid(&key, &e.to_string()))?;
        if clients[..i].iter().any(|o| o.client_id == c.client_id) {
            return Err(ConfigError::invalid(&format!("{key}.client_id"), "is declared twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_protocol::TokenEndpointAuthMethod;

    fn parse(toml: &str) -> ClientSettings {
        toml::from_str(toml).expect("valid TOML")
    }

    /// A secret strong enough for configuration.
    const SECRET: &str = "kq3TtV0qfXWmJ2cZ1bN8yR5uA7eL4oHs";

    #[test]
    fn a_minimal_confidential_client_gets_defaults() {
        let c = parse(&format!(
            "client_id = \"rp\"\nclient_secret = \"{SECRET}\"\nredirect_uris = [\"https://rp.example/cb\"]\n"
        ));
        let client = c.to_client().expect("valid");
        assert!(client.verify_secret(SECRET, time::OffsetDateTime::UNIX_EPOCH));
        assert!(client.from_config);
        assert_eq!(client.name, "rp");
        assert_eq!(client.token_endpoint_auth_method, TokenEndpointAuthMethod::ClientSecretBasic);
        assert!(client.scopes.is_oidc());
        assert_eq!(client.access_token_ttl_secs, 300);
    }

    #[test]
    fn a_hashed_secret_is_accepted_and_both_forms_are_refused() {
        let hash = ClientSecretHash::of("s3cret").to_hex();
        let c = parse(&format!(
            "client_id = \"rp\"\nclient_secret_sha256 = \"{hash}\"\nredirect_uris = [\"https://rp.example/cb\"]\n"
        ));
        assert!(c.to_client().expect("valid").verify_secret("s3cret", time::OffsetDateTime::UNIX_EPOCH));
        let both = ClientSettings { client_secret: Some(SecretKey::new("x".into())), ..c };
        assert!(both.to_client().is_err());
    }

    #[test]
    fn bad_entries_are_named() {
        let good = parse(&format!(
            "client_id = \"rp\"\nclient_secret = \"{SECRET}\"\nredirect_uris = [\"https://rp.example/cb\"]\n"
        ));
        let bad_uri =
            ClientSettings { redirect_uris: vec!["https://rp.example/cb#x".into()], ..good.clone() };
        let err = validate(&[good.clone(), bad_uri]).expect_err("bad uri");
        assert!(err.to_string().contains("clients[1]"), "{err}");
        let err = validate(&[good.clone(), good.clone()]).expect_err("duplicate");
        assert!(err.to_string().contains("clients[1].client_id"), "{err}");
        let public_with_cc = ClientSettings {
            client_secret: None,
            token_endpoint_auth_method: "none".into(),
            grant_types: vec!["client_credentials".into()],
            ..good
        };
        assert!(validate(&[public_with_cc]).is_err());
    }

    fn load(toml: &str) -> Result<crate::settings::Settings, ConfigError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml).expect("write");
        crate::settings::Settings::load(Some(&path), std::iter::empty())
    }

    #[test]
    fn clients_load_from_arrays_of_tables() {
        let toml = format!(
            "[[clients]]\nclient_id = \"a\"\nclient_secret = \"{SECRET}\"\nredirect_uris = [\"https://a.example/cb\"]\n\
             [[clients]]\nclient_id = \"b\"\ntoken_endpoint_auth_method = \"none\"\nredirect_uris = [\"http://127.0.0.1/cb\"]\n"
        );
        let settings = load(&toml).expect("valid");
        let ids: Vec<_> = settings.clients.iter().map(|c| c.client_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(settings.clients[1].to_client().expect("valid").is_public());
        assert!(!settings.to_redacted_toml().contains(SECRET), "the secret is redacted");
    }

    #[test]
    fn a_device_client_is_declared_without_redirect_uris() {
        let toml = "[[clients]]\nclient_id = \"tv\"\ntoken_endpoint_auth_method = \"none\"\n\
                    grant_types = [\"urn:ietf:params:oauth:grant-type:device_code\", \"refresh_token\"]\n";
        let settings = load(toml).expect("valid");
        let client = settings.clients[0].to_client().expect("valid");
        assert!(client.allows_grant(portcullis_protocol::GrantType::DeviceCode));
        assert!(client.is_public() && client.redirect_uris.is_empty());
    }

    #[test]
    fn admin_api_is_read_for_confidential_clients_only() {
        let toml = format!(
            "[[clients]]\nclient_id = \"a\"\nclient_secret = \"{SECRET}\"\ngrant_types = [\"client_credentials\"]\n\
             admin_api = true\n"
        );
        let settings = load(&toml).expect("valid");
        assert!(settings.clients[0].to_client().expect("valid").admin_api);
        assert!(!load(&format!("{toml}[[clients]]\nclient_id = \"b\"\nclient_secret = \"{SECRET}\"\ngrant_types = [\"client_credentials\"]\n"))
            .expect("valid")
            .clients[1]
            .admin_api, "off by default");
        let public = "[[clients]]\nclient_id = \"p\"\ntoken_endpoint_auth_method = \"none\"\n\
                      redirect_uris = [\"http://127.0.0.1/cb\"]\nadmin_api = true\n";
        let err = load(public).expect_err("a public client with admin_api");
        assert!(err.to_string().contains("clients[0]") && err.to_string().contains("admin_api"), "{err}");
        let err = load(&format!("{toml}access_token_ttl = 0\n")).expect_err("a zero lifetime");
        assert!(
            err.to_string().contains("clients[0]") && err.to_string().contains("access_token_ttl"),
            "{err}"
        );
    }

    #[test]
    fn dpop_bound_access_tokens_is_read_and_off_by_default() {
        let client = |extra: &str| {
            format!(
                "[[clients]]\nclient_id = \"app\"\ntoken_endpoint_auth_method = \"none\"\n\
                 redirect_uris = [\"http://127.0.0.1/cb\"]\n{extra}"
            )
        };
        let on = load(&client("dpop_bound_access_tokens = true\n")).expect("valid");
        assert!(on.clients[0].to_client().expect("valid").dpop_bound_access_tokens);
        let off = load(&client("")).expect("valid");
        assert!(!off.clients[0].to_client().expect("valid").dpop_bound_access_tokens);
    }

    #[test]
    fn allowed_origins_are_read_and_checked() {
        let client = |origins: &str| {
            format!(
                "[[clients]]\nclient_id = \"spa\"\ntoken_endpoint_auth_method = \"none\"\n\
                 redirect_uris = [\"https://spa.example/cb\"]\nallowed_origins = [{origins}]\n"
            )
        };
        let settings =
            load(&client("\"https://Admin.Example:443\", \"http://localhost:5173\"")).expect("valid");
        let origins: Vec<_> = settings.clients[0]
            .to_client()
            .expect("valid")
            .allowed_origins
            .iter()
            .map(|o| o.to_string())
            .collect();
        assert_eq!(origins, ["https://admin.example", "http://localhost:5173"]);
        for bad in ["\"https://spa.example/\"", "\"http://spa.example\"", "\"*\"", "\"spa.example\""] {
            let err = load(&client(bad)).expect_err("a malformed origin");
            assert!(
                err.to_string().contains("clients[0]") && err.to_string().contains("origin"),
                "{bad}: {err}"
            );
        }
        let none = load(&client("")).expect("an empty list");
        assert!(none.clients[0].allowed_origins.is_empty());
    }

    #[test]
    fn unknown_keys_and_bad_values_in_a_client_are_errors() {
        let err = load(&format!("[[clients]]\nclient_id = \"a\"\nclient_secret = \"{SECRET}\"\nredirect_uris = [\"https://a.example/cb\"]\nsecret = \"x\"\n"))
            .expect_err("unknown key");
        assert!(err.to_string().contains("secret"), "{err}");
        let err = load(&format!("[[clients]]\nclient_id = \"a\"\nclient_secret = \"{SECRET}\"\nredirect_uris = [\"https://a.example/cb\"]\ngrant_types = [\"implicit\"]\n"))
            .expect_err("implicit grant");
        assert!(err.to_string().contains("clients[0]"), "{err}");
    }

    #[test]
    fn weak_secrets_are_refused_naming_the_key() {
        let with = |secret: &str| {
            load(&format!(
                "[[clients]]\nclient_id = \"a\"\nclient_secret = \"{SECRET}\"\nredirect_uris = [\"https://a.example/cb\"]\n\
                 [[clients]]\nclient_id = \"b\"\nclient_secret = \"{secret}\"\nredirect_uris = [\"https://b.example/cb\"]\n"
            ))
        };
        for weak in ["a", "s3cret", "hunter2hunter2", &"x".repeat(31), &"a".repeat(64), &"0".repeat(43)] {
            let err = with(weak).expect_err("weak");
            assert!(err.to_string().contains("clients[1].client_secret"), "{weak}: {err}");
            if weak.len() > 1 {
                assert!(!err.to_string().contains(weak), "the secret is not echoed: {err}");
            }
        }
        assert!(with(&"x".repeat(31)).expect_err("short").to_string().contains("at least 32"));
        for strong in [
            "kq3TtV0qfXWmJ2cZ1bN8yR5uA7eL4oHsZpQ9wE6rT1y", // 43 base64url characters, as generated
            "0123456789abcdef0123456789abcdef",            // `openssl rand -hex 16`
            "6f1c2b4e-8a9d-4c3b-9e7f-1a2b3c4d5e6f",        // a UUID
        ] {
            assert!(with(strong).is_ok(), "{strong}");
        }
        assert!(with(&"é".repeat(32)).is_err(), "one repeated character, counted in characters");
    }

    #[test]
    fn debug_and_serialisation_redact_the_secret() {
        let c = parse(
            "client_id = \"rp\"\nclient_secret = \"hunter2hunter2\"\nredirect_uris = [\"https://rp.example/cb\"]\n",
        );
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!toml::to_string(&c).expect("serialise").contains("hunter2"));
    }
}
