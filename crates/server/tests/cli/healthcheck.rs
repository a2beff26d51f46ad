//! `portcullis healthcheck`, as a container engine runs it: the same
//! configuration as the server, exit 0 when `/readyz` answers 200, else 1
//! with one line on stderr.

use crate::common::{RunExt, Server, portcullis, text};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Output;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn healthcheck(dir: &std::path::Path, listen: &str) -> Output {
    portcullis(dir).arg("healthcheck").env("PORTCULLIS__LISTEN", listen).run()
}

/// Asserts exit 1 and one `error: …` line containing `needle`.
fn assert_unhealthy(out: &Output, needle: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains(needle), "{stderr}");
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn healthcheck_passes_against_a_running_server_and_fails_without_one() {
    let dir = tempdir();
    let mut server = Server::start(portcullis(dir.path()));
    let port = server.port();

    let out = healthcheck(dir.path(), &format!("127.0.0.1:{port}"));
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    // A wildcard listen address (as in the container image) is checked on loopback.
    let out = healthcheck(dir.path(), &format!("0.0.0.0:{port}"));
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    server.terminate();

    let out = healthcheck(dir.path(), &format!("127.0.0.1:{port}"));
    assert_unhealthy(&out, "cannot reach");
    let out = healthcheck(dir.path(), &format!("127.0.0.1:{}", closed_port()));
    assert_unhealthy(&out, "cannot reach");
}

#[test]
fn healthcheck_fails_when_readyz_is_not_200() {
    let dir = tempdir();
    // A stand-in server answering as /readyz does while the database is away.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stub = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut request = [0u8; 1024];
        let n = conn.read(&mut request).expect("read");
        conn.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 22\r\n\r\n{\"status\":\"not_ready\"}",
        )
        .expect("write");
        String::from_utf8_lossy(&request[..n]).into_owned()
    });
    let out = healthcheck(dir.path(), &format!("127.0.0.1:{port}"));
    assert_unhealthy(&out, "503");
    let request = stub.join().expect("stub");
    assert!(request.starts_with("GET /readyz HTTP/1.1\r\n"), "{request}");
}

#[test]
fn healthcheck_with_a_bad_configuration_exits_1_not_2() {
    let dir = tempdir();
    // Container engines reserve exit code 2; a health check only says 0 or 1.
    let out = portcullis(dir.path()).arg("healthcheck").env("PORTCULLIS__LISTEN", "nonsense").run();
    assert_unhealthy(&out, "listen");
}
