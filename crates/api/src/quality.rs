//! The quality gate: a reviewer agent scores each quality input's output on each criterion,
//! 1–5 with a rationale, at temperature 0. Only the scores count (the reviewer is never asked
//! for a verdict); the average must reach `min_average`; each criterion is compared with the
//! baseline version's scores and regressions are named.
//!
//! The reviewer is a one-agent chain generated beside the data folder and run like any other
//! chain, so it gets the same providers, retries, cassettes, redaction and run records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chainlift_gates::quality::{
    self as judge, reviewer_schema, Baseline, QualityPolicy, QualityRunner, Scored, REVIEWER_PROMPT,
};
use chainlift_gates::GateReport;
use chainlift_model::subst::{substitute, Lookup};
use chainlift_model::{ChainDef, Project};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::{json, Value};

use crate::gates::GateArgs;
use crate::project::resolve_env_with_file;
use crate::runs::read_bounded;
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result, RunArgs};

fn q(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The quality gate's runs, for [`chainlift_gates::quality::run`]: each input through the
/// chain and the reviewer, and the baseline from the store.
struct Runner {
    api: Chainlift,
    args: GateArgs,
    project: String,
    chain: String,
    reviewer_root: PathBuf,
    criteria: Vec<String>,
    guidance: BTreeMap<String, String>,
}

impl QualityRunner for Runner {
    async fn score_all(&self, inputs: Vec<PathBuf>) -> std::result::Result<Vec<Scored>, String> {
        // Every input runs at once, each as its own task, so the work around the model calls
        // uses every core; the env's concurrency limit still paces the calls themselves.
        let mut pending: FuturesUnordered<_> = inputs
            .into_iter()
            .map(|file| {
                tokio::spawn(score_input(
                    self.api.clone(),
                    self.args.clone(),
                    file,
                    self.reviewer_root.clone(),
                    self.criteria.clone(),
                    self.guidance.clone(),
                ))
            })
            .collect();
        let mut scored = Vec::new();
        while let Some(s) = pending.next().await {
            scored.push(s.map_err(|e| format!("a quality input's task failed: {e}"))?);
        }
        Ok(scored)
    }

    async fn baseline(&self) -> std::result::Result<Option<Baseline>, String> {
        let pool = &self.api.pool;
        let env = self.args.env.as_str();
        let store = |e: chainlift_store::StoreError| e.to_string();
        let Some(d) = chainlift_store::deployments::current(pool, &self.project, &self.chain, env)
            .await
            .map_err(store)?
        else {
            return Ok(None);
        };
        let Some(v) = chainlift_store::versions::get(pool, d.version_id)
            .await
            .map_err(store)?
        else {
            return Ok(None);
        };
        let Some(row) = chainlift_store::gate_reports::latest(
            pool,
            &self.project,
            &self.chain,
            &v.hash,
            "quality",
            None,
        )
        .await
        .map_err(store)?
        else {
            return Ok(None);
        };
        let before: Value = serde_json::from_str(&row.report).unwrap_or(Value::Null);
        Ok(Some(Baseline::from_report(
            &crate::history::label(&v),
            &before,
        )))
    }
}

impl Chainlift {
    /// Write the reviewer chain for this project and env; its env file carries the chain's
    /// config (base URLs, a cassette) so the reviewer reaches the same providers.
    fn reviewer_project(
        &self,
        project: &Project,
        chain: &ChainDef,
        env: &str,
        model: &str,
        criteria: &[String],
    ) -> Result<PathBuf> {
        let root = self.data_dir.join("reviewers").join(&project.id);
        let dir = root.join("chains/quality-reviewer");
        let fail = |p: &Path, e: std::io::Error| {
            ApiError::new(ErrorCode::Internal, format!("{}: {e}", p.display()))
        };
        for d in [dir.join("config"), dir.join("agents"), dir.join("schemas")] {
            std::fs::create_dir_all(&d).map_err(|e| fail(&d, e))?;
        }
        let mut policy = serde_json::Map::new();
        policy.insert("name".into(), json!(project.id));
        policy.insert(
            "environments".into(),
            json!(project
                .environments()
                .iter()
                .map(|e| json!({"name": e}))
                .collect::<Vec<_>>()),
        );
        policy.insert(
            "models".into(),
            serde_json::to_value(&project.policy.models).unwrap_or(Value::Null),
        );
        let write = |p: PathBuf, text: String| {
            chainlift_model::confine::write_atomic(&root, &p, text.as_bytes())
                .map_err(ApiError::from)
        };
        write(
            root.join("chainlift.json"),
            Value::Object(policy).to_string(),
        )?;
        // Reviews run at the chain's own concurrency in this env: the reviewer's project is
        // bound under its own id, so without this its calls would queue one at a time.
        let concurrency = crate::project::resolve_env(project, chain, env, &BTreeMap::new())
            .ok()
            .and_then(|r| r.ok())
            .map_or(1, |r| r.concurrency.max(1));
        write(
            dir.join("chain.yaml"),
            format!("name: quality-reviewer\ndescription: Scores a chain's output per criterion (generated by the quality gate)\nexecution:\n  concurrency: {concurrency}\nagents:\n  - name: reviewer\n    model: {}\n", q(model)),
        )?;
        let mut agent = String::from("name: reviewer\nprompt: |\n");
        for line in REVIEWER_PROMPT.lines() {
            agent.push_str("  ");
            agent.push_str(line);
            agent.push('\n');
        }
        agent.push_str("triggers: [chain:start]\nemits: chain:complete\noutput: json\nschema: schemas/review.json\ntemperature: 0\nmax_tokens: 1500\n");
        write(dir.join("agents/reviewer.yaml"), agent)?;
        write(
            dir.join("schemas/review.json"),
            reviewer_schema(criteria).to_string(),
        )?;
        // The chain's env config; its cassette (confined to the chain folder) is copied beside
        // the reviewer, which reads only inside its own folder like any chain.
        let source = chain.dir.join("config").join(format!("{env}.env"));
        let file = chainlift_model::EnvFile::load(&source)?;
        let mut env_text =
            String::from("# generated by the quality gate from the chain's env file\n");
        for (k, e) in &file.entries {
            let value = if k == crate::runs::CASSETTE_KEY && !e.value.is_empty() {
                let from = chain.path(&e.value)?;
                let bytes = read_bounded(&from, "cassette")?;
                let rel = format!("cassettes/{env}.jsonl");
                chainlift_model::confine::write_atomic(&dir, &dir.join(&rel), &bytes)?;
                rel
            } else {
                e.value.clone()
            };
            env_text.push_str(&format!("{k}={}\n", q(&value)));
        }
        write(dir.join("config").join(format!("{env}.env")), env_text)?;
        Ok(root)
    }

    /// The reviewer of a chain in an env: its model (resolved in the env) and its generated
    /// project; `None` when the env does not resolve.
    pub(crate) fn reviewer_for(
        &self,
        project: &Project,
        chain: &ChainDef,
        env: &str,
        policy: &QualityPolicy,
    ) -> Result<Option<(String, PathBuf)>> {
        let resolved = match resolve_env_with_file(project, chain, env, &BTreeMap::new())?.1 {
            Ok(r) => r,
            Err(_) => return Ok(None),
        };
        let raw_model = policy.reviewer_model.as_str();
        let model = substitute(raw_model, &|n: &str| {
            resolved
                .config
                .get(n)
                .map(|v| Lookup::Value(v.clone()))
                .unwrap_or(Lookup::Missing)
        })
        .map_err(|e| {
            ApiError::new(
                ErrorCode::BadInput,
                format!(
                    "gates.quality.reviewer.model `{raw_model}` does not resolve in `{env}`: {e:?}"
                ),
            )
        })?;
        let root = self.reviewer_project(project, chain, env, &model, &policy.criteria)?;
        Ok(Some((model, root)))
    }

    pub(crate) async fn quality_gate(
        &self,
        project: &Project,
        chain: &ChainDef,
        args: &GateArgs,
    ) -> Result<GateReport> {
        let env = args.env.as_str();
        let policy = QualityPolicy::from_gates(&chain.gates.clone().unwrap_or_default());
        let Some(inputs_dir) = policy.inputs.clone() else {
            return Ok(GateReport::skipped(
                "quality",
                "no `gates.quality.inputs` in chain.yaml: nothing to score",
            ));
        };
        let Some((model, reviewer_root)) = self.reviewer_for(project, chain, env, &policy)? else {
            return Ok(GateReport::skipped(
                "quality",
                format!("`{env}` does not resolve (see the config gate)"),
            ));
        };

        let mut files: Vec<PathBuf> = std::fs::read_dir(chain.dir.join(&inputs_dir))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Ok(GateReport::skipped(
                "quality",
                format!("{inputs_dir} holds no .json inputs"),
            ));
        }
        let runner = Runner {
            api: self.clone(),
            args: args.clone(),
            project: project.id.clone(),
            chain: chain.name.clone(),
            reviewer_root,
            criteria: policy.criteria.clone(),
            guidance: policy.guidance.clone(),
        };
        judge::run(&policy, &model, files, &runner)
            .await
            .map_err(|e| ApiError::new(ErrorCode::Internal, e))
    }
}

/// Score one quality input: run the chain on it, then the reviewer on its output.
async fn score_input(
    api: Chainlift,
    args: GateArgs,
    file: PathBuf,
    reviewer_root: PathBuf,
    criteria: Vec<String>,
    guidance: BTreeMap<String, String>,
) -> Scored {
    let this = &api;
    let args = &args;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let (run, result) = this.gate_run(args, &file).await;
    let Some(run) = run.filter(|r| r.status == chainlift_model::lifecycle::RunStatus::Completed)
    else {
        let why = result.error.unwrap_or_else(|| result.status.clone());
        return Scored {
            input: name,
            run_id: result.id,
            scores: Err(format!("the chain did not complete: {why}")),
        };
    };
    let output = run
        .output_preview
        .clone()
        .or_else(|| result.output.as_ref().map(|o| o.to_string()))
        .unwrap_or_default();
    let input: Value = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let scores = review(
        this,
        &args.env,
        &reviewer_root,
        &output,
        &input,
        &criteria,
        &guidance,
    )
    .await;
    Scored {
        input: name,
        run_id: Some(run.id),
        scores,
    }
}

/// Have the reviewer score one output (with the input that produced it) on every criterion.
pub(crate) async fn review(
    api: &Chainlift,
    env: &str,
    reviewer_root: &Path,
    output: &str,
    input: &Value,
    criteria: &[String],
    guidance: &BTreeMap<String, String>,
) -> std::result::Result<BTreeMap<String, (i64, String)>, String> {
    let review_input = reviewer_root.join(format!(".input-{}.json", uuid::Uuid::now_v7()));
    let mut body = json!({"output": output, "input": input, "criteria": criteria});
    if !guidance.is_empty() {
        body["guidance"] = json!(guidance);
    }
    std::fs::write(&review_input, body.to_string()).map_err(|e| e.to_string())?;
    let review_args = RunArgs {
        at: ProjectArgs {
            project: Some(reviewer_root.to_path_buf()),
            chain: Some("quality-reviewer".into()),
            cwd: reviewer_root.to_path_buf(),
        },
        env: env.to_string(),
        input: review_input.clone(),
        working: true,
        trigger: crate::dto::Trigger::Gate,
        ..RunArgs::default()
    };
    let quiet = |_| {};
    let reviewed = api.run(&review_args, &quiet).await;
    let _ = std::fs::remove_file(&review_input);
    match reviewed {
        Ok(r) if r.status == chainlift_model::lifecycle::RunStatus::Completed => {
            let path = Path::new(&r.run_dir).join("outputs/reviewer/output.json");
            std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| judge::read_review(&v, criteria))
                .ok_or_else(|| {
                    "the reviewer's answer lacks a score for every criterion".to_string()
                })
        }
        Ok(r) => Err(format!(
            "the reviewer did not complete: {}",
            r.error.unwrap_or_else(|| r.status.as_str().into())
        )),
        Err(e) => Err(format!("the reviewer could not run: {}", e.message)),
    }
}
