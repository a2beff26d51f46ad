//! The client (relying party) model and its secret.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use time::OffsetDateTime;

use crate::{ClientId, Origin, RedirectUri, ResourceId, ScopeSet};

/// A value that could not be parsed into a protocol type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// Not a valid client id.
    #[error("invalid client id")]
    ClientId,
    /// Not a valid redirect URI.
    #[error("invalid redirect URI")]
    RedirectUri,
    /// Not an origin (`scheme://host[:port]`: https, or http on a loopback host).
    #[error("invalid origin (scheme://host[:port] with no path; https, or http on a loopback host): {0}")]
    Origin(String),
    /// Not a resource indicator (RFC 8707 §2: an absolute URI without a
    /// fragment), or one that is not configured.
    #[error("invalid resource (an absolute URI without a fragment, listed in [[resources]]): {0}")]
    Resource(String),
    /// Not a valid scope token.
    #[error("invalid scope")]
    Scope,
    /// Not a valid S256 code challenge.
    #[error("invalid code challenge")]
    CodeChallenge,
    /// Not a valid code verifier.
    #[error("invalid code verifier")]
    CodeVerifier,
    /// Not a known grant type.
    #[error("unknown grant type: {0}")]
    GrantType(String),
    /// Not a known token endpoint authentication method.
    #[error("unknown token endpoint auth method: {0}")]
    AuthMethod(String),
    /// Not a supported ID token signing algorithm.
    #[error("unsupported id token algorithm: {0}")]
    IdTokenAlg(String),
    /// Not a 64-digit hex SHA-256.
    #[error("client secret hash must be 64 hex digits")]
    SecretHash,
    /// The fields contradict each other.
    #[error("inconsistent client: {0}")]
    Inconsistent(&'static str),
}

/// The SHA-256 of a client secret. Secrets are 256-bit random, so a fast hash
/// is enough; argon2 would cap the token endpoint (see docs/architecture.md).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecretHash([u8; 32]);

impl ClientSecretHash {
    /// Hashes a secret.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Parses the 64-hex-digit form used in configuration and the store.
    pub fn from_hex(s: &str) -> Result<Self, ModelError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| ModelError::SecretHash)?;
        Ok(Self(out))
    }

    /// The lowercase hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A new secret from 32 random bytes (the caller draws them: randomness is
    /// an input): the base64url text to hand out once, and its hash to store.
    pub fn new_secret(random: [u8; 32]) -> (String, Self) {
        use base64::Engine;
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random);
        let hash = Self::of(&secret);
        (secret, hash)
    }

    /// Whether `presented` hashes to this value, compared in constant time.
    pub fn verify(&self, presented: &str) -> bool {
        Self::of(presented).0.ct_eq(&self.0).into()
    }

    /// Whether `self` and `other` are the same hash (constant time).
    fn ct_matches(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl std::fmt::Debug for ClientSecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecretHash([redacted])")
    }
}

/// The secret a rotation replaced, still accepted until `until` (the
/// overlap that lets a client's deployment switch to the new one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    /// Its SHA-256.
    pub hash: ClientSecretHash,
    /// Accepted before this instant, refused from it on.
    pub until: OffsetDateTime,
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenEndpointAuthMethod {
    /// HTTP Basic with client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// Client id and secret in the form body.
    ClientSecretPost,
    /// A JWT signed with the client's key (RFC 7523).
    PrivateKeyJwt,
    /// No authentication: a public client, bound by PKCE alone.
    None,
}

impl TokenEndpointAuthMethod {
    /// The registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }

    /// Parses a registered name.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        match s {
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            "private_key_jwt" => Ok(Self::PrivateKeyJwt),
            "none" => Ok(Self::None),
            other => Err(ModelError::AuthMethod(other.to_owned())),
        }
    }
}

/// A grant type the client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantType {
    /// `authorization_code`.
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials` (confidential clients only).
    ClientCredentials,
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628): a device
    /// without a browser (a CLI, a TV) has its user approve on `/device`.
    DeviceCode,
}

impl GrantType {
    /// The registered name of the device authorization grant (RFC 8628 §3.4).
    pub const DEVICE_CODE: &'static str = "urn:ietf:params:oauth:grant-type:device_code";

    /// The registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::DeviceCode => Self::DEVICE_CODE,
        }
    }

    /// Parses a registered name.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        match s {
            "authorization_code" => Ok(Self::AuthorizationCode),
            "refresh_token" => Ok(Self::RefreshToken),
            "client_credentials" => Ok(Self::ClientCredentials),
            Self::DEVICE_CODE => Ok(Self::DeviceCode),
            other => Err(ModelError::GrantType(other.to_owned())),
        }
    }
}

/// The algorithm the client's ID tokens are signed with (RS256 by default, OIDC Registration §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IdTokenAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[default]
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl IdTokenAlg {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The signing algorithm of the key set.
    pub fn algorithm(self) -> portcullis_keys::Algorithm {
        match self {
            Self::Rs256 => portcullis_keys::Algorithm::Rs256,
            Self::Es256 => portcullis_keys::Algorithm::Es256,
            Self::EdDsa => portcullis_keys::Algorithm::EdDsa,
        }
    }

    /// Parses a JOSE name.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        match s {
            "RS256" => Ok(Self::Rs256),
            "ES256" => Ok(Self::Es256),
            "EdDSA" => Ok(Self::EdDsa),
            other => Err(ModelError::IdTokenAlg(other.to_owned())),
        }
    }
}

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The public identifier.
    pub client_id: ClientId,
    /// A name to show on the consent page.
    pub name: String,
    /// SHA-256 of the secret; `None` for public clients and `private_key_jwt`.
    pub client_secret_sha256: Option<ClientSecretHash>,
    /// Registered redirect URIs (matched exactly, loopback any port for public clients).
    pub redirect_uris: Vec<RedirectUri>,
    /// Registered post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Allowed grant types.
    pub grant_types: Vec<GrantType>,
    /// How it authenticates at the token endpoint.
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// The scopes it may ask for.
    pub scopes: ScopeSet,
    /// Whether users must consent (false for first-party clients).
    pub require_consent: bool,
    /// Where Back-Channel Logout tokens are posted, if anywhere.
    pub backchannel_logout_uri: Option<url::Url>,
    /// ID token signing algorithm.
    pub id_token_signed_response_alg: IdTokenAlg,
    /// The client's public keys (JWKS JSON), for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Access token lifetime in seconds.
    pub access_token_ttl_secs: u32,
    /// Declared in configuration (synced at start) rather than created at run time.
    pub from_config: bool,
    /// The secret the last rotation replaced, while it overlaps with the new one.
    pub previous_secret: Option<PreviousSecret>,
    /// A disabled client is, to the protocol, no client: it cannot
    /// authenticate, start an authorization request or be named at logout.
    pub disabled: bool,
    /// May use the admin API (the `admin` scope through `client_credentials`);
    /// stored and shown, not yet granted anything.
    pub admin_api: bool,
    /// Web origins whose pages may call the token, UserInfo and revocation
    /// endpoints, besides those a public client's redirect URIs imply
    /// ([`Client::cors_origins`]).
    pub allowed_origins: Vec<Origin>,
    /// Every access token is DPoP-bound (RFC 9449 §5.2): token requests
    /// without a DPoP proof are refused.
    pub dpop_bound_access_tokens: bool,
    /// Must push its authorization requests (RFC 9126 §5): `/authorize`
    /// without a pushed `request_uri` is refused.
    pub require_pushed_authorization_requests: bool,
    /// The resource servers (RFC 8707) it may ask access tokens for.
    pub resources: Vec<ResourceId>,
}

impl Client {
    /// The default access token lifetime: 5 minutes.
    pub const DEFAULT_ACCESS_TOKEN_TTL_SECS: u32 = 300;

    /// A public client has no credentials (`token_endpoint_auth_method = none`).
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == TokenEndpointAuthMethod::None
    }

    /// Whether the client may use `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Checks that the fields agree: secret methods need a secret, public
    /// clients have none and may not use `client_credentials` or the admin
    /// API, a client has a grant type, code clients have a redirect URI,
    /// access tokens live at least a second. Every way of registering a client runs it (configuration,
    /// command line, console), and so does reading one from the store.
    pub fn validate(&self) -> Result<(), ModelError> {
        let needs_secret = matches!(
            self.token_endpoint_auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
        );
        if needs_secret && self.client_secret_sha256.is_none() {
            return Err(ModelError::Inconsistent("a client_secret_* method needs a secret"));
        }
        if self.is_public() && self.client_secret_sha256.is_some() {
            return Err(ModelError::Inconsistent("a public client has no secret"));
        }
        if self.is_public() && self.allows_grant(GrantType::ClientCredentials) {
            return Err(ModelError::Inconsistent("client_credentials needs a confidential client"));
        }
        if self.grant_types.is_empty() {
            return Err(ModelError::Inconsistent("a client needs at least one grant type"));
        }
        if self.allows_grant(GrantType::AuthorizationCode) && self.redirect_uris.is_empty() {
            return Err(ModelError::Inconsistent("authorization_code needs a redirect URI"));
        }
        if self.previous_secret.is_some() && self.client_secret_sha256.is_none() {
            return Err(ModelError::Inconsistent("a previous secret needs a current one"));
        }
        if self.admin_api && self.is_public() {
            return Err(ModelError::Inconsistent("admin_api needs a confidential client"));
        }
        if self.access_token_ttl_secs == 0 {
            return Err(ModelError::Inconsistent("access_token_ttl must be at least 1 second"));
        }
        if self.token_endpoint_auth_method == TokenEndpointAuthMethod::PrivateKeyJwt {
            let jwks = self.jwks.as_deref().ok_or(ModelError::Inconsistent("private_key_jwt needs jwks"))?;
            portcullis_keys::ClientKeys::parse(jwks)
                .map_err(|_| ModelError::Inconsistent("jwks has no usable signing key"))?;
        }
        Ok(())
    }

    /// Whether access tokens living `access_token_ttl_secs` fit within
    /// `max_token_lifetime_secs` (`keys.max_token_lifetime_secs`: a
    /// signing key stays published that long after it retires, so no token
    /// may live longer).
    pub fn fits_token_lifetime(&self, max_token_lifetime_secs: u64) -> Result<(), ModelError> {
        if u64::from(self.access_token_ttl_secs) > max_token_lifetime_secs {
            return Err(ModelError::Inconsistent(
                "access_token_ttl exceeds the longest token lifetime (keys.max_token_lifetime_secs)",
            ));
        }
        Ok(())
    }

    /// Verifies a presented secret at `now`: the current one, or the one
    /// the last rotation replaced while its overlap lasts. Both are
    /// compared in constant time whichever matches; false for clients
    /// without a secret.
    pub fn verify_secret(&self, presented: &str, now: OffsetDateTime) -> bool {
        let Some(current) = &self.client_secret_sha256 else { return false };
        let presented = ClientSecretHash::of(presented);
        let mut matched = presented.ct_matches(current);
        if let Some(previous) = &self.previous_secret {
            let live = Choice::from(u8::from(now < previous.until));
            matched |= presented.ct_matches(&previous.hash) & live;
        }
        matched.into()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn confidential() -> Client {
        Client {
            client_id: ClientId::parse("rp").expect("valid"),
            name: "RP".into(),
            client_secret_sha256: Some(ClientSecretHash::of("s3cret")),
            redirect_uris: vec![RedirectUri::parse("https://rp.example/cb").expect("valid")],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            scopes: ScopeSet::parse("openid profile email offline_access").expect("valid"),
            require_consent: true,
            backchannel_logout_uri: None,
            id_token_signed_response_alg: IdTokenAlg::Rs256,
            jwks: None,
            access_token_ttl_secs: Client::DEFAULT_ACCESS_TOKEN_TTL_SECS,
            from_config: false,
            previous_secret: None,
            disabled: false,
            admin_api: false,
            allowed_origins: vec![],
            dpop_bound_access_tokens: false,
            require_pushed_authorization_requests: false,
            resources: vec![],
        }
    }

    pub(crate) fn public() -> Client {
        Client {
            client_id: ClientId::parse("native").expect("valid"),
            client_secret_sha256: None,
            redirect_uris: vec![RedirectUri::parse("http://127.0.0.1/cb").expect("valid")],
            token_endpoint_auth_method: TokenEndpointAuthMethod::None,
            ..confidential()
        }
    }

    const NOW: OffsetDateTime = time::macros::datetime!(2026-01-01 00:00 UTC);

    #[test]
    fn secret_verification_is_sha256_based() {
        let client = confidential();
        assert!(client.verify_secret("s3cret", NOW));
        assert!(!client.verify_secret("s3cre", NOW));
        assert!(!client.verify_secret("", NOW));
        assert!(!public().verify_secret("", NOW));
    }

    #[test]
    fn a_previous_secret_is_accepted_until_its_overlap_ends() {
        let until = NOW + time::Duration::seconds(60);
        let client = Client {
            client_secret_sha256: Some(ClientSecretHash::of("new")),
            previous_secret: Some(PreviousSecret { hash: ClientSecretHash::of("old"), until }),
            ..confidential()
        };
        assert!(client.verify_secret("new", NOW));
        assert!(client.verify_secret("old", NOW));
        assert!(client.verify_secret("old", until - time::Duration::seconds(1)));
        assert!(!client.verify_secret("old", until), "the overlap ends at `until`");
        assert!(client.verify_secret("new", until));
        assert!(!client.verify_secret("older", NOW));
    }

    #[test]
    fn secret_hash_round_trips_through_hex_and_debug_redacts() {
        let hash = ClientSecretHash::of("s3cret");
        assert_eq!(hash.to_hex().len(), 64);
        assert_eq!(ClientSecretHash::from_hex(&hash.to_hex()).expect("valid hex"), hash);
        assert!(ClientSecretHash::from_hex("abc").is_err());
        assert!(ClientSecretHash::from_hex(&"zz".repeat(32)).is_err());
        assert!(!format!("{hash:?}").contains(&hash.to_hex()));
    }

    #[test]
    fn new_secrets_are_256_bit_base64url_and_verify() {
        let (secret, hash) = ClientSecretHash::new_secret([7; 32]);
        assert_eq!(secret.len(), 43);
        assert!(hash.verify(&secret));
        let (other, _) = ClientSecretHash::new_secret([8; 32]);
        assert_ne!(secret, other);
    }

    #[test]
    fn enums_round_trip_their_registered_names() {
        for m in ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"] {
            assert_eq!(TokenEndpointAuthMethod::parse(m).expect("known").as_str(), m);
        }
        for g in ["authorization_code", "refresh_token", "client_credentials", GrantType::DEVICE_CODE] {
            assert_eq!(GrantType::parse(g).expect("known").as_str(), g);
        }
        for a in ["RS256", "ES256", "EdDSA"] {
            assert_eq!(IdTokenAlg::parse(a).expect("known").as_str(), a);
        }
        assert!(GrantType::parse("implicit").is_err());
        assert!(GrantType::parse("password").is_err());
        assert!(TokenEndpointAuthMethod::parse("client_secret_jwt").is_err());
        assert!(IdTokenAlg::parse("none").is_err());
        assert!(IdTokenAlg::parse("HS256").is_err());
    }

    #[test]
    fn validate_rejects_inconsistent_clients() {
        assert!(confidential().validate().is_ok());
        assert!(public().validate().is_ok());
        let no_secret = Client { client_secret_sha256: None, ..confidential() };
        assert!(no_secret.validate().is_err());
        let public_with_secret = Client { client_secret_sha256: Some(ClientSecretHash::of("x")), ..public() };
        assert!(public_with_secret.validate().is_err());
        let public_cc = Client { grant_types: vec![GrantType::ClientCredentials], ..public() };
        assert!(public_cc.validate().is_err());
        let code_without_uri = Client { redirect_uris: vec![], ..confidential() };
        assert!(code_without_uri.validate().is_err());
        let cc_only = Client {
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            ..confidential()
        };
        assert!(cc_only.validate().is_ok());
        let device_only =
            Client { redirect_uris: vec![], grant_types: vec![GrantType::DeviceCode], ..public() };
        assert!(device_only.validate().is_ok(), "a device client needs no redirect URI");
        let previous = PreviousSecret { hash: ClientSecretHash::of("old"), until: NOW };
        let previous_without_current = Client { previous_secret: Some(previous), ..public() };
        assert!(previous_without_current.validate().is_err());
        assert!(Client { admin_api: true, ..public() }.validate().is_err());
        assert!(Client { admin_api: true, ..confidential() }.validate().is_ok());
        assert!(Client { access_token_ttl_secs: 0, ..confidential() }.validate().is_err());
        assert!(Client { grant_types: vec![], ..confidential() }.validate().is_err());
    }

    #[test]
    fn access_tokens_may_not_outlive_the_keys() {
        let client = Client { access_token_ttl_secs: 600, ..confidential() };
        assert!(client.fits_token_lifetime(600).is_ok());
        assert!(client.fits_token_lifetime(599).is_err());
    }

    #[test]
    fn public_means_auth_method_none() {
        assert!(public().is_public());
        assert!(!confidential().is_public());
    }
}
