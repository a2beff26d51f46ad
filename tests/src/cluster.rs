//! Several instances of the application on one database behind a
//! round-robin proxy on loopback: the shape an operator runs behind a load
//! balancer. Every instance has the proxy's address as its issuer and the
//! same key-encryption key (the `keys.kek` generated in the shared data
//! folder), so each one opens the signing keys the first one created.
//!
//! The proxy ([`RoundRobin`]) alternates the upstreams per TCP connection;
//! a client that opens a connection per request ([`fresh_connections`])
//! has its requests alternate between the instances. Tests that need a step
//! on a given instance talk to that instance's own address instead.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};

use crate::{Backend, TestApp, TestDatabase, spawn_app_with};

/// A TCP proxy on loopback handing each new connection to the next
/// upstream in turn (skipping one that refuses the connection).
#[derive(Debug)]
pub struct RoundRobin {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    upstreams: Arc<Vec<Upstream>>,
}

#[derive(Debug)]
struct Upstream {
    addr: SocketAddr,
    connections: AtomicUsize,
    /// Taken out of the rotation (see [`RoundRobin::take_out`]).
    out: AtomicBool,
}

impl RoundRobin {
    /// Starts the proxy on `port` in front of `upstreams`. Needs a tokio
    /// runtime; runs until the runtime ends.
    pub async fn start(port: u16, upstreams: &[SocketAddr]) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind the proxy");
        let upstreams: Arc<Vec<Upstream>> = Arc::new(
            upstreams
                .iter()
                .map(|&addr| Upstream { addr, connections: AtomicUsize::new(0), out: AtomicBool::new(false) })
                .collect(),
        );
        let shared = upstreams.clone();
        tokio::spawn(async move {
            let next = AtomicUsize::new(0);
            while let Ok((mut inbound, _)) = listener.accept().await {
                let first = next.fetch_add(1, Ordering::Relaxed);
                let upstreams = shared.clone();
                tokio::spawn(async move {
                    // The next upstream in turn that takes the connection.
                    for i in 0..upstreams.len() {
                        let upstream = &upstreams[(first + i) % upstreams.len()];
                        if upstream.out.load(Ordering::Relaxed) {
                            continue;
                        }
                        if let Ok(mut outbound) = TcpStream::connect(upstream.addr).await {
                            upstream.connections.fetch_add(1, Ordering::Relaxed);
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            return;
                        }
                    }
                });
            }
        });
        Self { address: format!("http://127.0.0.1:{port}"), upstreams }
    }

    /// How many connections each upstream was handed, in order.
    pub fn connections(&self) -> Vec<usize> {
        self.upstreams.iter().map(|u| u.connections.load(Ordering::Relaxed)).collect()
    }

    /// Stops handing new connections to upstream `i` (a load balancer's
    /// health check failing it).
    pub fn take_out(&self, i: usize) {
        self.upstreams[i].out.store(true, Ordering::Relaxed);
    }
}

/// An HTTP client that never follows redirects and opens a new connection
/// for every request, so that the proxy alternates its requests.
pub fn fresh_connections() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .expect("http client")
}

/// Instances of the application on one database behind a [`RoundRobin`].
#[derive(Debug)]
pub struct Cluster {
    /// The proxy; its address is every instance's issuer.
    pub proxy: RoundRobin,
    /// The instances, each at its own address too.
    pub apps: Vec<TestApp>,
    /// The shared database.
    pub db: Arc<TestDatabase>,
}

/// `n` instances on a fresh `backend` database (started one after the
/// other: the first migrates and creates the keys), each after
/// `customise`, behind a round-robin proxy. The instances' manual clocks
/// start at the real time (relying-party checks use the system clock).
pub async fn spawn_cluster(
    backend: Backend,
    n: usize,
    customise: impl Fn(&mut portcullis_server::Settings) + Clone,
) -> Cluster {
    let db = Arc::new(TestDatabase::new(backend).await);
    let port = crate::net::free_port();
    let issuer = portcullis_core::Issuer::parse(&format!("http://127.0.0.1:{port}")).expect("issuer");
    let mut apps = Vec::with_capacity(n);
    for _ in 0..n {
        let (issuer, customise) = (issuer.clone(), customise.clone());
        let app = spawn_app_with(db.clone(), move |s| {
            s.issuer = issuer;
            customise(s);
        })
        .await;
        #[allow(clippy::disallowed_methods)] // the real time is the point here
        app.clock.set(time::OffsetDateTime::now_utc().replace_nanosecond(0).expect("valid"));
        apps.push(app);
    }
    let upstreams: Vec<SocketAddr> = apps
        .iter()
        .map(|a| a.address.trim_start_matches("http://").parse().expect("an instance's address"))
        .collect();
    let proxy = RoundRobin::start(port, &upstreams).await;
    Cluster { proxy, apps, db }
}
