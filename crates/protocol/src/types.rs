//! Newtypes parsed at the edge: client ids, redirect URIs and scopes.

use std::collections::BTreeSet;
use std::fmt;

use crate::client::ModelError;

/// A client identifier: 1–255 printable ASCII characters, no spaces
/// (RFC 6749 appendix A.1 allows VSCHAR; we also refuse space for logs and forms).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    /// Parses a client id.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let ok = !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if ok { Ok(Self(s.to_owned())) } else { Err(ModelError::ClientId) }
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered redirect URI: absolute, no fragment (RFC 6749 §3.1.2), `https`
/// or any other scheme except `http` on a non-loopback host. Kept as the exact
/// string given, because matching is by string comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri {
    raw: String,
    url: url::Url,
}

impl RedirectUri {
    /// Parses a redirect URI.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let url = url::Url::parse(s).map_err(|_| ModelError::RedirectUri)?;
        if url.fragment().is_some() || url.cannot_be_a_base() && url.scheme() == "javascript" {
            return Err(ModelError::RedirectUri);
        }
        if matches!(url.scheme(), "javascript" | "data" | "file") {
            return Err(ModelError::RedirectUri);
        }
        if url.scheme() == "http" && !is_loopback_host(&url) && url.host_str() != Some("localhost") {
            return Err(ModelError::RedirectUri);
        }
        Ok(Self { raw: s.to_owned(), url })
    }

    /// The exact string registered or sent.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parsed URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// True for `http://127.0.0.1…` and `http://[::1]…` (RFC 8252 §7.3; not `localhost`, §8.3).
    pub fn is_loopback(&self) -> bool {
        self.url.scheme() == "http" && is_loopback_host(&self.url)
    }

    /// True when `self` (registered, loopback) and `other` (requested) differ
    /// only by port, as RFC 8252 §7.3 allows for native clients.
    pub fn matches_loopback_any_port(&self, other: &RedirectUri) -> bool {
        if !self.is_loopback() || !other.is_loopback() {
            return false;
        }
        let (a, b) = (&self.url, &other.url);
        a.host() == b.host()
            && a.path() == b.path()
            && a.query() == b.query()
            && a.username().is_empty()
            && b.username().is_empty()
            && b.password().is_none()
    }
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        _ => false,
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// One scope token (RFC 6749 §3.3: `%x21 / %x23-5B / %x5D-7E`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(String);

impl Scope {
    /// The OIDC scope that makes a request an OpenID Connect one.
    pub const OPENID: &'static str = "openid";

    /// Parses one scope token.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let ok = !s.is_empty()
            && s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if ok { Ok(Self(s.to_owned())) } else { Err(ModelError::Scope) }
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A set of scopes, ordered, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parses a space-separated scope string; empty tokens (repeated spaces) are refused.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        if s.is_empty() {
            return Ok(Self::default());
        }
        s.split(' ').map(Scope::parse).collect::<Result<_, _>>().map(Self)
    }

    /// Builds a set from separate tokens.
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Result<Self, ModelError> {
        tokens.into_iter().map(Scope::parse).collect::<Result<_, _>>().map(Self)
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == scope)
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(Scope::as_str)
    }

    /// Whether this is an OpenID Connect request (`openid` present).
    pub fn is_oidc(&self) -> bool {
        self.contains(Scope::OPENID)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined: Vec<&str> = self.iter().collect();
        f.write_str(&joined.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_accepts_printable_ascii_only() {
        assert_eq!(ClientId::parse("my-app_1").expect("valid").as_str(), "my-app_1");
        for bad in ["", "has space", "tab\t", "é", &"x".repeat(256)] {
            assert!(ClientId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn redirect_uri_keeps_the_exact_string() {
        let uri = RedirectUri::parse("https://rp.example/cb?x=1").expect("valid");
        assert_eq!(uri.as_str(), "https://rp.example/cb?x=1");
        assert!(!uri.is_loopback());
    }

    #[test]
    fn redirect_uri_refuses_fragments_relative_and_dangerous_schemes() {
        for bad in [
            "https://rp.example/cb#frag",
            "/relative",
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "http://rp.example/cb",
            "not a url",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_uri_allows_private_use_schemes_and_loopback_http() {
        assert!(RedirectUri::parse("com.example.app:/callback").is_ok());
        assert!(RedirectUri::parse("http://127.0.0.1:8080/cb").expect("valid").is_loopback());
        assert!(RedirectUri::parse("http://[::1]/cb").expect("valid").is_loopback());
        assert!(!RedirectUri::parse("http://localhost:1/cb").expect("valid").is_loopback());
    }

    #[test]
    fn loopback_matching_ignores_only_the_port() {
        let registered = RedirectUri::parse("http://127.0.0.1/cb").expect("valid");
        let ok = RedirectUri::parse("http://127.0.0.1:51234/cb").expect("valid");
        let other_path = RedirectUri::parse("http://127.0.0.1:51234/other").expect("valid");
        let v6 = RedirectUri::parse("http://[::1]:51234/cb").expect("valid");
        assert!(registered.matches_loopback_any_port(&ok));
        assert!(!registered.matches_loopback_any_port(&other_path));
        assert!(!registered.matches_loopback_any_port(&v6));
        let localhost = RedirectUri::parse("http://localhost/cb").expect("valid");
        let localhost_port = RedirectUri::parse("http://localhost:9/cb").expect("valid");
        assert!(!localhost.matches_loopback_any_port(&localhost_port));
    }

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert!(Scope::parse("openid").is_ok());
        for bad in ["", "a b", "quote\"", "back\\slash", "é"] {
            assert!(Scope::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scope_set_parses_deduplicates_and_compares() {
        let set = ScopeSet::parse("openid email openid").expect("valid");
        assert_eq!(set.to_string(), "email openid");
        assert!(set.is_oidc());
        let allowed = ScopeSet::parse("openid email profile").expect("valid");
        assert!(set.is_subset(&allowed));
        assert!(!allowed.is_subset(&set));
        assert!(ScopeSet::parse("openid  email").is_err());
        assert!(ScopeSet::parse("").expect("empty").is_empty());
        assert!(!ScopeSet::parse("api").expect("valid").is_oidc());
    }
}
