//! The one surface every caller uses: the CLI, the desktop app and the tests call these use
//! cases and get DTOs (exported to TypeScript) or an [`ApiError`] `{code, message}` back.

mod clock;
mod criteria;
pub mod database;
mod diff;
pub mod dto;
pub mod editor;
mod error;
mod gates;
mod history;
mod import;
mod memo;
mod owner;
mod project;
mod promotion;
mod quality;
pub mod report;
pub(crate) mod review;
pub mod rollout;
mod runs;
pub mod sample;
mod secrets;
mod serving;
mod slots;
mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Every way a value breaks a JSON schema (compiled once per schema, kept).
pub use chainlift_engine::run::schema_errors;
pub use clock::{Clock, ManualClock, SystemClock};
pub use database::{DatabaseView, DATABASE_URL_VAR};
pub use error::{ApiError, ErrorCode};
pub use gates::{required_gates, GateArgs};
pub use owner::host_name;
pub use project::ProjectArgs;
pub use runs::{PreparedRun, RunArgs, RunsQuery};
pub use secrets::SecretArgs;
pub use serving::{Claim, Deployed, LeaseStats, SERVE_TOKEN};

use chainlift_secrets::SecretSource;
use chainlift_store::Pool;

pub type Result<T> = std::result::Result<T, ApiError>;

/// The data folder: `$CHAINLIFT_HOME`, else the OS data dir + `chainlift/` (DESIGN.md §7).
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CHAINLIFT_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    dirs::data_dir()
        .map(|d| d.join("chainlift"))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::BadInput,
                "no data folder: set CHAINLIFT_HOME to a writable folder",
            )
        })
}

/// Everything a use case needs, built once by the caller (CLI `main`, the app's `setup()`).
#[derive(Clone)]
pub struct Chainlift {
    data_dir: PathBuf,
    pool: Pool,
    /// Where `pool`'s history is (the SQLite file, or a PostgreSQL server).
    location: chainlift_store::Location,
    secrets: SecretSource,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    /// One semaphore per (project, env), sized by the env's `concurrency`, shared by every run
    /// this process starts there.
    env_permits:
        Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>>,
    /// Version copies this process has verified (by hash), with their folder's mtime then: a
    /// run of a deployed version re-hashes its copy only when the folder changed.
    verified: Arc<std::sync::Mutex<std::collections::HashMap<PathBuf, std::time::SystemTime>>>,
    /// Projects and chains read from disk, kept while their files are unchanged (a run per
    /// request), and project folders bound to their id.
    memo: Arc<memo::Memo>,
    /// A rollout window's baseline (the stable's runs before the full switch): a span in the
    /// past does not change, so each rollout reads it once (bounded).
    baselines: Arc<
        std::sync::Mutex<
            std::collections::HashMap<String, chainlift_store::rollouts::IntervalRuns>,
        >,
    >,
}

impl Chainlift {
    /// Open the data folder and its database, with the secret source the process asks for.
    pub async fn open(data_dir: &Path) -> Result<Chainlift> {
        Self::open_with(
            data_dir,
            SecretSource::from_process(),
            Arc::new(SystemClock),
        )
        .await
    }

    pub async fn open_with(
        data_dir: &Path,
        secrets: SecretSource,
        clock: Arc<dyn Clock>,
    ) -> Result<Chainlift> {
        let location = database::location(data_dir)?;
        Self::open_at(data_dir, location, secrets, clock).await
    }

    /// [`Self::open_with`] on the history at `location`, whatever the environment says.
    pub async fn open_at(
        data_dir: &Path,
        location: chainlift_store::Location,
        secrets: SecretSource,
        clock: Arc<dyn Clock>,
    ) -> Result<Chainlift> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            ApiError::new(
                ErrorCode::BadInput,
                format!("{}: cannot create the data folder: {e}", data_dir.display()),
            )
        })?;
        let pool = chainlift_store::open_location(&location).await?;
        // No redirects: a key must reach only the host it was configured for (DESIGN.md §2).
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("HTTP client: {e}")))?;
        let api = Chainlift {
            data_dir: data_dir.to_path_buf(),
            pool,
            location,
            secrets,
            clock,
            http,
            env_permits: Arc::default(),
            verified: Arc::default(),
            memo: Arc::default(),
            baselines: Arc::default(),
        };
        // Runs left `queued` or `running` by a process that died end `interrupted` (§9).
        api.interrupt_orphans().await?;
        Ok(api)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// The project folders the app opened, newest first, in `recent-projects.json` of the data
/// folder (at most ten; folders that are gone are dropped).
const RECENT_FILE: &str = "recent-projects.json";

impl Chainlift {
    /// The projects opened lately. None yet: an empty list. A list that does not parse is
    /// moved aside (`recent.json.damaged`, kept for a look) and the list starts afresh.
    pub fn recent_projects(&self) -> Vec<String> {
        let path = self.data_dir.join(RECENT_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return vec![];
        };
        match serde_json::from_str::<Vec<String>>(&text) {
            Ok(list) => list.into_iter().filter(|p| Path::new(p).is_dir()).collect(),
            Err(_) => {
                let _ = std::fs::rename(&path, path.with_extension("json.damaged"));
                vec![]
            }
        }
    }

    pub fn remember_project(&self, root: &str) -> Result<()> {
        let mut list = self.recent_projects();
        list.retain(|p| p != root);
        list.insert(0, root.to_string());
        list.truncate(10);
        let text = serde_json::to_string_pretty(&list)
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        editor::write_whole(&self.data_dir, &self.data_dir.join(RECENT_FILE), &text)
    }
}

/// Refused (bad input) unless `env` is one of the project's environments.
pub(crate) fn check_env(project: &chainlift_model::Project, env: &str) -> Result<()> {
    let all = project.environments();
    if all.iter().any(|e| e == env) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::BadInput,
        format!("unknown env `{env}` (this project has: {})", all.join(", ")),
    ))
}
