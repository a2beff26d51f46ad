//! The form bodies of `POST /token`, `/introspect` and `/revoke`, parsed
//! without the request around them (so the fuzz targets and their stable
//! regression tests run exactly this code).

use portcullis_protocol::OAuthError;
use portcullis_protocol::authorize::AuthorizeParams;
use portcullis_protocol::grants::TokenParams;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Client-authentication fields every back-channel body may carry.
#[derive(Deserialize, Default)]
pub struct ClientFields {
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_secret` (`client_secret_post`).
    pub client_secret: Option<String>,
    /// `client_assertion_type` (`private_key_jwt`).
    pub client_assertion_type: Option<String>,
    /// `client_assertion` (`private_key_jwt`).
    pub client_assertion: Option<String>,
}

impl std::fmt::Debug for ClientFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientFields")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .field("client_assertion_type", &self.client_assertion_type)
            .field("client_assertion", &self.client_assertion.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// The body of `POST /token`: client fields and the grant's parameters.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    /// How the client authenticates.
    #[serde(flatten)]
    pub client: ClientFields,
    /// The grant.
    #[serde(flatten)]
    pub params: TokenParams,
}

/// Parses an `application/x-www-form-urlencoded` body; a malformed one, or
/// one that repeats a parameter, is `invalid_request`.
pub(crate) fn parse_form<T: DeserializeOwned>(body: &[u8]) -> Result<T, (OAuthError, &'static str)> {
    serde_urlencoded::from_bytes(body)
        .map_err(|_| (OAuthError::InvalidRequest, "the form is malformed or repeats a parameter"))
}

/// The body of `POST /par` (RFC 9126 §2.1): client authentication and the
/// authorization request's parameters.
#[derive(Debug)]
pub struct ParForm {
    /// How the client authenticates (`client_id` is also a parameter of
    /// the request).
    pub client: ClientFields,
    /// The authorization request.
    pub params: AuthorizeParams,
}

/// Parses the body of `POST /par`: the client-authentication fields, then
/// the authorization request's parameters (`resource` may repeat, nothing
/// else).
pub fn parse_par_form(body: &[u8]) -> Result<ParForm, (OAuthError, &'static str)> {
    let mut client = ClientFields::default();
    let mut rest = Vec::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        let slot = match name.as_ref() {
            "client_secret" => &mut client.client_secret,
            "client_assertion_type" => &mut client.client_assertion_type,
            "client_assertion" => &mut client.client_assertion,
            _ => {
                rest.push((name, value));
                continue;
            }
        };
        if slot.is_some() {
            return Err((OAuthError::InvalidRequest, "the form is malformed or repeats a parameter"));
        }
        *slot = Some(value.into_owned());
    }
    let params = AuthorizeParams::from_pairs(rest)?;
    client.client_id = params.client_id.clone();
    Ok(ParForm { client, params })
}

/// Parses the body of `POST /token`.
pub fn parse_token_form(body: &[u8]) -> Result<TokenForm, (OAuthError, &'static str)> {
    parse_form(body)
}
