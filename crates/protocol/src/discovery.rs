//! Discovery metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2): what
//! this provider implements, rendered once at start into the two JSON
//! documents that `web` serves as they are. Only implemented endpoints and
//! features are advertised: a new feature adds its member here.

use portcullis_core::Issuer;
use portcullis_keys::Algorithm;
use portcullis_keys::dpop::DPOP_ALGORITHMS;
use serde_json::{Map, Value, json};

use crate::claims::{claims_supported, scopes_supported};
use crate::{GrantType, TokenEndpointAuthMethod};

/// Client authentication methods at the token, introspection and revocation
/// endpoints (a public client, `none`, is added where it may call).
const CLIENT_AUTH_METHODS: [TokenEndpointAuthMethod; 3] = [
    TokenEndpointAuthMethod::ClientSecretBasic,
    TokenEndpointAuthMethod::ClientSecretPost,
    TokenEndpointAuthMethod::PrivateKeyJwt,
];

/// The grant types of the token endpoint.
const GRANT_TYPES: [GrantType; 4] = [
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
    GrantType::DeviceCode,
];

/// The `prompt` values `authorize::check_prompt` accepts.
const PROMPT_VALUES: [&str; 4] = ["none", "login", "consent", "select_account"];

/// The two metadata documents, serialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0).
    pub openid_configuration: String,
    /// `/.well-known/oauth-authorization-server` (RFC 8414).
    pub oauth_authorization_server: String,
}

impl Metadata {
    /// The documents of `issuer`, whose endpoints are mounted at `endpoints`
    /// (metadata member, path) and whose ID tokens may be signed with
    /// `id_token_algs`.
    pub fn new(issuer: &Issuer, id_token_algs: &[Algorithm], endpoints: &[(&str, &str)]) -> Self {
        let names = |algs: &[Algorithm]| algs.iter().map(|a| a.as_str()).collect::<Vec<_>>();
        let auth_methods: Vec<&str> = CLIENT_AUTH_METHODS.iter().map(|m| m.as_str()).collect();
        let mut with_none = auth_methods.clone();
        with_none.push(TokenEndpointAuthMethod::None.as_str());

        let mut common = Map::new();
        common.insert("issuer".into(), json!(issuer.as_str()));
        for (member, path) in endpoints {
            common.insert((*member).into(), json!(issuer.endpoint(path)));
        }
        for (member, value) in [
            ("response_types_supported", json!(["code"])),
            ("response_modes_supported", json!(["query"])),
            ("grant_types_supported", json!(GRANT_TYPES.map(GrantType::as_str))),
            ("code_challenge_methods_supported", json!(["S256"])),
            ("scopes_supported", json!(scopes_supported())),
            ("token_endpoint_auth_methods_supported", json!(with_none)),
            ("token_endpoint_auth_signing_alg_values_supported", json!(names(&Algorithm::ALL))),
            ("introspection_endpoint_auth_methods_supported", json!(auth_methods)),
            ("revocation_endpoint_auth_methods_supported", json!(with_none)),
            ("authorization_response_iss_parameter_supported", json!(true)),
            ("dpop_signing_alg_values_supported", json!(names(&DPOP_ALGORITHMS))),
            // PAR is offered; a client may be required to use it
            // (`clients[].require_pushed_authorization_requests`), not all.
            ("require_pushed_authorization_requests", json!(false)),
        ] {
            common.insert(member.into(), value);
        }
        let mut openid = common.clone();
        for (member, value) in [
            ("id_token_signing_alg_values_supported", json!(names(id_token_algs))),
            ("subject_types_supported", json!(["public"])),
            ("claims_supported", json!(claims_supported())),
            ("acr_values_supported", json!(crate::acr::SUPPORTED)),
            ("prompt_values_supported", json!(PROMPT_VALUES)),
            ("claims_parameter_supported", json!(false)),
            ("request_parameter_supported", json!(false)),
            ("request_uri_parameter_supported", json!(false)),
            ("backchannel_logout_supported", json!(true)),
            ("backchannel_logout_session_supported", json!(true)),
        ] {
            openid.insert(member.into(), value);
        }
        Self {
            openid_configuration: Value::Object(openid).to_string(),
            oauth_authorization_server: Value::Object(common).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> (Value, Value) {
        let issuer = Issuer::parse("https://id.example.test").expect("issuer");
        let m = Metadata::new(&issuer, &[Algorithm::Rs256], &[("token_endpoint", "/token")]);
        let parse = |s: &str| serde_json::from_str::<Value>(s).expect("json");
        (parse(&m.openid_configuration), parse(&m.oauth_authorization_server))
    }

    #[test]
    fn endpoints_are_urls_under_the_issuer() {
        let (openid, oauth) = metadata();
        for doc in [&openid, &oauth] {
            assert_eq!(doc["issuer"], "https://id.example.test");
            assert_eq!(doc["token_endpoint"], "https://id.example.test/token");
        }
    }

    #[test]
    fn the_oauth_document_has_no_openid_members() {
        let (openid, oauth) = metadata();
        assert_eq!(openid["id_token_signing_alg_values_supported"], json!(["RS256"]));
        for member in ["id_token_signing_alg_values_supported", "claims_supported", "subject_types_supported"]
        {
            assert!(oauth.get(member).is_none(), "{member}");
        }
        assert_eq!(openid["scopes_supported"], oauth["scopes_supported"]);
        assert_eq!(openid["claims_supported"], json!(claims_supported()));
    }

    #[test]
    fn dpop_algorithms_are_the_verified_ones_in_both_documents() {
        let (openid, oauth) = metadata();
        for doc in [&openid, &oauth] {
            assert_eq!(doc["dpop_signing_alg_values_supported"], json!(["ES256", "EdDSA"]));
        }
    }

    #[test]
    fn the_device_grant_is_advertised() {
        let (openid, oauth) = metadata();
        for doc in [&openid, &oauth] {
            let grants = doc["grant_types_supported"].as_array().expect("list");
            assert!(grants.contains(&json!("urn:ietf:params:oauth:grant-type:device_code")));
        }
    }

    #[test]
    fn a_public_client_may_use_the_token_and_revocation_endpoints_only() {
        let (openid, _) = metadata();
        for member in ["token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"]
        {
            assert!(openid[member].as_array().expect("list").contains(&json!("none")), "{member}");
        }
        let introspection = &openid["introspection_endpoint_auth_methods_supported"];
        assert!(!introspection.as_array().expect("list").contains(&json!("none")));
    }
}
