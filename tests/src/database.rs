use portcullis_store::sql::Arg;
use portcullis_store::{Backend, Store};
use portcullis_store_postgres::{PgOptions, PgStore};
use portcullis_store_sqlite::{SqliteOptions, SqliteStore};
use portcullis_store_sqlx::Dialect;
use sqlx::{Connection, Row};
use std::sync::Arc;

/// Where `scripts/test` puts its throwaway PostgreSQL server.
pub const POSTGRES_ENV: &str = "PORTCULLIS_TEST_POSTGRES_URL";

/// A database of its own for one test; PostgreSQL ones are dropped on drop.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL the application connects to.
    pub url: String,
    /// Which backend.
    pub backend: Backend,
    /// Holds the SQLite file's folder (also the app's `data_dir`).
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>, // (admin url, database name)
}

fn postgres_admin_url() -> String {
    std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_ENV} is not set: PostgreSQL tests need a server. \
             Run them through scripts/test, which installs and starts one."
        )
    })
}

impl TestDatabase {
    /// Creates an empty database.
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("portcullis.db").display());
                Self { url, backend, dir, pg: None }
            }
            Backend::Postgres => Self::on_postgres(&postgres_admin_url()).await,
        }
    }

    /// Creates an empty PostgreSQL database on the server at `admin` (a
    /// superuser URL), e.g. a [`crate::pg_cluster::PgCluster`]'s.
    pub async fn on_postgres(admin: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let name = format!("portcullis_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        let url = with_database(admin, &name);
        Self { url, backend: Backend::Postgres, dir, pg: Some((admin.to_owned(), name)) }
    }

    /// Runs SQL straight against the database (to inspect or damage it).
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.expect("connect");
                sqlx::raw_sql(sql).execute(&mut conn).await.expect("execute");
                let _ = conn.close().await;
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect");
                sqlx::raw_sql(sql).execute(&mut conn).await.expect("execute");
                let _ = conn.close().await;
            }
        }
    }

    /// Counts the rows a query returns.
    pub async fn count(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM ({sql}) AS counted"));
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.expect("connect");
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.expect("count")
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect");
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.expect("count")
            }
        }
    }

    /// How the database would run `sql` (one of the store's statements) with
    /// `args`, bound as the store binds them: PostgreSQL's `EXPLAIN` lines,
    /// SQLite's `EXPLAIN QUERY PLAN` details.
    pub async fn query_plan(&self, sql: &str, args: &[Arg<'_>]) -> Vec<String> {
        // A test's statement, asked about a few times: leaking it gives the
        // `'static` text the backends' binding takes.
        match self.backend {
            Backend::Sqlite => {
                let explain: &'static str = Box::leak(format!("EXPLAIN QUERY PLAN {sql}").into_boxed_str());
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.expect("connect");
                let query = portcullis_store_sqlite::exec::Dialect::query(explain, args);
                let rows = query.fetch_all(&mut conn).await.expect("explain");
                let _ = conn.close().await;
                rows.iter().map(|r| r.try_get::<String, _>("detail").expect("detail")).collect()
            }
            Backend::Postgres => {
                let explain: &'static str = Box::leak(format!("EXPLAIN {sql}").into_boxed_str());
                let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect");
                let query = portcullis_store_postgres::exec::Dialect::query(explain, args);
                let rows = query.fetch_all(&mut conn).await.expect("explain");
                let _ = conn.close().await;
                rows.iter().map(|r| r.try_get::<String, _>(0).expect("plan line")).collect()
            }
        }
    }

    /// Opens a store on this database, not migrated.
    pub async fn open(&self) -> Arc<dyn Store> {
        match self.backend {
            Backend::Sqlite => Arc::new(
                SqliteStore::connect(&self.url, &SqliteOptions::default()).await.expect("open sqlite"),
            ),
            Backend::Postgres => {
                Arc::new(PgStore::connect(&self.url, &PgOptions::default()).await.expect("open postgres"))
            }
        }
    }
}

/// A migrated store on a fresh database (for repository tests).
pub async fn test_store(backend: Backend) -> (Arc<dyn Store>, TestDatabase) {
    let db = TestDatabase::new(backend).await;
    let store = db.open().await;
    store.migrate().await.expect("migrate");
    (store, db)
}

fn with_database(admin: &str, name: &str) -> String {
    let mut url = url_parse(admin);
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn url_parse(s: &str) -> reqwest::Url {
    reqwest::Url::parse(s).unwrap_or_else(|e| panic!("{POSTGRES_ENV} is not a URL ({e}): {s}"))
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else { return };
        // Drop is synchronous: use a runtime of our own on another thread.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        #[allow(clippy::print_stderr)] // a leaked test database is worth a word, not a failure
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop a test database");
        }
    }
}
