//! Resource indicators (RFC 8707): the resource servers (APIs) configured
//! with `[[resources]]`, and the rules that pick the audience of an access
//! token. A token for a resource has that resource as its `aud`, carries
//! only the granted scopes the resource understands, and lives and is
//! signed as the resource says; without `resource`, the token is the
//! provider's own (`aud` = issuer), as before.

use std::fmt;

use portcullis_keys::Algorithm;

use crate::client::ModelError;
use crate::{Client, OAuthError, ScopeSet};

/// A resource indicator: an absolute URI without a fragment (RFC 8707 §2),
/// kept as the exact string given (compared as a string, like `aud`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(String);

impl ResourceId {
    /// Parses a resource indicator.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let bad = || ModelError::Resource(s.to_owned());
        let url = url::Url::parse(s).map_err(|_| bad())?;
        if url.fragment().is_some() || s.contains('#') || s.len() > 2048 {
            return Err(bad());
        }
        Ok(Self(s.to_owned()))
    }

    /// The identifier (the `aud` of its tokens).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One configured resource server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Its identifier: the `aud` of its access tokens.
    pub identifier: ResourceId,
    /// The scopes it understands: a token for it carries only these.
    pub scopes: ScopeSet,
    /// Its access tokens' lifetime in seconds (default: the client's).
    pub access_token_ttl_secs: Option<u32>,
    /// Its access tokens' signing algorithm (default: the server's).
    pub access_token_alg: Option<Algorithm>,
}

/// The configured resource servers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources(Vec<Resource>);

impl Resources {
    /// No resource servers.
    pub const fn empty() -> Self {
        Self(Vec::new())
    }

    /// The resource servers; an identifier configured twice is refused.
    pub fn new(resources: Vec<Resource>) -> Result<Self, ModelError> {
        for (i, r) in resources.iter().enumerate() {
            if resources[..i].iter().any(|o| o.identifier == r.identifier) {
                return Err(ModelError::Resource(format!("{} is configured twice", r.identifier)));
            }
        }
        Ok(Self(resources))
    }

    /// The resource named `id`, if configured.
    pub fn get(&self, id: &str) -> Option<&Resource> {
        self.0.iter().find(|r| r.identifier.as_str() == id)
    }

    /// Every configured resource.
    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.0.iter()
    }

    /// Whether every identifier of `client.resources` is configured (a
    /// client may not be allowed an API that does not exist).
    pub fn check_client(&self, client: &Client) -> Result<(), ModelError> {
        match client.resources.iter().find(|r| self.get(r.as_str()).is_none()) {
            Some(unknown) => Err(ModelError::Resource(format!("{unknown} is not in [[resources]]"))),
            None => Ok(()),
        }
    }
}

/// A refusal of a resource indicator: `invalid_target` (RFC 8707 §2).
pub type TargetError = (OAuthError, &'static str);

fn invalid_target(description: &'static str) -> TargetError {
    (OAuthError::InvalidTarget, description)
}

/// The resource `raw` names, if it is well formed, configured and allowed
/// for `client`; `invalid_target` otherwise.
pub fn check_resource<'r>(
    raw: &str,
    client: &Client,
    resources: &'r Resources,
) -> Result<&'r Resource, TargetError> {
    let id = ResourceId::parse(raw)
        .map_err(|_| invalid_target("resource must be an absolute URI without a fragment"))?;
    let resource =
        resources.get(id.as_str()).ok_or(invalid_target("resource is not a known resource server"))?;
    if !client.resources.contains(&resource.identifier) {
        return Err(invalid_target("resource is not allowed for this client"));
    }
    Ok(resource)
}

/// The resources of an authorization request (each `resource` value, in
/// order, each once), every one checked by [`check_resource`].
pub fn check_resources(
    raw: &[String],
    client: &Client,
    resources: &Resources,
) -> Result<Vec<ResourceId>, TargetError> {
    let mut out: Vec<ResourceId> = Vec::with_capacity(raw.len());
    for r in raw {
        let resource = check_resource(r, client, resources)?;
        if !out.contains(&resource.identifier) {
            out.push(resource.identifier.clone());
        }
    }
    Ok(out)
}

/// The audience of an access token asked for at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience<'r> {
    /// No `resource`: the provider's own token (`aud` = issuer, for UserInfo).
    Issuer,
    /// A token for this resource server.
    Resource(&'r Resource),
}

impl<'r> Audience<'r> {
    /// The audience of a token request's `resource`: `None` is the issuer;
    /// otherwise it must be allowed for `client` ([`check_resource`]) and,
    /// for a grant from a user's authorization, among the resources that
    /// authorization named (`granted`; `None` for `client_credentials`).
    pub fn select(
        raw: Option<&str>,
        client: &Client,
        resources: &'r Resources,
        granted: Option<&[String]>,
    ) -> Result<Self, TargetError> {
        let Some(raw) = raw else { return Ok(Self::Issuer) };
        let resource = check_resource(raw, client, resources)?;
        if let Some(granted) = granted
            && !granted.iter().any(|g| g == resource.identifier.as_str())
        {
            return Err(invalid_target("resource was not part of the authorization"));
        }
        Ok(Self::Resource(resource))
    }

    /// The scopes a token for this audience carries: all of `scopes` for
    /// the issuer; for a resource, only those it understands (never the
    /// OpenID Connect scopes, which are the provider's).
    pub fn scopes(&self, scopes: &ScopeSet) -> ScopeSet {
        match self {
            Self::Issuer => scopes.clone(),
            Self::Resource(r) => {
                ScopeSet::from_tokens(scopes.iter().filter(|s| r.scopes.contains(s))).unwrap_or_default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::public;

    fn api() -> Resource {
        Resource {
            identifier: ResourceId::parse("https://api.example/").expect("id"),
            scopes: ScopeSet::parse("read write").expect("scopes"),
            access_token_ttl_secs: Some(60),
            access_token_alg: Some(Algorithm::EdDsa),
        }
    }

    fn other() -> Resource {
        Resource { identifier: ResourceId::parse("urn:example:other").expect("id"), ..api() }
    }

    fn registry() -> Resources {
        Resources::new(vec![api(), other()]).expect("resources")
    }

    fn client() -> Client {
        Client { resources: vec![api().identifier], ..public() }
    }

    #[test]
    fn identifiers_are_absolute_uris_without_fragments() {
        for good in ["https://api.example/", "https://api.example/v1?x=1", "urn:example:api"] {
            assert_eq!(ResourceId::parse(good).expect(good).as_str(), good);
        }
        for bad in ["", "/relative", "api.example", "https://api.example/#f", "https://api.example/#"] {
            assert!(ResourceId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_identifier_is_configured_once() {
        assert!(Resources::new(vec![api(), api()]).is_err());
    }

    #[test]
    fn a_client_names_only_configured_resources() {
        assert!(registry().check_client(&client()).is_ok());
        let stray =
            Client { resources: vec![ResourceId::parse("https://nowhere.example").expect("id")], ..public() };
        let err = registry().check_client(&stray).expect_err("unknown");
        assert!(err.to_string().contains("https://nowhere.example"), "{err}");
    }

    #[test]
    fn a_resource_must_be_well_formed_known_and_allowed() {
        let (c, r) = (client(), registry());
        assert_eq!(check_resource("https://api.example/", &c, &r).expect("ok").identifier, api().identifier);
        for bad in ["https://api.example/#x", "relative", "https://unknown.example/", "urn:example:other"] {
            let (error, _) = check_resource(bad, &c, &r).expect_err(bad);
            assert_eq!(error, OAuthError::InvalidTarget, "{bad}");
        }
    }

    #[test]
    fn repeated_resources_are_kept_once_in_order() {
        let c = Client { resources: vec![api().identifier, other().identifier], ..public() };
        let raw = ["urn:example:other", "https://api.example/", "urn:example:other"].map(String::from);
        let ids = check_resources(&raw, &c, &registry()).expect("ok");
        assert_eq!(ids, [other().identifier, api().identifier]);
        assert!(check_resources(&[], &c, &registry()).expect("none").is_empty());
    }

    #[test]
    fn the_audience_is_the_issuer_without_resource() {
        let (c, r) = (client(), registry());
        assert_eq!(Audience::select(None, &c, &r, Some(&[])).expect("ok"), Audience::Issuer);
        let granted = ["https://api.example/".to_owned()];
        let api = r.get("https://api.example/").expect("api");
        assert_eq!(
            Audience::select(Some("https://api.example/"), &c, &r, Some(&granted)).expect("ok"),
            Audience::Resource(api)
        );
        assert_eq!(
            Audience::select(Some("https://api.example/"), &c, &r, None).expect("client_credentials"),
            Audience::Resource(api)
        );
        let (error, _) =
            Audience::select(Some("https://api.example/"), &c, &r, Some(&[])).expect_err("not granted");
        assert_eq!(error, OAuthError::InvalidTarget);
    }

    #[test]
    fn a_resource_token_carries_only_the_scopes_it_understands() {
        let r = registry();
        let audience = Audience::Resource(r.get("https://api.example/").expect("api"));
        let granted = ScopeSet::parse("openid profile read offline_access").expect("scopes");
        assert_eq!(audience.scopes(&granted).to_string(), "read");
        assert_eq!(Audience::Issuer.scopes(&granted), granted);
    }
}
