//! Which history a process opens (DESIGN.md §11): `CHAINLIFT_DATABASE_URL`, else `database` in
//! the data folder's `config.toml`, else the SQLite file in the data folder.

use std::path::Path;

use chainlift_store::Location;
use serde::Serialize;
use ts_rs::TS;

use crate::{ApiError, Chainlift, ErrorCode, Result};

pub const DATABASE_URL_VAR: &str = "CHAINLIFT_DATABASE_URL";
/// The largest `config.toml` read (it holds a few settings).
const MAX_CONFIG: u64 = 64 * 1024;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DataConfig {
    database: Option<String>,
}

/// Where this process's history is, from the variable, the data folder's config or the default.
pub fn location(data_dir: &Path) -> Result<Location> {
    if let Ok(url) = std::env::var(DATABASE_URL_VAR) {
        if !url.trim().is_empty() {
            return Location::from_url(&url).map_err(|e| {
                ApiError::new(ErrorCode::BadInput, format!("{DATABASE_URL_VAR}: {e}"))
            });
        }
    }
    let config = data_dir.join("config.toml");
    let bad =
        |why: String| ApiError::new(ErrorCode::BadInput, format!("{}: {why}", config.display()));
    match std::fs::metadata(&config) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(bad(format!("cannot read it: {e}"))),
        Ok(m) if m.len() > MAX_CONFIG => {
            return Err(bad(format!(
                "{} bytes is over the {MAX_CONFIG} this file may hold",
                m.len()
            )))
        }
        Ok(_) => {
            let text = std::fs::read_to_string(&config)
                .map_err(|e| bad(format!("cannot read it: {e}")))?;
            let parsed: DataConfig = toml::from_str(&text).map_err(|e| {
                bad(format!(
                    "{} (it may hold `database = \"postgres://…\"`)",
                    e.message().trim_end()
                ))
            })?;
            if let Some(url) = parsed.database {
                return Location::from_url(&url).map_err(|e| bad(format!("`database`: {e}")));
            }
        }
    }
    Ok(Location::Sqlite(data_dir.join("chainlift.db")))
}

/// The history a process has open, as the app's settings and `db status` show it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct DatabaseView {
    /// "SQLite" or "PostgreSQL".
    pub engine: String,
    /// The file, or the server's URL without its password.
    pub location: String,
    /// The schema version this history is at, and the newest this build knows.
    #[ts(type = "number")]
    pub schema: i64,
    #[ts(type = "number")]
    pub latest: i64,
    /// Migrations this build knows and the history lacks (applied by `db migrate` or opening).
    pub pending: Vec<String>,
}

impl Chainlift {
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The host a project folder is bound for (DESIGN.md §2): none on SQLite (one machine holds
    /// the file), this machine's name on a shared PostgreSQL, where each machine binds its own
    /// checkout to a project's name.
    pub(crate) fn project_host(&self) -> String {
        match self.location {
            Location::Sqlite(_) => String::new(),
            Location::Postgres(_) => crate::host_name(),
        }
    }

    /// Which history is open and whether its schema is current.
    pub async fn database(&self) -> Result<DatabaseView> {
        view(&self.pool, &self.location).await
    }
}

/// What `pool` at `location` holds of the schema.
pub async fn view(pool: &chainlift_store::Pool, location: &Location) -> Result<DatabaseView> {
    let migrations = chainlift_store::migrations(pool).await?;
    Ok(DatabaseView {
        engine: location.engine().name().to_string(),
        location: location.display(),
        schema: migrations
            .iter()
            .filter(|m| m.applied)
            .map(|m| m.version)
            .max()
            .unwrap_or(0),
        latest: migrations.iter().map(|m| m.version).max().unwrap_or(0),
        pending: migrations
            .iter()
            .filter(|m| !m.applied)
            .map(|m| format!("{:04} {}", m.version, m.description))
            .collect(),
    })
}
