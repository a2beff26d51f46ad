//! Loopback ports for servers a test names before they start (an app whose
//! issuer holds its port, an SMTP server that is down at first).
//!
//! "Bind port 0, read it, release it" is not enough: the kernel hands the
//! released port to the next `bind(0)` or outgoing connection anywhere on
//! the machine, and a parallel test's server then answers in place of the
//! one this test meant (seen in CI: mail sent to another test's HTTP
//! server, never delivered). So ports come from *below* the kernel's
//! ephemeral range, which it never hands out by itself, and from one
//! counter per process, so two tests never get the same one.

use std::net::TcpListener;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// How many ports below the ephemeral range are used.
const SPAN: u32 = 8000;

/// The first port of the range and where this process starts in it.
static RANGE: LazyLock<(u32, u32)> = LazyLock::new(|| {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse::<u32>().ok()))
        .unwrap_or(32768);
    let start = low.saturating_sub(SPAN).max(1024);
    // Another test process on the same machine starts elsewhere.
    let [a, b] = portcullis_core::random::bytes::<2>();
    (start, u32::from(u16::from_be_bytes([a, b])) % SPAN)
});
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A loopback port no other test of this process gets and the kernel does
/// not hand out on its own (checked free by binding it once).
pub fn free_port() -> u16 {
    let (start, offset) = *RANGE;
    for _ in 0..SPAN {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = start + (offset + n) % SPAN;
        let Ok(port) = u16::try_from(port) else { continue };
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {start}..{}", start + SPAN);
}
