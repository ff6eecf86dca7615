//! The local history in SQLite: one module per table, runtime queries, embedded migrations.
//!
//! The CLI and the app write the same file at once, so the pool runs in WAL mode with a busy
//! timeout, and every multi-statement write begins IMMEDIATE (a deferred transaction that later
//! upgrades to a write lock fails with SQLITE_BUSY instead of waiting).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub mod audit;
pub mod deployments;
pub mod flags;
pub mod gate_reports;
pub mod projects;
pub mod promotions;
pub mod rollouts;
pub mod runs;
pub mod secrets;
pub mod versions;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot lock the database for migration: {0}")]
    Lock(String),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

pub type Result<T> = std::result::Result<T, StoreError>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Open (creating if needed) the database at `path` and bring it to the current schema.
pub async fn open(path: &Path) -> Result<SqlitePool> {
    // Two processes opening a new database at once would race to switch it to WAL and to
    // migrate it; a lock file beside the database serialises opening (not the work after it).
    let lock_path = path.with_extension("db.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StoreError::Lock(format!("{}: {e}", lock_path.display())))?;
    let locked = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
        .await
        .map_err(|e| StoreError::Lock(e.to_string()))?
        .map_err(|e| StoreError::Lock(format!("{}: {e}", lock_path.display())))?;

    let open_err = |source| StoreError::Open {
        path: path.display().to_string(),
        source,
    };
    // The path is given as a path, never pasted into a URL: a `?` or `#` in the data folder's
    // name would otherwise open another file or set options.
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        // A connection to a local file does not go stale: no ping (a round trip to its worker
        // thread) before every query.
        .test_before_acquire(false)
        // Open one connection now, under the lock, so WAL is set before anyone else writes.
        .min_connections(1)
        .connect_with(options)
        .await
        .map_err(open_err)?;
    let migrated = MIGRATOR.run(&pool).await;
    drop(locked);
    migrated?;
    Ok(pool)
}

/// An in-memory database for tests.
pub async fn open_in_memory() -> Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
    // One connection: every connection to :memory: is its own database.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}
