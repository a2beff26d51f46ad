//! Redis servers of one test's own: one server, or a three-master Redis
//! Cluster, started from the `redis-server` binary on loopback ports of
//! [`free_port`], with persistence off. A test can stop and restart its
//! server (the fault tests); everything is shut down on drop.
//!
//! `scripts/test` installs `redis-server` (and `redis-cli`, which creates
//! the cluster). When the binary is missing the test fails: it never passes
//! without Redis.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portcullis_store_redis::{RedisConfig, RedisTarget};

use crate::net::free_port;

/// One `redis-server` process.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    cluster: bool,
    bus_port: Option<u16>,
    /// TLS only (`rediss://localhost`), with a CA of the test's own.
    tls: bool,
    child: Option<Child>,
}

fn redis_server_binary() -> &'static str {
    let found = Command::new("redis-server").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "redis-server is not installed (scripts/test installs it: apt-get install redis-server)");
    "redis-server"
}

/// Waits until `port` answers PING (or panics after 10 s); over TLS when
/// `ca` names the CA file.
fn wait_for(port: u16, ca: Option<&std::path::Path>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut cli = Command::new("redis-cli");
        if let Some(ca) = ca {
            cli.arg("--tls").arg("--cacert").arg(ca);
        }
        let pong = cli
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "ping"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "PONG");
        if pong {
            return;
        }
        assert!(Instant::now() < deadline, "redis-server on port {port} did not answer within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl RedisServer {
    /// Starts a standalone server. Blocking (a few ms).
    pub fn start() -> Self {
        Self::start_node(false)
    }

    fn start_node(cluster: bool) -> Self {
        let dir = tempfile::Builder::new().prefix("portcullis-redis-").tempdir().expect("temp dir");
        let mut server = Self { port: free_port(), dir, cluster, bus_port: None, tls: false, child: None };
        server.run();
        server
    }

    fn run(&mut self) {
        let port = self.port.to_string();
        let mut cmd = Command::new(redis_server_binary());
        if self.tls {
            let file = |name: &str| self.dir.path().join(name).display().to_string();
            cmd.args(["--port", "0", "--tls-port", &port, "--tls-auth-clients", "no"])
                .args(["--tls-cert-file", &file("server.pem"), "--tls-key-file", &file("server.key")])
                .args(["--tls-ca-cert-file", &file("ca.pem")]);
        } else {
            cmd.args(["--port", &port]);
        }
        cmd.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &self.dir.path().display().to_string()]);
        if self.cluster {
            // The bus port is given too: its default (port + 10000) may be
            // another test's port of `free_port`.
            let bus = self.bus_port.get_or_insert_with(free_port).to_string();
            cmd.args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-port",
                &bus,
            ]);
        }
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start redis-server");
        self.child = Some(child);
        let ca = self.tls.then(|| self.dir.path().join("ca.pem"));
        wait_for(self.port, ca.as_deref());
    }

    /// Starts a server that speaks TLS only, its certificate (for
    /// `localhost` and 127.0.0.1) issued by a CA made for it: see
    /// [`Self::ca_pem`]. Blocking (openssl, then the server).
    pub fn start_tls() -> Self {
        let dir = tempfile::Builder::new().prefix("portcullis-redis-tls-").tempdir().expect("temp dir");
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(dir.path()).output().expect("openssl");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Portcullis test CA"],
            ]
            .concat(),
        );
        openssl(
            &[&["req"][..], &ec, &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]]
                .concat(),
        );
        std::fs::write(dir.path().join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
            .expect("ext");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        let mut server =
            Self { port: free_port(), dir, cluster: false, bus_port: None, tls: true, child: None };
        server.run();
        server
    }

    /// The CA that issued a TLS server's certificate (PEM).
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.ca_file()).expect("ca.pem")
    }

    /// The CA's file.
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`, or `rediss://localhost:PORT` over TLS.
    pub fn url(&self) -> String {
        if self.tls {
            format!("rediss://localhost:{}", self.port)
        } else {
            format!("redis://127.0.0.1:{}", self.port)
        }
    }

    /// Kills the server (SIGKILL: Redis is away at once, its data gone).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// Connection settings for this server, with `prefix`.
    pub fn config(&self, prefix: &str) -> RedisConfig {
        RedisConfig {
            target: RedisTarget::Server(self.url()),
            key_prefix: prefix.into(),
            timeout: Duration::from_millis(500),
            ca_pem: None,
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A Redis Cluster of three masters, no replicas.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three nodes and joins them (about a second). Blocking.
    pub fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..3).map(|_| RedisServer::start_node(true)).collect();
        let addresses: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("All 16384 slots covered"), "cluster create failed: {said}");
        // Every node must agree that the cluster is up before a client
        // maps its slots.
        let deadline = Instant::now() + Duration::from_secs(20);
        for node in &nodes {
            loop {
                let info = Command::new("redis-cli")
                    .args(["-h", "127.0.0.1", "-p", &node.port.to_string(), "cluster", "info"])
                    .output()
                    .expect("cluster info");
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(Instant::now() < deadline, "the cluster did not come up within 20 s");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Self { nodes }
    }

    /// The nodes' URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// Connection settings for this cluster, with `prefix`.
    pub fn config(&self, prefix: &str) -> RedisConfig {
        RedisConfig {
            target: RedisTarget::Cluster(self.urls()),
            key_prefix: prefix.into(),
            timeout: Duration::from_millis(500),
            ca_pem: None,
        }
    }
}
