//! The blocklist of common passwords (NIST SP 800-63B §3.1.1.2: "passwords
//! obtained from previous breach corpuses", "commonly-used passwords";
//! OWASP ASVS 2.1.7): 38,452 entries, the top 100,000 of a public breach
//! corpus lower-cased, trimmed, deduplicated and cut to what the policy could
//! accept (at least [`LEAST_MIN_LENGTH`] characters). Where it comes from and
//! how it was made: `data/README.md`.
//!
//! The list is compiled in gzip-compressed (115 KiB) and decompressed into a
//! hash set at its first use (a few milliseconds, once per process); a check
//! is then one lower-casing and one hash lookup, O(1) in the list's size.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The least `PasswordPolicy::min_length` a configuration may set: shorter
/// entries of the corpus were dropped, since the length check refuses them first.
pub const LEAST_MIN_LENGTH: usize = 8;

/// One entry a line, sorted, gzip.
static COMPRESSED: &[u8] = include_bytes!("../data/common-passwords.txt.gz");

/// Whether `password`, trimmed and lower-cased, is on the list.
pub(crate) fn is_common(password: &str) -> bool {
    list().contains(password.trim().to_lowercase().as_str())
}

/// The list, loaded at the first call.
pub(crate) fn list() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(load)
}

/// Decompresses the list. The text lives as long as the process (as the set
/// does), so the set borrows from it rather than copying 38k strings. A
/// failure can only be a damaged build (a test loads the list): it is
/// logged and the check then refuses nothing.
fn load() -> HashSet<&'static str> {
    use std::io::Read;
    let mut text = String::with_capacity(COMPRESSED.len() * 4);
    if let Err(e) = flate2::read::GzDecoder::new(COMPRESSED).read_to_string(&mut text) {
        tracing::error!(error = %e, "the built-in list of common passwords cannot be read");
        return HashSet::new();
    }
    let text: &'static str = text.leak();
    let mut set = HashSet::with_capacity(text.bytes().filter(|b| *b == b'\n').count());
    set.extend(text.lines().filter(|line| !line.is_empty()));
    set
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_list_is_large_and_holds_only_what_the_policy_could_accept() {
        let list = super::list();
        assert!(list.len() >= 10_000, "{} entries", list.len());
        assert!(list.contains("password") && list.contains("12345678"));
        assert!(list.iter().all(|p| p.chars().count() >= super::LEAST_MIN_LENGTH));
        assert!(list.iter().all(|p| p.trim() == *p && p.to_lowercase() == *p));
    }

    /// The one-off load and the per-check cost, printed (not asserted):
    /// `cargo test -p portcullis-authn --release -- --nocapture blocklist_cost`.
    #[test]
    #[allow(clippy::print_stdout)]
    fn blocklist_cost() {
        let started = std::time::Instant::now();
        let entries = super::load().len();
        let load = started.elapsed();
        let _ = super::list();
        let candidates = ["correct horse battery staple", "Password1", "a much longer passphrase of sorts"];
        let rounds: u32 = 100_000;
        let started = std::time::Instant::now();
        for i in 0..rounds {
            std::hint::black_box(super::is_common(candidates[i as usize % 3]));
        }
        let lookup = started.elapsed() / rounds;
        let policy = crate::PasswordPolicy::default();
        let started = std::time::Instant::now();
        for i in 0..rounds {
            let _ =
                std::hint::black_box(policy.check(&crate::Password::new(candidates[i as usize % 3]), &[]));
        }
        let per_check = started.elapsed() / rounds;
        println!(
            "common passwords: {entries} entries, loaded in {load:?}; one lookup {lookup:?}, \
             one whole policy check {per_check:?}"
        );
    }
}
