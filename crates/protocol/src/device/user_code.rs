//! The user code (RFC 8628 §6.1): what a person reads on a device and
//! types on `/device`. Eight characters of an alphabet with no vowels (no
//! words) and nothing that reads as another character (no `0`/`O`,
//! `1`/`I`/`L`, `5`/`S`…): `BCDFGHJKLMNPQRSTVWXZ`, 20⁸ ≈ 2³⁴·⁶ codes,
//! shown as `XXXX-XXXX`. Input is normalised: case, dashes and spaces do
//! not matter.

use std::fmt;

/// The characters of a user code (RFC 8628 §6.1's example alphabet).
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters in a user code.
pub const LENGTH: usize = 8;

/// A well-formed user code, normalised (upper case, no separator).
#[derive(Clone, PartialEq, Eq)]
pub struct UserCode([u8; LENGTH]);

impl UserCode {
    /// A new code from random bytes (the caller draws them: randomness is
    /// an input). Each byte below 240 (a multiple of 20) picks a character
    /// without bias; others are skipped. `None` in the unlikely case that
    /// fewer than 8 bytes were usable (draw again).
    pub fn from_random(random: &[u8]) -> Option<Self> {
        let limit = 256 - 256 % ALPHABET.len();
        let mut chars = random.iter().filter(|b| usize::from(**b) < limit).map(|b| {
            let index = usize::from(*b) % ALPHABET.len();
            ALPHABET[index]
        });
        let mut code = [0u8; LENGTH];
        for slot in &mut code {
            *slot = chars.next()?;
        }
        Some(Self(code))
    }

    /// A new random code.
    pub fn generate() -> Self {
        loop {
            if let Some(code) = Self::from_random(&portcullis_core::random::bytes::<32>()) {
                return code;
            }
        }
    }

    /// Parses what a person typed: letters in either case, with any dashes
    /// and spaces; exactly 8 characters of the alphabet remain, or `None`.
    pub fn parse(typed: &str) -> Option<Self> {
        let mut code = [0u8; LENGTH];
        let mut len = 0;
        for b in typed.bytes().filter(|b| !matches!(b, b'-' | b' ' | b'\t')) {
            let upper = b.to_ascii_uppercase();
            if len == LENGTH || !ALPHABET.contains(&upper) {
                return None;
            }
            code[len] = upper;
            len += 1;
        }
        (len == LENGTH).then_some(Self(code))
    }

    /// The normalised form (8 characters, no dash): what is hashed and stored.
    pub fn as_str(&self) -> &str {
        // Always ASCII from the alphabet.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The form shown to people: `XXXX-XXXX`.
    pub fn display(&self) -> String {
        let s = self.as_str();
        format!("{}-{}", &s[..4], &s[4..])
    }
}

impl fmt::Debug for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Short-lived and guessable only by trying: not logged in full.
        f.write_str("UserCode([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_has_no_vowels_digits_or_look_alikes() {
        for b in ALPHABET {
            assert!(b.is_ascii_uppercase());
            assert!(!b"AEIOUY".contains(b), "{}", *b as char);
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), 20);
    }

    #[test]
    fn generated_codes_parse_back_and_display_with_a_dash() {
        for _ in 0..100 {
            let code = UserCode::generate();
            assert_eq!(code.as_str().len(), LENGTH);
            let shown = code.display();
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
            assert_eq!(UserCode::parse(&shown), Some(code.clone()));
        }
    }

    #[test]
    fn input_is_normalised_for_case_dashes_and_spaces() {
        let code = UserCode::parse("BCDF-GHJK").expect("valid");
        assert_eq!(code.as_str(), "BCDFGHJK");
        for typed in ["bcdfghjk", "bcdf-ghjk", " BCDF GHJK ", "bc-df-gh-jk", "Bcdf\tGhjk"] {
            assert_eq!(UserCode::parse(typed), Some(code.clone()), "{typed:?}");
        }
    }

    #[test]
    fn malformed_input_is_no_code() {
        for typed in ["", "BCDF-GHJ", "BCDF-GHJKL", "BCDF-GHJA", "0CDF-GHJK", "BCDF_GHJK", "BCDFGHJ\u{e9}"] {
            assert_eq!(UserCode::parse(typed), None, "{typed:?}");
        }
    }

    #[test]
    fn random_bytes_map_without_bias_and_skip_the_tail() {
        // 240..=255 would favour the first 16 characters: skipped.
        let code = UserCode::from_random(&[240, 255, 0, 1, 2, 3, 4, 5, 6, 19]).expect("8 usable bytes");
        assert_eq!(code.as_str(), "BCDFGHJZ");
        assert_eq!(UserCode::from_random(&[250; 32]), None);
        assert_eq!(
            UserCode::from_random(&[20, 39, 200, 239, 0, 0, 0, 0]).expect("usable").as_str(),
            "BZBZBBBB"
        );
    }

    #[test]
    fn debug_does_not_show_the_code() {
        let code = UserCode::parse("BCDFGHJK").expect("valid");
        assert!(!format!("{code:?}").contains("BCDF"));
    }
}
