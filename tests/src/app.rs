use actix_web::dev::ServerHandle;
use portcullis_core::ManualClock;
use portcullis_server::{Application, Settings};
use portcullis_store::{Backend, Store};
use std::sync::Arc;
use time::macros::datetime;

use crate::TestDatabase;

/// A running application and what a test needs to talk to it.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// `http://127.0.0.1:PORT` of the metrics listener.
    pub metrics_address: String,
    /// The settings it runs with.
    pub settings: Settings,
    /// Its store.
    pub store: Arc<dyn Store>,
    /// Its clock; move it to test expiry.
    pub clock: ManualClock,
    /// An HTTP client that does not follow redirects.
    pub client: reqwest::Client,
    /// Its database.
    pub db: Arc<TestDatabase>,
    /// Its signing keys (the live set the server signs with).
    pub keys: Arc<portcullis_server::keys::KeyRuntime>,
    /// The first-admin setup path (`/setup?token=…`), when the database had
    /// no user at start.
    pub setup_path: Option<String>,
    /// A hasher at the app's argon2 cost (for [`TestApp::accounts`]).
    pub hasher: Arc<portcullis_authn::PasswordHasher>,
    handles: Vec<ServerHandle>,
    policy: portcullis_authn::PasswordPolicy,
}

/// Settings for a test: free ports, the given database, quiet logs.
pub fn test_settings(db: &TestDatabase) -> Settings {
    let env = [
        ("PORTCULLIS__LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("PORTCULLIS__METRICS_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("PORTCULLIS__DATA_DIR".to_owned(), db.dir.path().display().to_string()),
        ("PORTCULLIS__DATABASE__URL".to_owned(), db.url.clone()),
        ("PORTCULLIS__HTTP__WORKERS".to_owned(), "1".to_owned()),
        ("PORTCULLIS__HTTP__SHUTDOWN_TIMEOUT_SECS".to_owned(), "1".to_owned()),
        ("PORTCULLIS__DATABASE__MAX_CONNECTIONS".to_owned(), "4".to_owned()),
        // Cheap argon2 where a test is not about its cost (debug builds are slow).
        ("PORTCULLIS__AUTH__ARGON2_MEMORY_KIB".to_owned(), "64".to_owned()),
        ("PORTCULLIS__AUTH__ARGON2_ITERATIONS".to_owned(), "1".to_owned()),
    ];
    Settings::load(None, env).expect("test settings are valid")
}

/// Spawns the application on a fresh database of `backend`.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(Arc::new(TestDatabase::new(backend).await), |_| {}).await
}

/// Spawns the application on `db` after `customise` adjusts the settings.
pub async fn spawn_app_with(db: Arc<TestDatabase>, customise: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(&db);
    customise(&mut settings);
    let clock = ManualClock::new(datetime!(2026-01-01 09:00 UTC));
    let app =
        Application::build_with_clock(&settings, Arc::new(clock.clone())).await.expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = format!("http://127.0.0.1:{}", app.metrics_port());
    let store = app.store();
    let keys = app.keys();
    let setup_path = app.first_admin_setup_url().map(|url| {
        url.strip_prefix(settings.issuer.as_str()).expect("the link is under the issuer").to_owned()
    });
    let handles = app.handles().to_vec();
    tokio::spawn(app.run_until(std::future::pending()));
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http client");
    let cost = portcullis_authn::Argon2Cost {
        memory_kib: settings.auth.argon2_memory_kib,
        iterations: settings.auth.argon2_iterations,
        parallelism: settings.auth.argon2_parallelism,
    };
    let hasher = Arc::new(portcullis_authn::PasswordHasher::new(cost).expect("hasher"));
    let policy = portcullis_authn::PasswordPolicy::default();
    TestApp {
        address,
        metrics_address,
        settings,
        store,
        clock,
        client,
        db,
        keys,
        setup_path,
        hasher,
        handles,
        policy,
    }
}

impl TestApp {
    /// `GET {address}{path}`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.address)).send().await.expect("request")
    }

    /// The account operations the CLI runs, over this app's store and clock.
    pub fn accounts(&self) -> portcullis_authn::accounts::Accounts<'_> {
        portcullis_authn::accounts::Accounts {
            store: self.store.as_ref(),
            hasher: &self.hasher,
            policy: &self.policy,
            clock: &self.clock,
        }
    }

    /// Stops the listeners gracefully (in-flight requests finish).
    pub async fn stop(&self) {
        for handle in &self.handles {
            handle.stop(true).await;
        }
    }

    /// Stops the listeners abruptly, the closest to a killed process in one
    /// test process: connections in flight are dropped and new ones
    /// refused. (Its background tasks run on with the test's runtime.)
    pub async fn kill(&self) {
        for handle in &self.handles {
            handle.stop(false).await;
        }
    }
}
