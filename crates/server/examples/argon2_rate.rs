//! The raw argon2id verification rate at the configured cost, for
//! `bench/run`: the ceiling of the password sign-in round trip.
//!
//! ```sh
//! cargo run --release -p portcullis-server --example argon2_rate -- CONFIG.toml SECONDS THREADS
//! ```
//!
//! Loads the configuration like the server does (file, then `PORTCULLIS__…`
//! environment), hashes one password with `[auth]`'s argon2id cost, then
//! verifies it from THREADS threads for SECONDS seconds (the same
//! `PasswordHasher` the sign-in uses) and prints one JSON line:
//! `{"verifications": N, "seconds": S, "memory_kib": …, "iterations": …, "parallelism": …}`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use portcullis_authn::{Argon2Cost, Password, PasswordHasher, Verification};
use portcullis_server::Settings;

#[allow(clippy::print_stdout)] // the example's output is its result
fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, seconds, threads] = args.as_slice() else {
        bail!("usage: argon2_rate CONFIG.toml SECONDS THREADS");
    };
    let seconds: f64 = seconds.parse().context("SECONDS")?;
    let threads: usize = threads.parse().context("THREADS")?;
    let settings =
        Settings::load(Some(&PathBuf::from(config)), std::env::vars()).context("the configuration")?;
    let auth = &settings.auth;
    let cost = Argon2Cost {
        memory_kib: auth.argon2_memory_kib,
        iterations: auth.argon2_iterations,
        parallelism: auth.argon2_parallelism,
    };
    let hasher = Arc::new(PasswordHasher::new(cost).context("argon2 parameters")?);
    let password = "bench-password-0123456789";
    let hash = Arc::new(hasher.hash(&Password::new(password)).context("hashing")?);
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (hasher, hash, count) = (hasher.clone(), hash.clone(), count.clone());
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    let verified = hasher.verify(Some(hash.as_str()), &Password::new(password));
                    if !matches!(verified, Verification::Match { .. }) {
                        return false;
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                }
                true
            })
        })
        .collect();
    for worker in workers {
        if !worker.join().map_err(|_| anyhow::anyhow!("a worker panicked"))? {
            bail!("the password did not verify");
        }
    }
    println!(
        "{{\"verifications\": {}, \"seconds\": {:.3}, \"memory_kib\": {}, \"iterations\": {}, \"parallelism\": {}}}",
        count.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        cost.memory_kib,
        cost.iterations,
        cost.parallelism
    );
    Ok(())
}
