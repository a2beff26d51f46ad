//! The application as a value: build it (binding its ports), then run it.

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use portcullis_core::{Clock, SystemClock};
use portcullis_store::{Store, StoreError};
use portcullis_web::{AppState, DatabaseReadiness, Metrics, Publication};
use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;

use crate::accounts::{announce_setup_link, build_auth, run_sweeper};
use crate::database::{open_serving_store, open_store};
use crate::keys::KeyRuntime;
use crate::settings::Settings;

/// Why the application could not start. Each message is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// The database could not be reached.
    #[error("cannot connect to the database {url}: {source}")]
    Database {
        /// The URL, password redacted.
        url: String,
        /// Why.
        source: StoreError,
    },
    /// The schema could not be brought up to date.
    #[error("cannot migrate the database {url}: {source}")]
    Migration {
        /// The URL, password redacted.
        url: String,
        /// Why.
        source: StoreError,
    },
    /// The Redis settings cannot be used (an unreadable CA file).
    #[error("{0}")]
    RedisConfig(String),
    /// Redis is configured but could not be reached.
    #[error("redis: {0}")]
    Redis(#[from] portcullis_store_redis::RedisError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr} ({key}): {source}")]
    Bind {
        /// The configuration key.
        key: &'static str,
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The metrics registry refused a metric (a programming error).
    #[error("cannot set up metrics: {0}")]
    Metrics(#[from] portcullis_web::PrometheusError),
    /// The signing keys cannot be used (e.g. a wrong key-encryption key).
    #[error("signing keys: {0}")]
    Keys(String),
    /// Accounts cannot be set up (bad argon2 parameters, no setup link).
    #[error("accounts: {0}")]
    Accounts(String),
    /// The mail outbox cannot be set up (bad `[smtp]` values, metrics).
    #[error("mail: {0}")]
    Mail(String),
    /// The `[[clients]]` of the configuration cannot be synced into the store.
    #[error("clients: {0}")]
    Clients(String),
    /// The configuration cannot be used after all (an `[[upstreams]]`
    /// entry whose secret source is gone since the load).
    #[error("{0}")]
    Config(#[from] crate::settings::ConfigError),
}

/// Makes an existing `data_dir` private (0700), connects to the database and
/// applies pending migrations.
pub async fn connect_and_migrate(settings: &Settings) -> Result<(Arc<dyn Store>, usize), StartupError> {
    open_and_migrate(settings, false).await
}

/// [`connect_and_migrate`], for a command (`serving` false) or for `serve`
/// (see [`open_serving_store`]).
async fn open_and_migrate(
    settings: &Settings,
    serving: bool,
) -> Result<(Arc<dyn Store>, usize), StartupError> {
    crate::data_dir::secure(&settings.data_dir);
    let url = settings.database_url().redacted();
    let opened = if serving { open_serving_store(settings).await } else { open_store(settings).await };
    let store = opened.map_err(|source| StartupError::Database { url: url.clone(), source })?;
    let applied = store.migrate().await.map_err(|source| StartupError::Migration { url, source })?;
    Ok((store, applied))
}

/// A running-to-be Portcullis: both listeners bound, the store migrated.
pub struct Application {
    port: u16,
    metrics_port: u16,
    server: Server,
    metrics_server: Server,
    store: Arc<dyn Store>,
    keys: Arc<KeyRuntime>,
    setup_url: Option<String>,
    sweeper: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    mail: Option<(portcullis_mailer::OutboxWorker, std::time::Duration)>,
    backchannel: crate::backchannel::BackchannelWorker,
    /// `/readyz` answers 503 once set (at the stop signal).
    draining: portcullis_web::Draining,
    /// How long to go on serving after the stop signal (`http.drain_secs`).
    drain: std::time::Duration,
    /// With Redis: telling the other instances of this one's changes, and
    /// hearing theirs.
    fanout: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .field("metrics_port", &self.metrics_port)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

fn bind(key: &'static str, addr: std::net::SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr).map_err(|source| StartupError::Bind { key, addr, source })
}

impl Application {
    /// Builds the application with the system clock.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Builds the application with a given clock (tests pass a manual one).
    /// Port 0 in `listen`/`metrics_listen` binds a free port; see [`Self::port`].
    pub async fn build_with_clock(settings: &Settings, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let listener = bind("listen", settings.listen)?;
        let metrics_listener = bind("metrics_listen", settings.metrics_listen)?;
        let (store, applied) = open_and_migrate(settings, true).await?;
        tracing::info!(backend = %store.backend(), applied, "database ready");
        let redis = match settings.redis.config().map_err(StartupError::RedisConfig)? {
            Some(config) => {
                let redis = portcullis_store_redis::Redis::connect(&config).await?;
                tracing::info!(redis = ?config.target, "redis ready");
                Some(redis)
            }
            None => None,
        };
        // Sign-in's hot state: shared on Redis when it is there, else in the database.
        let hot: Arc<dyn portcullis_store::HotState> = match &redis {
            Some(redis) => Arc::new(portcullis_store_redis::RedisHot::new(redis.clone())),
            None => store.clone(),
        };
        let synced = crate::clients::sync_config_clients(store.as_ref(), settings, clock.now())
            .await
            .map_err(StartupError::Clients)?;
        tracing::info!(clients = synced, "configuration clients synced");
        let sweeper = Box::pin(run_sweeper(store.clone(), clock.clone(), settings.auth.clone()));

        let metrics = Metrics::new()?;
        let keys = Arc::new(
            KeyRuntime::start(settings, store.clone(), clock.clone(), metrics.registry())
                .await
                .map_err(StartupError::Keys)?,
        );
        let fanout = redis.clone().map(|redis| crate::fanout::follow(redis, store.clone(), keys.clone()));
        let publication = Arc::new(Publication::new(
            &settings.issuer,
            &settings.keys.algorithms(),
            settings.keys.jwks_max_age_secs,
        ));
        let protocol = Arc::new(protocol_config(settings));
        let backchannel = crate::backchannel::BackchannelWorker::new(
            store.clone(),
            clock.clone(),
            keys.live(),
            settings.issuer.clone(),
            protocol.clone(),
        )
        .map_err(|e| StartupError::Clients(format!("cannot build the back-channel logout client: {e}")))?;
        let auth = build_auth(settings, metrics.registry(), keys.kek())?;
        let worker = crate::mail::build_worker(settings, store.clone(), clock.clone(), metrics.registry())
            .map_err(StartupError::Mail)?;
        let web_mail = crate::mail::web_mail(settings, worker.as_ref());
        let draining = portcullis_web::Draining::default();
        let hot_is_store = redis.is_none();
        let state = web::Data::new(AppState {
            store: store.clone(),
            clock,
            issuer: settings.issuer.clone(),
            keys: keys.live(),
            key_service: keys.service(),
            publication,
            clients: Arc::new(portcullis_protocol::ClientCache::new(protocol.client_cache_ttl)),
            cors: Arc::new(portcullis_protocol::cors::CorsOrigins::new(protocol.client_cache_ttl)),
            tokens: Arc::new(portcullis_protocol::TokenStateCache::new(protocol.token_state_cache_ttl)),
            hot,
            client_throttle: Arc::new(portcullis_store::MemoryThrottle::new()),
            // Nonces every instance sharing the key-encryption key accepts.
            dpop: Arc::new(portcullis_protocol::dpop::Dpop::new(keys.kek().derive("dpop-nonce"))),
            protocol,
            auth,
            mail: web_mail,
            metrics: metrics.clone(),
            readiness: Arc::new(StoreReadiness { store: store.clone(), redis }),
            draining: draining.clone(),
        });
        let mail =
            worker.map(|worker| (worker, std::time::Duration::from_secs(settings.mail.poll_interval_secs)));
        let setup_url = announce_setup_link(&state).await?;
        let shutdown_timeout = settings.http.shutdown_timeout_secs;
        let workers = settings
            .http
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get));
        let bind_err = |key, addr| move |source| StartupError::Bind { key, addr, source };

        let port = listener.local_addr().map_err(bind_err("listen", settings.listen))?.port();
        let body_timeout = std::time::Duration::from_secs(settings.http.body_read_timeout_secs);
        let headers = portcullis_web::HeaderPolicy::for_issuer(&settings.issuer);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(worker_state(&state, workers, hot_is_store))
                .wrap(from_fn(move |req, next| portcullis_web::body_read_deadline(req, next, body_timeout)))
                .wrap(from_fn(move |req, next| portcullis_web::security_headers(req, next, headers)))
                .wrap(from_fn(portcullis_web::telemetry))
                .configure(portcullis_web::configure)
        })
        .workers(workers)
        // One blocking thread per worker: the only blocking work of a request
        // is an argon2id hash (19 MiB each), so at most `workers` run at once.
        // With actix's default (512 / workers each) a burst of sign-ins ran
        // dozens of hashes at once on the same cores — no faster, and every
        // thread's malloc arena kept its buffers (over 1 GB of RSS after a
        // minute of sign-ins on 2 cores; see docs/benchmarks.md).
        .worker_max_blocking_threads(1)
        // Slow clients: the head of a connection's first request must
        // arrive within 5 s, an idle keep-alive connection is closed after
        // 5 s, a body must arrive within `http.body_read_timeout_secs` (the
        // middleware above), and a closing connection gets 1 s to
        // acknowledge. These are actix's defaults, stated here so they stay put.
        .keep_alive(std::time::Duration::from_secs(5))
        .client_request_timeout(std::time::Duration::from_secs(5))
        .client_disconnect_timeout(std::time::Duration::from_secs(1))
        .shutdown_timeout(shutdown_timeout)
        .disable_signals()
        .listen(listener)
        .map_err(bind_err("listen", settings.listen))?
        .run();

        let metrics_port = metrics_listener
            .local_addr()
            .map_err(bind_err("metrics_listen", settings.metrics_listen))?
            .port();
        let metrics = web::Data::new(metrics);
        let metrics_server = HttpServer::new(move || {
            App::new()
                .app_data(metrics.clone())
                .route("/metrics", web::get().to(portcullis_web::metrics_endpoint))
        })
        .workers(1)
        .shutdown_timeout(shutdown_timeout)
        .disable_signals()
        .listen(metrics_listener)
        .map_err(bind_err("metrics_listen", settings.metrics_listen))?
        .run();

        Ok(Self {
            port,
            metrics_port,
            server,
            metrics_server,
            store,
            keys,
            setup_url,
            sweeper,
            mail,
            backchannel,
            draining,
            drain: std::time::Duration::from_secs(settings.http.drain_secs),
            fanout,
        })
    }

    /// The bound public port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The one-time link that creates the first administrator, when the
    /// database had no user at start (also logged).
    pub fn first_admin_setup_url(&self) -> Option<String> {
        self.setup_url.clone()
    }

    /// The bound metrics port.
    pub fn metrics_port(&self) -> u16 {
        self.metrics_port
    }

    /// The signing keys: the live set, and a way to refresh it now.
    pub fn keys(&self) -> Arc<KeyRuntime> {
        self.keys.clone()
    }

    /// The store the application uses.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Handles to stop both listeners gracefully.
    pub fn handles(&self) -> [ServerHandle; 2] {
        [self.server.handle(), self.metrics_server.handle()]
    }

    /// Serves until `shutdown` completes; then drains: `/readyz` answers 503
    /// while every request is still served for `http.drain_secs` (the load
    /// balancer takes the instance out of rotation meanwhile); then stops
    /// accepting connections, lets in-flight requests finish (up to
    /// `http.shutdown_timeout_secs`) and closes the database pool. Nothing
    /// held in memory here is needed by other instances: the state of
    /// record is in the database.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let handles = self.handles();
        let refresher = tokio::spawn(self.keys.clone().run());
        let fanout = self.fanout.map(tokio::spawn);
        let sweeper = tokio::spawn(self.sweeper);
        let backchannel = tokio::spawn(self.backchannel.run(std::time::Duration::from_secs(1)));
        let mailer = self.mail.map(|(worker, every)| worker.spawn(every));
        let servers = async { tokio::try_join!(self.server, self.metrics_server).map(|_| ()) };
        tokio::pin!(servers);
        let result = tokio::select! {
            result = &mut servers => result,
            () = shutdown => {
                self.draining.start();
                tracing::info!(
                    drain_secs = self.drain.as_secs(),
                    "stop requested: draining (/readyz answers 503, requests are still served)"
                );
                // The servers must keep being polled while they drain and stop.
                let drained = tokio::select! {
                    result = &mut servers => Some(result),
                    () = tokio::time::sleep(self.drain) => None,
                };
                match drained {
                    Some(result) => result,
                    None => {
                        tracing::info!("shutting down: finishing in-flight requests");
                        let stop_all = async {
                            for handle in &handles {
                                handle.stop(true).await;
                            }
                        };
                        tokio::join!(stop_all, &mut servers).1
                    }
                }
            }
        };
        refresher.abort();
        if let Some(fanout) = fanout {
            fanout.abort();
        }
        sweeper.abort();
        backchannel.abort();
        if let Some(mailer) = mailer {
            // Between two mails, so a mail the server accepted is marked sent.
            mailer.stop().await;
        }
        self.store.close().await;
        tracing::info!("stopped");
        result
    }
}

/// The state one HTTP worker thread serves with: the store with a pool of
/// its own when the backend has that (`Store::for_worker`), also as the hot
/// state when that is the database's.
fn worker_state(state: &web::Data<AppState>, workers: usize, hot_is_store: bool) -> web::Data<AppState> {
    let Some(store) = state.store.for_worker(workers) else {
        return state.clone();
    };
    let mut own = AppState::clone(state);
    if hot_is_store {
        own.hot = store.clone();
    }
    own.store = store;
    web::Data::new(own)
}

/// `/readyz`'s check, over the store: it answers, with exactly this
/// build's migrations; and Redis, when configured, answers.
#[derive(Debug)]
struct StoreReadiness {
    store: Arc<dyn Store>,
    redis: Option<portcullis_store_redis::Redis>,
}

impl portcullis_web::ReadinessProbe for StoreReadiness {
    fn backend(&self) -> &'static str {
        self.store.backend().as_str()
    }

    fn check(&self) -> std::pin::Pin<Box<dyn Future<Output = DatabaseReadiness> + Send + '_>> {
        Box::pin(async move {
            let database = match self.store.migration_status().await {
                Ok(status) if status.is_current() => DatabaseReadiness::Ready,
                Ok(status) => DatabaseReadiness::SchemaNotCurrent(status.problem().unwrap_or_default()),
                Err(e) => DatabaseReadiness::Unreachable(e.to_string()),
            };
            match (database, &self.redis) {
                (DatabaseReadiness::Ready, Some(redis)) => match redis.ping().await {
                    Ok(()) => DatabaseReadiness::Ready,
                    Err(e) => DatabaseReadiness::RedisUnreachable(e.to_string()),
                },
                (database, _) => database,
            }
        })
    }
}

/// The protocol's lifetimes: ID tokens and grants bounded by
/// `keys.max_token_lifetime_secs` (a key must outlive what it signs);
/// access tokens signed with ES256 when configured (cheapest), else the
/// first configured algorithm.
fn protocol_config(settings: &Settings) -> portcullis_protocol::ProtocolConfig {
    let auth = &settings.auth;
    let mut config = portcullis_protocol::ProtocolConfig::new(
        time::Duration::seconds(auth.session_idle_timeout_secs.into()),
        time::Duration::seconds(auth.session_absolute_timeout_secs.into()),
    );
    let max =
        time::Duration::seconds(i64::try_from(settings.keys.max_token_lifetime_secs).unwrap_or(i64::MAX));
    config.id_token_ttl = config.id_token_ttl.min(max);
    config.max_token_lifetime = max;
    config.refresh_reuse_grace = settings.tokens.refresh_reuse_grace();
    config.client_lockout = portcullis_store::LockoutPolicy {
        max_failures: auth.max_failures_per_client,
        ..crate::accounts::lockouts(auth).account
    };
    let algorithms = settings.keys.algorithms();
    if !algorithms.contains(&portcullis_keys::Algorithm::Es256)
        && let Some(first) = algorithms.first()
    {
        config.access_token_alg = *first;
    }
    config.resources = settings.resource_servers();
    config
}

/// Resolves at the first SIGTERM or SIGINT.
/// Installs the SIGTERM and SIGINT handlers *now* and returns a future that
/// resolves at the first of them. Install before serving: until a handler is
/// registered, the default action kills the process, so a signal arriving
/// while the server starts would skip the graceful stop.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
