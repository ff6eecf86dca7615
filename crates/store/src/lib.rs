//! The history: SQLite in the data folder (the embedded default) or PostgreSQL (a team's
//! database), through sqlx's `Any` driver: one set of store functions, written in the SQL both
//! engines speak (`$N` placeholders, `ON CONFLICT`, `RETURNING`), and one migration folder per
//! engine (docs/DECISIONS.md).
//!
//! Writers are serialized the same way on both: SQLite begins every multi-statement write
//! IMMEDIATE (the database's write lock, taken up front); PostgreSQL begins it with a
//! transaction-scoped advisory lock, so read-then-write transactions (the next version's seq,
//! the audit chain's head, compare-and-swap state changes) behave as on SQLite with any number
//! of processes on any number of machines.
//!
//! On SQLite the CLI and the app write the same file at once, so the pool runs in WAL mode with
//! a busy timeout.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

pub mod audit;
pub mod copy;
pub mod deployments;
pub mod flags;
pub mod gate_reports;
pub mod projects;
pub mod promotions;
pub mod rollouts;
pub mod runs;
pub mod secrets;
pub mod slots;
pub mod versions;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot lock the database for migration: {0}")]
    Lock(String),
    #[error("{0}")]
    NotEmpty(String),
    #[error("database URL {0}")]
    Url(String),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The pool every store function takes: SQLite or PostgreSQL.
pub type Pool = sqlx::AnyPool;
/// One connection of it (a transaction derefs to one).
pub type Conn = sqlx::AnyConnection;
/// A write transaction begun by [`begin_write`].
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The advisory lock every PostgreSQL write transaction holds ("chainlift" in ASCII).
const WRITE_LOCK: i64 = 0x6368_6169_6e6c_6966;

/// Which engine holds a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn of(pool: &Pool) -> Engine {
        if pool.connect_options().database_url.scheme() == "sqlite" {
            Engine::Sqlite
        } else {
            Engine::Postgres
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        }
    }

    fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Engine::Sqlite => &SQLITE,
            Engine::Postgres => &POSTGRES,
        }
    }
}

/// Where a history lives: a SQLite file, or a PostgreSQL server by URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Location {
    /// `postgres://…` or `postgresql://…`; anything else is refused with what is accepted.
    pub fn from_url(url: &str) -> std::result::Result<Location, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Location::Postgres(url.to_string()))
        } else {
            Err(format!(
                "`{}` is not a database URL Chainlift opens: give postgres://user@host:port/db \
                 (leave it unset for the SQLite file in the data folder)",
                redact_url(url)
            ))
        }
    }

    /// The location as a person may read it: a PostgreSQL URL without its password.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => redact_url(url),
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Location::Sqlite(_) => Engine::Sqlite,
            Location::Postgres(_) => Engine::Postgres,
        }
    }
}

/// A URL with any password replaced by `***` (what goes in messages, logs and the app).
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        // Not a URL: it may still hold a password after a `:`, so show only its scheme.
        Err(_) => match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://…"),
            None => "(not a URL)".to_string(),
        },
    }
}

/// Open (creating if needed) the history at `location` and bring it to the current schema.
pub async fn open_location(location: &Location) -> Result<Pool> {
    match location {
        Location::Sqlite(path) => open(path).await,
        Location::Postgres(url) => connect_postgres(url).await,
    }
}

/// Open (creating if needed) the SQLite database at `path` and bring it to the current schema.
pub async fn open(path: &Path) -> Result<Pool> {
    sqlx::any::install_default_drivers();
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
    // The path is given as a path and turned into a URL by sqlx's own encoder, never pasted
    // into one: a `?` or `#` in the data folder's name would otherwise open another file or set
    // options.
    let url = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .to_url_lossy();
    let options = AnyConnectOptions::from_str(url.as_str()).map_err(open_err)?;
    let pool = AnyPoolOptions::new()
        .max_connections(4)
        // A connection to a local file does not go stale: no ping (a round trip to its worker
        // thread) before every query.
        .test_before_acquire(false)
        // Open one connection now, under the lock, so WAL is set before anyone else writes.
        .min_connections(1)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(open_err)?;
    let migrated = SQLITE.run(&pool).await;
    drop(locked);
    migrated?;
    Ok(pool)
}

/// Connect to a PostgreSQL history and bring it to the current schema (sqlx's migrator holds
/// an advisory lock while it migrates, so replicas starting together migrate once).
pub async fn connect_postgres(url: &str) -> Result<Pool> {
    let pool = connect_postgres_unmigrated(url).await?;
    POSTGRES.run(&pool).await?;
    Ok(pool)
}

/// Connect without migrating (`db status` reads what is there).
pub async fn connect_postgres_unmigrated(url: &str) -> Result<Pool> {
    sqlx::any::install_default_drivers();
    let open_err = |source| StoreError::Open {
        path: redact_url(url),
        source,
    };
    let options = AnyConnectOptions::from_str(url).map_err(open_err)?;
    AnyPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(open_err)
}

/// Begin a write transaction: the only writer until it ends (see the module's notes).
pub async fn begin_write(pool: &Pool) -> Result<Tx> {
    match Engine::of(pool) {
        Engine::Sqlite => Ok(pool.begin_with("BEGIN IMMEDIATE").await?),
        Engine::Postgres => {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// Begin a write transaction that needs no other writer kept out: on PostgreSQL its row locks
/// are enough (a run's end and its steps touch that run's rows only); on SQLite it begins
/// IMMEDIATE like every write.
pub async fn begin_rows(pool: &Pool) -> Result<Tx> {
    match Engine::of(pool) {
        Engine::Sqlite => Ok(pool.begin_with("BEGIN IMMEDIATE").await?),
        Engine::Postgres => Ok(pool.begin().await?),
    }
}

/// Begin a write transaction kept apart from the others of the same `key` only (on PostgreSQL
/// a transaction-scoped advisory lock on the key's hash; on SQLite IMMEDIATE like every write):
/// for read-then-write changes of one small set of rows, such as one env's slots.
pub async fn begin_keyed(pool: &Pool, key: &str) -> Result<Tx> {
    match Engine::of(pool) {
        Engine::Sqlite => Ok(pool.begin_with("BEGIN IMMEDIATE").await?),
        Engine::Postgres => {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(key)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// A migration of an engine's schema and whether this history has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}

/// The schema's migrations and which of them this history has (for `db status`).
pub async fn migrations(pool: &Pool) -> Result<Vec<MigrationState>> {
    let engine = Engine::of(pool);
    let table: Option<String> =
        match engine {
            Engine::Sqlite => sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_optional(pool)
            .await?,
            Engine::Postgres => {
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
                    .fetch_one(pool)
                    .await?
            }
        };
    let applied: Vec<i64> = if table.is_some() {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await?
    } else {
        Vec::new()
    };
    Ok(engine
        .migrator()
        .iter()
        .map(|m| MigrationState {
            version: m.version,
            description: m.description.to_string(),
            applied: applied.contains(&m.version),
        })
        .collect())
}

/// An in-memory SQLite database for tests.
pub async fn open_in_memory() -> Result<Pool> {
    sqlx::any::install_default_drivers();
    // One connection: every connection to :memory: is its own database.
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA foreign_keys = ON").await?;
                Ok(())
            })
        })
        .connect("sqlite::memory:")
        .await?;
    SQLITE.run(&pool).await?;
    Ok(pool)
}

/// A 0/1 column read as a bool: SQLite has no boolean type, so both engines store an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntBool(pub bool);

impl sqlx::Type<sqlx::Any> for IntBool {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<sqlx::Any>>::type_info()
    }
    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for IntBool {
    fn decode(
        value: sqlx::any::AnyValueRef<'r>,
    ) -> std::result::Result<Self, sqlx::error::BoxDynError> {
        Ok(IntBool(
            <i64 as sqlx::Decode<sqlx::Any>>::decode(value)? != 0,
        ))
    }
}

impl From<IntBool> for bool {
    fn from(b: IntBool) -> bool {
        b.0
    }
}

/// A fresh, empty PostgreSQL database on the server of `admin_url` (a URL to any database there
/// that may create databases), for tests: its URL.
pub async fn scratch_postgres(admin_url: &str) -> Result<String> {
    sqlx::any::install_default_drivers();
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "chainlift_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let mut admin = sqlx::AnyConnection::connect(admin_url).await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let mut url = url::Url::parse(admin_url)
        .map_err(|e| StoreError::Url(format!("{}: {e}", redact_url(admin_url))))?;
    url.set_path(&name);
    Ok(url.to_string())
}

/// The pool a store test runs on: a fresh PostgreSQL database when
/// `CHAINLIFT_TEST_DATABASE_URL` names a server (`scripts/with-postgres.sh`), else SQLite in
/// memory. The same tests, both engines.
#[cfg(test)]
pub(crate) async fn test_pool() -> Result<Pool> {
    match std::env::var("CHAINLIFT_TEST_DATABASE_URL") {
        Ok(admin) if !admin.is_empty() => connect_postgres(&scratch_postgres(&admin).await?).await,
        _ => open_in_memory().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_is_shown_without_its_password() {
        let url = "postgres://dana:s3cret-pw@db.internal:5432/chainlift?sslmode=require";
        let shown = redact_url(url);
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert_eq!(
            shown,
            "postgres://dana:***@db.internal:5432/chainlift?sslmode=require"
        );
        assert_eq!(
            Location::from_url(url).map(|l| l.display()),
            Ok(shown.clone())
        );
        // Not a URL at all: nothing after the scheme is shown.
        assert_eq!(redact_url("postgres://dana:s3cret pw@[bad"), "postgres://…");
        match Location::from_url("mysql://dana:s3cret-pw@db/x") {
            Err(refused) => assert!(
                !refused.contains("s3cret-pw") && refused.contains("postgres://"),
                "{refused}"
            ),
            Ok(l) => panic!("a MySQL URL was accepted: {l:?}"),
        }
    }
}
