//! The `portcullis` binary as an operator meets it: configuration errors,
//! `config check`, `migrate`, and `serve` with a graceful stop.

use crate::common::{RunExt, Server, portcullis, run, write_config};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output};

/// Asserts exit code 2 and exactly one stderr line containing every needle.
fn assert_one_line_error(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for needle in needles {
        assert!(lines[0].contains(needle), "missing {needle:?} in: {stderr}");
    }
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn an_unknown_key_exits_2_naming_it() {
    let dir = tempdir();
    let config = write_config(dir.path(), "listen = \"127.0.0.1:0\"\nbogus_key = 1\n");
    let out = portcullis(dir.path()).args(["serve", "--config"]).arg(&config).run();
    assert_one_line_error(&out, &["bogus_key"]);

    let config = write_config(dir.path(), "[database]\nurll = \"sqlite://x.db\"\n");
    let out = portcullis(dir.path()).args(["serve", "--config"]).arg(&config).run();
    assert_one_line_error(&out, &["database", "urll"]);
}

#[test]
fn a_malformed_value_exits_2_naming_the_key() {
    let dir = tempdir();
    let config = write_config(dir.path(), "listen = \"nonsense\"\n");
    let mut cmd = portcullis(dir.path());
    cmd.arg("serve").env("PORTCULLIS_CONFIG", &config).env_remove("PORTCULLIS__LISTEN");
    let out = run(&mut cmd);
    assert_one_line_error(&out, &["listen", "invalid socket address"]);

    let out = portcullis(dir.path()).arg("serve").env("PORTCULLIS__ISSUER", "http://id.example.com").run();
    assert_one_line_error(&out, &["issuer", "https", "PORTCULLIS__ISSUER"]);

    let out = portcullis(dir.path()).arg("serve").env("PORTCULLIS__LISTEN", "nonsense").run();
    assert_one_line_error(&out, &["listen", "PORTCULLIS__LISTEN"]);
}

#[test]
fn invalid_toml_exits_2_with_the_line() {
    let dir = tempdir();
    let config = write_config(dir.path(), "issuer = \"http://localhost:8080\"\nlisten = \n");
    let out = portcullis(dir.path()).args(["serve", "--config"]).arg(&config).run();
    assert_one_line_error(&out, &["portcullis.toml:2:"]);

    let out = portcullis(dir.path()).args(["serve", "--config", "missing.toml"]).run();
    assert_one_line_error(&out, &["missing.toml"]);
}

#[test]
fn an_unreachable_database_exits_2_naming_it() {
    let dir = tempdir();
    let out = portcullis(dir.path())
        .arg("serve")
        .env("PORTCULLIS__DATABASE__URL", "postgres://portcullis:hunter2@127.0.0.1:1/portcullis")
        .run();
    // The cause is named (a database that is away is `Unavailable`, whose
    // text carries it), not only that something failed.
    assert_one_line_error(&out, &["database", "127.0.0.1:1", "refused"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"), "password printed");
}

#[test]
fn config_check_prints_the_effective_settings_with_secrets_redacted() {
    let dir = tempdir();
    let config = write_config(dir.path(), "issuer = \"https://id.example.com\"\n[log]\nlevel = \"debug\"\n");
    let out = portcullis(dir.path())
        .args(["config", "check", "--config"])
        .arg(&config)
        .env("PORTCULLIS__DATABASE__URL", "postgres://app:s3cret@db.internal:5432/portcullis")
        .env("PORTCULLIS__DATABASE__MAX_CONNECTIONS", "20")
        .run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(r#"issuer = "https://id.example.com""#), "{stdout}");
    assert!(stdout.contains(r#"listen = "127.0.0.1:0""#), "{stdout}");
    assert!(stdout.contains("max_connections = 20"), "{stdout}");
    assert!(stdout.contains(r#"level = "debug""#), "{stdout}");
    assert!(stdout.contains("postgres://app:[redacted]@db.internal:5432/portcullis"), "{stdout}");
    assert!(!stdout.contains("s3cret"), "{stdout}");
}

#[test]
fn config_check_exits_2_on_a_weak_client_secret() {
    let dir = tempdir();
    let client = |secret: &str| {
        format!(
            "[[clients]]\nclient_id = \"rp\"\nclient_secret = \"{secret}\"\nredirect_uris = [\"https://rp.example/cb\"]\n"
        )
    };
    for weak in ["a", "correct-horse-battery", &"z".repeat(40)] {
        let config = write_config(dir.path(), &client(weak));
        let out = portcullis(dir.path()).args(["config", "check", "--config"]).arg(&config).run();
        assert_one_line_error(&out, &["clients[0].client_secret"]);
    }
    let config = write_config(dir.path(), &client("Vq0n8Lr2xT5bW9kZ3mC7pF1sH4jD6gY0aE2uN8iO5qR"));
    let out = portcullis(dir.path()).args(["config", "check", "--config"]).arg(&config).run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn config_check_prints_the_redirect_uri_of_each_upstream() {
    let dir = tempdir();
    let config = write_config(
        dir.path(),
        "issuer = \"https://id.example.com\"\n[[upstreams]]\nid = \"corp\"\ndisplay_name = \"Corp\"\n\
         issuer = \"https://corp.example\"\nclient_id = \"portcullis\"\nclient_secret_env = \"CORP_SECRET\"\n",
    );
    let out = portcullis(dir.path())
        .args(["config", "check", "--config"])
        .arg(&config)
        .env("CORP_SECRET", "upstream-s3cret")
        .run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = "# upstream corp: register the redirect URI \
                https://id.example.com/login/upstream/corp/callback at https://corp.example";
    assert!(stdout.lines().any(|l| l == line), "missing {line} in:\n{stdout}");
    assert!(!stdout.contains("upstream-s3cret"), "{stdout}");

    // Without the variable, the configuration is refused, naming the key.
    let out = portcullis(dir.path())
        .args(["config", "check", "--config"])
        .arg(&config)
        .env_remove("CORP_SECRET")
        .run();
    assert_one_line_error(&out, &["upstreams[0].client_secret_env", "CORP_SECRET"]);
}

#[test]
fn with_no_file_the_defaults_apply() {
    let dir = tempdir();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["config", "check"])
        .current_dir(dir.path())
        .env_remove("PORTCULLIS_CONFIG")
        .run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for line in [
        r#"listen = "127.0.0.1:8080""#,
        r#"metrics_listen = "127.0.0.1:9464""#,
        r#"issuer = "http://localhost:8080""#,
        r#"data_dir = "./data""#,
        r#"url = "sqlite://./data/portcullis.db""#,
    ] {
        assert!(stdout.lines().any(|l| l == line), "missing {line} in:\n{stdout}");
    }
}

#[test]
fn migrate_applies_once_and_is_idempotent() {
    let dir = tempdir();
    for _ in 0..2 {
        let out = portcullis(dir.path()).arg("migrate").run();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = portcullis(dir.path()).args(["migrate", "--log-format", "json"]).run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(r#""applied":0"#), "{stderr}");
    assert!(dir.path().join("data/portcullis.db").exists());
}

/// A minimal HTTP/1.1 GET, so the test needs no HTTP client.
fn get(port: u16, path: &str, request_id: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: {request_id}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn serve_answers_and_stops_gracefully_on_sigterm() {
    let dir = tempdir();
    let mut server = Server::start(portcullis(dir.path()));
    let port = server.port();

    let health = get(port, "/healthz", "cli-health-1");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let ready = get(port, "/readyz", "cli-ready-1");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    // Human format: the request id is on the request's log line.
    server.wait_for("request_id=cli-ready-1");

    let status = server.terminate();
    assert!(status.success(), "exit status {status}; log:\n{}", server.seen.join("\n"));
    assert!(server.seen.iter().any(|l| l.contains("shutting down")), "{}", server.seen.join("\n"));
    assert!(server.seen.iter().any(|l| l.contains("stopped")));
    // No [smtp]: the server still runs, and says mails stay queued.
    assert!(server.seen.iter().any(|l| l.contains("mails stay queued")), "{}", server.seen.join("\n"));
    assert!(dir.path().join("data/portcullis.db").exists());
}

/// Graceful scale-down: after SIGTERM, `/readyz` answers 503 at once while
/// every other request is still served for `http.drain_secs` (long here,
/// so the test never races it; the test above sees the stop at its end).
#[test]
fn on_sigterm_readyz_fails_first_while_requests_are_still_served() {
    let dir = tempdir();
    let mut cmd = portcullis(dir.path());
    cmd.env("PORTCULLIS__HTTP__DRAIN_SECS", "600");
    let mut server = Server::start(cmd);
    let port = server.port();
    assert!(get(port, "/readyz", "cli-drain-1").starts_with("HTTP/1.1 200"));

    server.sigterm();
    server.wait_for("draining");

    let ready = get(port, "/readyz", "cli-drain-2");
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
    assert!(ready.contains(r#""reason":"draining""#), "{ready}");
    let health = get(port, "/healthz", "cli-drain-3");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let discovery = get(port, "/.well-known/openid-configuration", "cli-drain-4");
    assert!(discovery.starts_with("HTTP/1.1 200"), "{discovery}");
    // Dropping the server kills it: the drain is not waited for here.
}

#[test]
fn json_logs_carry_the_request_id_on_every_request_line() {
    let dir = tempdir();
    let mut cmd = portcullis(dir.path());
    cmd.args(["--log-format", "json"]);
    let mut server = Server::start(cmd);
    let port = server.port();

    get(port, "/healthz", "cli-json-7");
    let line = server.wait_for("cli-json-7");
    let json: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(json["span"]["request_id"], "cli-json-7", "{line}");
    assert_eq!(json["status"], 200);
    assert_eq!(json["route"], "/healthz");

    assert!(server.terminate().success());
    for line in &server.seen {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
}
