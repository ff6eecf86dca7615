//! `gate`: run an env's gates against the files on disk (or a version) and keep each report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chainlift_gates::cost::{Baseline, CostInput, StepCost};
use chainlift_gates::infra::{SystemProbe, Targets};
use chainlift_gates::smoke::RunResult;
use chainlift_gates::{GateReport, GateStatus, GATES};
use chainlift_model::lint::{self, EnvLint, LintInput};
use chainlift_model::{ChainDef, Project};
use chainlift_store::gate_reports::{self, GateReportRow};
use chainlift_store::runs::{self as run_table, RunFilter};
use chainlift_store::{deployments, versions};

use crate::dto::{GateProgress, GateRunView, RunView};
use crate::project::resolve_env_with_file;
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result, RunArgs};

#[derive(Debug, Clone, Default)]
pub struct GateArgs {
    pub at: ProjectArgs,
    pub env: String,
    /// Only these gates (else the env's required gates).
    pub only: Option<Vec<String>>,
    /// Gate this version (else the files on disk).
    pub version: Option<String>,
}

/// The gates an env requires: its policy's list, else the seed's defaults.
/// Stored gate reports as the app shows them (see `Chainlift::shown_gates`).
pub(crate) struct ShownGates {
    pub rows: Vec<GateReportRow>,
    /// The hash of the version they are of, and its label (tag, else 12 hex).
    pub hash: String,
    pub version: String,
    /// They are of another version than the files asked about.
    pub stale: bool,
}

pub fn required_gates(project: &Project, env: &str) -> Vec<String> {
    if let Some(list) = project
        .policy
        .environments
        .as_ref()
        .and_then(|envs| envs.iter().find(|e| e.name == env))
        .and_then(|e| e.gates.clone())
    {
        return list;
    }
    let last = project.environments().last().cloned();
    let defaults: &[&str] = match env {
        "dev" => &["smoke", "config"],
        e if Some(e) == last.as_deref() => &GATES,
        _ => &["smoke", "quality", "cost", "config"],
    };
    defaults.iter().map(|g| g.to_string()).collect()
}

/// host and port of a URL-like value (`postgres://db:5432/x`, `https://api…`).
fn host_port(value: &str) -> Option<(String, u16)> {
    let host = lint::host_of(value)?;
    let scheme = value.split("://").next().unwrap_or("");
    let authority = value.split("://").nth(1)?.split(['/', '?', '#']).next()?;
    let after_at = authority.rsplit('@').next()?;
    let explicit = after_at
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .filter(|_| !after_at.ends_with(']'));
    let default = match scheme {
        "https" => 443,
        "http" => 80,
        "postgres" | "postgresql" => 5432,
        "mysql" => 3306,
        "redis" => 6379,
        "mongodb" => 27017,
        _ => return explicit.map(|p| (host.clone(), p)),
    };
    Some((host, explicit.unwrap_or(default)))
}

impl Chainlift {
    pub async fn gate(&self, args: &GateArgs) -> Result<GateRunView> {
        self.gate_with_progress(args, &|_| {}).await
    }

    /// The newest stored report of each of `env`'s required gates for the files on disk; when
    /// these files were never gated there, those of the version gated last, marked `stale`.
    pub async fn gate_latest(&self, at: &ProjectArgs, env: &str) -> Result<Option<GateRunView>> {
        self.gate_view(at, env, None).await
    }

    /// The gate results of one version (a tag or hash, e.g. a point of the quality trend) in
    /// `env`; `stale` says it is not the files on disk.
    pub async fn gate_of(
        &self,
        at: &ProjectArgs,
        env: &str,
        version: &str,
    ) -> Result<Option<GateRunView>> {
        self.gate_view(at, env, Some(version)).await
    }

    async fn gate_view(
        &self,
        at: &ProjectArgs,
        env: &str,
        version: Option<&str>,
    ) -> Result<Option<GateRunView>> {
        let (project, chain) = self.chain_of(at).await?;
        crate::check_env(&project, env)?;
        let files = chainlift_model::hash::definition_hash(&chain.dir)?;
        let hash = match version {
            Some(v) => self.find_version(&project, &chain.name, v).await?.hash,
            None => files.clone(),
        };
        let Some(mut shown) = self.shown_gates(&project, &chain, env, &hash).await? else {
            return Ok(None);
        };
        if version.is_some() {
            if shown.hash != hash {
                return Ok(None);
            }
            shown.stale = shown.hash != files;
        }
        let gates: Vec<GateReport> = shown
            .rows
            .iter()
            .filter_map(|r| serde_json::from_str(&r.report).ok())
            .collect();
        Ok(Some(GateRunView {
            chain: chain.name.clone(),
            env: env.to_string(),
            version: shown.version,
            passed: gates.iter().all(|r| r.status != GateStatus::Failed),
            version_hash: shown.hash,
            gates,
            stale: shown.stale,
        }))
    }

    /// What the app shows of `env`'s gates for the files at `hash`: the newest report of each
    /// required gate on them, else on the version gated last in that env (`stale`).
    pub(crate) async fn shown_gates(
        &self,
        project: &Project,
        chain: &ChainDef,
        env: &str,
        hash: &str,
    ) -> Result<Option<ShownGates>> {
        let mut rows = self.gate_rows(project, chain, env, hash).await?;
        let mut of = hash.to_string();
        if rows.is_empty() {
            let newest =
                gate_reports::latest_gated(&self.pool, &project.id, &chain.name, env).await?;
            match newest.filter(|h| h != hash) {
                Some(other) => {
                    rows = self.gate_rows(project, chain, env, &other).await?;
                    of = other;
                }
                None => return Ok(None),
            }
        }
        if rows.is_empty() {
            return Ok(None);
        }
        let tag = versions::by_hash(&self.pool, &project.id, &chain.name, &of)
            .await?
            .and_then(|v| v.tag);
        Ok(Some(ShownGates {
            rows,
            version: tag.unwrap_or_else(|| of.chars().take(12).collect()),
            stale: of != hash,
            hash: of,
        }))
    }

    /// The newest report of each of `env`'s required gates on the version `hash`.
    async fn gate_rows(
        &self,
        project: &Project,
        chain: &ChainDef,
        env: &str,
        hash: &str,
    ) -> Result<Vec<GateReportRow>> {
        let mut rows = Vec::new();
        for gate in required_gates(project, env) {
            if let Some(row) =
                gate_reports::latest(&self.pool, &project.id, &chain.name, hash, &gate, Some(env))
                    .await?
            {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// `gate`, reporting each gate as it starts and ends.
    pub async fn gate_with_progress(
        &self,
        args: &GateArgs,
        on_progress: &(dyn Fn(GateProgress) + Send + Sync),
    ) -> Result<GateRunView> {
        let (project, chain) = self.chain_of(&args.at).await?;
        crate::check_env(&project, &args.env)?;
        let wanted = match &args.only {
            Some(list) => {
                for g in list {
                    if !GATES.contains(&g.as_str()) {
                        return Err(ApiError::new(
                            ErrorCode::BadInput,
                            format!("unknown gate `{g}` (gates: {})", GATES.join(", ")),
                        ));
                    }
                }
                list.clone()
            }
            None => required_gates(&project, &args.env),
        };
        let (version_hash, version_label) = match &args.version {
            Some(v) => {
                let row = self.find_version(&project, &chain.name, v).await?;
                (
                    row.hash.clone(),
                    row.tag
                        .clone()
                        .unwrap_or_else(|| row.hash.chars().take(12).collect()),
                )
            }
            None => {
                let hash = chainlift_model::hash::definition_hash(&chain.dir)?;
                let tag = versions::by_hash(&self.pool, &project.id, &chain.name, &hash)
                    .await?
                    .and_then(|v| v.tag);
                (
                    hash.clone(),
                    tag.unwrap_or_else(|| hash.chars().take(12).collect()),
                )
            }
        };

        let mut smoke_run: Option<RunView> = None;
        let mut reports = Vec::new();
        let total = GATES
            .iter()
            .filter(|g| wanted.iter().any(|w| w == *g))
            .count() as u32;
        for gate in GATES.iter().filter(|g| wanted.iter().any(|w| w == *g)) {
            on_progress(GateProgress {
                gate: gate.to_string(),
                state: "started".into(),
                done: reports.len() as u32,
                total,
            });
            let report = match *gate {
                "smoke" => {
                    self.smoke_gate(&project, &chain, args, &mut smoke_run)
                        .await?
                }
                "cost" => {
                    self.cost_gate(&project, &chain, args, &version_hash, &mut smoke_run)
                        .await?
                }
                "config" => self.config_gate(&project, &chain, &args.env).await?,
                "infra" => self.infra_gate(&project, &chain, &args.env).await?,
                "rollback" => self.rollback_gate(&project, &chain, args).await?,
                "quality" => self.quality_gate(&project, &chain, args).await?,
                _ => continue,
            };
            let row = GateReportRow {
                id: uuid::Uuid::now_v7().to_string(),
                project: project.id.clone(),
                chain: chain.name.clone(),
                env: args.env.clone(),
                version_hash: version_hash.clone(),
                gate: report.gate.clone(),
                status: report.status.as_str().to_string(),
                summary: report.summary.clone(),
                report: serde_json::to_string(&report)
                    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("gate report: {e}")))?,
                created_at: self.clock.now().to_rfc3339(),
            };
            gate_reports::insert(&self.pool, &row).await?;
            reports.push(report);
            on_progress(GateProgress {
                gate: gate.to_string(),
                state: row.status,
                done: reports.len() as u32,
                total,
            });
        }
        let passed = reports.iter().all(|r| r.status != GateStatus::Failed);
        Ok(GateRunView {
            chain: chain.name.clone(),
            env: args.env.clone(),
            version: version_label,
            version_hash,
            passed,
            gates: reports,
            stale: false,
        })
    }

    fn gate_run_args(args: &GateArgs, input: PathBuf) -> RunArgs {
        RunArgs {
            at: args.at.clone(),
            env: args.env.clone(),
            input,
            version: args.version.clone(),
            working: args.version.is_none(),
            trigger: crate::dto::Trigger::Gate,
            ..RunArgs::default()
        }
    }

    /// Run one input for a gate: a run that could not start is a failed result with its reason.
    pub(crate) async fn gate_run(
        &self,
        args: &GateArgs,
        input: &Path,
    ) -> (Option<RunView>, RunResult) {
        let quiet = |_| {};
        match self
            .run(&Self::gate_run_args(args, input.to_path_buf()), &quiet)
            .await
        {
            Ok(run) => {
                let output = output_json(&run);
                let result = RunResult {
                    id: Some(run.id.clone()),
                    status: run.status.as_str().into(),
                    error: run.error.clone(),
                    output,
                };
                (Some(run), result)
            }
            Err(e) => (
                None,
                RunResult {
                    id: None,
                    status: "failed".into(),
                    error: Some(e.message),
                    output: None,
                },
            ),
        }
    }

    async fn smoke_gate(
        &self,
        _project: &Project,
        chain: &ChainDef,
        args: &GateArgs,
        smoke_run: &mut Option<RunView>,
    ) -> Result<GateReport> {
        let input = self.smoke_input(&args.at)?;
        let (run, result) = self.gate_run(args, &input).await;
        *smoke_run = run;
        let gates = chain.gates.clone().unwrap_or_default();
        let rules = gates
            .pointer("/smoke/expected")
            .and_then(|v| v.as_str())
            .map(|rel| {
                let path = chain.dir.join(rel);
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))
                    .and_then(|t| {
                        serde_json::from_str(&t).map_err(|e| format!("{}: {e}", path.display()))
                    })
                    .and_then(|v| {
                        chainlift_model::expect::parse_rules(&v)
                            .map_err(|e| format!("{}: {e:?}", path.display()))
                    })
            });
        let edge_dir = chain.dir.join(
            gates
                .pointer("/smoke/edge")
                .and_then(|v| v.as_str())
                .unwrap_or("test-fixtures/edge"),
        );
        let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&edge_dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        fixtures.sort();
        let mut edges = Vec::new();
        for f in fixtures {
            let (_, r) = self.gate_run(args, &f).await;
            edges.push((
                f.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                r,
            ));
        }
        Ok(chainlift_gates::smoke::evaluate(&result, rules, &edges))
    }

    async fn cost_gate(
        &self,
        project: &Project,
        chain: &ChainDef,
        args: &GateArgs,
        version_hash: &str,
        smoke_run: &mut Option<RunView>,
    ) -> Result<GateReport> {
        if smoke_run.is_none() {
            let input = self.smoke_input(&args.at)?;
            *smoke_run = self.gate_run(args, &input).await.0;
        }
        let Some(run) = smoke_run.as_ref() else {
            return Ok(GateReport::skipped(
                "cost",
                "the smoke input could not run, so there is no cost to judge (see the smoke gate)",
            ));
        };
        if run.status != chainlift_model::lifecycle::RunStatus::Completed {
            return Ok(GateReport::skipped(
                "cost",
                format!("the smoke input did not complete ({}), so its cost says nothing (see the smoke gate)", run.status),
            ));
        }
        let steps: Vec<StepCost> = run
            .steps
            .iter()
            .map(|s| StepCost {
                agent: s.agent.clone(),
                tokens_in: s.tokens_in,
                tokens_out: s.tokens_out,
                attempts: s.attempts,
            })
            .collect();
        let resolved = match resolve_env_with_file(project, chain, &args.env, &BTreeMap::new())?.1 {
            Ok(r) => r,
            Err(_) => {
                return Ok(GateReport::skipped(
                    "cost",
                    format!("`{}` does not resolve (see the config gate)", args.env),
                ))
            }
        };
        let prices: BTreeMap<String, (f64, f64)> = resolved
            .agents
            .iter()
            .filter_map(|a| {
                Some((
                    a.name.clone(),
                    (
                        a.model_entry.input_per_mtok?,
                        a.model_entry.output_per_mtok?,
                    ),
                ))
            })
            .collect();
        let baseline = self
            .cost_baseline(project, chain, &args.env, version_hash, &run.id)
            .await?;
        let max_ratio = chain
            .gates
            .as_ref()
            .and_then(|g| g.pointer("/cost/max_ratio"))
            .and_then(|v| v.as_f64())
            .unwrap_or(2.0);
        let mut report = chainlift_gates::cost::evaluate(&CostInput {
            env: &args.env,
            run_cost: run.cost,
            steps: &steps,
            cap: resolved.cost_per_run,
            max_ratio,
            baseline,
            prices: &prices,
        });
        report.run_ids = vec![run.id.clone()];
        Ok(report)
    }

    /// The same version's last completed run in the previous env, else the last completed run
    /// of the version deployed here.
    async fn cost_baseline(
        &self,
        project: &Project,
        chain: &ChainDef,
        env: &str,
        version_hash: &str,
        exclude: &str,
    ) -> Result<Option<Baseline>> {
        let envs = project.environments();
        let position = envs.iter().position(|e| e == env).unwrap_or(0);
        let mut candidates: Vec<(String, String, String)> = Vec::new();
        if position > 0 {
            let prev = envs[position - 1].clone();
            candidates.push((
                prev.clone(),
                version_hash.to_string(),
                format!("this version's last run in `{prev}`"),
            ));
        }
        if let Some(d) = deployments::current(&self.pool, &project.id, &chain.name, env).await? {
            if let Some(v) = versions::get(&self.pool, d.version_id).await? {
                let label = v
                    .tag
                    .clone()
                    .unwrap_or_else(|| v.hash.chars().take(12).collect());
                candidates.push((
                    env.to_string(),
                    v.hash.clone(),
                    format!("the last run of {label}, deployed in `{env}`"),
                ));
            }
        }
        for (e, hash, label) in candidates {
            let filter = RunFilter {
                project: Some(project.id.clone()),
                chain: Some(chain.name.clone()),
                env: Some(e),
                version: Some(hash),
                status: Some("completed".into()),
                trigger: None,
            };
            for row in run_table::list(&self.pool, &filter, 5).await? {
                if row.id == exclude {
                    continue;
                }
                let steps = run_table::steps(&self.pool, &row.id).await?;
                let steps = steps
                    .into_iter()
                    .map(|s| StepCost {
                        agent: s.agent,
                        tokens_in: s.tokens_in.max(0) as u64,
                        tokens_out: s.tokens_out.max(0) as u64,
                        attempts: s.attempts.max(0) as u32,
                    })
                    .collect();
                return Ok(Some(Baseline { label, steps }));
            }
        }
        Ok(None)
    }

    async fn config_gate(
        &self,
        project: &Project,
        chain: &ChainDef,
        env: &str,
    ) -> Result<GateReport> {
        let mut envs = Vec::new();
        let records = self.secret_records(project).await?;
        let all = project.environments();
        for name in &all {
            let (file, resolved) = resolve_env_with_file(project, chain, name, &BTreeMap::new())?;
            envs.push(EnvLint {
                report: name == env,
                name: name.clone(),
                file,
                resolved,
            });
        }
        let input = LintInput {
            project,
            chain,
            envs: &envs,
            secret_is_set: &|e, n| records.is_set(e, n),
            secret_hash: &|e, n| records.hash(e, n),
        };
        let lints = lint::lint(&input);
        let uncompared = match all.last() {
            Some(production) => lint::uncompared_secret_targets(&input, env, production),
            None => vec![],
        };
        Ok(chainlift_gates::config::evaluate(env, &lints, &uncompared))
    }

    async fn infra_gate(
        &self,
        project: &Project,
        chain: &ChainDef,
        env: &str,
    ) -> Result<GateReport> {
        let resolved = match resolve_env_with_file(project, chain, env, &BTreeMap::new())?.1 {
            Ok(r) => r,
            Err(_) => {
                return Ok(GateReport::skipped(
                    "infra",
                    format!("`{env}` does not resolve (see the config gate)"),
                ))
            }
        };
        let mut endpoints = Vec::new();
        let replayed = resolved
            .config
            .get(crate::runs::CASSETTE_KEY)
            .is_some_and(|c| !c.is_empty());
        if !replayed {
            for a in resolved.agents.iter().filter(|a| a.command.is_none()) {
                let (key, default) = match a.model_entry.provider.as_str() {
                    "anthropic" => (
                        "ANTHROPIC_BASE_URL",
                        chainlift_engine::provider::ANTHROPIC_DEFAULT_BASE,
                    ),
                    _ => (
                        "OPENAI_BASE_URL",
                        chainlift_engine::provider::OPENAI_DEFAULT_BASE,
                    ),
                };
                let base = a
                    .model_entry
                    .base_url
                    .clone()
                    .or_else(|| resolved.config.get(key).cloned())
                    .or_else(|| std::env::var(key).ok())
                    .unwrap_or_else(|| default.into());
                if let Some((host, port)) = host_port(&base) {
                    let what = format!("provider endpoint {host} ({})", a.name);
                    if !endpoints
                        .iter()
                        .any(|(_, h, p): &(String, String, u16)| *h == host && *p == port)
                    {
                        endpoints.push((what, host, port));
                    }
                }
            }
        }
        for (k, v) in resolved.data.iter().filter(|(_, v)| !v.contains("${")) {
            if let Some((host, port)) = host_port(v) {
                endpoints.push((format!("data source {k} ({host})"), host, port));
            }
        }
        let workspaces = resolved
            .agents
            .iter()
            .filter_map(|a| match &a.command.as_ref()?.workspace {
                chainlift_model::resolve::Workspace::Docker { container } => {
                    Some(("docker".to_string(), container.clone()))
                }
                chainlift_model::resolve::Workspace::Ssh { host } => {
                    Some(("ssh".to_string(), host.clone()))
                }
                chainlift_model::resolve::Workspace::Local { .. } => None,
            })
            .collect();
        let runs = self.data_dir.join("runs");
        let targets = Targets {
            endpoints,
            output_dir: runs.clone(),
            log_dir: runs,
            workspaces,
        };
        // The probes block (DNS, connect, child processes): off the async runtime.
        tokio::task::spawn_blocking(move || {
            chainlift_gates::infra::evaluate(&targets, &SystemProbe)
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("infra gate: {e}")))
    }

    /// Rollback readiness (issue 12, finding 10), by exercising the real path: the version a
    /// rollback would restore is rebuilt from the store and its hash verified; the rollback
    /// code moves a scratch pointer back (in a transaction then discarded); the restored version
    /// runs its smoke input from a cassette (or the report says why it could not); runs are
    /// checked for their version. Each piece of evidence says what was and was not checked.
    async fn rollback_gate(
        &self,
        project: &Project,
        chain: &ChainDef,
        args: &GateArgs,
    ) -> Result<GateReport> {
        let env = args.env.as_str();
        let untracked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE project = $1 AND chain = $2 AND (version_hash IS NULL OR version_hash = '')")
            .bind(&project.id)
            .bind(&chain.name)
            .fetch_one(&self.pool)
            .await?;
        let Some(current) = deployments::current(&self.pool, &project.id, &chain.name, env).await?
        else {
            return Ok(chainlift_gates::rollback::run(env, untracked, None, &NoDrill).await);
        };
        let version = versions::get(&self.pool, current.version_id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the deployed version is missing"))?;
        let restored = chainlift_gates::rollback::Restored {
            label: crate::history::label(&version),
            tagged: version.tag.is_some(),
        };
        let drill = Drill {
            api: self,
            project,
            chain,
            args,
            current: &current,
            version: &version,
            label: &restored.label,
        };
        Ok(chainlift_gates::rollback::run(env, untracked, Some(&restored), &drill).await)
    }

    /// The drill's pointer move: a scratch env gets the current deployment and a stand-in for
    /// the next one, [`Chainlift::move_pointer_back`] (the code `rollback` runs) moves it back,
    /// and the pointer must then be the current deployment's version and config snapshot.
    async fn drill_pointer(
        &self,
        project: &Project,
        chain: &str,
        env: &str,
        current: &deployments::DeploymentRow,
    ) -> Result<()> {
        let scratch = format!("__rollback_drill__{env}");
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        let restored = deployments::DeploymentRow {
            env: scratch.clone(),
            id: uuid::Uuid::now_v7().to_string(),
            previous_id: None,
            ..current.clone()
        };
        deployments::insert(&mut tx, &restored).await?;
        let next = deployments::DeploymentRow {
            id: uuid::Uuid::now_v7().to_string(),
            previous_id: Some(restored.id.clone()),
            config: "{}".into(),
            config_hash: String::new(),
            ..restored.clone()
        };
        deployments::insert(&mut tx, &next).await?;
        let moved = self
            .move_pointer_back(
                &mut tx,
                project,
                chain,
                &scratch,
                Some("rollback drill"),
                &crate::history::actor(project),
            )
            .await;
        let now = deployments::current(&mut *tx, &project.id, chain, &scratch).await;
        tx.rollback().await?;
        let moved = moved?;
        let now =
            now?.ok_or_else(|| ApiError::new(ErrorCode::Internal, "the scratch pointer vanished"))?;
        if now.id != moved.row.id
            || now.version_id != current.version_id
            || now.config_hash != current.config_hash
            || now.config != current.config
        {
            return Err(ApiError::new(
                ErrorCode::Internal,
                "after the rollback the scratch pointer does not name the current version and its config",
            ));
        }
        Ok(())
    }

    /// Run the restored version's smoke input in the env from its cassette (the env's
    /// `CHAINLIFT_CASSETTE`, else `cassettes/<env>.jsonl`; cassettes and env files live in
    /// the project's chain folder, not in versions), never calling a provider. Without a
    /// cassette the evidence says it was not run and how to make it runnable.
    async fn drill_replay(
        &self,
        project: &Project,
        chain: &ChainDef,
        args: &GateArgs,
        v: &versions::VersionRow,
        label: &str,
    ) -> chainlift_gates::report::Evidence {
        use chainlift_gates::report::evidence;
        let env = args.env.as_str();
        let check = "the restored version runs its smoke input";
        let item = Some("rollback-under-5-min");
        let dir = match self.materialize(project, v).await {
            Ok(d) => d,
            Err(e) => return evidence(check, false, e.message, item),
        };
        let restored = match ChainDef::load(&dir) {
            Ok(c) => c,
            Err(e) => return evidence(check, false, e.to_string(), item),
        };
        let configured = resolve_env_with_file(project, chain, env, &BTreeMap::new())
            .ok()
            .and_then(|(_, r)| r.ok())
            .and_then(|r| r.config.get(crate::runs::CASSETTE_KEY).cloned())
            .filter(|c| !c.is_empty());
        let default = format!("cassettes/{env}.jsonl");
        let cassette = match configured {
            Some(c) => c,
            None if chain.path(&default).is_ok_and(|p| p.is_file()) => default,
            None => {
                return evidence(
                    check,
                    true,
                    format!("not run: {label} has no cassette for `{env}` ({default}), and the drill never calls a provider; record one with `chainlift run --env {env} --record`"),
                    item,
                )
            }
        };
        let input = match crate::runs::smoke_input_of(&restored) {
            Ok(i) => i,
            Err(e) => return evidence(check, false, e.message, item),
        };
        let mut vars = BTreeMap::new();
        vars.insert(crate::runs::CASSETTE_KEY.to_string(), cassette.clone());
        let run = self
            .run(
                &RunArgs {
                    at: args.at.clone(),
                    env: env.to_string(),
                    input,
                    vars,
                    version: Some(v.hash.clone()),
                    trigger: crate::dto::Trigger::Gate,
                    ..RunArgs::default()
                },
                &|_| {},
            )
            .await;
        match run {
            Ok(r) if r.status == chainlift_model::lifecycle::RunStatus::Completed => evidence(
                check,
                true,
                format!(
                    "{label} completed its smoke input from {cassette} with today's config/{env}.env in {} ms (run {})",
                    r.duration_ms.map_or("?".to_string(), |d| d.to_string()),
                    short_id(&r.id)
                ),
                item,
            ),
            Ok(r) => evidence(
                check,
                false,
                format!(
                    "{label} ended {} on its smoke input from {cassette}: {} (run {})",
                    r.status,
                    r.error.as_deref().unwrap_or("no error recorded"),
                    short_id(&r.id)
                ),
                item,
            ),
            Err(e) => evidence(
                check,
                false,
                format!(
                    "{label} could not run its smoke input from {cassette}: {}",
                    e.message
                ),
                item,
            ),
        }
    }
}

/// The rollback drill against the real history and engine (DESIGN.md §5).
struct Drill<'a> {
    api: &'a Chainlift,
    project: &'a Project,
    chain: &'a ChainDef,
    args: &'a GateArgs,
    current: &'a deployments::DeploymentRow,
    version: &'a versions::VersionRow,
    label: &'a str,
}

impl chainlift_gates::rollback::RollbackDrill for Drill<'_> {
    async fn rebuild(&self) -> std::result::Result<usize, String> {
        self.api
            .verify_from_store(self.version)
            .await
            .map_err(|e| e.message)
    }

    async fn move_pointer_back(&self) -> std::result::Result<(), String> {
        self.api
            .drill_pointer(self.project, &self.chain.name, &self.args.env, self.current)
            .await
            .map_err(|e| e.message)
    }

    async fn replay_smoke(&self) -> chainlift_gates::report::Evidence {
        self.api
            .drill_replay(
                self.project,
                self.chain,
                self.args,
                self.version,
                self.label,
            )
            .await
    }
}

/// Nothing is deployed: nothing to drill (the gate never calls these).
struct NoDrill;

impl chainlift_gates::rollback::RollbackDrill for NoDrill {
    async fn rebuild(&self) -> std::result::Result<usize, String> {
        Err("nothing is deployed".into())
    }

    async fn move_pointer_back(&self) -> std::result::Result<(), String> {
        Err("nothing is deployed".into())
    }

    async fn replay_smoke(&self) -> chainlift_gates::report::Evidence {
        chainlift_gates::report::evidence(
            "the restored version runs its smoke input",
            true,
            "not run: nothing is deployed",
            None,
        )
    }
}

fn short_id(id: &str) -> &str {
    id.get(..13).unwrap_or(id)
}

/// The chain output agent's JSON (or text), read back from the run folder.
fn output_json(run: &RunView) -> Option<serde_json::Value> {
    let dir = Path::new(&run.run_dir).join("outputs");
    // The output comes from the last completed step unless the chain names one.
    let agent = run
        .steps
        .iter()
        .rev()
        .find(|s| s.status == "completed")?
        .agent
        .clone();
    let json = dir.join(&agent).join("output.json");
    if let Ok(text) = std::fs::read_to_string(&json) {
        return serde_json::from_str(&text).ok();
    }
    std::fs::read_to_string(dir.join(&agent).join("output.txt"))
        .ok()
        .map(serde_json::Value::String)
}
