//! OAuth over HTTP against a running `portcullis serve`, blocking: what a
//! machine client and a resource server do (client_credentials, token
//! introspection, the JWKS). Each call runs on a small runtime of its own,
//! so load threads need nothing shared.

use serde_json::Value;
use std::future::Future;
use std::time::Duration;

/// A confidential client's credentials.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) id: String,
    pub(crate) secret: String,
}

/// Runs `fut` to completion on a current-thread runtime.
fn block_on<F: Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(fut)
}

/// A client that opens a connection per request (no pool shared across
/// runtimes) and gives up after 10 s.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// `POST /token` with `grant_type=client_credentials`: the status and body,
/// or the transport error (connection refused or reset).
pub(crate) fn try_client_credentials(port: u16, client: &Credentials) -> Result<(u16, Value), String> {
    post_form(port, "/token", client, &[("grant_type", "client_credentials")])
}

/// `POST path` with `form`, authenticated as `client`: the status and JSON body.
fn post_form(
    port: u16,
    path: &str,
    client: &Credentials,
    form: &[(&str, &str)],
) -> Result<(u16, Value), String> {
    block_on(async {
        let res = http()
            .post(format!("http://127.0.0.1:{port}{path}"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(form)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        let status = res.status().as_u16();
        let body = res.json::<Value>().await.map_err(|e| format!("{e:?}"))?;
        Ok((status, body))
    })
}

/// A new access token for `client`, which must be granted.
pub(crate) fn client_credentials(port: u16, client: &Credentials) -> String {
    let (status, body) = try_client_credentials(port, client).unwrap_or_else(|e| panic!("token: {e}"));
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

/// `POST /introspect` of `token`, authenticated as `client`: the status and body.
pub(crate) fn try_introspect(port: u16, client: &Credentials, token: &str) -> Result<(u16, Value), String> {
    post_form(port, "/introspect", client, &[("token", token)])
}

/// Whether the server at `port` says `token` is active (RFC 7662).
pub(crate) fn active(port: u16, client: &Credentials, token: &str) -> bool {
    let (status, body) = try_introspect(port, client, token).unwrap_or_else(|e| panic!("introspect: {e}"));
    assert_eq!(status, 200, "{body}");
    body["active"] == Value::Bool(true)
}

/// The `kid`s the JWKS publishes, sorted.
pub(crate) fn jwks_kids(port: u16) -> Vec<String> {
    let jwks: Value = block_on(async {
        let res = http().get(format!("http://127.0.0.1:{port}/jwks")).send().await.expect("jwks");
        assert_eq!(res.status().as_u16(), 200);
        res.json().await.expect("jwks json")
    });
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("{jwks}"))
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect();
    kids.sort();
    kids
}

/// The status of `GET path`.
pub(crate) fn get_status(port: u16, path: &str) -> u16 {
    block_on(async {
        let res = http().get(format!("http://127.0.0.1:{port}{path}")).send().await.expect("get");
        res.status().as_u16()
    })
}

/// The status of `GET /userinfo` with `access_token`.
pub(crate) fn userinfo(port: u16, access_token: &str) -> Result<u16, String> {
    block_on(async {
        let res = http()
            .get(format!("http://127.0.0.1:{port}/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(res.status().as_u16())
    })
}
