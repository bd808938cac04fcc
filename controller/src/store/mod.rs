//! The store: the only place that writes SQL.
//!
//! One [`Store`] over SQLite (`sqlite://PATH`, the default, created if
//! missing, WAL) or PostgreSQL (`postgres://…`), chosen by the URL. It keeps
//! what must survive a restart: each zone's serial and content, the farm
//! (hosts, assignments, the fail-static flag, the records and aliases
//! written through the API, when hosts left roles) and the event log.
//!
//! Domain types ([`crate::farm`]) go in and come out; the row types stay in
//! here. Each query is written once, with `$1`-style placeholders (which
//! SQLite accepts too), and compiled per backend by `with_pool!`: an enum of
//! native pools rather than sqlx's `AnyPool`, so each backend keeps its own
//! types (PostgreSQL `BOOLEAN`, which the `Any` driver cannot read back from
//! SQLite) and connect options (SQLite's WAL and create-if-missing).
//!
//! Schemas live in `migrations/sqlite/` and `migrations/postgres/`, kept in
//! step, and run at [`Store::open`].

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

/// Runs `$body` once per backend with `$pool` bound to that backend's pool:
/// the text is written once and type-checked for both.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}

mod commit;
mod events;
mod farm;
mod rows;

pub use commit::Commit;
pub use events::{EventFilter, StoredEvent};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not one muster understands.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// The database said no.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value the store cannot read back (edited by hand, or written
    /// by a newer muster).
    #[error("corrupt {table} row {key:?}: {detail}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The row's key.
        key: String,
        /// What is wrong with it.
        detail: String,
    },
}

impl StoreError {
    /// Worth retrying later: the database is unreachable, busy, or asked us
    /// to retry (PostgreSQL serialization failure or deadlock, SQLite busy or
    /// locked). Constraint violations and corrupt rows are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Database(e) => retryable(e),
            Self::Migrate(sqlx::migrate::MigrateError::Execute(e)) => retryable(e),
            _ => false,
        }
    }

    pub(crate) fn corrupt(table: &'static str, key: &str, detail: impl ToString) -> Self {
        Self::Corrupt {
            table,
            key: key.to_owned(),
            detail: detail.to_string(),
        }
    }
}

fn retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if db.try_downcast_ref::<PgDatabaseError>().is_some() {
                // Connection exceptions, serialization failure, deadlock,
                // lock not available, too many connections, shutting down.
                code.starts_with("08")
                    || matches!(
                        &*code,
                        "40001" | "40P01" | "55P03" | "53300" | "57P01" | "57P02" | "57P03"
                    )
            } else {
                // SQLite extended result codes: the primary code is the low byte.
                code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)) // BUSY, LOCKED
            }
        }
        _ => false,
    }
}

/// A zone's last published state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneState {
    /// The SOA serial published.
    pub serial: u32,
    /// The zone in presentation format, serial line included.
    pub content: String,
}

/// muster's database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Store {
    /// Opens the database at `url` (`sqlite://PATH`, created if missing, or
    /// `postgres://…`) and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?;
            sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            Pool::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            sqlx::migrate!("../migrations/postgres").run(&pool).await?;
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        Ok(Self { pool })
    }

    /// Which database this is: `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Closes every connection; later calls fail with `PoolClosed`.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }

    /// The last published state of `zone`, if any.
    pub async fn zone_state(&self, zone: &str) -> Result<Option<ZoneState>, StoreError> {
        let row: Option<(i64, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT serial, content FROM zone_state WHERE zone = $1")
                .bind(zone)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(serial, content)| {
            let serial = u32::try_from(serial).map_err(|e| StoreError::corrupt("zone_state", zone, e))?;
            Ok(ZoneState { serial, content })
        })
        .transpose()
    }
}

/// Upserts one `zone_state` row: zone, serial, content, updated_at.
const SAVE_ZONE_STATE: &str = "INSERT INTO zone_state (zone, serial, content, updated_at)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (zone) DO UPDATE SET serial = excluded.serial,
       content = excluded.content, updated_at = excluded.updated_at";
