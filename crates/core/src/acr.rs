//! Authentication context classes: what a session's methods (RFC 8176
//! `amr`) are worth, and whether they satisfy a request's `acr_values`.
//!
//! Three levels, each satisfying those below it:
//! - [`ACR_SINGLE_FACTOR`]: a password alone;
//! - [`ACR_MFA`]: two factors (password + TOTP or a recovery code), or a
//!   passkey with user verification (possession + PIN or biometric);
//! - [`ACR_PHISHING_RESISTANT`]: a passkey.
//!
//! Unknown requested values are ignored (`acr_values` is a voluntary claim
//! request); when known values are requested and none is met, the user
//! steps up.

/// A single factor (a password).
pub const ACR_SINGLE_FACTOR: &str = "urn:portcullis:acr:sfa";
/// Multi-factor authentication.
pub const ACR_MFA: &str = "urn:portcullis:acr:mfa";
/// Phishing-resistant multi-factor authentication (a passkey).
pub const ACR_PHISHING_RESISTANT: &str = "urn:portcullis:acr:phr";

/// Every class we publish (`acr_values_supported`), weakest first.
pub const SUPPORTED: &[&str] = &[ACR_SINGLE_FACTOR, ACR_MFA, ACR_PHISHING_RESISTANT];

fn rank(acr: &str) -> Option<usize> {
    SUPPORTED.iter().position(|a| *a == acr)
}

/// The class reached by an authentication with methods `amr`.
pub fn of_amr<S: AsRef<str>>(amr: &[S]) -> &'static str {
    let has = |m: &str| amr.iter().any(|a| a.as_ref() == m);
    if has("hwk") || has("swk") {
        if has("mfa") { ACR_PHISHING_RESISTANT } else { ACR_MFA }
    } else if has("mfa") {
        ACR_MFA
    } else {
        ACR_SINGLE_FACTOR
    }
}

/// Whether a session at class `reached` satisfies `requested` (our values
/// only; unknown values are ignored). `None` when nothing known was asked.
pub fn satisfies(reached: Option<&str>, requested: &[String]) -> Option<bool> {
    let known: Vec<usize> = requested.iter().filter_map(|r| rank(r)).collect();
    if known.is_empty() {
        return None;
    }
    let have = reached.and_then(rank);
    Some(have.is_some_and(|h| known.iter().any(|k| h >= *k)))
}

/// The `acr` to put in tokens: the first requested class the session
/// meets, so an RP that asked for `mfa` sees `mfa`; else the session's own.
pub fn granted(reached: Option<&str>, requested: &[String]) -> Option<String> {
    let have = reached.and_then(rank);
    requested
        .iter()
        .find(|r| rank(r).is_some_and(|k| have.is_some_and(|h| h >= k)))
        .cloned()
        .or_else(|| reached.map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_from_methods() {
        assert_eq!(of_amr(&["pwd"]), ACR_SINGLE_FACTOR);
        assert_eq!(of_amr(&["pwd", "otp", "mfa"]), ACR_MFA);
        assert_eq!(of_amr(&["hwk", "user", "mfa"]), ACR_PHISHING_RESISTANT);
        assert_eq!(of_amr::<&str>(&[]), ACR_SINGLE_FACTOR);
    }

    #[test]
    fn requests() {
        let req = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(satisfies(Some(ACR_SINGLE_FACTOR), &req(&["urn:other"])), None);
        assert_eq!(satisfies(Some(ACR_SINGLE_FACTOR), &req(&[ACR_MFA])), Some(false));
        assert_eq!(satisfies(None, &req(&[ACR_MFA])), Some(false));
        assert_eq!(satisfies(Some(ACR_MFA), &req(&[ACR_MFA])), Some(true));
        assert_eq!(satisfies(Some(ACR_PHISHING_RESISTANT), &req(&[ACR_MFA])), Some(true));
        assert_eq!(satisfies(Some(ACR_MFA), &req(&[ACR_PHISHING_RESISTANT])), Some(false));
        assert_eq!(satisfies(Some(ACR_MFA), &req(&[ACR_PHISHING_RESISTANT, ACR_SINGLE_FACTOR])), Some(true));
        assert_eq!(granted(Some(ACR_PHISHING_RESISTANT), &req(&[ACR_MFA])).as_deref(), Some(ACR_MFA));
        assert_eq!(granted(Some(ACR_MFA), &req(&[])).as_deref(), Some(ACR_MFA));
    }
}
