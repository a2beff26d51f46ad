//! The protocol error codes (RFC 6749 §4.1.2.1 and §5.2, OIDC Core §3.1.2.6,
//! RFC 7009, RFC 7662, RFC 6750 §3.1, RFC 7591 for `invalid_redirect_uri`).

/// An OAuth/OIDC error code. Closed: the web layer maps each to HTTP in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The request is missing a parameter, repeats one or is malformed.
    #[error("invalid_request")]
    InvalidRequest,
    /// Client authentication failed or the client is unknown.
    #[error("invalid_client")]
    InvalidClient,
    /// The grant (code, refresh token) is invalid, expired, revoked or not this client's.
    #[error("invalid_grant")]
    InvalidGrant,
    /// The client may not use this grant type or response type.
    #[error("unauthorized_client")]
    UnauthorizedClient,
    /// The grant type is not supported by this server.
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// The requested scope is unknown or exceeds what the client may ask for.
    #[error("invalid_scope")]
    InvalidScope,
    /// The requested resource is invalid, unknown or not allowed (RFC 8707 §2).
    #[error("invalid_target")]
    InvalidTarget,
    /// The user or the server refused the request.
    #[error("access_denied")]
    AccessDenied,
    /// Only `response_type=code` is supported.
    #[error("unsupported_response_type")]
    UnsupportedResponseType,
    /// An unexpected condition; exposes nothing internal.
    #[error("server_error")]
    ServerError,
    /// The server is overloaded or in maintenance.
    #[error("temporarily_unavailable")]
    TemporarilyUnavailable,
    /// `prompt=none` but the user is not signed in (OIDC Core §3.1.2.6).
    #[error("login_required")]
    LoginRequired,
    /// `prompt=none` but consent is needed.
    #[error("consent_required")]
    ConsentRequired,
    /// `prompt=none` but some other interaction is needed.
    #[error("interaction_required")]
    InteractionRequired,
    /// `prompt=none` but the user must choose an account.
    #[error("account_selection_required")]
    AccountSelectionRequired,
    /// The `request` (or `claims`) parameter is not supported.
    #[error("request_not_supported")]
    RequestNotSupported,
    /// The `request_uri` parameter is not supported.
    #[error("request_uri_not_supported")]
    RequestUriNotSupported,
    /// The redirect URI is missing, malformed or not registered.
    #[error("invalid_redirect_uri")]
    InvalidRedirectUri,
    /// The bearer token is invalid, expired or revoked (RFC 6750 §3.1).
    #[error("invalid_token")]
    InvalidToken,
    /// Revocation of this token type is not supported (RFC 7009 §2.2.1).
    #[error("unsupported_token_type")]
    UnsupportedTokenType,
    /// The token lacks the scope the resource needs (RFC 6750 §3.1).
    #[error("insufficient_scope")]
    InsufficientScope,
    /// The DPoP proof is missing where required, malformed or wrong (RFC 9449 §5, §7.1).
    #[error("invalid_dpop_proof")]
    InvalidDpopProof,
    /// The DPoP proof lacks the server's current nonce (RFC 9449 §8, §9).
    #[error("use_dpop_nonce")]
    UseDpopNonce,
    /// The user has not yet approved or denied the device (RFC 8628 §3.5).
    #[error("authorization_pending")]
    AuthorizationPending,
    /// The device polls faster than its interval, which grows by 5 s (RFC 8628 §3.5).
    #[error("slow_down")]
    SlowDown,
    /// The device code expired before the user decided (RFC 8628 §3.5).
    #[error("expired_token")]
    ExpiredToken,
}

impl OAuthError {
    /// The wire code, e.g. `invalid_request`.
    pub fn code(self) -> &'static str {
        match self {
            OAuthError::InvalidRequest => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant => "invalid_grant",
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::InvalidTarget => "invalid_target",
            OAuthError::AccessDenied => "access_denied",
            OAuthError::UnsupportedResponseType => "unsupported_response_type",
            OAuthError::ServerError => "server_error",
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthError::LoginRequired => "login_required",
            OAuthError::ConsentRequired => "consent_required",
            OAuthError::InteractionRequired => "interaction_required",
            OAuthError::AccountSelectionRequired => "account_selection_required",
            OAuthError::RequestNotSupported => "request_not_supported",
            OAuthError::RequestUriNotSupported => "request_uri_not_supported",
            OAuthError::InvalidRedirectUri => "invalid_redirect_uri",
            OAuthError::InvalidToken => "invalid_token",
            OAuthError::UnsupportedTokenType => "unsupported_token_type",
            OAuthError::InsufficientScope => "insufficient_scope",
            OAuthError::InvalidDpopProof => "invalid_dpop_proof",
            OAuthError::UseDpopNonce => "use_dpop_nonce",
            OAuthError::AuthorizationPending => "authorization_pending",
            OAuthError::SlowDown => "slow_down",
            OAuthError::ExpiredToken => "expired_token",
        }
    }

    /// The HTTP status when the error is returned directly (token, userinfo,
    /// introspection, revocation, error page); 400 unless the RFC says otherwise.
    pub fn status(self) -> u16 {
        match self {
            OAuthError::InvalidClient | OAuthError::InvalidToken => 401,
            OAuthError::InsufficientScope => 403,
            OAuthError::ServerError => 500,
            OAuthError::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }

    /// A fixed, human-readable description; never carries internal detail.
    pub fn description(self) -> &'static str {
        match self {
            OAuthError::InvalidRequest => "The request is missing a parameter or is malformed.",
            OAuthError::InvalidClient => "Client authentication failed.",
            OAuthError::InvalidGrant => "The grant is invalid, expired or revoked.",
            OAuthError::UnauthorizedClient => "The client is not allowed to use this grant.",
            OAuthError::UnsupportedGrantType => "The grant type is not supported.",
            OAuthError::InvalidScope => "The requested scope is invalid or not allowed.",
            OAuthError::InvalidTarget => "The requested resource is invalid, unknown or not allowed.",
            OAuthError::AccessDenied => "The request was denied.",
            OAuthError::UnsupportedResponseType => "Only response_type=code is supported.",
            OAuthError::ServerError => "The server could not complete the request.",
            OAuthError::TemporarilyUnavailable => "The server is temporarily unavailable.",
            OAuthError::LoginRequired => "The user must sign in.",
            OAuthError::ConsentRequired => "The user must consent.",
            OAuthError::InteractionRequired => "The user must interact with the server.",
            OAuthError::AccountSelectionRequired => "The user must select an account.",
            OAuthError::RequestNotSupported => "The request and claims parameters are not supported.",
            OAuthError::RequestUriNotSupported => "The request_uri parameter is not supported.",
            OAuthError::InvalidRedirectUri => "The redirect URI is missing or not registered.",
            OAuthError::InvalidToken => "The access token is invalid, expired or revoked.",
            OAuthError::UnsupportedTokenType => "This token type cannot be revoked.",
            OAuthError::InsufficientScope => "The access token lacks the required scope.",
            OAuthError::InvalidDpopProof => "The DPoP proof is missing, malformed or invalid.",
            OAuthError::UseDpopNonce => "The DPoP proof must carry the server's nonce.",
            OAuthError::AuthorizationPending => "The user has not yet approved the device.",
            OAuthError::SlowDown => "The device polls too often; wait longer between requests.",
            OAuthError::ExpiredToken => "The device code expired.",
        }
    }

    /// Whether this code may be sent to a redirect URI at all. Errors about the
    /// client or the redirect URI itself never are: they are shown on a page.
    /// (Even a redirectable code is only redirected once the client and the
    /// redirect URI were verified; see `authorize::AuthorizeError`.)
    pub fn may_redirect(self) -> bool {
        !matches!(self, OAuthError::InvalidClient | OAuthError::InvalidRedirectUri)
    }
}

#[cfg(test)]
mod tests {
    use super::OAuthError::{self, *};

    const ALL: [OAuthError; 26] = [
        InvalidRequest,
        InvalidClient,
        InvalidGrant,
        UnauthorizedClient,
        UnsupportedGrantType,
        InvalidScope,
        InvalidTarget,
        AccessDenied,
        UnsupportedResponseType,
        ServerError,
        TemporarilyUnavailable,
        LoginRequired,
        ConsentRequired,
        InteractionRequired,
        AccountSelectionRequired,
        RequestNotSupported,
        RequestUriNotSupported,
        InvalidRedirectUri,
        InvalidToken,
        UnsupportedTokenType,
        InsufficientScope,
        InvalidDpopProof,
        UseDpopNonce,
        AuthorizationPending,
        SlowDown,
        ExpiredToken,
    ];

    #[test]
    fn codes_are_the_rfc_snake_case_names_and_display_matches() {
        for e in ALL {
            assert_eq!(e.to_string(), e.code());
            assert!(e.code().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}", e.code());
        }
        assert_eq!(UnsupportedResponseType.code(), "unsupported_response_type");
        assert_eq!(RequestUriNotSupported.code(), "request_uri_not_supported");
    }

    #[test]
    fn statuses_follow_the_rfcs() {
        assert_eq!(InvalidClient.status(), 401);
        assert_eq!(InvalidToken.status(), 401);
        assert_eq!(ServerError.status(), 500);
        assert_eq!(TemporarilyUnavailable.status(), 503);
        assert_eq!(InvalidGrant.status(), 400);
        assert_eq!(InvalidRequest.status(), 400);
        // RFC 8628 §3.5: the polling answers are error responses of RFC 6749 §5.2.
        assert_eq!(AuthorizationPending.status(), 400);
        assert_eq!(SlowDown.status(), 400);
        assert_eq!(ExpiredToken.status(), 400);
    }

    #[test]
    fn server_error_exposes_nothing_internal() {
        assert_eq!(ServerError.description(), "The server could not complete the request.");
        for e in ALL {
            assert!(!e.description().is_empty());
        }
    }

    #[test]
    fn client_and_redirect_uri_errors_never_redirect() {
        assert!(!InvalidClient.may_redirect());
        assert!(!InvalidRedirectUri.may_redirect());
        assert!(LoginRequired.may_redirect());
        assert!(UnsupportedResponseType.may_redirect());
        assert!(InvalidScope.may_redirect());
    }
}
