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

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<crate::settings::Settings, ConfigError> {
        crate::settings::Settings::from_toml_str("test.toml", toml, std::iter::empty())
    }

    const API: &str =
        "[[resources]]\nidentifier = \"https://api.example/\"\nscopes = [\"read\", \"write\"]\n";

    fn client(resources: &str) -> String {
        format!(
            "[[clients]]\nclient_id = \"spa\"\ntoken_endpoint_auth_method = \"none\"\n\
             redirect_uris = [\"https://spa.example/cb\"]\nresources = [{resources}]\n"
        )
    }

    #[test]
    fn resources_are_read_with_their_defaults() {
        let toml = format!(
            "{API}access_token_ttl = 60\naccess_token_signing_alg = \"RS256\"\n\
             [[resources]]\nidentifier = \"urn:example:reports\"\n{}",
            client("\"https://api.example/\"")
        );
        let settings = load(&toml).expect("valid");
        let resources = settings.resource_servers();
        let api = resources.get("https://api.example/").expect("configured");
        assert_eq!(api.scopes.to_string(), "read write");
        assert_eq!(api.access_token_ttl_secs, Some(60));
        assert_eq!(api.access_token_alg, Some(Algorithm::Rs256));
        let reports = resources.get("urn:example:reports").expect("configured");
        assert_eq!((reports.access_token_ttl_secs, reports.access_token_alg), (None, None), "the defaults");
        assert!(reports.scopes.is_empty());
        let client = settings.clients[0].to_client().expect("valid");
        assert_eq!(client.resources, std::slice::from_ref(&api.identifier));
    }

    #[test]
    fn bad_resources_are_errors_naming_the_entry() {
        for (toml, key) in [
            ("[[resources]]\nidentifier = \"/relative\"\n".to_owned(), "resources[0]"),
            ("[[resources]]\nidentifier = \"https://api.example/#f\"\n".to_owned(), "resources[0]"),
            (format!("{API}{API}"), "resources[1].identifier"),
            (format!("{API}access_token_signing_alg = \"EdDSA\"\n"), "resources[0].access_token_signing_alg"),
            (format!("{API}access_token_signing_alg = \"HS256\"\n"), "resources[0]"),
            (format!("{API}access_token_ttl = 0\n"), "resources[0]"),
            (format!("{API}access_token_ttl = 100000\n"), "resources[0].access_token_ttl"),
            (format!("{API}unknown = 1\n"), "unknown"),
        ] {
            let err = load(&toml).expect_err(&toml);
            assert!(err.to_string().contains(key), "{toml}: {err}");
        }
    }

    #[test]
    fn a_client_may_name_only_configured_resources() {
        let err = load(&format!("{API}{}", client("\"https://other.example/\""))).expect_err("unknown");
        assert!(
            err.to_string().contains("clients[0].resources")
                && err.to_string().contains("https://other.example/"),
            "{err}"
        );
        let err = load(&client("\"not a uri\"")).expect_err("malformed");
        assert!(err.to_string().contains("clients[0]"), "{err}");
        assert!(load(&format!("{API}{}", client(""))).expect("none").clients[0].resources.is_empty());
    }

    #[test]
    fn require_pushed_authorization_requests_is_read() {
        let toml = format!("{}require_pushed_authorization_requests = true\n", client(""));
        let settings = load(&toml).expect("valid");
        assert!(settings.clients[0].to_client().expect("valid").require_pushed_authorization_requests);
        assert!(!load(&client("")).expect("valid").clients[0].require_pushed_authorization_requests);
    }
}
