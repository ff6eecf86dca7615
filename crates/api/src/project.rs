//! Finding a project and a chain, resolving it per environment, and the overview the app draws.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chainlift_model::resolve::{resolve, ResolveInput, ResolveIssue};
use chainlift_model::{ChainDef, EnvFile, Project, ResolvedChain, SourceLocation};
use chainlift_store::runs::{self, RunFilter};

use crate::dto::{
    AgentInEnv, ChainGraph, ChainView, EnvColumn, GraphEdge, GraphNode, ProjectView, RunSummary,
};
use crate::{ApiError, Chainlift, ErrorCode, Result};

/// Which project (and chain) a command is about: `--project`, the CHAIN argument, the cwd.
#[derive(Debug, Clone, Default)]
pub struct ProjectArgs {
    pub project: Option<PathBuf>,
    pub chain: Option<String>,
    pub cwd: PathBuf,
}

impl ProjectArgs {
    pub fn project(&self) -> Result<Project> {
        Ok(Project::discover(self.project.as_deref(), self.chain.as_deref(), &self.cwd)?.0)
    }

    /// The project and the chain named by the CHAIN argument (or the only chain there is).
    pub fn chain(&self) -> Result<(Project, ChainDef)> {
        let (project, dir) = self.chain_dir()?;
        let chain = ChainDef::load(&dir)?;
        Ok((project, chain))
    }

    /// The project and the folder of that chain, without loading it (it may not load).
    pub fn chain_dir(&self) -> Result<(Project, PathBuf)> {
        self.chain_dir_with(Project::open)
    }

    /// [`Self::chain_dir`], opening the project folder with `open`.
    pub(crate) fn chain_dir_with(
        &self,
        open: impl FnOnce(&std::path::Path) -> std::result::Result<Project, chainlift_model::ModelError>,
    ) -> Result<(Project, PathBuf)> {
        let (project, dir) = Project::discover_with(
            self.project.as_deref(),
            self.chain.as_deref(),
            &self.cwd,
            open,
        )?;
        let dir = match dir {
            Some(d) => d,
            None => match project.chain_dirs().as_slice() {
                [only] => only.clone(),
                [] => {
                    return Err(ApiError::new(
                        ErrorCode::NotFound,
                        format!(
                            "{}: no chains in this project (chains/<name>/chain.yaml)",
                            project.root.display()
                        ),
                    ))
                }
                _ => {
                    return Err(ApiError::new(
                        ErrorCode::BadInput,
                        "this project has several chains: name one",
                    ))
                }
            },
        };
        Ok((project, dir))
    }
}

/// The env file of `env`, or None when the chain has none (an issue for the caller to report).
pub(crate) fn env_file(chain: &ChainDef, env: &str) -> Result<Option<EnvFile>> {
    let path = chain.dir.join("config").join(format!("{env}.env"));
    if !path.is_file() {
        return Ok(None);
    }
    Ok(Some(EnvFile::load(&path)?))
}

pub(crate) fn resolve_env(
    project: &Project,
    chain: &ChainDef,
    env: &str,
    vars: &BTreeMap<String, String>,
) -> Result<Resolution> {
    Ok(resolve_env_with_file(project, chain, env, vars)?.1)
}

/// A chain resolved for one env, or why it does not resolve.
pub(crate) type Resolution = std::result::Result<ResolvedChain, Vec<ResolveIssue>>;

/// Resolve `env`, also returning its env file (None when it has none).
pub(crate) fn resolve_env_with_file(
    project: &Project,
    chain: &ChainDef,
    env: &str,
    vars: &BTreeMap<String, String>,
) -> Result<(Option<EnvFile>, Resolution)> {
    let file = env_file(chain, env)?;
    let flags = BTreeMap::new();
    let input = ResolveInput {
        project,
        chain,
        env,
        env_file: file.as_ref(),
        vars,
        flags: &flags,
    };
    if file.is_none() {
        // Without its env file every variable would be "unresolved": report the cause alone.
        let issue = ResolveIssue {
            code: "missing-env-file",
            message: format!("env `{env}` has no config/{env}.env"),
            at: SourceLocation {
                file: chain.dir.join("config").join(format!("{env}.env")),
                line: 0,
            },
            hint: format!("create config/{env}.env with the values this env needs"),
        };
        return Ok((None, Err(vec![issue])));
    }
    let result = resolve(&input);
    Ok((file, result))
}

/// Resolve a chain with given env values and flags (a deployment's snapshot, a version's files).
pub(crate) fn resolve_with(
    project: &Project,
    chain: &ChainDef,
    env: &str,
    env_file: &EnvFile,
    vars: &BTreeMap<String, String>,
    flags: &BTreeMap<String, String>,
) -> Resolution {
    resolve(&ResolveInput {
        project,
        chain,
        env,
        env_file: Some(env_file),
        vars,
        flags,
    })
}

pub(crate) fn issue_text(i: &ResolveIssue) -> String {
    format!("{}: {} (fix: {})", i.at, i.message, i.hint)
}

/// The chain's graph as the domain builds it ([`ChainDef::graph`]: routes and `on_error`
/// included), for the app to draw.
pub fn graph(chain: &ChainDef) -> ChainGraph {
    let g = chain.graph();
    ChainGraph {
        nodes: g
            .nodes
            .into_iter()
            .map(|n| GraphNode {
                id: n.id,
                kind: n.kind.as_str().into(),
                label: n.label,
            })
            .collect(),
        edges: g
            .edges
            .into_iter()
            .map(|e| GraphEdge {
                id: e.id,
                source: e.source,
                target: e.target,
                label: e.label,
            })
            .collect(),
    }
}

impl Chainlift {
    /// Bind the project's id to its canonical root (DESIGN.md §2): a second folder that names
    /// itself like another project gets an id of its own, and a note that says so.
    pub async fn bind(&self, mut project: Project) -> Result<Project> {
        let root = project
            .root
            .canonicalize()
            .unwrap_or_else(|_| project.root.clone());
        let key = (root.display().to_string(), project.id.clone());
        let known = self.memo.bound(&key);
        let (id, renamed) = match known {
            Some(b) => b,
            None => {
                let now = self.clock.now().to_rfc3339();
                let b = chainlift_store::projects::bind(
                    &self.pool,
                    &self.project_host(),
                    &project.id,
                    &key.0,
                    &now,
                )
                .await?;
                self.memo.keep_bound(key, b.clone());
                b
            }
        };
        if renamed {
            project.identity_note = Some(format!(
                "Another folder already uses the project name `{}` in this data folder, so this one ({}) is `{id}`: its secrets, deployments and flags are its own; give it its own `name:` in chainlift.yaml",
                project.id,
                root.display()
            ));
        }
        project.id = id;
        Ok(project)
    }

    /// The project `at` names, with its bound id.
    pub async fn project_of(&self, at: &ProjectArgs) -> Result<Project> {
        self.bind(at.project()?).await
    }

    /// The project and chain `at` names, with the project's bound id.
    pub async fn chain_of(&self, at: &ProjectArgs) -> Result<(Project, ChainDef)> {
        let (project, chain) = self.chain_shared(at).await?;
        Ok((project, ChainDef::clone(&chain)))
    }

    /// [`Self::chain_of`] without copying the chain: from memory while its files are unchanged.
    pub(crate) async fn chain_shared(
        &self,
        at: &ProjectArgs,
    ) -> Result<(Project, std::sync::Arc<ChainDef>)> {
        let (project, dir) = at.chain_dir_with(|root| self.memo.project(root))?;
        let chain = self.memo.chain(&dir)?;
        Ok((self.bind(project).await?, chain))
    }

    /// A chain folder's definition, from memory while its files are unchanged.
    pub(crate) fn chain_at(&self, dir: &std::path::Path) -> Result<std::sync::Arc<ChainDef>> {
        Ok(self.memo.chain(dir)?)
    }

    /// The project overview: every chain's graph and, per environment, its resolved agents
    /// and last run. A chain that does not load is shown with its error, not dropped.
    pub async fn open_project(&self, args: &ProjectArgs) -> Result<ProjectView> {
        let project = self.project_of(args).await?;
        let environments = project.environments();
        let mut chains = Vec::new();
        for dir in project.chain_dirs() {
            let name = dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let chain = match ChainDef::load(&dir) {
                Ok(c) => c,
                Err(e) => {
                    chains.push(ChainView {
                        name,
                        dir: dir.display().to_string(),
                        description: None,
                        graph: ChainGraph {
                            nodes: vec![],
                            edges: vec![],
                        },
                        envs: vec![],
                        error: Some(e.to_string()),
                    });
                    continue;
                }
            };
            // The gate results shown are for the files as they are now.
            let hash = chainlift_model::hash::definition_hash(&chain.dir)?;
            let mut envs = Vec::new();
            for env in &environments {
                envs.push(self.env_column(&project, &chain, &hash, env).await?);
            }
            chains.push(ChainView {
                name: chain.name.clone(),
                dir: dir.display().to_string(),
                description: chain.description.clone(),
                graph: graph(&chain),
                envs,
                error: None,
            });
        }
        Ok(ProjectView {
            identity_note: project.identity_note.clone(),
            id: project.id.clone(),
            root: project.root.display().to_string(),
            environments,
            chains,
        })
    }

    async fn env_column(
        &self,
        project: &Project,
        chain: &ChainDef,
        hash: &str,
        env: &str,
    ) -> Result<EnvColumn> {
        let (agents, problems) = match resolve_env(project, chain, env, &BTreeMap::new()) {
            Ok(Ok(resolved)) => (
                resolved
                    .agents
                    .iter()
                    .map(|a| AgentInEnv {
                        agent: a.name.clone(),
                        model: a.model.clone(),
                        provider: a.model_entry.provider.clone(),
                        timeout_secs: a.timeout.as_secs_f64(),
                    })
                    .collect(),
                vec![],
            ),
            Ok(Err(issues)) => (vec![], issues.iter().map(issue_text).collect()),
            Err(e) => (vec![], vec![e.message]),
        };
        let filter = RunFilter {
            project: Some(project.id.clone()),
            chain: Some(chain.name.clone()),
            env: Some(env.to_string()),
            ..RunFilter::default()
        };
        let last_run = runs::last(&self.pool, &filter).await?.map(|r| RunSummary {
            id: r.id,
            status: r.status,
            cost: r.cost,
            started_at: r.started_at,
        });
        let label = |v: chainlift_store::versions::VersionRow| {
            v.tag.unwrap_or_else(|| v.hash.chars().take(12).collect())
        };
        let deployed_version =
            match chainlift_store::deployments::current(&self.pool, &project.id, &chain.name, env)
                .await?
            {
                Some(d) => chainlift_store::versions::get(&self.pool, d.version_id)
                    .await?
                    .map(label),
                None => None,
            };
        let newest = chainlift_store::promotions::list(&self.pool, &project.id, Some(&chain.name))
            .await?
            .into_iter()
            .find(|p| p.to_env == env);
        let promotion = match newest {
            Some(p) => chainlift_store::versions::get(&self.pool, p.version_id)
                .await?
                .map(|v| crate::dto::PromotionSummary {
                    id: p.id,
                    version: label(v),
                    state: p.state,
                }),
            None => None,
        };
        // The newest result of each required gate on these files; else, marked with its
        // version, on the files gated last here.
        let shown = self.shown_gates(project, chain, env, hash).await?;
        let gates_of = shown
            .as_ref()
            .filter(|g| g.stale)
            .map(|g| g.version.clone());
        // A gate a person waived on the newest promotion of these results' version reads as
        // waived here too, never as a failure.
        let waived: Vec<(String, String)> = match shown.as_ref() {
            Some(g) => {
                let version = chainlift_store::versions::by_hash(
                    &self.pool,
                    &project.id,
                    &chain.name,
                    &g.hash,
                )
                .await?;
                let promotion = match version {
                    Some(v) => {
                        chainlift_store::promotions::latest_for(
                            &self.pool,
                            &project.id,
                            &chain.name,
                            env,
                            v.id,
                        )
                        .await?
                    }
                    None => None,
                };
                match promotion {
                    Some(p) => chainlift_store::promotions::gates(&self.pool, &p.id)
                        .await?
                        .into_iter()
                        .filter(|g| g.status == chainlift_gates::GateStatus::Waived.as_str())
                        .map(|g| {
                            let who = g.waived_by.unwrap_or_default();
                            let note = g.waiver_note.unwrap_or_default();
                            (g.gate, format!("waived by {who}: {note}"))
                        })
                        .collect(),
                    None => vec![],
                }
            }
            None => vec![],
        };
        let gates = shown
            .map(|g| g.rows)
            .unwrap_or_default()
            .into_iter()
            .map(|row| {
                let status = chainlift_gates::GateStatus::parse(&row.status).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::Internal,
                        format!(
                            "a stored {} gate report has status `{}`, which this version of Chainlift does not know",
                            row.gate, row.status
                        ),
                    )
                })?;
                Ok(match waived.iter().find(|(g, _)| *g == row.gate) {
                    Some((_, why)) if status == chainlift_gates::GateStatus::Failed => {
                        crate::dto::GateBrief {
                            gate: row.gate,
                            status: chainlift_gates::GateStatus::Waived,
                            summary: format!("{} — {why}", row.summary),
                        }
                    }
                    _ => crate::dto::GateBrief {
                        gate: row.gate,
                        status,
                        summary: row.summary,
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(EnvColumn {
            env: env.to_string(),
            agents,
            problems,
            last_run,
            deployed_version,
            promotion,
            gates,
            gates_of,
        })
    }
}
