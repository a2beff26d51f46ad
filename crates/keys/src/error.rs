/// What key management can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] portcullis_store::StoreError),
    /// A stored key could not be decrypted: the key-encryption key is not the
    /// one the keys were sealed with (or the row was tampered with).
    #[error(
        "cannot decrypt signing key {kid}: the key-encryption key (keys.encryption_key) is not the one the keys were sealed with"
    )]
    WrongKek {
        /// The key that failed.
        kid: String,
    },
    /// The key-encryption key is malformed.
    #[error("invalid key-encryption key: {0}")]
    InvalidKek(String),
    /// A cryptographic operation failed (key generation, signing, parsing).
    #[error("cryptography failed: {0}")]
    Crypto(String),
    /// A stored key names an algorithm this build does not know.
    #[error("unsupported signing algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// No key with that id.
    #[error("no signing key with kid {0:?}")]
    UnknownKey(String),
    /// Nothing signs with this algorithm right now.
    #[error("no active signing key for {0}")]
    NoActiveKey(crate::Algorithm),
    /// A token failed verification (malformed, unknown key, bad signature).
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The request contradicts the key's state (e.g. revoking a revoked key).
    #[error("{0}")]
    Refused(String),
}

impl KeyError {
    pub(crate) fn crypto(e: impl std::fmt::Display) -> Self {
        Self::Crypto(e.to_string())
    }
}
