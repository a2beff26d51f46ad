//! Client credentials in an `Authorization` header with the Basic scheme
//! (RFC 7617, as OAuth uses it: RFC 6749 §2.3.1).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The (client id, secret) of an `Authorization` header value when its
/// scheme is Basic, each form-decoded (RFC 6749 §2.3.1). The scheme name
/// matches case-insensitively (RFC 9110 §11.1: `Basic`, `basic`, `BASIC`).
/// `None` for any other scheme; a malformed Basic value gives empty
/// credentials, which then fail like wrong ones (and the client is told
/// to use Basic properly).
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded =
        STANDARD.decode(encoded.trim()).ok().and_then(|bytes| String::from_utf8(bytes).ok()).and_then(
            |text| {
                let (id, secret) = text.split_once(':')?;
                Some((form_decode(id)?, form_decode(secret)?))
            },
        );
    Some(decoded.unwrap_or_default())
}

/// Percent-decodes one `application/x-www-form-urlencoded` component.
fn form_decode(s: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(scheme: &str, id: &str, secret: &str) -> String {
        format!("{scheme} {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn the_basic_scheme_matches_case_insensitively() {
        for scheme in ["Basic", "basic", "BASIC", "bAsIc"] {
            assert_eq!(
                basic_credentials(&header(scheme, "app", "s3cret")),
                Some(("app".to_owned(), "s3cret".to_owned())),
                "{scheme}"
            );
        }
    }

    #[test]
    fn credentials_are_form_decoded() {
        assert_eq!(
            basic_credentials(&header("Basic", "my%20app", "a%2Bb+c%3A")),
            Some(("my app".to_owned(), "a+b c:".to_owned()))
        );
    }

    #[test]
    fn other_schemes_are_not_basic_and_malformed_basic_is_empty() {
        assert_eq!(basic_credentials(&header("Bearer", "app", "s3cret")), None);
        assert_eq!(basic_credentials(&header("Basicx", "app", "s3cret")), None);
        assert_eq!(basic_credentials("Basic"), None);
        assert_eq!(basic_credentials("basic !!!"), Some(Default::default()));
        assert_eq!(
            basic_credentials(&format!("Basic {}", STANDARD.encode("no-colon"))),
            Some(Default::default())
        );
    }
}
