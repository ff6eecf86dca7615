//! Rollouts (DESIGN.md §10): a deploy to an env whose policy has `monitor:` opens one. A canary
//! walks its steps, the full switch opens the window, and an analysis per interval decides:
//! one failed metric rolls back in one transaction. Every state change goes through the
//! lifecycle's transition function and is written compare-and-swap; the monitor's time comes
//! from the injectable clock, so a test can walk a window without sleeping.

use chainlift_model::lifecycle::{Metric, RolloutEvent, RolloutState, Verdict};
use chainlift_model::monitor::{Inconclusive, MonitorPolicy};
use chainlift_model::Project;
use chainlift_store::audit::AuditEntry;
use chainlift_store::deployments::{self, DeploymentRow};
use chainlift_store::promotions;
use chainlift_store::rollouts::{self as table, AnalysisRow, IntervalRuns, RolloutRow};
use chainlift_store::versions;
use chrono::{DateTime, Utc};

use crate::dto::{AnalysisView, MetricThreshold, RolloutPhase, RolloutView};
use crate::history::{actor, label};
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result};

/// Who the monitor's changes are by, in the audit log.
pub const MONITOR_ACTOR: &str = "chainlift-monitor";

/// Most sampled outputs reviewed per interval (each review is a model call).
const MAX_REVIEWS: usize = 20;

/// Most intervals one pass analyzes (a monitor away for a long time catches up over passes).
const MAX_INTERVALS_PER_PASS: usize = 500;

/// An automatic rollback, as the app's desktop notification tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorRollback {
    /// Its audit row: pass it back to hear only of newer ones.
    pub seq: i64,
    pub chain: String,
    pub env: String,
    pub reason: String,
}

/// What `rollout` asks of an open rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutAction {
    /// Set the candidate's share (100: the full switch, then the window).
    Weight(u8),
    /// End it `stable` now: full switch, no further watch.
    Promote,
    /// Roll back (`rolled_back`).
    Abort,
    /// Hold the weight, advance nothing (a failed analysis still rolls back).
    Pause,
    Resume,
}

/// What one monitor pass did to a rollout.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorOutcome {
    pub chain: String,
    pub env: String,
    /// Intervals analyzed in this pass.
    pub intervals: usize,
    /// What changed, in words (`weight 10 → 50`, `rolled back: …`), in order.
    pub moves: Vec<String>,
    pub rolled_back: bool,
    /// The metric that failed, when the monitor rolled back on one (else: the inconclusive
    /// policy did).
    pub failed_metric: Option<Metric>,
}

fn at(text: &str, what: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            ApiError::new(
                ErrorCode::Internal,
                format!("rollout {what} `{text}` is not a time: {e}"),
            )
        })
}

fn span(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The deployments the candidate's runs name: its canary row, and the full switch's once made.
fn candidates(r: &RolloutRow) -> Vec<&str> {
    r.switch_id
        .iter()
        .chain(r.canary_id.iter())
        .map(String::as_str)
        .collect()
}

fn state_of(r: &RolloutRow) -> Result<RolloutState> {
    RolloutState::parse(&r.state).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Internal,
            format!(
                "rollout {} has state `{}`, which this version of Chainlift does not know",
                r.id, r.state
            ),
        )
    })
}

fn policy_of(r: &RolloutRow) -> Result<MonitorPolicy> {
    serde_json::from_str(&r.policy).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("rollout {}'s stored policy is damaged: {e}", r.id),
        )
    })
}

/// One metric of one interval, judged.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judged {
    pub metric: Metric,
    pub verdict: Verdict,
    /// What is held against the threshold (a rate, a ratio).
    pub value: Option<f64>,
    pub threshold: f64,
    /// The candidate's runs counted.
    pub runs: i64,
    /// The candidate's and the stable's own figure.
    pub candidate: Option<f64>,
    pub stable: Option<f64>,
}

/// The analysis of one interval: a row per metric, and the interval's verdict.
pub(crate) fn analyze(
    policy: &MonitorPolicy,
    candidate: &IntervalRuns,
    baseline: &IntervalRuns,
) -> Vec<Judged> {
    let enough = |r: &IntervalRuns| r.runs >= i64::from(policy.min_runs);
    let rate = |r: &IntervalRuns| (r.runs > 0).then(|| r.failures as f64 / r.runs as f64);
    let mut out = Vec::new();
    let cand_rate = rate(candidate);
    let verdict = match cand_rate {
        Some(v) if enough(candidate) && v > policy.max_failure_rate => Verdict::Failed,
        Some(_) if enough(candidate) => Verdict::Successful,
        _ => Verdict::Inconclusive,
    };
    out.push(Judged {
        metric: Metric::FailureRate,
        verdict,
        value: cand_rate,
        threshold: policy.max_failure_rate,
        runs: candidate.runs,
        candidate: cand_rate,
        stable: rate(baseline),
    });
    let ratio = |c: Option<f64>, b: Option<f64>| match (c, b) {
        (Some(c), Some(b)) if b > 0.0 => Some(c / b),
        (Some(c), Some(b)) if b == 0.0 && c == 0.0 => Some(1.0),
        _ => None,
    };
    let judged = |value: Option<f64>, max: f64, counted: bool| match value {
        Some(v) if counted && v > max => Verdict::Failed,
        Some(_) if counted => Verdict::Successful,
        _ => Verdict::Inconclusive,
    };
    let costed = |r: &IntervalRuns| r.costed >= i64::from(policy.min_runs);
    let cost = ratio(candidate.mean_cost, baseline.mean_cost);
    out.push(Judged {
        metric: Metric::CostRatio,
        verdict: judged(
            cost,
            policy.max_cost_ratio,
            costed(candidate) && costed(baseline),
        ),
        value: cost,
        threshold: policy.max_cost_ratio,
        runs: candidate.costed,
        candidate: candidate.mean_cost,
        stable: baseline.mean_cost,
    });
    let timed = |r: &IntervalRuns| r.timed >= i64::from(policy.min_runs);
    let (c95, b95) = (candidate.p95_ms, baseline.p95_ms);
    let latency = ratio(c95, b95);
    out.push(Judged {
        metric: Metric::LatencyRatio,
        verdict: judged(
            latency,
            policy.max_latency_ratio,
            timed(candidate) && timed(baseline),
        ),
        value: latency,
        threshold: policy.max_latency_ratio,
        runs: candidate.timed,
        candidate: c95,
        stable: b95,
    });
    out
}

/// The interval's verdict: one failed metric fails it; all successful succeed it.
fn overall(verdicts: &[Verdict]) -> Verdict {
    if verdicts.contains(&Verdict::Failed) {
        Verdict::Failed
    } else if verdicts.iter().all(|v| *v == Verdict::Successful) {
        Verdict::Successful
    } else {
        Verdict::Inconclusive
    }
}

/// A failed metric as a PM reads it: "failure rate 0.42 > 0.10 over 57 runs of v3 between
/// 14:05 and 14:10".
fn reason_for(a: &AnalysisRow, version: &str) -> String {
    let name = match Metric::parse(&a.metric) {
        Some(Metric::FailureRate) => "failure rate",
        Some(Metric::CostRatio) => "cost per run (candidate / stable)",
        Some(Metric::LatencyRatio) => "p95 latency (candidate / stable)",
        Some(Metric::Quality) => "sampled quality",
        Some(Metric::ModelDrift) => "model drift",
        None => a.metric.as_str(),
    };
    let hm = |t: &str| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc).format("%H:%M:%S").to_string())
            .unwrap_or_else(|_| t.to_string())
    };
    let cmp = if a.metric == Metric::Quality.as_str() {
        "<"
    } else {
        ">"
    };
    format!(
        "{name} {:.2} {cmp} {:.2} over {} runs of {version} between {} and {} UTC",
        a.value.unwrap_or_default(),
        a.threshold.unwrap_or_default(),
        a.runs,
        hm(&a.interval_start),
        hm(&a.interval_end)
    )
}

impl Chainlift {
    /// Open a rollout for a deploy, inside the deploy's transaction (the caller ended any open
    /// one first). `canary` is the candidate's row while it takes a share; else `switch` is
    /// the full switch that starts the window.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn open_rollout(
        &self,
        tx: &mut chainlift_store::Conn,
        project: &Project,
        policy: &MonitorPolicy,
        stable: &DeploymentRow,
        candidate: &DeploymentRow,
        weight: Option<u8>,
        promotion: Option<&str>,
    ) -> Result<RolloutRow> {
        let now = self.clock.now();
        let policy_json = serde_json::to_string(policy)
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("monitor policy: {e}")))?;
        let canary = weight.is_some();
        let row = RolloutRow {
            id: uuid::Uuid::now_v7().to_string(),
            project: project.id.clone(),
            chain: candidate.chain.clone(),
            env: candidate.env.clone(),
            promotion_id: promotion.map(String::from),
            stable_id: stable.id.clone(),
            canary_id: canary.then(|| candidate.id.clone()),
            switch_id: (!canary).then(|| candidate.id.clone()),
            weight: i64::from(weight.unwrap_or(100)),
            step: 0,
            step_since: now.to_rfc3339(),
            state: RolloutState::Monitoring.as_str().into(),
            policy: policy_json,
            started_at: now.to_rfc3339(),
            analyzed_to: now.to_rfc3339(),
            window_ends_at: (!canary).then(|| (now + span(policy.window)).to_rfc3339()),
            ended_at: None,
            reason: None,
            actor: actor(project),
            updated_at: now.to_rfc3339(),
            rev: 0,
        };
        table::insert(tx, &row).await?;
        Ok(row)
    }

    /// Write a rollout's change (compare-and-swap on what was read) and mirror a state change
    /// on the promotion that led to it, inside the caller's transaction.
    async fn write_rollout(
        &self,
        tx: &mut chainlift_store::Conn,
        read: &RolloutRow,
        mut next: RolloutRow,
        event: Option<RolloutEvent>,
    ) -> Result<RolloutRow> {
        let now = self.clock.now().to_rfc3339();
        if let Some(event) = event {
            let to = state_of(read)?
                .next(event)
                .map_err(|r| ApiError::new(ErrorCode::Refused, format!("the rollout: {r}")))?;
            next.state = to.as_str().into();
            if !to.is_open() {
                next.ended_at = Some(now.clone());
            }
            if let Some(pid) = &read.promotion_id {
                if let Some(p) = promotions::get(&mut *tx, pid).await? {
                    let mirrored = RolloutState::promotion_event(event);
                    let from = crate::promotion::promotion_state(&p)?;
                    // A promotion already moved on by hand (rolled back) is left as it is.
                    if from.next(mirrored).is_ok() {
                        Self::move_promotion(tx, &p, mirrored, &now).await?;
                        if let Some(why) = &next.reason {
                            promotions::set_reason(&mut *tx, &p.id, why).await?;
                        }
                    }
                }
            }
        }
        next.updated_at = now;
        next.rev = read.rev + 1;
        if !table::update(tx, &next).await? {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "the rollout of {} in `{}` changed while this ran (another process moved it): look again with `chainlift rollout {} --env {}`",
                    read.chain, read.env, read.chain, read.env
                ),
            ));
        }
        Ok(next)
    }

    /// The full switch of a canary: the candidate becomes the pointer (a deploy row with the
    /// candidate's own snapshot), the window starts.
    async fn switch(
        &self,
        tx: &mut chainlift_store::Conn,
        r: &RolloutRow,
        policy: &MonitorPolicy,
        by: &str,
    ) -> Result<(RolloutRow, DeploymentRow)> {
        let canary_id = r
            .canary_id
            .as_deref()
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "a rollout without a candidate"))?;
        let canary = deployments::get(&mut *tx, canary_id)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Internal,
                    format!("deployment {canary_id} is missing"),
                )
            })?;
        let before =
            deployments::was_deployed(&mut *tx, &r.project, &r.chain, &r.env, canary.version_id)
                .await?;
        let now = self.clock.now();
        let row = DeploymentRow {
            id: uuid::Uuid::now_v7().to_string(),
            previous_id: Some(r.stable_id.clone()),
            action: if before { "redeploy" } else { "deploy" }.into(),
            actor: by.into(),
            reason: Some(format!("rollout {}: full switch", r.id)),
            created_at: now.to_rfc3339(),
            seq: 0,
            ..canary
        };
        deployments::insert(&mut *tx, &row).await?;
        let next = RolloutRow {
            switch_id: Some(row.id.clone()),
            weight: 100,
            step_since: now.to_rfc3339(),
            window_ends_at: Some((now + span(policy.window)).to_rfc3339()),
            ..r.clone()
        };
        Ok((next, row))
    }

    /// Roll a rollout back inside the caller's transaction: a canary's weight to 0, or, after
    /// the full switch, the pointer back to the stable deployment; the rollout (and its
    /// promotion) `rolled_back` with `reason`. The audit entry is returned.
    async fn roll_back_rollout(
        &self,
        tx: &mut chainlift_store::Conn,
        project: &Project,
        r: &RolloutRow,
        reason: &str,
        by: &str,
    ) -> Result<(RolloutRow, AuditEntry)> {
        let mut pointer = None;
        if let Some(switch) = &r.switch_id {
            let current = deployments::current(&mut *tx, &r.project, &r.chain, &r.env).await?;
            if current.as_ref().map(|c| &c.id) == Some(switch) {
                let moved = self
                    .move_pointer_back(tx, project, &r.chain, &r.env, Some(reason), by)
                    .await?;
                pointer = Some(moved.row.id);
            }
        }
        let next = RolloutRow {
            weight: 0,
            reason: Some(reason.to_string()),
            ..r.clone()
        };
        let next = self
            .write_rollout(tx, r, next, Some(RolloutEvent::RolledBack))
            .await?;
        let entry = AuditEntry {
            actor: by.into(),
            ..self.entry(
                project,
                "rollout-rollback",
                Some(&r.chain),
                Some(&r.env),
                Some(r.id.clone()),
                Some(
                    serde_json::json!({"reason": reason, "pointer": pointer, "promotion": r.promotion_id})
                        .to_string(),
                ),
            )
        };
        Ok((next, entry))
    }

    /// Where the audit log is now: rollbacks after this are news.
    pub async fn audit_head(&self) -> Result<i64> {
        Ok(chainlift_store::audit::last_seq(&self.pool).await?)
    }

    /// The monitor's automatic rollbacks recorded after audit row `after` (any process), oldest
    /// first: the app tells the person at the desk.
    pub async fn monitor_rollbacks_after(&self, after: i64) -> Result<Vec<MonitorRollback>> {
        let rows = chainlift_store::audit::by_actor_after(
            &self.pool,
            MONITOR_ACTOR,
            "rollout-rollback",
            after,
            20,
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let reason = r
                    .detail
                    .as_deref()
                    .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                    .and_then(|d| d.get("reason").and_then(|v| v.as_str()).map(String::from))
                    .unwrap_or_else(|| "a failed analysis".into());
                MonitorRollback {
                    seq: r.seq,
                    chain: r.chain.unwrap_or_default(),
                    env: r.env.unwrap_or_default(),
                    reason,
                }
            })
            .collect())
    }

    /// Roll an open rollout back by a person's rollback (its own transaction).
    pub(crate) async fn abort_rollout(&self, project: &Project, id: &str, why: &str) -> Result<()> {
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        let r = table::get(&mut *tx, id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("rollout {id} is gone")))?;
        let (_, entry) = self
            .roll_back_rollout(&mut tx, project, &r, why, &actor(project))
            .await?;
        self.commit_audited(tx, &entry, Some("rollback")).await
    }

    /// A deploy or rollback while a rollout is open ends it first: a canary `rolled_back`, a
    /// full switch in its window `stable`. Inside the caller's transaction.
    pub(crate) async fn end_open_rollout(
        &self,
        tx: &mut chainlift_store::Conn,
        project: &Project,
        chain: &str,
        env: &str,
        why: &str,
    ) -> Result<Option<AuditEntry>> {
        let Some(r) = table::open(&mut *tx, &project.id, chain, env).await? else {
            return Ok(None);
        };
        if r.switch_id.is_none() {
            let next = RolloutRow {
                weight: 0,
                reason: Some(why.to_string()),
                ..r.clone()
            };
            self.write_rollout(tx, &r, next, Some(RolloutEvent::RolledBack))
                .await?;
        } else {
            let next = RolloutRow {
                reason: Some(why.to_string()),
                ..r.clone()
            };
            self.write_rollout(tx, &r, next, Some(RolloutEvent::Promoted))
                .await?;
        }
        Ok(Some(self.entry(
            project,
            "rollout-ended",
            Some(chain),
            Some(env),
            Some(r.id.clone()),
            Some(serde_json::json!({"why": why}).to_string()),
        )))
    }

    /// `rollout CHAIN --env E`: the newest rollout, open or ended, with its analyses.
    pub async fn rollout(&self, at: &ProjectArgs, env: &str) -> Result<RolloutView> {
        let (project, chain) = self.chain_shared(at).await?;
        crate::check_env(&project, env)?;
        let r = table::newest(&self.pool, &project.id, &chain.name, env)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NotFound,
                    format!(
                        "{} has no rollout in `{env}`: a deploy there opens one when the env's policy has `monitor:`",
                        chain.name
                    ),
                )
            })?;
        self.rollout_view(&r).await
    }

    /// The newest rollout of (chain, env), open or ended, if any (the app's Home).
    pub async fn rollout_newest(
        &self,
        project: &Project,
        chain: &str,
        env: &str,
    ) -> Result<Option<RolloutView>> {
        match table::newest(&self.pool, &project.id, chain, env).await? {
            Some(r) => Ok(Some(self.rollout_view(&r).await?)),
            None => Ok(None),
        }
    }

    async fn version_label_of(&self, deployment: &str) -> Result<String> {
        let d = deployments::get(&self.pool, deployment)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Internal,
                    format!("deployment {deployment} is missing"),
                )
            })?;
        let v = versions::get(&self.pool, d.version_id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "a deployed version is missing"))?;
        Ok(label(&v))
    }

    pub(crate) async fn rollout_view(&self, r: &RolloutRow) -> Result<RolloutView> {
        let state = state_of(r)?;
        let policy = policy_of(r)?;
        let old = self.version_label_of(&r.stable_id).await?;
        let new = match r.switch_id.as_deref().or(r.canary_id.as_deref()) {
            Some(id) => self.version_label_of(id).await?,
            None => old.clone(),
        };
        let phase = if !state.is_open() {
            RolloutPhase::Ended
        } else if r.switch_id.is_some() {
            RolloutPhase::Window
        } else {
            RolloutPhase::Canary
        };
        let version = new.clone();
        let (stable, candidate, weight) = match (state, phase) {
            (RolloutState::Stable, _) => (new, None, 0),
            (RolloutState::RolledBack, _) => (old, None, 0),
            (_, RolloutPhase::Window) => (old, Some(new), 100),
            _ => (old, Some(new), r.weight.clamp(0, 100) as u32),
        };
        let analyses = table::analyses(&self.pool, &r.id)
            .await?
            .into_iter()
            .filter_map(|a| {
                Some(AnalysisView {
                    metric: Metric::parse(&a.metric)?,
                    verdict: Verdict::parse(&a.verdict)?,
                    at: a.interval_end,
                    interval_start: a.interval_start,
                    value: a.value,
                    threshold: a.threshold,
                    runs: a.runs.clamp(0, i64::from(u32::MAX)) as u32,
                    candidate_value: a.candidate_value,
                    stable_value: a.stable_value,
                    detail: a.detail,
                })
            })
            .collect();
        Ok(RolloutView {
            id: r.id.clone(),
            chain: r.chain.clone(),
            env: r.env.clone(),
            stable,
            candidate,
            weight,
            version,
            state,
            phase,
            window_ends_at: r.window_ends_at.clone(),
            started_at: r.started_at.clone(),
            ended_at: r.ended_at.clone(),
            reason: r.reason.clone(),
            promotion_id: r.promotion_id.clone(),
            steps: policy.steps.iter().map(|&s| u32::from(s)).collect(),
            thresholds: vec![
                MetricThreshold {
                    metric: Metric::FailureRate,
                    threshold: policy.max_failure_rate,
                },
                MetricThreshold {
                    metric: Metric::CostRatio,
                    threshold: policy.max_cost_ratio,
                },
                MetricThreshold {
                    metric: Metric::LatencyRatio,
                    threshold: policy.max_latency_ratio,
                },
            ],
            interval_secs: policy.interval.as_secs(),
            analyses,
        })
    }

    /// `rollout CHAIN --env E --weight N | --promote | --abort | --pause | --resume`.
    pub async fn rollout_act(
        &self,
        at: &ProjectArgs,
        env: &str,
        action: RolloutAction,
    ) -> Result<RolloutView> {
        let (project, chain) = self.chain_shared(at).await?;
        crate::check_env(&project, env)?;
        let who = actor(&project);
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        let r = table::open(&mut *tx, &project.id, &chain.name, env)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Refused,
                    format!(
                        "{} has no open rollout in `{env}`: `chainlift rollout {} --env {env}` shows the last one",
                        chain.name, chain.name
                    ),
                )
            })?;
        let policy = policy_of(&r)?;
        let state = state_of(&r)?;
        let (action_name, detail, row) = match action {
            RolloutAction::Weight(w) => {
                if r.switch_id.is_some() {
                    return Err(ApiError::new(
                        ErrorCode::Refused,
                        "the full switch is done (the window is on): the weight is 100 until the rollout ends; use --promote or --abort",
                    ));
                }
                if w > 100 {
                    return Err(ApiError::new(
                        ErrorCode::BadInput,
                        format!("--weight {w}: give a percent from 0 to 100"),
                    ));
                }
                if w == 100 {
                    let (next, _) = self.switch(&mut tx, &r, &policy, &who).await?;
                    let next = self.write_rollout(&mut tx, &r, next, None).await?;
                    (
                        "rollout-weight",
                        serde_json::json!({"from": r.weight, "to": 100}),
                        next,
                    )
                } else {
                    let next = RolloutRow {
                        weight: i64::from(w),
                        step_since: self.clock.now().to_rfc3339(),
                        ..r.clone()
                    };
                    let next = self.write_rollout(&mut tx, &r, next, None).await?;
                    (
                        "rollout-weight",
                        serde_json::json!({"from": r.weight, "to": w}),
                        next,
                    )
                }
            }
            RolloutAction::Promote => {
                let base = if r.switch_id.is_none() {
                    self.switch(&mut tx, &r, &policy, &who).await?.0
                } else {
                    r.clone()
                };
                let next = RolloutRow {
                    reason: Some(format!("promoted by {who}")),
                    ..base
                };
                let next = self
                    .write_rollout(&mut tx, &r, next, Some(RolloutEvent::Promoted))
                    .await?;
                ("rollout-promote", serde_json::json!({}), next)
            }
            RolloutAction::Abort => {
                let (next, entry) = self
                    .roll_back_rollout(&mut tx, &project, &r, &format!("aborted by {who}"), &who)
                    .await?;
                self.commit_audited(tx, &entry, Some("rollout")).await?;
                return self.rollout_view(&next).await;
            }
            RolloutAction::Pause | RolloutAction::Resume => {
                let event = if action == RolloutAction::Pause {
                    RolloutEvent::Paused
                } else {
                    RolloutEvent::Resumed
                };
                state.next(event).map_err(|e| {
                    ApiError::new(ErrorCode::Refused, format!("the rollout is {state}: {e}"))
                })?;
                let next = RolloutRow {
                    step_since: if event == RolloutEvent::Resumed {
                        self.clock.now().to_rfc3339()
                    } else {
                        r.step_since.clone()
                    },
                    ..r.clone()
                };
                let next = self.write_rollout(&mut tx, &r, next, Some(event)).await?;
                let name = if event == RolloutEvent::Paused {
                    "rollout-pause"
                } else {
                    "rollout-resume"
                };
                (name, serde_json::json!({}), next)
            }
        };
        let entry = self.entry(
            &project,
            action_name,
            Some(&chain.name),
            Some(env),
            Some(r.id.clone()),
            Some(detail.to_string()),
        );
        self.commit_audited(tx, &entry, Some("rollout")).await?;
        self.rollout_view(&row).await
    }

    /// One monitor pass over an env (serve calls it as the env's lease holder): every open
    /// rollout gets an analysis per interval that ended since its last, and acts on it.
    pub async fn monitor(&self, project: &Project, env: &str) -> Result<Vec<MonitorOutcome>> {
        let mut out = Vec::new();
        for r in table::open_in(&self.pool, &project.id, env).await? {
            out.push(self.monitor_one(project, r).await?);
        }
        Ok(out)
    }

    async fn monitor_one(&self, project: &Project, mut r: RolloutRow) -> Result<MonitorOutcome> {
        let policy = policy_of(&r)?;
        let interval = span(policy.interval);
        let mut outcome = MonitorOutcome {
            chain: r.chain.clone(),
            env: r.env.clone(),
            intervals: 0,
            moves: vec![],
            rolled_back: false,
            failed_metric: None,
        };
        let mut notices = Vec::new();
        while outcome.intervals < MAX_INTERVALS_PER_PASS {
            let now = self.clock.now();
            let from = at(&r.analyzed_to, "analyzed_to")?;
            let to = from + interval;
            if to > now || !state_of(&r)?.is_open() {
                break;
            }
            // Sampled quality first: reviews are model calls, never made inside the write lock.
            let quality = self
                .sampled_quality(project, &r, &policy, &from.to_rfc3339(), &to.to_rfc3339())
                .await?;
            let mut tx = chainlift_store::begin_write(&self.pool).await?;
            // Read again under the write lock: another process may have moved it.
            let Some(read) = table::get(&mut *tx, &r.id).await? else {
                break;
            };
            if read.analyzed_to != r.analyzed_to || !state_of(&read)?.is_open() {
                r = read;
                continue;
            }
            let started = at(&read.started_at, "started_at")?;
            // The candidate's runs of the interval, against the stable's of the same interval
            // (a canary) or of the window before the full switch.
            let c_refs = candidates(&read);
            let b_refs = [read.stable_id.as_str()];
            let (base_from, base_to) = match &read.switch_id {
                None => (from, to),
                Some(_) => {
                    let ends = at(
                        read.window_ends_at.as_deref().unwrap_or(&read.started_at),
                        "window_ends_at",
                    )?;
                    (started - span(policy.window), ends - span(policy.window))
                }
            };
            let (f, t) = (from.to_rfc3339(), to.to_rfc3339());
            let candidate = table::interval_runs(
                &mut tx,
                &read.project,
                &read.chain,
                &read.env,
                &c_refs,
                &f,
                &t,
            )
            .await?;
            // After the full switch the baseline is a span that has passed: read it once.
            let key = format!(
                "{}/{}/{}",
                read.id,
                base_from.to_rfc3339(),
                base_to.to_rfc3339()
            );
            let kept = match &read.switch_id {
                Some(_) => self
                    .baselines
                    .lock()
                    .ok()
                    .and_then(|m| m.get(&key).cloned()),
                None => None,
            };
            let baseline = match kept {
                Some(b) => b,
                None => {
                    let b = table::interval_runs(
                        &mut tx,
                        &read.project,
                        &read.chain,
                        &read.env,
                        &b_refs,
                        &base_from.to_rfc3339(),
                        &base_to.to_rfc3339(),
                    )
                    .await?;
                    if read.switch_id.is_some() && base_to <= now {
                        if let Ok(mut m) = self.baselines.lock() {
                            if m.len() >= 64 {
                                m.clear();
                            }
                            m.insert(key, b.clone());
                        }
                    }
                    b
                }
            };
            let rows: Vec<AnalysisRow> = analyze(&policy, &candidate, &baseline)
                .into_iter()
                .map(|j| AnalysisRow {
                    rollout_id: read.id.clone(),
                    interval_start: f.clone(),
                    interval_end: t.clone(),
                    at: now.to_rfc3339(),
                    metric: j.metric.as_str().into(),
                    verdict: j.verdict.as_str().into(),
                    value: j.value,
                    threshold: Some(j.threshold),
                    runs: j.runs,
                    candidate_value: j.candidate,
                    stable_value: j.stable,
                    detail: None,
                })
                .collect();
            let mut rows = rows;
            if let Some(q) = quality {
                rows.push(AnalysisRow {
                    rollout_id: read.id.clone(),
                    interval_start: f.clone(),
                    interval_end: t.clone(),
                    at: now.to_rfc3339(),
                    ..q
                });
            }
            if let Some(drift) = self
                .model_drift(&mut tx, &read, &c_refs, &f, &t, candidate.runs)
                .await?
            {
                rows.push(AnalysisRow {
                    rollout_id: read.id.clone(),
                    interval_start: f.clone(),
                    interval_end: t.clone(),
                    at: now.to_rfc3339(),
                    ..drift
                });
            }
            table::add_analyses(&mut tx, &rows).await?;
            outcome.intervals += 1;
            let verdicts: Vec<Verdict> = rows
                .iter()
                .filter_map(|a| Verdict::parse(&a.verdict))
                .collect();
            let verdict = overall(&verdicts);
            let mut next = RolloutRow {
                analyzed_to: t.clone(),
                ..read.clone()
            };
            let state = state_of(&read)?;
            let candidate_label = self
                .version_label_of(c_refs.first().copied().unwrap_or_default())
                .await?;
            let mut event = None;
            let mut entries = Vec::new();
            if verdict == Verdict::Failed {
                let first = rows.iter().find(|a| a.verdict == Verdict::Failed.as_str());
                outcome.failed_metric = first.and_then(|a| Metric::parse(&a.metric));
                let failed = first
                    .map(|a| reason_for(a, &candidate_label))
                    .unwrap_or_default();
                let after = self
                    .write_rollout(&mut tx, &read, next.clone(), None)
                    .await?;
                let (_, entry) = self
                    .roll_back_rollout(&mut tx, project, &after, &failed, MONITOR_ACTOR)
                    .await?;
                self.commit_audited(tx, &entry, Some("monitor")).await?;
                outcome.moves.push(format!("rolled back: {failed}"));
                outcome.rolled_back = true;
                notices.push(format!(
                    "Chainlift: {} {candidate_label} in {} rolled back automatically — {failed}",
                    read.chain, read.env
                ));
                break;
            }
            let since = at(&read.step_since, "step_since")?;
            if state == RolloutState::Monitoring {
                let held_too_long = to - since >= span(policy.window);
                match &read.switch_id {
                    None if verdict == Verdict::Successful
                        && to - since >= span(policy.step_for) =>
                    {
                        match policy.steps.iter().find(|&&s| i64::from(s) > read.weight) {
                            Some(&w) => {
                                next.weight = i64::from(w);
                                next.step += 1;
                                next.step_since = t.clone();
                                outcome.moves.push(format!("weight {} → {w}", read.weight));
                                entries.push((
                                    "rollout-step",
                                    serde_json::json!({"from": read.weight, "to": w}),
                                ));
                            }
                            None => {
                                let (switched, _) =
                                    self.switch(&mut tx, &next, &policy, MONITOR_ACTOR).await?;
                                next = switched;
                                outcome.moves.push("full switch: the window starts".into());
                                entries.push((
                                    "rollout-switch",
                                    serde_json::json!({"from": read.weight, "to": 100}),
                                ));
                            }
                        }
                    }
                    None if verdict == Verdict::Inconclusive && held_too_long => {
                        event = self.inconclusive(&policy, &mut next, &mut outcome);
                    }
                    Some(_) => {
                        let ends = at(
                            read.window_ends_at.as_deref().unwrap_or(&t),
                            "window_ends_at",
                        )?;
                        if to >= ends {
                            if verdict == Verdict::Successful {
                                next.reason =
                                    Some("the window ended with every analysis passing".into());
                                event = Some(RolloutEvent::Promoted);
                                outcome.moves.push("stable: the window ended well".into());
                            } else {
                                event = self.inconclusive(&policy, &mut next, &mut outcome);
                            }
                        }
                    }
                    _ => {}
                }
            }
            if event == Some(RolloutEvent::RolledBack) {
                let why = next.reason.clone().unwrap_or_default();
                let after = self.write_rollout(&mut tx, &read, next, None).await?;
                let (_, entry) = self
                    .roll_back_rollout(&mut tx, project, &after, &why, MONITOR_ACTOR)
                    .await?;
                self.commit_audited(tx, &entry, Some("monitor")).await?;
                outcome.rolled_back = true;
                notices.push(format!(
                    "Chainlift: {} {candidate_label} in {} rolled back — {why}",
                    read.chain, read.env
                ));
                break;
            }
            let moved = event.is_some() || !entries.is_empty();
            let written = self.write_rollout(&mut tx, &read, next, event).await?;
            if moved {
                let list: Vec<AuditEntry> = if entries.is_empty() {
                    vec![self.monitor_entry(
                        project,
                        &read,
                        "rollout-end",
                        serde_json::json!({"state": written.state, "reason": written.reason}),
                    )]
                } else {
                    entries
                        .into_iter()
                        .map(|(name, detail)| self.monitor_entry(project, &read, name, detail))
                        .collect()
                };
                self.commit_audited_all(tx, &list, Some("monitor")).await?;
            } else {
                tx.commit().await?;
            }
            r = written;
        }
        if !notices.is_empty() {
            if let Ok(dir) = project.chain_dir(&outcome.chain) {
                if let Ok(chain) = self.chain_at(&dir) {
                    for text in &notices {
                        for w in self.notify(project, &chain, &outcome.env, text).await {
                            tracing::warn!(chain = %outcome.chain, env = %outcome.env, warning = %w, "notify");
                        }
                    }
                }
            }
        }
        Ok(outcome)
    }

    /// Sampled quality (DESIGN.md §10): `quality_sample` of the candidate's completed runs
    /// of the interval (picked by their id's bucket, at most [`MAX_REVIEWS`]) scored by the
    /// quality gate's reviewer; their average against `min_quality` (default: the gate's
    /// `min_average`). `None` when the policy samples nothing.
    async fn sampled_quality(
        &self,
        project: &Project,
        r: &RolloutRow,
        policy: &MonitorPolicy,
        from: &str,
        to: &str,
    ) -> Result<Option<AnalysisRow>> {
        if policy.quality_sample <= 0.0 {
            return Ok(None);
        }
        let candidate = candidates(r);
        let mut conn = self.pool.acquire().await?;
        let runs = table::completed_in(&mut conn, r, &candidate, from, to, 10_000).await?;
        drop(conn);
        let share = (policy.quality_sample * 100.0).round() as u8;
        let sampled: Vec<_> = runs
            .into_iter()
            .filter(|(id, _, _)| chainlift_model::monitor::bucket(id) < share)
            .take(MAX_REVIEWS)
            .collect();
        let dir = project.chain_dir(&r.chain)?;
        let chain = self.chain_at(&dir)?;
        let gate = chainlift_gates::quality::QualityPolicy::from_gates(
            &chain.gates.clone().unwrap_or_default(),
        );
        let threshold = policy.min_quality.unwrap_or(gate.min_average);
        let row = |verdict: Verdict, value: Option<f64>, runs: i64, detail: Option<String>| {
            Some(AnalysisRow {
                rollout_id: String::new(),
                interval_start: String::new(),
                interval_end: String::new(),
                at: String::new(),
                metric: Metric::Quality.as_str().into(),
                verdict: verdict.as_str().into(),
                value,
                threshold: Some(threshold),
                runs,
                candidate_value: value,
                stable_value: None,
                detail,
            })
        };
        let Some((_, reviewer)) = self.reviewer_for(project, &chain, &r.env, &gate)? else {
            return Ok(row(
                Verdict::Inconclusive,
                None,
                0,
                Some(format!("`{}` does not resolve: no reviewer", r.env)),
            ));
        };
        let mut scores = Vec::new();
        let mut problems = Vec::new();
        for (id, run_dir, output) in &sampled {
            let io = crate::review::run_io(run_dir, output.as_deref(), 20_000);
            let text = io.output;
            let input = io.input.unwrap_or(serde_json::Value::Null);
            let Some(text) = text else {
                problems.push(format!("run {id}: its output is not readable here"));
                continue;
            };
            match crate::quality::review(
                self,
                &r.env,
                &reviewer,
                &text,
                &input,
                &gate.criteria,
                &gate.guidance,
            )
            .await
            {
                Ok(s) => {
                    let avg =
                        s.values().map(|(v, _)| *v as f64).sum::<f64>() / s.len().max(1) as f64;
                    scores.push(avg);
                }
                Err(e) => problems.push(format!("run {id}: {e}")),
            }
        }
        let reviewed = scores.len() as i64;
        let detail = (!problems.is_empty()).then(|| problems.join("; "));
        if scores.is_empty() {
            return Ok(row(Verdict::Inconclusive, None, 0, detail));
        }
        let avg = scores.iter().sum::<f64>() / scores.len() as f64;
        let verdict = if avg < threshold {
            Verdict::Failed
        } else {
            Verdict::Successful
        };
        Ok(row(verdict, Some(avg), reviewed, detail))
    }

    /// Model drift (DESIGN.md §10): a provider-reported model for an agent of the candidate
    /// that the gates never saw for that agent. Where no gate run of the version is on record
    /// in the env, nothing is compared (no row); a drift is `inconclusive` (it holds the steps
    /// for a person to look) with the agents and models named.
    async fn model_drift(
        &self,
        tx: &mut chainlift_store::Conn,
        r: &RolloutRow,
        candidate: &[&str],
        from: &str,
        to: &str,
        runs: i64,
    ) -> Result<Option<AnalysisRow>> {
        let Some(first) = candidate.first() else {
            return Ok(None);
        };
        let (seen, gated) = table::reported_models(tx, r, candidate, from, to, first).await?;
        if gated.is_empty() || seen.is_empty() {
            return Ok(None);
        }
        let drifted: Vec<String> = seen
            .iter()
            .filter(|(agent, model)| {
                gated.iter().any(|(a, _)| a == agent)
                    && !gated.iter().any(|(a, m)| a == agent && m == model)
            })
            .map(|(agent, model)| {
                let saw: Vec<&str> = gated
                    .iter()
                    .filter(|(a, _)| a == agent)
                    .map(|(_, m)| m.as_str())
                    .collect();
                format!(
                    "{agent}: answered by {model} (the gates saw {})",
                    saw.join(", ")
                )
            })
            .collect();
        Ok(Some(AnalysisRow {
            rollout_id: String::new(),
            interval_start: String::new(),
            interval_end: String::new(),
            at: String::new(),
            metric: Metric::ModelDrift.as_str().into(),
            verdict: if drifted.is_empty() {
                Verdict::Successful
            } else {
                Verdict::Inconclusive
            }
            .as_str()
            .into(),
            value: Some(drifted.len() as f64),
            threshold: Some(0.0),
            runs,
            candidate_value: None,
            stable_value: None,
            detail: (!drifted.is_empty()).then(|| drifted.join("; ")),
        }))
    }

    /// The `inconclusive` policy at the end of a hold or a window: the event it asks for.
    fn inconclusive(
        &self,
        policy: &MonitorPolicy,
        next: &mut RolloutRow,
        outcome: &mut MonitorOutcome,
    ) -> Option<RolloutEvent> {
        let why = format!(
            "too few runs to judge (fewer than {} in an interval) until the end of the watch",
            policy.min_runs
        );
        next.reason = Some(why.clone());
        outcome
            .moves
            .push(format!("inconclusive ({:?}): {why}", policy.inconclusive));
        Some(match policy.inconclusive {
            Inconclusive::Pause => RolloutEvent::Paused,
            Inconclusive::Promote => RolloutEvent::Promoted,
            Inconclusive::Rollback => RolloutEvent::RolledBack,
        })
    }

    fn monitor_entry(
        &self,
        project: &Project,
        r: &RolloutRow,
        action: &str,
        detail: serde_json::Value,
    ) -> AuditEntry {
        AuditEntry {
            actor: MONITOR_ACTOR.into(),
            ..self.entry(
                project,
                action,
                Some(&r.chain),
                Some(&r.env),
                Some(r.id.clone()),
                Some(detail.to_string()),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(n: i64, failures: i64, cost: f64, ms: i64) -> IntervalRuns {
        IntervalRuns {
            runs: n,
            failures,
            mean_cost: (n > 0).then_some(cost),
            costed: n,
            timed: (n - failures).max(0),
            p95_ms: (n > failures).then_some(ms as f64),
        }
    }

    fn policy() -> MonitorPolicy {
        MonitorPolicy::parse(&serde_json::json!({"min_runs": 5})).expect("policy")
    }

    #[test]
    fn a_failing_candidate_fails_on_its_failure_rate() {
        let rows = analyze(&policy(), &runs(10, 5, 0.01, 50), &runs(90, 0, 0.01, 50));
        assert_eq!(rows[0].metric, Metric::FailureRate);
        assert_eq!(rows[0].verdict, Verdict::Failed);
        assert_eq!(rows[0].value, Some(0.5));
        assert_eq!(
            overall(&rows.iter().map(|r| r.verdict).collect::<Vec<_>>()),
            Verdict::Failed
        );
    }

    #[test]
    fn cost_and_latency_are_ratios_over_the_stable() {
        let rows = analyze(&policy(), &runs(10, 0, 0.03, 50), &runs(90, 0, 0.01, 50));
        assert_eq!(rows[1].verdict, Verdict::Failed, "{rows:?}");
        assert!((rows[1].value.unwrap_or_default() - 3.0).abs() < 1e-9);
        assert_eq!(rows[2].verdict, Verdict::Successful);
        let slow = analyze(&policy(), &runs(10, 0, 0.01, 300), &runs(90, 0, 0.01, 100));
        assert_eq!(slow[2].verdict, Verdict::Failed);
        assert_eq!(slow[2].value, Some(3.0));
    }

    #[test]
    fn too_few_runs_is_inconclusive_not_a_pass() {
        let rows = analyze(&policy(), &runs(2, 0, 0.01, 50), &runs(90, 0, 0.01, 50));
        assert!(
            rows.iter().all(|r| r.verdict == Verdict::Inconclusive),
            "{rows:?}"
        );
        let none = analyze(
            &policy(),
            &IntervalRuns::default(),
            &IntervalRuns::default(),
        );
        assert_eq!(
            overall(&none.iter().map(|r| r.verdict).collect::<Vec<_>>()),
            Verdict::Inconclusive
        );
    }
}
