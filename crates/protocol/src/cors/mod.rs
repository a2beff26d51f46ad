//! CORS for browser-based clients (draft-ietf-oauth-browser-based-apps
//! §6.3.3.4, OIDC Core §5.3): which web origins may call the token,
//! UserInfo and revocation endpoints from a page. The HTTP side — the
//! headers and the preflights — is `portcullis-web`'s; the rule is here.
//!
//! - [`Origin`]: an origin parsed at the edge (`clients[].allowed_origins`).
//! - [`Client::cors_origins`]: the rule for one client — its
//!   `allowed_origins`, and, for a public client, the origin of each of its
//!   web redirect URIs (the SPA that signs in there is the one that calls
//!   the token endpoint). A confidential client's redirect URIs imply
//!   nothing: its back channel is its server, not a page.
//! - [`AllowedOrigins`]: the union over every enabled client, the answer to
//!   "may this origin call us?" (the endpoints answer before they know the
//!   client: a preflight names none).
//! - [`CorsOrigins`]: that set kept in memory and rebuilt when the store's
//!   client generation moves or its TTL passes, so a request never scans
//!   the clients.

mod allowed;
mod origin;

pub use allowed::{AllowedOrigins, CorsOrigins};
pub use origin::Origin;

use crate::Client;

impl Client {
    /// The origins whose pages may call the token-side endpoints as this
    /// client: its `allowed_origins`, and for a public client the origins
    /// of its `https` and loopback `http` redirect URIs. Only the exact
    /// origin counts: a loopback redirect URI's "any port" (RFC 8252 §7.3)
    /// is for native apps, which do not use CORS.
    pub fn cors_origins(&self) -> impl Iterator<Item = Origin> + '_ {
        self.allowed_origins.iter().cloned().chain(self.redirect_origins())
    }

    /// The origins a public client's redirect URIs imply (none for a
    /// confidential client), in order, possibly repeated.
    pub fn redirect_origins(&self) -> impl Iterator<Item = Origin> + '_ {
        self.redirect_uris.iter().filter(|_| self.is_public()).filter_map(Origin::of_redirect_uri)
    }

    /// [`Self::redirect_origins`] not listed in `allowed_origins`, once
    /// each: what the console shows besides the list.
    pub fn implied_origins(&self) -> Vec<Origin> {
        let mut implied: Vec<Origin> = Vec::new();
        for origin in self.redirect_origins() {
            if !self.allowed_origins.contains(&origin) && !implied.contains(&origin) {
                implied.push(origin);
            }
        }
        implied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RedirectUri;
    use crate::client::tests::{confidential, public};

    fn uris(list: &[&str]) -> Vec<RedirectUri> {
        list.iter().map(|u| RedirectUri::parse(u).expect("uri")).collect()
    }

    fn origins(client: &Client) -> Vec<String> {
        client.cors_origins().map(|o| o.as_str().to_owned()).collect()
    }

    #[test]
    fn a_public_client_is_allowed_the_origins_of_its_redirect_uris() {
        let spa = Client {
            redirect_uris: uris(&[
                "https://spa.example/callback",
                "https://spa.example/silent",
                "http://localhost:5173/cb",
                "com.example.app:/cb",
            ]),
            ..public()
        };
        assert_eq!(
            origins(&spa),
            ["https://spa.example", "https://spa.example", "http://localhost:5173"],
            "each web redirect URI's origin; a private-use scheme has none"
        );
    }

    #[test]
    fn a_confidential_client_is_allowed_only_what_it_lists() {
        let web = Client { redirect_uris: uris(&["https://rp.example/cb"]), ..confidential() };
        assert!(origins(&web).is_empty(), "its redirect URIs imply nothing");
        let listed =
            Client { allowed_origins: vec![Origin::parse("https://app.rp.example").expect("origin")], ..web };
        assert_eq!(origins(&listed), ["https://app.rp.example"]);
    }

    #[test]
    fn explicit_origins_add_to_a_public_clients_redirect_origins() {
        let spa = Client {
            redirect_uris: uris(&["https://spa.example/cb"]),
            allowed_origins: vec![Origin::parse("https://other.example:8443").expect("origin")],
            ..public()
        };
        assert_eq!(origins(&spa), ["https://other.example:8443", "https://spa.example"]);
    }

    #[test]
    fn implied_origins_are_those_not_listed_once_each() {
        let spa = Client {
            redirect_uris: uris(&["https://spa.example/a", "https://spa.example/b", "https://x.example/cb"]),
            allowed_origins: vec![Origin::parse("https://x.example").expect("origin")],
            ..public()
        };
        let implied: Vec<_> = spa.implied_origins().into_iter().map(|o| o.as_str().to_owned()).collect();
        assert_eq!(implied, ["https://spa.example"]);
        assert!(
            Client { redirect_uris: uris(&["https://rp.example/cb"]), ..confidential() }
                .implied_origins()
                .is_empty()
        );
    }

    #[test]
    fn ports_and_default_ports_are_part_of_the_origin() {
        let spa = Client {
            redirect_uris: uris(&[
                "https://spa.example:443/cb",
                "http://127.0.0.1:8080/cb",
                "http://[::1]/cb",
            ]),
            ..public()
        };
        assert_eq!(origins(&spa), ["https://spa.example", "http://127.0.0.1:8080", "http://[::1]"]);
    }
}
