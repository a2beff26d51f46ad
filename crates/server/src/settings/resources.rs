//! `[[resources]]`: the resource servers (APIs) access tokens may be for
//! (RFC 8707 resource indicators). A client asks for one with `resource`
//! and gets a token whose `aud` is its identifier, carrying only the
//! scopes it lists; the clients allowed to ask name it in
//! `clients[].resources`.

use portcullis_keys::Algorithm;
use portcullis_protocol::resource::Resource;
use portcullis_protocol::{ModelError, ResourceId, Resources, ScopeSet};
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// One resource server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSettings {
    /// Its identifier: an absolute URI without a fragment (e.g.
    /// `https://api.example.com/`), the `aud` of its access tokens.
    pub identifier: String,
    /// The scopes it understands: a token for it carries only these of the
    /// granted scopes (never `openid`, `profile`, … unless listed).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Its access tokens' lifetime in seconds (default: the client's
    /// `access_token_ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<u32>,
    /// Its access tokens' signing algorithm, one of `keys.algorithms`
    /// (default: the server's access-token algorithm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_signing_alg: Option<String>,
}

impl ResourceSettings {
    /// The typed resource server.
    pub fn to_resource(&self) -> Result<Resource, ModelError> {
        let alg =
            match &self.access_token_signing_alg {
                None => None,
                Some(name) => Some(Algorithm::parse(name).ok_or(ModelError::Inconsistent(
                    "access_token_signing_alg is not RS256, ES256 or EdDSA",
                ))?),
            };
        if self.access_token_ttl == Some(0) {
            return Err(ModelError::Inconsistent("access_token_ttl must be at least 1 second"));
        }
        Ok(Resource {
            identifier: ResourceId::parse(&self.identifier)?,
            scopes: ScopeSet::from_tokens(self.scopes.iter().map(String::as_str))?,
            access_token_ttl_secs: self.access_token_ttl,
            access_token_alg: alg,
        })
    }
}

/// The typed resource servers (already validated at load).
pub(super) fn resources(settings: &[ResourceSettings]) -> Result<Resources, ModelError> {
    Resources::new(settings.iter().map(ResourceSettings::to_resource).collect::<Result<_, _>>()?)
}

/// Checks every resource server, naming the offending entry: a valid
/// identifier, declared once; an algorithm with a key
/// (`keys.algorithms`); a lifetime within `keys.max_token_lifetime_secs`.
pub(super) fn validate(
    settings: &[ResourceSettings],
    algorithms: &[String],
    max_token_lifetime_secs: u64,
) -> Result<Resources, ConfigError> {
    for (i, r) in settings.iter().enumerate() {
        let key = format!("resources[{i}]");
        r.to_resource().map_err(|e| ConfigError::invalid(&key, &e.to_string()))?;
        if settings[..i].iter().any(|o| o.identifier == r.identifier) {
            return Err(ConfigError::invalid(&format!("{key}.identifier"), "is declared twice"));
        }
        if let Some(alg) = &r.access_token_signing_alg
            && !algorithms.contains(alg)
        {
            return Err(ConfigError::invalid(
                &format!("{key}.access_token_signing_alg"),
                "is not one of keys.algorithms, so no key could sign its tokens",
            ));
        }
        if r.access_token_ttl.is_some_and(|ttl| u64::from(ttl) > max_token_lifetime_secs) {
            return Err(ConfigError::invalid(
                &format!("{key}.access_token_ttl"),
                "exceeds keys.max_token_lifetime_secs",
            ));
        }
    }
    resources(settings).map_err(|e| ConfigError::invalid("resources", &e.to_string()))
}
