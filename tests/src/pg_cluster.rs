//! A throwaway PostgreSQL cluster of one test's own, for the tests that
//! stop, restart or break the server: the shared one of
//! `PORTCULLIS_TEST_POSTGRES_URL` serves every other test at the same time
//! and must never be touched that way.
//!
//! It finds the server binaries as `scripts/test` does (`initdb` on the
//! `PATH`, else the newest `/usr/lib/postgresql/*/bin`), runs them as the
//! `postgres` user when the tests run as root (PostgreSQL refuses root), in
//! a temporary folder owned by that user, on a port of [`free_port`]. The
//! cluster is stopped (`-m immediate`) and its folder removed on drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::net::free_port;

/// A running PostgreSQL cluster (see the module documentation).
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

/// The folder of `initdb` and `pg_ctl`, as `scripts/test`'s `find_pg_bin`.
fn find_pg_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return dir;
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).expect("PostgreSQL server binaries (initdb) are not installed")
}

/// Whether this process runs as root.
fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

impl PgCluster {
    /// Creates and starts a cluster (about 2–3 s). Blocking: call it from
    /// `tokio::task::spawn_blocking` in an async test.
    pub fn start() -> Self {
        let bin = find_pg_bin();
        let dir = tempfile::Builder::new().prefix("portcullis-pg-").tempdir().expect("temp dir");
        let as_postgres = is_root();
        if as_postgres {
            let chown = Command::new("chown").arg("postgres").arg(dir.path()).output().expect("chown");
            assert!(chown.status.success(), "chown postgres {}: {chown:?}", dir.path().display());
        }
        let cluster = Self { bin, dir, port: free_port(), as_postgres };
        cluster.run("initdb", &["-D", &cluster.data(), "-A", "trust", "-U", "postgres", "--no-sync"]);
        cluster.pg_ctl(&["start"]);
        cluster
    }

    /// The superuser URL of its `postgres` database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl restart -m fast`: every connection is terminated (`57P01`),
    /// the server stops and starts again; returns once it accepts
    /// connections. Blocking.
    pub fn restart_fast(&self) {
        self.pg_ctl(&["restart", "-m", "fast"]);
    }

    /// `pg_ctl stop -m fast`. Blocking.
    pub fn stop_fast(&self) {
        self.pg_ctl(&["stop", "-m", "fast"]);
    }

    /// Starts it again after [`PgCluster::stop_fast`]. Blocking.
    pub fn start_again(&self) {
        self.pg_ctl(&["start"]);
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg_ctl(&self, action: &[&str]) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        let data = self.data();
        let mut args = vec!["-D", &*data, "-l", &*log, "-w", "-o", &*options];
        args.extend_from_slice(action);
        self.run("pg_ctl", &args);
    }

    fn command(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let out = self.command(&self.bin.join(program)).args(args).output().expect("run a PostgreSQL tool");
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
        out
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ =
            self.command(&self.bin.join("pg_ctl")).args(["-D", &data, "-m", "immediate", "stop"]).output();
    }
}
