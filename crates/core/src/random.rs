//! Random secrets from the operating system's CSPRNG.

/// `N` random bytes from the OS. Aborts only if the OS has no entropy source,
/// which no supported platform lacks.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

/// A 128-bit random identifier as 32 lowercase hex characters (ids of tokens, grants and sessions).
pub fn hex_id() -> String {
    hex::encode(bytes::<16>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_distinct_and_well_formed() {
        let (a, b) = (super::hex_id(), super::hex_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
