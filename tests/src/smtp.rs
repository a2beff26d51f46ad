//! A real SMTP server for mail tests: Python's `aiosmtpd` on a free loopback
//! port, storing every message it accepts in a Maildir the test reads.
//! `scripts/test` installs aiosmtpd; when it is missing the test FAILS.

use crate::net::free_port;
use std::net::TcpStream;
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
            // A server that cannot bind exits: then whoever answers is not it.
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("aiosmtpd on 127.0.0.1:{} exited ({status})", self.port);
            }
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

    /// Every stored message, raw (headers and body), oldest first (by file
    /// time, then name: Maildir names alone do not sort by arrival).
    pub fn messages(&self) -> Vec<String> {
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir().join(sub)) {
                for entry in entries {
                    let path = entry.expect("maildir entry").path();
                    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
                    files.push((modified, path));
                }
            }
        }
        files.sort();
        files.iter().map(|(_, p)| std::fs::read_to_string(p).expect("read message")).collect()
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

/// One captured message, parsed: headers and the decoded text and HTML
/// parts of its multipart/alternative body (quoted-printable and base64
/// transfer encodings are undone).
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// The `To` header.
    pub to: String,
    /// The `Subject` header.
    pub subject: String,
    /// The `Message-ID` header.
    pub message_id: String,
    /// The decoded `text/plain` part.
    pub text: String,
    /// The decoded `text/html` part.
    pub html: String,
    /// Whether the body is `multipart/alternative`.
    pub alternative: bool,
}

impl Captured {
    /// Parses a raw message as stored by aiosmtpd.
    pub fn parse(raw: &str) -> Self {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let top = headers(head);
        let header =
            |name: &str| top.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        let content_type = header("content-type").unwrap_or_default();
        let mut captured = Self {
            to: header("to").unwrap_or_default(),
            subject: header("subject").unwrap_or_default(),
            message_id: header("message-id").unwrap_or_default(),
            alternative: content_type.starts_with("multipart/alternative"),
            ..Self::default()
        };
        let Some(boundary) = parameter(&content_type, "boundary") else { return captured };
        for part in body.split(&format!("--{boundary}")).skip(1) {
            let part = part.strip_prefix('\n').unwrap_or(part);
            let (head, content) = part.split_once("\n\n").unwrap_or((part, ""));
            let part_headers = headers(head);
            let get = |name: &str| {
                part_headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_ascii_lowercase())
            };
            let decoded = decode(content, get("content-transfer-encoding").as_deref().unwrap_or("7bit"));
            match get("content-type") {
                Some(t) if t.starts_with("text/plain") => captured.text = decoded,
                Some(t) if t.starts_with("text/html") => captured.html = decoded,
                _ => {}
            }
        }
        captured
    }

    /// The first `http(s)://` link of the text part that contains `path`.
    pub fn link(&self, path: &str) -> Option<String> {
        self.text
            .split_whitespace()
            .find(|w| (w.starts_with("http://") || w.starts_with("https://")) && w.contains(path))
            .map(str::to_owned)
    }
}

/// Header lines, continuation lines unfolded.
fn headers(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

/// `name=value` or `name="value"` in a header value.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Undoes a transfer encoding.
fn decode(content: &str, encoding: &str) -> String {
    use base64::Engine;
    let content = content.trim_end_matches(['\n', '-']).trim_end();
    match encoding {
        "base64" => {
            let joined: String = content.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD.decode(joined).expect("base64 part");
            String::from_utf8(bytes).expect("utf-8 part")
        }
        "quoted-printable" => {
            let mut bytes = Vec::new();
            let soft = content.replace("=\n", "");
            let mut it = soft.bytes();
            while let Some(b) = it.next() {
                if b == b'=' {
                    let hex: Vec<u8> = it.by_ref().take(2).collect();
                    let s = std::str::from_utf8(&hex).expect("ascii");
                    bytes.push(u8::from_str_radix(s, 16).expect("=XX"));
                } else {
                    bytes.push(b);
                }
            }
            String::from_utf8(bytes).expect("utf-8 part")
        }
        _ => content.to_owned(),
    }
}

impl SmtpCapture {
    /// Every stored message, parsed.
    pub fn captured(&self) -> Vec<Captured> {
        self.messages().iter().map(|m| Captured::parse(m)).collect()
    }

    /// The parsed messages to `to`.
    pub fn to(&self, to: &str) -> Vec<Captured> {
        self.captured().into_iter().filter(|m| m.to.contains(to)).collect()
    }

    /// Waits (bounded, 30 s) until at least `n` messages are stored.
    pub async fn wait_for(&self, n: usize) -> Vec<Captured> {
        for _ in 0..300 {
            if self.messages().len() >= n {
                return self.captured();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {n} messages, the SMTP server holds {}", self.messages().len());
    }
}
