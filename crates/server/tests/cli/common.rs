//! Helpers shared by the binary's tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
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

/// Writes `text` as `dir/portcullis.toml`; its path.
pub(crate) fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("portcullis.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// A running `portcullis serve` whose stderr lines arrive on a channel.
pub(crate) struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line seen so far.
    pub(crate) seen: Vec<String>,
}

impl Server {
    /// Runs `cmd serve`.
    pub(crate) fn start(mut cmd: Command) -> Self {
        let mut child = cmd.arg("serve").stderr(Stdio::piped()).stdout(Stdio::null()).spawn().expect("spawn");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self { child, lines, seen: Vec::new() }
    }

    /// Waits for a line containing `needle`; panics with what was seen.
    pub(crate) fn wait_for(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line containing {needle:?}; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// The port it listens on (waits for the line that says so).
    pub(crate) fn port(&mut self) -> u16 {
        let line = self.wait_for("listening on http://127.0.0.1:");
        let rest = line.split("listening on http://127.0.0.1:").nth(1).expect("address");
        rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("port")
    }

    /// Sends it SIGTERM, without waiting for it to stop.
    pub(crate) fn sigterm(&self) {
        let status =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
    }

    /// Kills it with SIGKILL (no drain, no clean-up: as the kernel's OOM
    /// killer or a lost machine would); its exit status.
    pub(crate) fn kill(&mut self) -> std::process::ExitStatus {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("wait");
        self.seen.extend(self.lines.try_iter());
        status
    }

    /// Stops it with SIGTERM; its exit status.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        self.sigterm();
        let status = self.child.wait().expect("wait");
        self.seen.extend(self.lines.iter());
        status
    }
}

/// A test that fails half-way must not leave a server running.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cmd users add USERNAME` (email `USERNAME@example.com`) with `password`
/// on stdin; it must succeed.
pub(crate) fn add_user(mut cmd: Command, username: &str, password: &str) {
    use std::io::Write;
    let email = format!("{username}@example.com");
    let mut child = cmd
        .args(["users", "add", "--username", username, "--email", &email, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(format!("{password}\n").as_bytes()).expect("stdin");
    let out = child.wait_with_output().expect("users add");
    assert!(out.status.success(), "{}", text(&out.stderr));
}
