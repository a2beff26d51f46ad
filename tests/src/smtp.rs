//! A real SMTP server for mail tests: Python's `aiosmtpd` on a free loopback
//! port, storing every message it accepts in a Maildir the test reads.
//! `scripts/test` installs aiosmtpd; when it is missing the test FAILS.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An SMTP server that may be started, stopped and started again on one port.
#[derive(Debug)]
pub struct SmtpCapture {
    /// The port it listens on (once started).
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

impl SmtpCapture {
    /// Picks a free port and a Maildir; does not start the server.
    pub fn new() -> Self {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "python3 with aiosmtpd is required for mail tests: run scripts/test (pip install aiosmtpd)"
        );
        Self { port: free_port(), dir: tempfile::tempdir().expect("maildir"), child: None }
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("Maildir")
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "SMTP server already running");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{}", self.port)])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.maildir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn python3 -m aiosmtpd");
        self.child = Some(child);
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not listen on 127.0.0.1:{}", self.port);
    }

    /// Stops the server (messages already stored stay readable).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every stored message, raw (headers and body), oldest first by name.
    pub fn messages(&self) -> Vec<String> {
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir().join(sub)) {
                files.extend(entries.map(|e| e.expect("maildir entry").path()));
            }
        }
        files.sort();
        files.iter().map(|p| std::fs::read_to_string(p).expect("read message")).collect()
    }
}

impl Default for SmtpCapture {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SmtpCapture {
    fn drop(&mut self) {
        self.stop();
    }
}
