//! One argon2 computation: a stored PHC string parsed into what to compute
//! and what to expect ([`StoredHash`]), a new hash as a PHC string
//! ([`new_hash`]), and the memory they run on — one block buffer per thread,
//! kept between computations, instead of the full memory cost (19 MiB at the
//! OWASP cost) allocated, faulted in and zeroed by the kernel for every hash.
//! Threads are few: the server runs one blocking thread per worker.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use subtle::ConstantTimeEq;

/// The most memory a stored hash may ask for: 1 GiB (`m` is in KiB). A hash
/// that asks for more is refused, not allocated.
const MAX_MEMORY_KIB: u32 = 1024 * 1024;

thread_local! {
    /// This thread's argon2 memory.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Where a computation's memory comes from.
#[derive(Debug, Clone, Copy)]
pub(super) enum Memory {
    /// This thread's buffer, grown to the computation's size and kept, when
    /// that is at most `keep` blocks (the configured cost); a computation
    /// that needs more (an old hash with a larger cost) gets memory of its own.
    PerThread {
        /// The most blocks the buffer may keep.
        keep: usize,
    },
    /// Memory allocated for this computation only (nothing kept).
    Fresh,
}

/// Computes `argon2` of `password` and `salt` into `out`.
fn hash_into(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: Memory,
) -> argon2::Result<()> {
    let needed = argon2.params().block_count();
    match memory {
        // Every block is written before it is read (pass 0 overwrites), so
        // what an earlier computation left in the buffer does not matter.
        Memory::PerThread { keep } if needed <= keep => BLOCKS.with_borrow_mut(|blocks| {
            if blocks.len() < needed {
                blocks.reserve_exact(needed - blocks.len());
                blocks.resize(needed, Block::default());
            }
            argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
        }),
        _ => argon2.hash_password_into(password, salt, out),
    }
}

/// A new argon2id (v=19) hash of `password` with `params` and `salt`, as a
/// PHC string (`$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`).
pub(super) fn new_hash(
    params: &Params,
    password: &[u8],
    salt: &[u8],
    memory: Memory,
) -> Result<String, String> {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0; Params::DEFAULT_OUTPUT_LEN];
    let out =
        out.get_mut(..params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)).ok_or("output too long")?;
    hash_into(&argon2, password, salt, out, memory).map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// A stored hash, parsed: the algorithm, version, parameters and salt to
/// compute with, all taken from the stored string, and the output to expect.
#[derive(Clone)]
pub(super) struct StoredHash {
    algorithm: Algorithm,
    /// The version the string states (none: argon2's default, 0x13).
    version: Option<Version>,
    /// With the output length of `expected`.
    params: Params,
    salt: Salt,
    expected: Output,
}

impl StoredHash {
    /// Parses a PHC string; refuses what argon2 could not compute (another
    /// algorithm, an unknown version, invalid parameters, no salt or no
    /// output, a salt under 8 bytes) and a memory cost over 1 GiB.
    pub(super) fn parse(phc: &str) -> Result<Self, String> {
        let hash = PasswordHash::new(phc).map_err(|e| e.to_string())?;
        let algorithm = Algorithm::new(hash.algorithm.as_str()).map_err(|e| e.to_string())?;
        let version = hash.version.map(Version::try_from).transpose().map_err(|e| e.to_string())?;
        let params = Params::try_from(&hash).map_err(|e| e.to_string())?;
        let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
            return Err("no salt or no hash output".into());
        };
        if salt.len() < argon2::MIN_SALT_LEN {
            return Err(format!("a salt of {} bytes (at least {})", salt.len(), argon2::MIN_SALT_LEN));
        }
        if params.m_cost() > MAX_MEMORY_KIB {
            return Err(format!("m = {} KiB, over the {MAX_MEMORY_KIB} KiB limit", params.m_cost()));
        }
        Ok(Self { algorithm, version, params, salt, expected })
    }

    /// Computes the hash of `password` with this hash's parameters and salt
    /// — one argon2 computation — and compares it with the stored output in
    /// constant time.
    pub(super) fn matches(&self, password: &[u8], memory: Memory) -> bool {
        let argon2 = Argon2::new(self.algorithm, self.version.unwrap_or_default(), self.params.clone());
        let mut buffer = [0; Output::MAX_LENGTH];
        let Some(out) = buffer.get_mut(..self.expected.len()) else {
            return false;
        };
        match hash_into(&argon2, password, &self.salt, out, memory) {
            Ok(()) => out.ct_eq(self.expected.as_bytes()).into(),
            Err(e) => {
                tracing::warn!(error = %e, "argon2 refused a stored password hash's input");
                false
            }
        }
    }

    /// True when made with argon2id, v=19 and the `m`, `t` and `p` of `params`.
    pub(super) fn is_current(&self, params: &Params) -> bool {
        self.algorithm == Algorithm::Argon2id
            && self.version == Some(Version::V0x13)
            && (self.params.m_cost(), self.params.t_cost(), self.params.p_cost())
                == (params.m_cost(), params.t_cost(), params.p_cost())
    }
}

/// How many blocks this thread's buffer holds.
#[cfg(test)]
pub(super) fn kept_blocks() -> usize {
    BLOCKS.with_borrow(Vec::len)
}
