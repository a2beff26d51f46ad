//! [`Origin`]: a web origin (`scheme://host[:port]`) as browsers send it in
//! the `Origin` header, parsed at the edge.

use std::fmt;

use crate::{ModelError, RedirectUri};

/// A web origin: `https://host[:port]`, or `http://` on a loopback host
/// (`127.0.0.1`, `[::1]`, `localhost`) as for redirect URIs. Kept in the
/// form browsers serialise it in the `Origin` header (RFC 6454 §6.1): the
/// host lowercased (IDNs in punycode), a default port left out, no
/// trailing slash. So a request's header is compared as bytes, with no
/// parsing on the hot path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin(String);

impl Origin {
    /// Parses an origin as configured: a scheme, a host and an optional
    /// port, nothing else — no path (not even `/`), query, fragment, user
    /// or whitespace. `https`, or `http` on a loopback host only. Case and
    /// a default port are normalised away.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let refuse = || ModelError::Origin(s.to_owned());
        if s.is_empty() || s.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err(refuse());
        }
        let url = url::Url::parse(s).map_err(|_| refuse())?;
        let bare = url.path() == "/"
            && !s.ends_with('/')
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        if !bare {
            return Err(refuse());
        }
        Self::of_url(&url).ok_or_else(refuse)
    }

    /// The origin of a redirect URI: for `https` URIs and `http` ones on a
    /// loopback host; none for other schemes (a native app's `com.example:/cb`
    /// has no web origin).
    pub fn of_redirect_uri(uri: &RedirectUri) -> Option<Self> {
        Self::of_url(uri.url())
    }

    fn of_url(url: &url::Url) -> Option<Self> {
        let allowed = match url.scheme() {
            "https" => true,
            "http" => is_loopback(url),
            _ => false,
        };
        match url.origin() {
            origin @ url::Origin::Tuple(..) if allowed => Some(Self(origin.ascii_serialization())),
            _ => None,
        }
    }

    /// The origin as browsers send it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `127.0.0.1`, `[::1]` or `localhost`: the hosts redirect URIs may use
/// over `http`.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        Some(url::Host::Domain(host)) => host == "localhost",
        None => false,
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> String {
        Origin::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).as_str().to_owned()
    }

    #[test]
    fn origins_keep_the_form_browsers_send() {
        assert_eq!(origin("https://app.example"), "https://app.example");
        assert_eq!(origin("https://app.example:8443"), "https://app.example:8443");
        assert_eq!(origin("http://localhost:5173"), "http://localhost:5173");
        assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin("http://[::1]:8080"), "http://[::1]:8080");
    }

    #[test]
    fn case_and_default_ports_are_normalised() {
        assert_eq!(origin("HTTPS://App.Example"), "https://app.example");
        assert_eq!(origin("https://app.example:443"), "https://app.example");
        assert_eq!(origin("http://localhost:80"), "http://localhost");
        assert_eq!(origin("https://app.example:80"), "https://app.example:80", "80 is not https's default");
        assert_eq!(origin("https://bücher.example"), "https://xn--bcher-kva.example");
    }

    #[test]
    fn anything_but_scheme_host_and_port_is_refused() {
        for bad in [
            "",
            "app.example",
            "https://app.example/",
            "https://app.example/cb",
            "https://app.example?x=1",
            "https://app.example?",
            "https://app.example#x",
            "https://user@app.example",
            "https://user:pw@app.example",
            " https://app.example",
            "https://app.example ",
            "https://",
            "null",
            "*",
            "file:///etc",
            "data:text/plain,x",
            "com.example.app:",
            "ftp://app.example",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn plain_http_is_for_loopback_hosts_only() {
        assert!(Origin::parse("http://app.example").is_err());
        assert!(Origin::parse("http://app.localhost").is_err());
        assert!(Origin::parse("http://127.0.0.2").is_err());
        assert!(Origin::parse("http://localhost").is_ok());
    }

    #[test]
    fn the_error_names_the_value() {
        let err = Origin::parse("https://app.example/").expect_err("a path");
        assert!(err.to_string().contains("https://app.example/"), "{err}");
    }

    #[test]
    fn a_redirect_uri_has_the_origin_of_its_url() {
        let of = |s: &str| Origin::of_redirect_uri(&RedirectUri::parse(s).expect("uri")).map(|o| o.0);
        assert_eq!(of("https://App.Example:443/cb?x=1").as_deref(), Some("https://app.example"));
        assert_eq!(of("http://localhost:5173/callback").as_deref(), Some("http://localhost:5173"));
        assert_eq!(of("http://127.0.0.1/cb").as_deref(), Some("http://127.0.0.1"));
        assert_eq!(of("com.example.app:/callback"), None, "a native app's scheme has no web origin");
        assert_eq!(of("myapp://callback"), None);
    }
}
