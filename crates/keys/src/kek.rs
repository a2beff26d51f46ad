//! Encryption at rest: private keys are sealed with a key-encryption key (KEK)
//! as a JWE (`dir`, `A256GCM`) whose protected header carries the `kid`, so
//! the key id is authenticated with the ciphertext and a sealed key cannot be
//! moved to another row.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwe::{Dir, JweHeader};

use crate::KeyError;

const ENC: &str = "A256GCM";

/// The 256-bit key-encryption key. `Debug` never shows it.
#[derive(Clone)]
pub struct Kek([u8; 32]);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek([redacted])")
    }
}

impl Kek {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self(portcullis_core::random::bytes::<32>())
    }

    /// Parses 32 bytes written as base64url (padding and surrounding
    /// whitespace tolerated).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let trimmed = text.trim().trim_end_matches('=');
        let bytes =
            URL_SAFE_NO_PAD.decode(trimmed).map_err(|_| KeyError::InvalidKek("not base64url".into()))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| KeyError::InvalidKek(format!("{} bytes, expected 32", b.len())))?;
        Ok(Self(key))
    }

    /// The key as base64url (for writing a generated key file).
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// A 256-bit key for another purpose, derived from this one and
    /// `label` (HMAC-SHA256): every instance sharing the KEK derives the
    /// same key (e.g. the DPoP nonce key), and it reveals nothing of the KEK.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Seals `plaintext` (a private JWK) for the key `kid`.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<String, KeyError> {
        let mut header = JweHeader::new();
        header.set_content_encryption(ENC);
        header.set_key_id(kid);
        let encrypter = Dir.encrypter_from_bytes(self.0).map_err(KeyError::crypto)?;
        josekit::jwe::serialize_compact(plaintext, &header, &encrypter).map_err(KeyError::crypto)
    }

    /// Opens what [`Kek::seal`] sealed for `kid`; `WrongKek` when this key did
    /// not seal it or it was sealed for another kid.
    pub fn open(&self, kid: &str, sealed: &str) -> Result<Vec<u8>, KeyError> {
        let wrong = || KeyError::WrongKek { kid: kid.to_owned() };
        let decrypter = Dir.decrypter_from_bytes(self.0).map_err(KeyError::crypto)?;
        let (plaintext, header) =
            josekit::jwe::deserialize_compact(sealed, &decrypter).map_err(|_| wrong())?;
        if header.key_id() != Some(kid) || header.content_encryption() != Some(ENC) {
            return Err(wrong());
        }
        Ok(plaintext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_with_the_same_key_and_kid() {
        let kek = Kek::generate();
        let sealed = kek.seal("k1", b"{\"d\":\"secret\"}").expect("seal");
        assert!(!sealed.contains("secret"));
        assert_eq!(kek.open("k1", &sealed).expect("open"), b"{\"d\":\"secret\"}");
        assert!(matches!(kek.open("k2", &sealed), Err(KeyError::WrongKek { .. })));
        assert!(matches!(Kek::generate().open("k1", &sealed), Err(KeyError::WrongKek { .. })));
    }

    #[test]
    fn derived_keys_differ_by_label_and_kek() {
        let kek = Kek::generate();
        assert_eq!(kek.derive("a"), kek.derive("a"));
        assert_ne!(kek.derive("a"), kek.derive("b"));
        assert_ne!(kek.derive("a"), Kek::generate().derive("a"));
    }

    #[test]
    fn parses_base64url_of_32_bytes_only() {
        let kek = Kek::generate();
        let text = kek.to_base64url();
        assert_eq!(text.len(), 43);
        assert_eq!(Kek::parse(&format!(" {text}=\n")).expect("parse").0, kek.0);
        assert!(Kek::parse("c2hvcnQ").is_err());
        assert!(Kek::parse("not base64!").is_err());
        assert_eq!(format!("{kek:?}"), "Kek([redacted])");
    }
}
