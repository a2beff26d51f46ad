//! Synchronizer CSRF tokens: each session row holds one; every state-changing
//! form carries it; a missing or different token is refused (the
//! [`crate::extract::CsrfForm`] extractor for forms).

use portcullis_store::Session;
use subtle::ConstantTimeEq;

/// True when `submitted` is the session's token (constant-time).
pub(crate) fn matches(session: Option<&Session>, submitted: Option<&str>) -> bool {
    match (session, submitted) {
        (Some(session), Some(submitted)) if !submitted.is_empty() => {
            session.csrf_token.as_bytes().ct_eq(submitted.as_bytes()).into()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn session(token: &str) -> Session {
        let at = OffsetDateTime::UNIX_EPOCH;
        Session {
            id_hash: "h".into(),
            sid: "s".into(),
            csrf_token: token.into(),
            user_id: None,
            auth_time: None,
            amr: vec![],
            acr: None,
            upstream_id: None,
            ip: None,
            user_agent: None,
            created_at: at,
            last_seen_at: at,
        }
    }

    #[test]
    fn only_the_sessions_own_token_matches() {
        let token = portcullis_authn::sessions::new_secret();
        assert_eq!(token.len(), 64);
        assert_ne!(token, portcullis_authn::sessions::new_secret());
        let s = session(&token);
        assert!(matches(Some(&s), Some(&token)));
        assert!(!matches(Some(&s), Some(&token[..63])));
        assert!(!matches(Some(&s), Some("")));
        assert!(!matches(Some(&s), None));
        assert!(!matches(None, Some(&token)));
        assert!(!matches(Some(&session("")), Some("")), "an empty token never matches");
    }
}
