//! The relying party of an upstream provider, on the `openidconnect` crate:
//! discovery, the authorization request (code, PKCE S256, `state`, `nonce`)
//! and the callback (the `state` compared in constant time, RFC 9207's `iss`
//! checked against the upstream's issuer, the code exchanged, the ID token
//! validated: signature against the upstream's JWKS, `iss`, `aud`, `azp`,
//! `exp`, `nonce`), and the claims it leaves out taken from userinfo (for
//! the same subject). An ID token signed with a key the cached JWKS lacks
//! (the upstream rotated its keys) makes it discover again, once.

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use subtle::ConstantTimeEq;

use super::Identity;

/// What discovery says beyond OpenID Connect Discovery 1.0.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Extra {
    /// RFC 9207: the upstream puts `iss` in its authorization responses.
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<bool>,
}
impl AdditionalProviderMetadata for Extra {}

type Metadata = ProviderMetadata<
    Extra,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;
type Configured = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// How to reach one upstream.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// The configured id (`[[upstreams]]` `id`).
    pub id: String,
    /// Its issuer identifier; discovery must answer with exactly this.
    pub issuer: String,
    /// Our client id there.
    pub client_id: String,
    /// Our client secret there.
    pub client_secret: String,
    /// Scopes beyond `openid`.
    pub scopes: Vec<String>,
    /// Where the upstream sends the browser back
    /// (`{issuer}/login/upstream/{id}/callback`).
    pub redirect_uri: String,
    /// How long any request to the upstream may take.
    pub timeout: Duration,
    /// For a multi-tenant issuer (Microsoft Entra's `common` or
    /// `organizations`, whose discovery document names the issuer
    /// `…/{tenantid}/v2.0`): the tenants whose users may sign in, each ID
    /// token's `iss` being the template with its `tid`. Empty: the
    /// discovery document must name `issuer` exactly.
    pub tenants: Vec<String>,
}

/// The placeholder of a multi-tenant issuer template.
const TENANT: &str = "{tenantid}";

/// Why talking to an upstream failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The configuration cannot be used (a URL that does not parse).
    #[error("upstream {0}: invalid configuration: {1}")]
    Config(String, String),
    /// Discovery failed: unreachable, too slow, invalid, or for another issuer.
    #[error("the provider's discovery failed: {0}")]
    Discovery(String),
    /// The callback's `state` is missing or is not this browser's.
    #[error("the sign-in response does not belong to this browser")]
    State,
    /// The user (or the upstream) declined: `error=access_denied`.
    #[error("the sign-in was cancelled at the provider")]
    Denied,
    /// The upstream answered with another error.
    #[error("the provider answered {0}")]
    Refused(String),
    /// RFC 9207: the response's `iss` is missing (though advertised) or not
    /// this upstream's — possibly another provider's response (mix-up).
    #[error("the sign-in response names another issuer")]
    Issuer,
    /// The code exchange failed: unreachable, too slow, or refused.
    #[error("the provider refused the code exchange: {0}")]
    Exchange(String),
    /// The ID token is missing or invalid (signature, `iss`, `aud`, `azp`,
    /// `exp`, `nonce`).
    #[error("the provider's ID token is not valid: {0}")]
    IdToken(String),
}

/// An authorization request on its way: the URL to send the browser to, and
/// what to keep server-side (bound to this browser) until the callback.
#[derive(Debug)]
pub struct Started {
    /// The upstream's authorization URL with the request.
    pub url: url::Url,
    /// The secrets of the request.
    pub pending: Pending,
}

/// The secrets of one authorization request, kept server-side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The configured upstream.
    pub upstream_id: String,
    /// `state`.
    pub state: String,
    /// `nonce`.
    pub nonce: String,
    /// The PKCE verifier.
    pub pkce_verifier: String,
}

/// The query of the callback.
#[derive(Debug, Clone, Copy, Default)]
pub struct Callback<'a> {
    /// `state`.
    pub state: Option<&'a str>,
    /// `code`.
    pub code: Option<&'a str>,
    /// `iss` (RFC 9207).
    pub iss: Option<&'a str>,
    /// `error`.
    pub error: Option<&'a str>,
}

/// A verified upstream sign-in.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Who signed in.
    pub identity: Identity,
    /// Every claim of the verified ID token (for the claim mapping and rules).
    pub claims: serde_json::Value,
}

/// One discovered upstream.
#[derive(Debug)]
pub struct UpstreamClient {
    config: UpstreamConfig,
    http: openidconnect::reqwest::Client,
    discovered: RwLock<Arc<Discovered>>,
}

/// What discovery gave: the configured client (with the JWKS) and whether
/// the upstream sends RFC 9207's `iss`.
#[derive(Debug)]
struct Discovered {
    client: Configured,
    /// The issuer template of a multi-tenant upstream (`…/{tenantid}/…`).
    tenant_template: Option<String>,
    iss_parameter: bool,
    /// Where the claims the ID token leaves out are (OIDC Core §5.4: many
    /// providers release scope claims only there).
    userinfo: Option<url::Url>,
}

impl Discovered {
    async fn fetch(
        config: &UpstreamConfig,
        http: &openidconnect::reqwest::Client,
    ) -> Result<Self, UpstreamError> {
        let invalid = |e: &dyn std::fmt::Display| UpstreamError::Config(config.id.clone(), e.to_string());
        let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| invalid(&e))?;
        let redirect = RedirectUrl::new(config.redirect_uri.clone()).map_err(|e| invalid(&e))?;
        let failed = |e: &dyn std::fmt::Display| UpstreamError::Discovery(e.to_string());
        let document = issuer.join(".well-known/openid-configuration").map_err(|e| invalid(&e))?;
        let res = http
            .get(document.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| failed(&error_chain(&e)))?;
        if !res.status().is_success() {
            return Err(failed(&format!("HTTP status {} at {document}", res.status())));
        }
        let body = res.bytes().await.map_err(|e| failed(&error_chain(&e)))?;
        let metadata: Metadata =
            serde_json::from_slice(&body).map_err(|e| failed(&format!("invalid discovery document: {e}")))?;
        // OpenID Connect Discovery §4.3: the document is the issuer's — or,
        // for a multi-tenant issuer, a template of the tenants' issuers on
        // the same host, each checked against the ID token's `tid`.
        let named = metadata.issuer().as_str();
        let tenant_template = if named == config.issuer {
            None
        } else if !config.tenants.is_empty() && is_template_of(named, &config.issuer) {
            Some(named.to_owned())
        } else {
            return Err(failed(&format!("the discovery document names another issuer: {named}")));
        };
        let jwks = openidconnect::JsonWebKeySet::fetch_async(metadata.jwks_uri(), http)
            .await
            .map_err(|e| failed(&error_chain(&e)))?;
        let metadata = metadata.set_jwks(jwks);
        let iss_parameter =
            metadata.additional_metadata().authorization_response_iss_parameter_supported == Some(true);
        let userinfo = metadata.userinfo_endpoint().map(|u| u.url().clone());
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(config.client_secret.clone())),
        )
        .set_redirect_uri(redirect);
        Ok(Self { client, tenant_template, iss_parameter, userinfo })
    }
}

impl UpstreamClient {
    /// Fetches the upstream's discovery document and JWKS.
    pub async fn discover(config: UpstreamConfig) -> Result<Self, UpstreamError> {
        // No redirects: a discovery or token request answered with one is
        // refused (it could send our secret, or us, elsewhere).
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .build()
            .map_err(|e| UpstreamError::Config(config.id.clone(), e.to_string()))?;
        let discovered = Discovered::fetch(&config, &http).await?;
        Ok(Self { config, http, discovered: RwLock::new(Arc::new(discovered)) })
    }

    fn current(&self) -> Arc<Discovered> {
        self.discovered.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Starts an authorization request.
    pub fn start(&self) -> Started {
        self.start_with(false)
    }

    /// Starts an authorization request; with `prompt_login`, the upstream
    /// is asked to authenticate the user afresh (`prompt=login`), as for a
    /// re-authentication before an account change.
    pub fn start_with(&self, prompt_login: bool) -> Started {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let discovered = self.current();
        let mut request = discovered.client.authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if prompt_login {
            request = request.add_prompt(openidconnect::core::CoreAuthPrompt::Login);
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Started {
            url,
            pending: Pending {
                upstream_id: self.config.id.clone(),
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
            },
        }
    }

    /// Checks the callback against `pending`, exchanges the code and
    /// validates the ID token.
    pub async fn finish(&self, pending: &Pending, callback: Callback<'_>) -> Result<Verified, UpstreamError> {
        let discovered = self.current();
        let state = callback.state.unwrap_or_default();
        if pending.upstream_id != self.config.id
            || !bool::from(state.as_bytes().ct_eq(pending.state.as_bytes()))
        {
            return Err(UpstreamError::State);
        }
        // RFC 9207 §2.4: an `iss` that is present must be this issuer's, and
        // must be present when the upstream says it sends one.
        match callback.iss {
            Some(iss) if !self.issues_as(&discovered, iss) => return Err(UpstreamError::Issuer),
            None if discovered.iss_parameter => return Err(UpstreamError::Issuer),
            _ => {}
        }
        match callback.error {
            Some("access_denied") => return Err(UpstreamError::Denied),
            Some(error) => return Err(UpstreamError::Refused(error.chars().take(64).collect())),
            None => {}
        }
        let code = callback
            .code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| UpstreamError::Refused("no code".into()))?;
        let tokens = discovered
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| UpstreamError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| UpstreamError::Exchange(error_chain(&e)))?;
        let id_token =
            tokens.id_token().ok_or_else(|| UpstreamError::IdToken("none in the token response".into()))?;
        let nonce = Nonce::new(pending.nonce.clone());
        // A multi-tenant upstream's `iss` is checked below, against its `tid`.
        let verified = |d: &Discovered| {
            let verifier = d.client.id_token_verifier().require_issuer_match(d.tenant_template.is_none());
            id_token.claims(&verifier, &nonce).map(|claims| Identity {
                issuer: claims.issuer().to_string(),
                subject: claims.subject().to_string(),
            })
        };
        let mut discovered = discovered;
        let identity = match verified(&discovered) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // The upstream rotated its keys: discover again, once.
                let fresh = Arc::new(Discovered::fetch(&self.config, &self.http).await?);
                *self.discovered.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
                discovered = fresh;
                verified(&discovered)
            }
            other => other,
        }
        .map_err(|e| UpstreamError::IdToken(e.to_string()))?;
        let mut claims = payload(&id_token.to_string())?;
        if let Some(template) = &discovered.tenant_template {
            self.check_tenant(template, &identity, &claims)?;
        }
        if let Some(endpoint) = &discovered.userinfo {
            let userinfo = self.userinfo(endpoint, tokens.access_token().secret(), &identity).await?;
            merge_missing(&mut claims, userinfo);
        }
        Ok(Verified { identity, claims })
    }

    /// Whether `iss` names this upstream: its issuer, or one of its allowed
    /// tenants' when it is multi-tenant.
    fn issues_as(&self, discovered: &Discovered, iss: &str) -> bool {
        iss == self.config.issuer
            || discovered
                .tenant_template
                .as_ref()
                .is_some_and(|t| self.config.tenants.iter().any(|tenant| t.replace(TENANT, tenant) == iss))
    }

    /// A multi-tenant upstream's ID token: its `tid` is an allowed tenant,
    /// and its `iss` the issuer template with that tenant.
    fn check_tenant(
        &self,
        template: &str,
        identity: &Identity,
        claims: &serde_json::Value,
    ) -> Result<(), UpstreamError> {
        let tid = claims.get("tid").and_then(serde_json::Value::as_str).unwrap_or_default();
        if !self.config.tenants.iter().any(|t| t == tid) {
            return Err(UpstreamError::IdToken(format!("tenant {tid:?} is not allowed")));
        }
        if identity.issuer != template.replace(TENANT, tid) {
            return Err(UpstreamError::IdToken("the issuer is not the tenant's".into()));
        }
        Ok(())
    }

    /// The userinfo claims of `identity` (OIDC Core §5.3); nothing when the
    /// upstream answers with something other than JSON (a signed or
    /// encrypted response: the ID token's claims are used alone then).
    async fn userinfo(
        &self,
        endpoint: &url::Url,
        access_token: &str,
        identity: &Identity,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, UpstreamError> {
        let failed = |e: &dyn std::fmt::Display| UpstreamError::Exchange(format!("userinfo: {e}"));
        let res = self
            .http
            .get(endpoint.clone())
            .bearer_auth(access_token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| failed(&error_chain(&e)))?;
        if !res.status().is_success() {
            return Err(failed(&res.status()));
        }
        let json = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        let body = res.bytes().await.map_err(|e| failed(&error_chain(&e)))?;
        if !json {
            return Ok(None);
        }
        let Ok(serde_json::Value::Object(claims)) = serde_json::from_slice(&body) else {
            return Err(failed(&"not a JSON object"));
        };
        // OIDC Core §5.3.2: the response is about the ID token's subject,
        // or it must not be used.
        if claims.get("sub").and_then(serde_json::Value::as_str) != Some(identity.subject.as_str()) {
            return Err(UpstreamError::IdToken("the userinfo response is about another subject".into()));
        }
        Ok(Some(claims))
    }
}

/// Whether `named` (a discovery document's issuer) is a multi-tenant
/// template for `configured`: one `{tenantid}` segment, the rest equal to
/// `configured` but for the segment there (`common`, `organizations`).
fn is_template_of(named: &str, configured: &str) -> bool {
    let (named, configured): (Vec<&str>, Vec<&str>) =
        (named.split('/').collect(), configured.split('/').collect());
    named.len() == configured.len()
        && named.iter().filter(|s| **s == TENANT).count() == 1
        && named.iter().zip(&configured).all(|(n, c)| n == c || (*n == TENANT && !c.is_empty()))
}

/// Adds to `claims` (the ID token's) those of `userinfo` it lacks: what the
/// ID token says is never replaced.
fn merge_missing(
    claims: &mut serde_json::Value,
    userinfo: Option<serde_json::Map<String, serde_json::Value>>,
) {
    let (Some(claims), Some(userinfo)) = (claims.as_object_mut(), userinfo) else { return };
    for (name, value) in userinfo {
        claims.entry(name).or_insert(value);
    }
}

/// The claims of a compact JWS already verified, as JSON.
fn payload(jwt: &str) -> Result<serde_json::Value, UpstreamError> {
    let bad = |what: &str| UpstreamError::IdToken(what.to_owned());
    let part = jwt.split('.').nth(1).ok_or_else(|| bad("not a compact JWS"))?;
    let bytes =
        data_encoding::BASE64URL_NOPAD.decode(part.as_bytes()).map_err(|_| bad("payload not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| bad("payload not JSON"))
}

/// An error with its sources, on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
