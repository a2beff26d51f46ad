//! Reading an authorization request's parameters from name/value pairs
//! (the query of `GET /authorize`, the form of `POST /authorize` and of
//! `POST /par`): each parameter at most once, except `resource`, which
//! may repeat (RFC 8707 §2); unknown parameters are ignored (RFC 6749 §3.1).

use std::borrow::Cow;

use super::{AuthorizeParams, RuleError};
use crate::OAuthError;

impl AuthorizeParams {
    /// The parameters of `pairs`; a repeated parameter (other than
    /// `resource`) is `invalid_request`.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
    ) -> Result<Self, RuleError> {
        let mut params = Self::default();
        for (name, value) in pairs {
            params.set(&name, value.into_owned())?;
        }
        Ok(params)
    }

    /// The parameters of a URL-encoded query or form body.
    pub fn from_urlencoded(bytes: &[u8]) -> Result<Self, RuleError> {
        Self::from_pairs(url::form_urlencoded::parse(bytes))
    }

    /// Sets the parameter `name`, once.
    fn set(&mut self, name: &str, value: String) -> Result<(), RuleError> {
        let slot = match name {
            "resource" => {
                self.resource.push(value);
                return Ok(());
            }
            "client_id" => &mut self.client_id,
            "redirect_uri" => &mut self.redirect_uri,
            "response_type" => &mut self.response_type,
            "scope" => &mut self.scope,
            "state" => &mut self.state,
            "nonce" => &mut self.nonce,
            "code_challenge" => &mut self.code_challenge,
            "code_challenge_method" => &mut self.code_challenge_method,
            "prompt" => &mut self.prompt,
            "max_age" => &mut self.max_age,
            "login_hint" => &mut self.login_hint,
            "acr_values" => &mut self.acr_values,
            "ui_locales" => &mut self.ui_locales,
            "request" => &mut self.request,
            "request_uri" => &mut self.request_uri,
            "claims" => &mut self.claims,
            _ => return Ok(()),
        };
        if slot.is_some() {
            return Err((OAuthError::InvalidRequest, "a parameter is repeated"));
        }
        *slot = Some(value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_once_and_resource_may_repeat() {
        let params = AuthorizeParams::from_urlencoded(
            b"client_id=rp&scope=openid%20read&resource=https%3A%2F%2Fa.example&resource=urn%3Ab&other=x",
        )
        .expect("valid");
        assert_eq!(params.client_id.as_deref(), Some("rp"));
        assert_eq!(params.scope.as_deref(), Some("openid read"));
        assert_eq!(params.resource, ["https://a.example", "urn:b"]);
        let (error, _) = AuthorizeParams::from_urlencoded(b"client_id=a&client_id=b").expect_err("repeated");
        assert_eq!(error, OAuthError::InvalidRequest);
        assert_eq!(AuthorizeParams::from_urlencoded(b"").expect("empty"), AuthorizeParams::default());
    }
}
