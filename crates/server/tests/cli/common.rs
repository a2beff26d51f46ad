//! Helpers shared by the binary's tests.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary with a clean environment (no PORTCULLIS_* from the caller), its
/// data under `dir/data`, free ports and cheap argon2 parameters.
pub(crate) fn portcullis(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PORTCULLIS") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(dir)
        .env("PORTCULLIS__DATA_DIR", dir.join("data"))
        .env("PORTCULLIS__LISTEN", "127.0.0.1:0")
        .env("PORTCULLIS__METRICS_LISTEN", "127.0.0.1:0")
        .env("PORTCULLIS__AUTH__ARGON2_MEMORY_KIB", "64")
        .env("PORTCULLIS__AUTH__ARGON2_ITERATIONS", "1")
        .env("RUST_BACKTRACE", "1");
    cmd
}

/// Runs a command that must exit by itself; kills it and fails after a minute.
pub(crate) fn run(cmd: &mut Command) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("portcullis did not exit: {:?}", child.wait_with_output().expect("output"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// `cmd.run()` for [`run`].
pub(crate) trait RunExt {
    /// See [`run`].
    fn run(&mut self) -> Output;
}

impl RunExt for Command {
    fn run(&mut self) -> Output {
        run(self)
    }
}

/// Output bytes as text.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
