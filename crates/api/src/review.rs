//! The PM's review (DESIGN.md §5): one quality input as the reviewer saw it — the input, the
//! candidate's output and the deployed (baseline) version's output and scores for the same input
//! — and the quality trend of a chain's gated versions in an env.

use std::collections::BTreeMap;
use std::path::Path;

use chainlift_gates::{CellScore, GateReport, QualityScores};
use chainlift_store::{gate_reports, runs as run_table, versions};

use crate::dto::{ReviewSide, ReviewView, TrendPoint};
use crate::history::label;
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result};

/// Most characters of an output or input the panel shows (the rest is said to be cut).
const MAX_SHOWN: usize = 64 * 1024;
/// Most versions a trend goes back.
const MAX_TREND: i64 = 50;

/// What went into a run and what came out, read back bounded; `None` where this machine
/// cannot read it (the run's files were removed, or live on another machine).
pub(crate) struct RunIo {
    pub input: Option<serde_json::Value>,
    pub output: Option<String>,
}

pub(crate) fn run_io(run_dir: &str, output: Option<&str>, max_chars: usize) -> RunIo {
    let output = output
        .and_then(|p| crate::runs::read_bounded(Path::new(p), "output").ok())
        .map(|b| {
            String::from_utf8_lossy(&b)
                .chars()
                .take(max_chars)
                .collect()
        });
    let input = crate::runs::read_bounded(
        &Path::new(run_dir).join(".events/0001-chain_start.json"),
        "input event",
    )
    .ok()
    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    .map(|e| e["payload"].clone());
    RunIo { input, output }
}

/// A version's quality report and its baseline's (label and scores), for reviewing inputs.
pub(crate) struct ReviewReports {
    pub version: String,
    pub quality: QualityScores,
    pub baseline: Option<(String, QualityScores)>,
}

fn shown(text: String) -> (String, bool) {
    if text.chars().count() > MAX_SHOWN {
        (text.chars().take(MAX_SHOWN).collect(), true)
    } else {
        (text, false)
    }
}

impl Chainlift {
    /// One run's side of the review: its output (bounded) and the scores it was given.
    async fn review_side(
        &self,
        version: String,
        run_id: Option<&str>,
        scores: Vec<CellScore>,
        error: Option<String>,
    ) -> Result<(ReviewSide, Option<serde_json::Value>)> {
        let run = match run_id {
            Some(id) => run_table::get(&self.pool, id).await?,
            None => None,
        };
        let io = run
            .as_ref()
            .map(|r| run_io(&r.run_dir, r.output.as_deref(), MAX_SHOWN + 1));
        let (output, cut) = match io.as_ref().and_then(|i| i.output.clone()) {
            Some(text) => {
                let (t, cut) = shown(text);
                (Some(t), cut)
            }
            None => (None, false),
        };
        let missing = match (&run, &output) {
            (None, _) if run_id.is_some() => Some("the run is not in this history".to_string()),
            (None, _) => Some("no run: the input was not run".to_string()),
            (Some(r), None) if r.output.is_none() => Some(format!(
                "the run {} with no output",
                r.status.replace('_', " ")
            )),
            (Some(r), None) => Some(format!(
                "the output file is not readable on this machine ({})",
                r.output.as_deref().unwrap_or("")
            )),
            _ => None,
        };
        Ok((
            ReviewSide {
                version,
                run_id: run_id.map(String::from),
                output,
                output_cut: cut,
                missing,
                scores,
                error,
            },
            io.and_then(|i| i.input),
        ))
    }

    /// The newest quality report of a version (by tag or hash) and its scores.
    async fn quality_of(
        &self,
        project: &chainlift_model::Project,
        chain: &str,
        version: &str,
    ) -> Result<Option<(String, QualityScores)>> {
        let v = self.find_version(project, chain, version).await?;
        let Some(row) =
            gate_reports::latest(&self.pool, &project.id, chain, &v.hash, "quality", None).await?
        else {
            return Ok(None);
        };
        let report: Option<GateReport> = serde_json::from_str(&row.report).ok();
        Ok(report.and_then(|r| r.quality).map(|q| (label(&v), q)))
    }

    /// One quality input as the reviewer saw it: the input, the version's output with its
    /// scores (its newest quality report in `env`), and the baseline version's output and
    /// scores for the same input (when it was scored).
    pub async fn review_input(
        &self,
        at: &ProjectArgs,
        env: &str,
        version: &str,
        input: &str,
    ) -> Result<ReviewView> {
        let reports = self.review_reports(at, env, version).await?;
        self.review_one(&reports, input).await
    }

    /// The quality reports a review reads: the version's in `env` and its baseline's, each
    /// read and parsed once however many inputs are then reviewed.
    pub(crate) async fn review_reports(
        &self,
        at: &ProjectArgs,
        env: &str,
        version: &str,
    ) -> Result<ReviewReports> {
        let (project, chain) = self.chain_of(at).await?;
        crate::check_env(&project, env)?;
        let v = self.find_version(&project, &chain.name, version).await?;
        let row = gate_reports::latest(
            &self.pool,
            &project.id,
            &chain.name,
            &v.hash,
            "quality",
            Some(env),
        )
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("{version} has no quality results in {env}: run {env}'s gates"),
            )
        })?;
        let quality = serde_json::from_str::<GateReport>(&row.report)
            .ok()
            .and_then(|r| r.quality)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NotFound,
                    format!("{version}'s quality report in {env} holds no scores (the gate was skipped)"),
                )
            })?;
        let baseline = match &quality.baseline {
            Some(b) => self.quality_of(&project, &chain.name, b).await?,
            None => None,
        };
        Ok(ReviewReports {
            version: label(&v),
            quality,
            baseline,
        })
    }

    pub(crate) async fn review_one(
        &self,
        reports: &ReviewReports,
        input: &str,
    ) -> Result<ReviewView> {
        let Some(mine) = reports.quality.inputs.iter().find(|i| i.input == input) else {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("the quality report has no input `{input}`"),
            ));
        };
        let (candidate, payload) = self
            .review_side(
                reports.version.clone(),
                mine.run_id.as_deref(),
                mine.scores.clone(),
                mine.error.clone(),
            )
            .await?;
        let mut baseline = None;
        let mut baseline_payload = None;
        if let Some((label, q)) = &reports.baseline {
            if let Some(theirs) = q.inputs.iter().find(|i| i.input == input) {
                let (side, p) = self
                    .review_side(
                        label.clone(),
                        theirs.run_id.as_deref(),
                        theirs.scores.clone(),
                        theirs.error.clone(),
                    )
                    .await?;
                baseline = Some(side);
                baseline_payload = p;
            }
        }
        let input_text = payload
            .or(baseline_payload)
            .map(|v| serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string()))
            .map(|t| shown(t).0);
        Ok(ReviewView {
            input: input.to_string(),
            input_text,
            candidate,
            baseline,
        })
    }

    /// The quality gate over the chain's gated versions in `env`, oldest first: each
    /// criterion's average, the threshold then, and the cost per run of the version's runs there.
    pub async fn quality_trend(&self, at: &ProjectArgs, env: &str) -> Result<Vec<TrendPoint>> {
        let (project, chain) = self.chain_of(at).await?;
        crate::check_env(&project, env)?;
        let rows = gate_reports::newest_per_version(
            &self.pool,
            &project.id,
            &chain.name,
            env,
            "quality",
            MAX_TREND,
        )
        .await?;
        let mut points = Vec::new();
        for row in rows {
            let Some(q) = serde_json::from_str::<GateReport>(&row.report)
                .ok()
                .and_then(|r| r.quality)
            else {
                continue;
            };
            let v =
                versions::by_hash(&self.pool, &project.id, &chain.name, &row.version_hash).await?;
            let cost = run_table::average_cost(
                &self.pool,
                &project.id,
                &chain.name,
                env,
                &row.version_hash,
            )
            .await?;
            points.push(TrendPoint {
                version: v
                    .as_ref()
                    .map(label)
                    .unwrap_or_else(|| row.version_hash.chars().take(12).collect()),
                hash: row.version_hash.clone(),
                gated_at: row.created_at.clone(),
                min_average: q.min_average,
                overall: q.overall,
                criteria: q
                    .criteria
                    .iter()
                    .map(|c| (c.name.clone(), c.average))
                    .collect::<BTreeMap<_, _>>(),
                cost_per_run: cost,
            });
        }
        points.reverse();
        Ok(points)
    }
}
