//! Node scripts the tests drive (relying-party libraries nobody here wrote):
//! [`Script`] for one that talks on stdin/stdout while the test acts, and
//! [`run_json`] for one that runs to the end and prints a JSON report as its
//! last line. Node and the script's modules are required: a test without
//! them FAILS, it never skips.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

/// `tests/<name>`: a folder with a `package.json` and its `node_modules`.
pub fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn require_module(dir: &Path, module: &str) {
    assert!(
        dir.join("node_modules").join(module).join("package.json").exists(),
        "{}/node_modules/{module} is missing: run scripts/test (npm ci there)",
        dir.display()
    );
}

/// A running script; killed if the test panics half-way.
pub struct Script {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Option<JoinHandle<String>>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script").field("pid", &self.child.id()).finish_non_exhaustive()
    }
}

impl Script {
    /// Starts `node <script>` in `dir` (which must hold `module`) with `env`.
    pub fn spawn(dir: &Path, module: &str, script: &str, env: &[(&str, String)]) -> Self {
        require_module(dir, module);
        let mut child = Command::new("node")
            .arg(script)
            .current_dir(dir)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("node (20+) is needed for {script}: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(BufReader::new);
        let mut stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Self { child, stdin, stdout, stderr: Some(stderr) }
    }

    /// The next stdout line (empty at the end of the output). Blocking.
    pub fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.as_mut().expect("stdout").read_line(&mut line).expect("read the script's stdout");
        line
    }

    /// The next stdout line as JSON. Blocking.
    pub fn read_json(&mut self) -> serde_json::Value {
        let line = self.read_line();
        serde_json::from_str(&line).unwrap_or_else(|e| {
            let (_, rest, stderr) = self.finish_mut();
            panic!("the script printed no JSON line ({e}); stdout:\n{line}{rest}\nstderr:\n{stderr}")
        })
    }

    /// Writes one line to the script's stdin (kept open). Blocking.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write to the script's stdin");
        stdin.flush().expect("flush the script's stdin");
    }

    fn finish_mut(&mut self) -> (bool, String, String) {
        self.stdin.take();
        let mut rest = String::new();
        if let Some(mut out) = self.stdout.take() {
            let _ = out.read_to_string(&mut rest);
        }
        let status = self.child.wait().expect("wait for node");
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        (status.success(), rest, stderr)
    }

    /// Closes stdin and waits for the exit: (success, the rest of stdout, stderr).
    pub fn finish(mut self) -> (bool, String, String) {
        self.finish_mut()
    }

    /// [`Self::read_json`] off the async runtime.
    pub async fn next_json(mut self) -> (Self, serde_json::Value) {
        blocking(move || {
            let line = self.read_json();
            (self, line)
        })
        .await
    }

    /// Sends `line`, then [`Self::report`], off the async runtime.
    pub async fn answer(mut self, line: String) -> serde_json::Value {
        blocking(move || {
            self.send_line(&line);
            self.report()
        })
        .await
    }

    /// Closes stdin, waits, and parses the last stdout line as the report;
    /// fails unless the script exited 0 with `"ok": true`.
    pub fn report(self) -> serde_json::Value {
        let (ok, rest, stderr) = self.finish();
        let report = last_json(&rest, &stderr);
        assert!(ok && report["ok"] == true, "the script failed: {report:#}\nstderr:\n{stderr}");
        report
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        if self.stderr.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

fn last_json(stdout: &str, stderr: &str) -> serde_json::Value {
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stdout:\n{stdout}\nstderr:\n{stderr}"))
}

/// Runs `node <script> <args…>` in `dir` to the end (off the async runtime)
/// and returns its last stdout line as JSON, with whether it exited 0.
pub async fn run_json(
    dir: PathBuf,
    module: &'static str,
    script: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
) -> (bool, serde_json::Value) {
    require_module(&dir, module);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(dir)
            .envs(env)
            .output()
            .unwrap_or_else(|e| panic!("node (20+) is needed for {script}: {e}"))
    })
    .await
    .expect("join");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), last_json(&stdout, &stderr))
}
