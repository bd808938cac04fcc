//! The store: the only place that writes SQL.
//!
//! For now it keeps what the DNS side needs to survive a restart: each
//! zone's serial and published content.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not one muster understands.
    #[error("unsupported database URL {0:?}: use sqlite://PATH")]
    UnsupportedUrl(String),
    /// The database said no.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Worth retrying later (the database may come back).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Database(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)
        )
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
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if missing) the database at `url` and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    /// The last published state of `zone`, if any.
    pub async fn zone_state(&self, zone: &str) -> Result<Option<ZoneState>, StoreError> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT serial, content FROM zone_state WHERE zone = ?")
                .bind(zone)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(serial, content)| ZoneState {
            serial: serial as u32,
            content,
        }))
    }

    /// Records that `zone` is now published as `state`.
    pub async fn save_zone_state(
        &self,
        zone: &str,
        state: &ZoneState,
        now_unix: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO zone_state (zone, serial, content, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (zone) DO UPDATE SET serial = excluded.serial,
               content = excluded.content, updated_at = excluded.updated_at",
        )
        .bind(zone)
        .bind(i64::from(state.serial))
        .bind(&state.content)
        .bind(now_unix)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
