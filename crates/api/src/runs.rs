//! `run` and `runs`: execute a chain in an environment and read the history back.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use chainlift_engine::cassette::{Cassette, Recorder};
use chainlift_engine::{Progress, ProgressState, RunContext, SecretLookup};
use chainlift_model::hash::definition_hash;
use chainlift_model::lifecycle::RunStatus;
use chainlift_model::secret::SecretValue;
use chainlift_secrets::{account, SecretSource};
use chainlift_store::runs::{self as table, RunEnd, RunFilter, RunRow, StepRow};

use crate::dto::{EventView, RunProgress, RunView, StepView, Trigger};
use crate::project::issue_text;
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result};

/// What a run executes: which files, with which config, as which version and deployment.
struct RunPlan {
    resolution: crate::project::Resolution,
    version_hash: String,
    version_tag: Option<String>,
    deployment_id: Option<String>,
}

/// The config key naming a cassette (relative to the chain folder) that answers every call.
pub const CASSETTE_KEY: &str = "CHAINLIFT_CASSETTE";

/// A chain's smoke input (`gates.smoke.input`, by default test-fixtures/sample-input.json),
/// confined to its folder.
pub(crate) fn smoke_input_of(chain: &chainlift_model::ChainDef) -> Result<PathBuf> {
    let rel = chain
        .gates
        .as_ref()
        .and_then(|g| g.pointer("/smoke/input"))
        .and_then(|v| v.as_str())
        .unwrap_or("test-fixtures/sample-input.json");
    let path = chain.path(rel)?;
    if path.is_file() {
        Ok(path)
    } else {
        Err(ApiError::new(
            ErrorCode::NotFound,
            format!(
                "{}: the smoke input is missing (gates.smoke.input in chain.yaml)",
                path.display()
            ),
        ))
    }
}

#[derive(Debug, Clone, Default)]
pub struct RunArgs {
    pub at: ProjectArgs,
    pub env: String,
    pub input: PathBuf,
    pub vars: BTreeMap<String, String>,
    /// Call the real providers and write the calls to the env's cassette.
    pub record: bool,
    /// Run this version (a tag or hash prefix) instead of the deployed one.
    pub version: Option<String>,
    /// Run the files on disk even when a version is deployed.
    pub working: bool,
    /// Send `true` to cancel the run (Ctrl-C in the CLI, Cancel in the app).
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
    /// What started it (recorded, filterable).
    pub trigger: Trigger,
    /// The input itself (a request body) instead of the file `input`.
    pub input_value: Option<serde_json::Value>,
    /// The id to record the run under (serve picks it before the run exists, for
    /// idempotency keys); else a new one.
    pub run_id: Option<String>,
    /// What routes the run during a canary (serve's `X-Chainlift-Key`): the same key reaches
    /// the same version in every process. Without one, the run's id (a random share).
    pub route_key: Option<String>,
}

/// A run recorded as `queued` with everything it needs resolved: [`Chainlift::execute`] runs
/// it. While it exists its heartbeat goes on; dropped unexecuted, the heartbeat stops and the
/// run is left to the orphan rule (or ended by [`Chainlift::abandon`]).
pub struct PreparedRun {
    pub id: String,
    pub env: String,
    pub chain: String,
    /// The version label (tag, else 12 hex of the hash).
    pub version: String,
    /// The chain's `execution.concurrency` in this env.
    pub concurrency: u32,
    project: String,
    resolved: chainlift_model::ResolvedChain,
    input: serde_json::Value,
    run_dir: PathBuf,
    replay: Option<Cassette>,
    record: Option<Recorder>,
    cancel: Option<tokio::sync::watch::Receiver<bool>>,
    beat: HeartbeatGuard,
    /// The row as recorded: the answer once it ends, without reading it back.
    row: RunRow,
}

impl PreparedRun {
    /// The run as recorded when it was accepted (`queued`), without reading it back.
    pub fn view(&self) -> Result<RunView> {
        view(self.row.clone(), vec![])
    }
}

/// Aborts the run's heartbeat task when the run is done (or dropped).
struct HeartbeatGuard(tokio::task::JoinHandle<()>);

impl Drop for HeartbeatGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug, Clone, Default)]
pub struct RunsQuery {
    pub at: Option<ProjectArgs>,
    pub env: Option<String>,
    /// A tag or a hash prefix (7+ hex).
    pub version: Option<String>,
    pub status: Option<String>,
    pub trigger: Option<Trigger>,
    pub limit: Option<u32>,
}

struct KeychainLookup {
    source: SecretSource,
    project: String,
    env: String,
}

impl SecretLookup for KeychainLookup {
    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<Option<SecretValue>, String>> + Send + 'a>>
    {
        Box::pin(async move {
            self.source
                .get(&account(&self.project, &self.env, name), name)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

const PREVIEW_CHARS: usize = 4000;

fn preview(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.chars().take(PREVIEW_CHARS).collect())
}

/// The first [`table::MAX_OUTPUT_TEXT`] bytes of an output file (None when it cannot be read).
fn output_head(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(table::MAX_OUTPUT_TEXT as u64)
        .read_to_end(&mut bytes)
        .ok()?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        // Cut inside a character: keep the whole characters before it.
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).ok()?
        }
    };
    Some(table::bounded_output(&text))
}

fn view(row: RunRow, steps: Vec<StepRow>) -> Result<RunView> {
    let status = RunStatus::parse(&row.status).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Internal,
            format!(
                "run {} has status `{}`, which this version of Chainlift does not know",
                row.id, row.status
            ),
        )
    })?;
    let version = row
        .version_tag
        .clone()
        .unwrap_or_else(|| row.version_hash.chars().take(12).collect());
    let run_started = row.started_at.clone();
    // The files are on this machine, else on the host that ran it (or removed).
    let files_here = Path::new(&row.run_dir).is_dir();
    Ok(RunView {
        output_preview: row
            .output
            .as_deref()
            .and_then(|p| preview(Path::new(p)))
            .or_else(|| {
                row.output_text
                    .as_deref()
                    .map(|t| t.chars().take(PREVIEW_CHARS).collect())
            }),
        files_here,
        ran_on: row.owner_host.clone().filter(|h| *h != crate::host_name()),
        id: row.id,
        project: row.project,
        chain: row.chain,
        env: row.env,
        version,
        version_hash: row.version_hash,
        deployment_id: row.deployment_id,
        status,
        cost: row.cost,
        tokens_in: row.tokens_in.max(0) as u64,
        tokens_out: row.tokens_out.max(0) as u64,
        duration_ms: row.duration_ms.map(|d| d.max(0) as u64),
        started_at: row.started_at,
        ended_at: row.ended_at,
        output: row.output,
        error: row.error,
        run_dir: row.run_dir,
        // Written only by this code; rows from before triggers were kept have the default.
        trigger: Trigger::parse(&row.triggered_by).unwrap_or(Trigger::Manual),
        steps: steps
            .into_iter()
            .map(|s| StepView {
                agent: s.agent,
                model_requested: s.model_requested,
                model_reported: s.model_reported,
                attempts: s.attempts.max(0) as u32,
                tokens_in: s.tokens_in.max(0) as u64,
                tokens_out: s.tokens_out.max(0) as u64,
                cost: s.cost,
                started_at: s.offset_ms.and_then(|o| {
                    chrono::DateTime::parse_from_rfc3339(&run_started)
                        .ok()
                        .map(|t| (t + chrono::Duration::milliseconds(o.max(0))).to_rfc3339())
                }),
                offset_ms: s.offset_ms.map(|o| o.max(0) as u64),
                duration_ms: s.duration_ms.max(0) as u64,
                status: s.status,
                error: s.error,
            })
            .collect(),
    })
}

/// The largest input, fixture or cassette file read whole (a hostile 10 GB file is refused).
pub(crate) const MAX_INPUT_FILE: u64 = 64 * 1024 * 1024;

/// Read a file of at most [`MAX_INPUT_FILE`] bytes.
pub(crate) fn read_bounded(path: &Path, what: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let cannot = |e: std::io::Error| {
        ApiError::new(
            ErrorCode::BadInput,
            format!("{}: cannot read the {what}: {e}", path.display()),
        )
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_INPUT_FILE {
        return Err(ApiError::new(
            ErrorCode::BadInput,
            format!(
                "{}: the {what} is larger than {} MiB",
                path.display(),
                MAX_INPUT_FILE / (1024 * 1024)
            ),
        ));
    }
    Ok(bytes)
}

fn read_json_file(path: &Path, what: &str) -> Result<serde_json::Value> {
    let bytes = read_bounded(path, what)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        ApiError::new(
            ErrorCode::BadInput,
            format!("{}: the {what} is not UTF-8 text", path.display()),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        ApiError::new(
            ErrorCode::BadInput,
            format!(
                "{}:{}: the {what} is not valid JSON: {e}",
                path.display(),
                e.line()
            ),
        )
    })
}

impl Chainlift {
    /// `--working`: the files on disk; `--version V`: that version's files with the env file;
    /// otherwise the env's deployed version with its config snapshot, else the files on disk.
    /// Flags apply in every case (DESIGN.md §2 precedence: --var > flags > env config).
    /// The deployment a run of the deployed version uses: the pointer, or, while a canary
    /// takes a share, the candidate for the keys whose bucket falls below its weight
    /// (DESIGN.md §10). Scheduled runs never go to a canary.
    async fn routed(
        &self,
        project: &chainlift_model::Project,
        chain: &str,
        args: &RunArgs,
    ) -> Result<Option<chainlift_store::deployments::DeploymentRow>> {
        let Some((pointer, canary)) =
            chainlift_store::deployments::current_routed(&self.pool, &project.id, chain, &args.env)
                .await?
        else {
            return Ok(None);
        };
        let Some((canary, weight)) = canary.filter(|_| args.trigger != Trigger::Schedule) else {
            return Ok(Some(pointer));
        };
        let fallback;
        let key = match (&args.route_key, &args.run_id) {
            (Some(k), _) | (None, Some(k)) => k.as_str(),
            (None, None) => {
                fallback = uuid::Uuid::now_v7().to_string();
                fallback.as_str()
            }
        };
        if i64::from(chainlift_model::monitor::bucket(key)) >= weight {
            return Ok(Some(pointer));
        }
        Ok(Some(
            chainlift_store::deployments::get(&self.pool, &canary)
                .await?
                .unwrap_or(pointer),
        ))
    }

    async fn plan_run(
        &self,
        project: &chainlift_model::Project,
        chain: &chainlift_model::ChainDef,
        args: &RunArgs,
    ) -> Result<RunPlan> {
        let flags = self.flag_values(project, &args.env).await?;
        // The files on disk, with the env file and flags; tagged when they match a stored version.
        let on_disk = async || -> Result<RunPlan> {
            let (file, resolution) =
                crate::project::resolve_env_with_file(project, chain, &args.env, &args.vars)?;
            let resolution = match file {
                Some(f) => {
                    crate::project::resolve_with(project, chain, &args.env, &f, &args.vars, &flags)
                }
                None => resolution,
            };
            let version_hash = definition_hash(&chain.dir)?;
            let version_tag = chainlift_store::versions::by_hash(
                &self.pool,
                &project.id,
                &chain.name,
                &version_hash,
            )
            .await?
            .and_then(|v| v.tag);
            Ok(RunPlan {
                resolution,
                version_hash,
                version_tag,
                deployment_id: None,
            })
        };
        if args.working {
            return on_disk().await;
        }
        let (version, snapshot, deployment_id) = match &args.version {
            Some(reference) => (
                self.find_version(project, &chain.name, reference).await?,
                None,
                None,
            ),
            None => match self.routed(project, &chain.name, args).await? {
                Some(d) => {
                    let v = chainlift_store::versions::get(&self.pool, d.version_id)
                        .await?
                        .ok_or_else(|| {
                            ApiError::new(ErrorCode::Internal, "the deployed version is missing")
                        })?;
                    // A snapshot that does not parse is damage, never an empty config.
                    let config: BTreeMap<String, String> = serde_json::from_str(&d.config)
                        .map_err(|e| {
                            ApiError::new(
                                ErrorCode::Internal,
                                format!("deployment {}'s config snapshot is damaged ({e}): deploy the version again to take a new one", d.id),
                            )
                        })?;
                    (v, Some(config), Some(d.id))
                }
                None => return on_disk().await,
            },
        };
        let dir = self.materialize(project, &version).await?;
        let version_chain = self.chain_at(&dir)?;
        let env_file = match snapshot {
            // The deployment's config snapshot, as an env file the resolver reads. A URL's
            // password is not in it (`****`): it comes from the env file when the rest of the
            // value is the same, the way a secret comes from the keychain.
            Some(mut config) => {
                let env_path = chain.dir.join("config").join(format!("{}.env", args.env));
                if config.values().any(|v| v.contains(":****@")) {
                    if let Ok(current) = chainlift_model::EnvFile::load(&env_path) {
                        for (k, v) in config.iter_mut() {
                            if let Some(now) = current.get(k) {
                                if chainlift_model::secret::mask_url_password(now) == *v {
                                    *v = now.to_string();
                                }
                            }
                        }
                    }
                }
                chainlift_model::EnvFile {
                    path: std::path::PathBuf::from(format!(
                        "deployment {} config snapshot ({})",
                        deployment_id.as_deref().unwrap_or(""),
                        args.env
                    )),
                    entries: config
                        .into_iter()
                        .map(|(k, v)| (k, chainlift_model::envfile::EnvEntry { value: v, line: 0 }))
                        .collect(),
                }
            }
            None => chainlift_model::EnvFile::load(
                &chain.dir.join("config").join(format!("{}.env", args.env)),
            )?,
        };
        Ok(RunPlan {
            resolution: crate::project::resolve_with(
                project,
                &version_chain,
                &args.env,
                &env_file,
                &args.vars,
                &flags,
            ),
            version_hash: version.hash.clone(),
            version_tag: version.tag.clone(),
            deployment_id,
        })
    }

    /// The semaphore that bounds concurrent agent calls in one env across this process's runs.
    fn env_permits(
        &self,
        project: &str,
        env: &str,
        concurrency: u32,
    ) -> std::sync::Arc<tokio::sync::Semaphore> {
        let key = format!("{project}/{env}");
        let slots = concurrency.max(1) as usize;
        match self.env_permits.lock() {
            Ok(mut map) => map
                .entry(key)
                .or_insert_with(|| std::sync::Arc::new(tokio::sync::Semaphore::new(slots)))
                .clone(),
            // A poisoned map only loses sharing across runs; each run still has its own limit.
            Err(_) => std::sync::Arc::new(tokio::sync::Semaphore::new(slots)),
        }
    }

    /// Check a JSON file against a JSON Schema, as the seed's `validate --schema` step does.
    pub fn validate_output(&self, file: &Path, schema: &Path) -> Result<crate::dto::OutputCheck> {
        let value = read_json_file(file, "output")?;
        let schema_value = read_json_file(schema, "schema")?;
        let errors = chainlift_engine::run::schema_errors(&schema_value, &value).map_err(|e| {
            ApiError::new(ErrorCode::BadInput, format!("{}: {e}", schema.display()))
        })?;
        Ok(crate::dto::OutputCheck {
            ok: errors.is_empty(),
            errors,
        })
    }

    /// The chain's smoke input (`gates.smoke.input`), else `test-fixtures/sample-input.json`.
    pub fn smoke_input(&self, at: &ProjectArgs) -> Result<PathBuf> {
        let (_, chain) = at.chain()?;
        smoke_input_of(&chain)
    }

    /// Run a chain in an env with one input, recording everything; progress goes to `on_progress`.
    pub async fn run(
        &self,
        args: &RunArgs,
        on_progress: &(dyn Fn(RunProgress) + Send + Sync),
    ) -> Result<RunView> {
        let prepared = self.prepare_run(args).await?;
        self.execute(prepared, on_progress).await
    }

    /// Resolve, check and record a run as `queued` (its id readable at once); nothing runs yet.
    pub async fn prepare_run(&self, args: &RunArgs) -> Result<PreparedRun> {
        let (project, chain) = self.chain_shared(&args.at).await?;
        crate::check_env(&project, &args.env)?;
        let plan = self.plan_run(&project, &chain, args).await?;
        let mut resolved = plan.resolution.map_err(|issues| {
            let lines: Vec<String> = issues.iter().map(issue_text).collect();
            ApiError::new(
                ErrorCode::BadInput,
                format!(
                    "the chain does not resolve for env `{}`:\n{}",
                    args.env,
                    lines.join("\n")
                ),
            )
        })?;
        // A deployed version runs from its verified copy; command agents work in the
        // project's chain folder, never inside that copy.
        if resolved.dir != chain.dir {
            for agent in &mut resolved.agents {
                if let Some(chainlift_model::resolve::CommandSpec {
                    workspace: chainlift_model::resolve::Workspace::Local { dir },
                    ..
                }) = &mut agent.command
                {
                    if let Ok(rel) = dir.strip_prefix(&resolved.dir) {
                        *dir = chain.dir.join(rel);
                    }
                }
            }
        }
        let (input, input_file) = match &args.input_value {
            Some(v) => (v.clone(), None),
            None => {
                let input_path = if args.input.is_absolute() {
                    args.input.clone()
                } else {
                    args.at.cwd.join(&args.input)
                };
                (
                    read_json_file(&input_path, "input")?,
                    Some(input_path.display().to_string()),
                )
            }
        };
        let version_hash = plan.version_hash;

        if let Some(cap) = resolved.cost_per_day {
            let since = self
                .clock
                .now()
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .map(|d| d.and_utc().to_rfc3339())
                .unwrap_or_default();
            let spent = table::cost_since(&self.pool, &project.id, &args.env, &since).await?;
            if spent >= cap {
                return Err(ApiError::new(
                    ErrorCode::BudgetExceeded,
                    format!("env `{}` has spent ${spent:.4} today, at or over cost_per_day ${cap:.2}: the run was not started", args.env),
                ));
            }
        }

        // A cassette is read and written only inside the chain folder.
        let cassette_path = resolved
            .config
            .get(CASSETTE_KEY)
            .filter(|p| !p.is_empty())
            .map(|p| chain.path(p))
            .transpose()?;
        let (replay, record) = if args.record {
            let path = cassette_path.unwrap_or_else(|| {
                chain
                    .dir
                    .join("cassettes")
                    .join(format!("{}.jsonl", args.env))
            });
            (
                None,
                Some(
                    Recorder::create(&chain.dir, &path)
                        .map_err(|e| ApiError::new(ErrorCode::BadInput, e))?,
                ),
            )
        } else {
            match cassette_path {
                Some(p) => (
                    Some(Cassette::load(&p).map_err(|e| ApiError::new(ErrorCode::BadInput, e))?),
                    None,
                ),
                None => (None, None),
            }
        };

        let started = self.clock.now();
        let id = match &args.run_id {
            Some(id) => id.clone(),
            None => uuid::Uuid::now_v7().to_string(),
        };
        let run_dir = self.data_dir.join("runs").join(&id);
        std::fs::create_dir_all(&run_dir).map_err(|e| {
            ApiError::new(ErrorCode::Internal, format!("{}: {e}", run_dir.display()))
        })?;
        let row = RunRow {
            id: id.clone(),
            project: project.id.clone(),
            chain: chain.name.clone(),
            env: args.env.clone(),
            version_hash,
            version_tag: plan.version_tag,
            deployment_id: plan.deployment_id,
            status: "queued".into(),
            input_file,
            run_dir: run_dir.display().to_string(),
            started_at: started.to_rfc3339(),
            ended_at: None,
            duration_ms: None,
            cost: None,
            tokens_in: 0,
            tokens_out: 0,
            output: None,
            error: None,
            triggered_by: args.trigger.as_str().into(),
            owner_host: Some(crate::host_name()),
            output_text: None,
        };
        let version = row
            .version_tag
            .clone()
            .unwrap_or_else(|| row.version_hash.chars().take(12).collect());
        table::insert_owned(&self.pool, &row, &crate::owner::this_process()).await?;
        // A heartbeat while the run lasts: another process that finds it stale (this one died
        // without a trace, on another host) ends the run `interrupted` (DESIGN.md §9).
        let beat = {
            let pool = self.pool.clone();
            let clock = self.clock.clone();
            let id = id.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(crate::owner::HEARTBEAT_EVERY);
                every.tick().await;
                loop {
                    every.tick().await;
                    let _ = table::heartbeat(&pool, &id, &clock.now().to_rfc3339()).await;
                }
            })
        };
        Ok(PreparedRun {
            id,
            env: args.env.clone(),
            chain: chain.name.clone(),
            version,
            concurrency: resolved.concurrency,
            project: project.id.clone(),
            resolved,
            input,
            run_dir,
            replay,
            record,
            cancel: args.cancel.clone(),
            beat: HeartbeatGuard(beat),
            row,
        })
    }

    /// End a prepared run that will not execute (a full queue, a drain): `cancelled`, why.
    pub async fn abandon(&self, run: PreparedRun, why: &str) -> Result<()> {
        let end = RunEnd {
            status: "cancelled".into(),
            ended_at: self.clock.now().to_rfc3339(),
            duration_ms: 0,
            cost: None,
            tokens_in: 0,
            tokens_out: 0,
            output: None,
            output_text: None,
            error: Some(why.to_string()),
        };
        table::finish(&self.pool, &run.id, &end, &[]).await?;
        Ok(())
    }

    /// Run a prepared run to its end and record how it ended.
    pub async fn execute(
        &self,
        run: PreparedRun,
        on_progress: &(dyn Fn(RunProgress) + Send + Sync),
    ) -> Result<RunView> {
        let PreparedRun {
            id,
            env,
            chain: run_chain,
            version: run_version,
            project,
            resolved,
            input,
            run_dir,
            replay,
            record,
            cancel,
            beat,
            mut row,
            ..
        } = run;
        let running_at = self.clock.now().to_rfc3339();
        if !table::set_running(&self.pool, &id, &running_at).await? {
            // Ended while queued (interrupted, abandoned): nothing to run.
            return self.run_show(&id).await;
        }
        tracing::debug!(run = %id, chain = %run_chain, env = %env, version = %run_version, "run started");
        let lookup = KeychainLookup {
            source: self.secrets.clone(),
            project: project.clone(),
            env: env.clone(),
        };
        let progress = |p: Progress| {
            on_progress(RunProgress {
                agent: p.agent,
                state: match p.state {
                    ProgressState::Started => "started",
                    ProgressState::Completed => "completed",
                    ProgressState::Failed => "failed",
                }
                .into(),
                done: p.done as u32,
                total: p.total as u32,
            })
        };
        let clock = self.clock.clone();
        let now = move || clock.now();
        let process_base_urls = ["OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"]
            .into_iter()
            .filter_map(|k| {
                std::env::var(k)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .map(|v| (k.to_string(), v))
            })
            .collect();
        let ctx = RunContext {
            chain: &resolved,
            input,
            run_dir: run_dir.clone(),
            secrets: &lookup,
            replay,
            record,
            http: self.http.clone(),
            process_base_urls,
            progress: &progress,
            now: &now,
            cancel,
            env_permits: Some(self.env_permits(&project, &env, resolved.concurrency)),
            shared_slots: (chainlift_store::Engine::of(&self.pool)
                == chainlift_store::Engine::Postgres)
                .then(|| {
                    std::sync::Arc::new(crate::slots::DbSlots {
                        pool: self.pool.clone(),
                        clock: self.clock.clone(),
                        project: project.clone(),
                        env: env.clone(),
                        run_id: id.clone(),
                        limit: i64::from(resolved.concurrency.max(1)),
                    }) as std::sync::Arc<dyn chainlift_engine::run::SharedSlots>
                }),
        };
        let outcome = chainlift_engine::run_chain(&ctx).await;
        drop(beat);

        let end = RunEnd {
            status: outcome.status.as_str().into(),
            ended_at: self.clock.now().to_rfc3339(),
            duration_ms: outcome.duration_ms as i64,
            cost: outcome.cost,
            tokens_in: outcome.tokens_in as i64,
            tokens_out: outcome.tokens_out as i64,
            output: outcome
                .output_file
                .as_ref()
                .map(|p| p.display().to_string()),
            // The database keeps the output's text too, for other machines (DESIGN.md §11).
            output_text: outcome.output_file.as_deref().and_then(output_head),
            error: outcome.error.clone(),
        };
        let steps: Vec<StepRow> = outcome
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| StepRow {
                seq: i as i64,
                agent: s.agent.clone(),
                model_requested: s.model_requested.clone(),
                model_reported: s.model_reported.clone(),
                attempts: s.attempts as i64,
                tokens_in: s.tokens_in as i64,
                tokens_out: s.tokens_out as i64,
                cost: s.cost,
                offset_ms: Some(s.offset_ms as i64),
                duration_ms: s.duration_ms as i64,
                status: s.status.as_str().into(),
                error: s.error.clone(),
            })
            .collect();
        table::finish(&self.pool, &id, &end, &steps).await?;
        tracing::debug!(run = %id, chain = %run_chain, env = %env, version = %run_version, status = %end.status, duration_ms = end.duration_ms, cost = end.cost.unwrap_or(0.0), "run ended");
        // The row as written: what was recorded at the start, with how it ran and ended.
        row.started_at = running_at;
        row.status = end.status;
        row.ended_at = Some(end.ended_at);
        row.duration_ms = Some(end.duration_ms);
        row.cost = end.cost;
        row.tokens_in = end.tokens_in;
        row.tokens_out = end.tokens_out;
        row.output = end.output;
        row.error = end.error;
        view(row, steps)
    }

    pub async fn run_show(&self, id: &str) -> Result<RunView> {
        let row = table::get(&self.pool, id).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no run `{id}` in {}", self.data_dir.display()),
            )
        })?;
        let steps = table::steps(&self.pool, id).await?;
        view(row, steps)
    }

    /// The events of a run in order (from its `.events/` folder; payloads as the engine wrote
    /// them, secrets already redacted), each payload cut to a preview.
    pub async fn run_events(&self, id: &str) -> Result<Vec<EventView>> {
        let run = self.run_show(id).await?;
        let dir = PathBuf::from(&run.run_dir).join(".events");
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
            Err(_) => return Ok(vec![]),
        };
        files.sort();
        const PREVIEW: usize = 600;
        let mut out = Vec::with_capacity(files.len());
        for f in files {
            // An event file that cannot be read shows as such, never silently missing.
            let parsed = read_bounded(&f, "event file")
                .map_err(|e| e.message)
                .and_then(|bytes| {
                    serde_json::from_slice::<serde_json::Value>(&bytes)
                        .map_err(|e| format!("{}: {e}", f.display()))
                });
            let v = match parsed {
                Ok(v) => v,
                Err(why) => {
                    out.push(EventView {
                        at: String::new(),
                        event: "(unreadable event file)".into(),
                        from: None,
                        payload: why,
                    });
                    continue;
                }
            };
            let payload = serde_json::to_string_pretty(&v["payload"])
                .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
            let payload = match payload.char_indices().nth(PREVIEW) {
                Some((i, _)) => format!("{}…", &payload[..i]),
                None => payload,
            };
            out.push(EventView {
                at: v["at"].as_str().unwrap_or("(no time recorded)").to_string(),
                event: v["event"].as_str().unwrap_or("(no event name)").to_string(),
                from: v["from"].as_str().map(String::from),
                payload,
            });
        }
        Ok(out)
    }

    async fn filter(&self, query: &RunsQuery) -> Result<RunFilter> {
        if let Some(v) = query
            .version
            .as_deref()
            .filter(|v| v.len() < 7 && v.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(ApiError::new(
                ErrorCode::BadInput,
                format!("version `{v}`: give a tag or at least 7 hex digits of the hash"),
            ));
        }
        const STATUSES: [&str; 8] = [
            "queued",
            "running",
            "completed",
            "failed",
            "timed_out",
            "budget_exceeded",
            "cancelled",
            "interrupted",
        ];
        if let Some(s) = query.status.as_deref().filter(|s| !STATUSES.contains(s)) {
            return Err(ApiError::new(
                ErrorCode::BadInput,
                format!("status `{s}` is not one of {}", STATUSES.join(", ")),
            ));
        }
        let mut filter = RunFilter {
            env: query.env.clone(),
            version: query.version.clone(),
            status: query.status.clone(),
            trigger: query.trigger.map(|t| t.as_str().to_string()),
            ..RunFilter::default()
        };
        if let Some(at) = &query.at {
            if at.chain.is_some() {
                let (project, chain) = self.chain_of(at).await?;
                filter.project = Some(project.id);
                filter.chain = Some(chain.name);
            } else if at.project.is_some() {
                filter.project = Some(self.project_of(at).await?.id);
            }
        }
        Ok(filter)
    }

    /// The newest run in the data folder, narrowed by chain and env when given.
    pub async fn runs_last(&self, query: &RunsQuery) -> Result<Option<RunView>> {
        let filter = self.filter(query).await?;
        match table::last(&self.pool, &filter).await? {
            Some(row) => {
                let steps = table::steps(&self.pool, &row.id).await?;
                Ok(Some(view(row, steps)?))
            }
            None => Ok(None),
        }
    }

    pub async fn runs_list(&self, query: &RunsQuery) -> Result<Vec<RunView>> {
        let filter = self.filter(query).await?;
        let rows = table::list(&self.pool, &filter, i64::from(query.limit.unwrap_or(50))).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let steps = table::steps(&self.pool, &row.id).await?;
            out.push(view(row, steps)?);
        }
        Ok(out)
    }
}
