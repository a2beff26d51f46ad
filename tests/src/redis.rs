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
    child: Option<Child>,
}

fn redis_server_binary() -> &'static str {
    let found = Command::new("redis-server").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "redis-server is not installed (scripts/test installs it: apt-get install redis-server)");
    "redis-server"
}

/// Waits until `port` answers PING (or panics after 10 s).
fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pong = Command::new("redis-cli")
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
        let mut server = Self { port: free_port(), dir, cluster, bus_port: None, child: None };
        server.run();
        server
    }

    fn run(&mut self) {
        let port = self.port.to_string();
        let mut cmd = Command::new(redis_server_binary());
        cmd.args(["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
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
        wait_for(self.port);
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
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
        }
    }
}
