//! Test support for the store: a fresh, empty database per test on each
//! backend, and the runner that cleans it up even when the test panics.
#![allow(dead_code, unreachable_pub)]

pub mod postgres;

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection;

/// A fresh database for one test.
pub enum TestDb {
    /// A file in its own temp dir, removed with it.
    Sqlite { url: String, dir: tempfile::TempDir },
    /// A database created for the test on the test server, dropped after.
    Postgres {
        url: String,
        server: String,
        name: String,
    },
}

impl TestDb {
    /// A new SQLite database file (not created yet: `Store::open` does).
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("muster.db").display());
        Self::Sqlite { url, dir }
    }

    /// A new, empty PostgreSQL database (`CREATE DATABASE`) on the test
    /// server (see [`postgres::server_url`]).
    pub async fn postgres() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let server = postgres::server_url();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "muster_t_{}_{nanos}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL server {server}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = admin.close().await;
        Self::Postgres {
            url: postgres::with_database(&server, &name),
            server,
            name,
        }
    }

    /// The URL to give `Store::open`.
    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    /// Removes the database.
    pub async fn remove(self) {
        match self {
            Self::Sqlite { dir, .. } => drop(dir),
            Self::Postgres { server, name, .. } => {
                let dropped = async {
                    let mut admin = sqlx::PgConnection::connect(&server).await?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await?;
                    admin.close().await
                };
                if let Err(e) = dropped.await {
                    eprintln!("dropping test database {name}: {e}");
                }
            }
        }
    }
}

/// Runs `case` against `db`'s URL, then removes `db` whether the case
/// passed or panicked (the panic is passed on).
pub async fn run<F, Fut>(db: TestDb, case: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(case(db.url().to_owned())).await;
    db.remove().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

/// Expands the store battery for every backend: one `#[tokio::test]` per
/// case and backend, in modules `sqlite` and `postgres`. Each case is an
/// `async fn(url: String)` given a fresh, empty database.
#[macro_export]
macro_rules! store_battery {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    $crate::support::run($crate::support::TestDb::sqlite(), super::$case).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    $crate::support::run($crate::support::TestDb::postgres().await, super::$case).await;
                }
            )*
        }
    };
}
