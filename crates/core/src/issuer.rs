//! The issuer identifier (OIDC Core §2, RFC 8414 §2).

use std::fmt;
use url::Url;

/// Why a string is not a usable issuer identifier.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssuerError {
    /// Not an absolute URL.
    #[error("not an absolute URL ({0})")]
    Malformed(String),
    /// `http` is allowed only for loopback hosts (local development).
    #[error("must use https (http is allowed only for localhost, 127.0.0.1 and [::1])")]
    InsecureScheme,
    /// OIDC forbids a query or fragment in the issuer.
    #[error("must not contain a query or fragment")]
    QueryOrFragment,
    /// A trailing slash makes `iss` comparisons fail in most relying parties.
    #[error("must not end with '/'")]
    TrailingSlash,
    /// User info in the issuer would end up in every token.
    #[error("must not contain a username or password")]
    Credentials,
}

/// The issuer identifier: an https URL (http only on loopback), no query,
/// fragment, credentials or trailing slash. Kept exactly as configured, since
/// relying parties compare `iss` byte for byte.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Issuer {
    raw: String,
    url: Url,
}

impl Issuer {
    /// Parses and checks an issuer identifier.
    pub fn parse(raw: &str) -> Result<Self, IssuerError> {
        let url = Url::parse(raw).map_err(|e| IssuerError::Malformed(e.to_string()))?;
        if url.cannot_be_a_base() || url.host_str().is_none() {
            return Err(IssuerError::Malformed("no host".into()));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            _ => return Err(IssuerError::InsecureScheme),
        }
        if url.query().is_some() || url.fragment().is_some() || raw.contains(['?', '#']) {
            return Err(IssuerError::QueryOrFragment);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(IssuerError::Credentials);
        }
        if raw.ends_with('/') {
            return Err(IssuerError::TrailingSlash);
        }
        Ok(Self { raw: raw.to_owned(), url })
    }

    /// The identifier exactly as configured.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parsed URL (for host, scheme and endpoint joining).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// An endpoint URL under the issuer: `endpoint("/token")`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.raw, path)
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Issuer({})", self.raw)
    }
}

impl std::str::FromStr for Issuer {
    type Err = IssuerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Issuer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> serde::Deserialize<'de> for Issuer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_and_loopback_http_verbatim() {
        for ok in [
            "https://id.example.com",
            "https://id.example.com/realm",
            "http://localhost:8080",
            "http://127.0.0.1:9000",
            "http://[::1]:8080",
        ] {
            assert_eq!(Issuer::parse(ok).map(|i| i.as_str().to_owned()), Ok(ok.to_owned()));
        }
        let issuer = Issuer::parse("https://id.example.com").expect("valid");
        assert_eq!(issuer.endpoint("/token"), "https://id.example.com/token");
    }

    #[test]
    fn refuses_what_oidc_forbids() {
        assert_eq!(Issuer::parse("http://id.example.com"), Err(IssuerError::InsecureScheme));
        assert_eq!(Issuer::parse("ftp://localhost"), Err(IssuerError::InsecureScheme));
        assert_eq!(Issuer::parse("https://x.example?a=b"), Err(IssuerError::QueryOrFragment));
        assert_eq!(Issuer::parse("https://x.example#f"), Err(IssuerError::QueryOrFragment));
        assert_eq!(Issuer::parse("https://x.example/"), Err(IssuerError::TrailingSlash));
        assert_eq!(Issuer::parse("https://u:p@x.example"), Err(IssuerError::Credentials));
        assert!(matches!(Issuer::parse("nonsense"), Err(IssuerError::Malformed(_))));
    }
}
