//! A browser without a browser: HTTP requests that keep the session cookie,
//! follow the server's own redirects and fill in its sign-in form, until
//! the server redirects to the relying party. Enough for the authorization
//! code flow of a client that skips consent (`--no-consent`); pages with
//! scripts (passkeys) are out of reach. Blocking, on a runtime of its own.

use portcullis_protocol::{CodeChallenge, CodeVerifier};
use serde_json::Value;

use crate::oauth::Credentials;

/// The session cookie's name.
const COOKIE: &str = "__Host-portcullis_session";

/// The password every test user gets.
pub(crate) const PASSWORD: &str = "a long passphrase";

/// The relying party's redirect URI (never contacted).
pub(crate) const CALLBACK: &str = "https://rp.example/cb";

pub(crate) struct Browser {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    cookie: Option<String>,
}

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

impl Browser {
    pub(crate) fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        Self { rt, http, cookie: None }
    }

    fn send(&mut self, req: reqwest::RequestBuilder) -> (u16, Option<String>, String) {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", format!("{COOKIE}={c}")),
            None => req,
        };
        let (status, location, cookies, body) = self.rt.block_on(async {
            let res = req.send().await.expect("request");
            let status = res.status().as_u16();
            let location = res.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
            let cookies: Vec<String> = res
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            (status, location, cookies, res.text().await.unwrap_or_default())
        });
        for line in cookies {
            if let Some(rest) = line.strip_prefix(&format!("{COOKIE}=")) {
                let value = rest.split(';').next().unwrap_or_default().to_owned();
                let removed = line.contains("Max-Age=0") || value.is_empty();
                self.cookie = (!removed).then_some(value);
            }
        }
        (status, location, body)
    }

    /// Runs the authorization code flow at the server on `port` for the
    /// client `rp` (consent skipped), signing in as `user` if asked to (with
    /// `None`, a sign-in form fails the test: the session must suffice); the
    /// code and its PKCE verifier.
    pub(crate) fn code(&mut self, port: u16, user: Option<&str>) -> (String, String) {
        let verifier = format!("{}{}", portcullis_core::random::hex_id(), portcullis_core::random::hex_id());
        let challenge = CodeChallenge::from_verifier(&CodeVerifier::parse(&verifier).expect("verifier"));
        let base = format!("http://127.0.0.1:{port}");
        let mut url = url::Url::parse(&format!("{base}/authorize")).expect("url");
        url.query_pairs_mut()
            .append_pair("client_id", "rp")
            .append_pair("redirect_uri", CALLBACK)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid profile email")
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", "S256");
        let mut step = self.send(self.http.get(url.as_str()));
        for _ in 0..12 {
            match step {
                (300..400, Some(location), _) if location.starts_with(CALLBACK) => {
                    let back = url::Url::parse(&location).expect("redirect");
                    let code = back.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned());
                    return (code.unwrap_or_else(|| panic!("no code in {location}")), verifier);
                }
                (300..400, Some(location), _) if location.starts_with('/') => {
                    step = self.send(self.http.get(format!("{base}{location}")));
                }
                (_, _, ref body) if body.contains("action=\"/login\"") => {
                    let user = user.unwrap_or_else(|| panic!("asked to sign in again at {port}"));
                    let csrf = hidden(body, "csrf_token").expect("csrf_token");
                    let request = hidden(body, "request").unwrap_or_default();
                    let form = [
                        ("csrf_token", csrf.as_str()),
                        ("username", user),
                        ("password", PASSWORD),
                        ("request", &request),
                    ];
                    step = self.send(self.http.post(format!("{base}/login")).form(&form));
                }
                (status, location, body) => panic!("stuck at {status} {location:?}: {body}"),
            }
        }
        panic!("too many redirects");
    }

    /// `POST /token` at `port` as `client`: status and body.
    pub(crate) fn token(&mut self, port: u16, client: &Credentials, form: &[(&str, &str)]) -> (u16, Value) {
        let req = self
            .http
            .post(format!("http://127.0.0.1:{port}/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(form);
        self.rt.block_on(async {
            let res = req.send().await.expect("token request");
            (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
        })
    }

    /// Redeems `code` at `port`.
    pub(crate) fn redeem(
        &mut self,
        port: u16,
        client: &Credentials,
        code: &str,
        verifier: &str,
    ) -> (u16, Value) {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ];
        self.token(port, client, &form)
    }

    /// Refreshes at `port`.
    pub(crate) fn refresh(&mut self, port: u16, client: &Credentials, refresh_token: &str) -> (u16, Value) {
        self.token(port, client, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
    }
}
