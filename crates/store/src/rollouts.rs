//! `rollouts` and `rollout_analyses` (DESIGN.md §10), and the figures of an interval's runs.

use sqlx::any::AnyExecutor;

use crate::Result;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RolloutRow {
    pub id: String,
    pub project: String,
    pub chain: String,
    pub env: String,
    pub promotion_id: Option<String>,
    pub stable_id: String,
    pub canary_id: Option<String>,
    pub switch_id: Option<String>,
    pub weight: i64,
    pub step: i64,
    pub step_since: String,
    pub state: String,
    pub policy: String,
    pub started_at: String,
    pub analyzed_to: String,
    pub window_ends_at: Option<String>,
    pub ended_at: Option<String>,
    pub reason: Option<String>,
    pub actor: String,
    pub updated_at: String,
    /// Bumped by every change: what a compare-and-swap compares.
    pub rev: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AnalysisRow {
    pub rollout_id: String,
    pub interval_start: String,
    pub interval_end: String,
    pub at: String,
    pub metric: String,
    pub verdict: String,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub runs: i64,
    pub candidate_value: Option<f64>,
    pub stable_value: Option<f64>,
    pub detail: Option<String>,
}

pub async fn insert(db: &mut crate::Conn, r: &RolloutRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO rollouts (id, project, chain, env, promotion_id, stable_id, canary_id, switch_id,
                               weight, step, step_since, state, policy, started_at, analyzed_to,
                               window_ends_at, ended_at, reason, actor, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(&r.id)
    .bind(&r.project)
    .bind(&r.chain)
    .bind(&r.env)
    .bind(&r.promotion_id)
    .bind(&r.stable_id)
    .bind(&r.canary_id)
    .bind(&r.switch_id)
    .bind(r.weight)
    .bind(r.step)
    .bind(&r.step_since)
    .bind(&r.state)
    .bind(&r.policy)
    .bind(&r.started_at)
    .bind(&r.analyzed_to)
    .bind(&r.window_ends_at)
    .bind(&r.ended_at)
    .bind(&r.reason)
    .bind(&r.actor)
    .bind(&r.updated_at)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// Write a rollout's new fields, compare-and-swap on the revision it was read at: `false`
/// (nothing written) when another writer moved it first. The row's `rev` is the read one + 1.
pub async fn update(db: &mut crate::Conn, r: &RolloutRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE rollouts SET switch_id = $1, weight = $2, step = $3, step_since = $4, state = $5,
                analyzed_to = $6, window_ends_at = $7, ended_at = $8, reason = $9, updated_at = $10,
                rev = rev + 1
          WHERE id = $11 AND rev = $12",
    )
    .bind(&r.switch_id)
    .bind(r.weight)
    .bind(r.step)
    .bind(&r.step_since)
    .bind(&r.state)
    .bind(&r.analyzed_to)
    .bind(&r.window_ends_at)
    .bind(&r.ended_at)
    .bind(&r.reason)
    .bind(&r.updated_at)
    .bind(&r.id)
    .bind(r.rev - 1)
    .execute(&mut *db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The open rollout of (chain, env), if any.
pub async fn open<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    env: &str,
) -> Result<Option<RolloutRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM rollouts WHERE project = $1 AND chain = $2 AND env = $3
           AND state IN ('monitoring', 'paused')",
    )
    .bind(project)
    .bind(chain)
    .bind(env)
    .fetch_optional(db)
    .await?)
}

/// The newest rollout of (chain, env), open or ended.
pub async fn newest<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    env: &str,
) -> Result<Option<RolloutRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM rollouts WHERE project = $1 AND chain = $2 AND env = $3
          ORDER BY started_at DESC, id DESC LIMIT 1",
    )
    .bind(project)
    .bind(chain)
    .bind(env)
    .fetch_optional(db)
    .await?)
}

/// Every open rollout of a project's env (the monitor's work).
pub async fn open_in<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    env: &str,
) -> Result<Vec<RolloutRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM rollouts WHERE project = $1 AND env = $2 AND state IN ('monitoring', 'paused')
          ORDER BY chain",
    )
    .bind(project)
    .bind(env)
    .fetch_all(db)
    .await?)
}

pub async fn get<'e>(db: impl AnyExecutor<'e>, id: &str) -> Result<Option<RolloutRow>> {
    Ok(sqlx::query_as("SELECT * FROM rollouts WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// Record an interval's analyses; an interval already recorded (a restarted monitor, a second
/// process) is left as it was. The number of rows written.
pub async fn add_analyses(db: &mut crate::Conn, rows: &[AnalysisRow]) -> Result<u64> {
    let mut written = 0;
    for a in rows {
        written += sqlx::query(
            "INSERT INTO rollout_analyses (rollout_id, interval_start, interval_end, at, metric,
                 verdict, value, threshold, runs, candidate_value, stable_value, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT DO NOTHING",
        )
        .bind(&a.rollout_id)
        .bind(&a.interval_start)
        .bind(&a.interval_end)
        .bind(&a.at)
        .bind(&a.metric)
        .bind(&a.verdict)
        .bind(a.value)
        .bind(a.threshold)
        .bind(a.runs)
        .bind(a.candidate_value)
        .bind(a.stable_value)
        .bind(&a.detail)
        .execute(&mut *db)
        .await?
        .rows_affected();
    }
    Ok(written)
}

/// A rollout's analyses, newest first.
pub async fn analyses<'e>(db: impl AnyExecutor<'e>, rollout: &str) -> Result<Vec<AnalysisRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM rollout_analyses WHERE rollout_id = $1 ORDER BY interval_end DESC, metric",
    )
    .bind(rollout)
    .fetch_all(db)
    .await?)
}

/// What the runs of one deployment (or several) that ended in `[from, to)` add up to; gate
/// runs never count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntervalRuns {
    pub runs: i64,
    pub failures: i64,
    /// Mean cost of the runs with a known cost, and how many those were.
    pub mean_cost: Option<f64>,
    pub costed: i64,
    /// Completed runs with a duration, and the p95 of those durations in ms (nearest rank).
    pub timed: i64,
    pub p95_ms: Option<f64>,
}

/// The 0-based position of the p95 among `n` sorted values (nearest rank: ⌈0.95·n⌉).
/// `$first, $first+1, …` for `n` parameters (an `IN` list both engines read).
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n.max(1))
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Bind `ids` after a query's other parameters (see [`placeholders`]); an empty list binds one
/// id that matches nothing.
fn bind_all<'q, Q: Bindable<'q>>(q: Q, ids: &'q [&'q str]) -> Q {
    if ids.is_empty() {
        return q.bind_str("");
    }
    ids.iter().fold(q, |q, id| q.bind_str(id))
}

/// The three query kinds the store binds `IN` lists to.
trait Bindable<'q> {
    fn bind_str(self, v: &'q str) -> Self;
}

impl<'q> Bindable<'q> for sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    fn bind_str(self, v: &'q str) -> Self {
        self.bind(v)
    }
}

impl<'q, O> Bindable<'q> for sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    fn bind_str(self, v: &'q str) -> Self {
        self.bind(v)
    }
}

impl<'q, O> Bindable<'q>
    for sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>
{
    fn bind_str(self, v: &'q str) -> Self {
        self.bind(v)
    }
}

pub fn p95_offset(n: i64) -> Option<i64> {
    (n > 0).then(|| (((n as f64) * 0.95).ceil() as i64).clamp(1, n) - 1)
}

pub async fn interval_runs(
    db: &mut crate::Conn,
    project: &str,
    chain: &str,
    env: &str,
    deployments: &[&str],
    from: &str,
    to: &str,
) -> Result<IntervalRuns> {
    if deployments.is_empty() {
        return Ok(IntervalRuns::default());
    }
    let (runs, failures, mean_cost, costed, timed): (i64, i64, Option<f64>, i64, i64) =
        bind_all(sqlx::query_as(&format!(
            "SELECT COUNT(*),
                COALESCE(SUM(CASE WHEN status IN ('failed', 'timed_out', 'budget_exceeded', 'interrupted') THEN 1 ELSE 0 END), 0),
                AVG(cost), COUNT(cost),
                COALESCE(SUM(CASE WHEN status = 'completed' AND duration_ms IS NOT NULL THEN 1 ELSE 0 END), 0)
           FROM runs
          WHERE project = $1 AND chain = $2 AND env = $3 AND ended_at >= $4 AND ended_at < $5
            AND deployment_id IN ({}) AND triggered_by <> 'gate'
            AND status <> 'cancelled'",
            placeholders(6, deployments.len())
        ))
        .bind(project)
        .bind(chain)
        .bind(env)
        .bind(from)
        .bind(to), deployments)
        .fetch_one(&mut *db)
        .await?;
    // The percentile is picked by the database: one value crosses over, not every duration.
    let p95_ms = match p95_offset(timed) {
        None => None,
        Some(offset) => bind_all(
            sqlx::query_scalar::<_, i64>(&format!(
                "SELECT duration_ms FROM runs
              WHERE project = $1 AND chain = $2 AND env = $3 AND ended_at >= $4 AND ended_at < $5
                AND deployment_id IN ({}) AND triggered_by <> 'gate'
                AND status = 'completed' AND duration_ms IS NOT NULL
              ORDER BY duration_ms LIMIT 1 OFFSET $6",
                placeholders(7, deployments.len())
            ))
            .bind(project)
            .bind(chain)
            .bind(env)
            .bind(from)
            .bind(to)
            .bind(offset),
            deployments,
        )
        .fetch_optional(&mut *db)
        .await?
        .map(|d| d as f64),
    };
    Ok(IntervalRuns {
        runs,
        failures,
        mean_cost,
        costed,
        timed,
        p95_ms,
    })
}

/// The completed runs of `deployments` that ended in `[from, to)` (gate runs excluded): id,
/// run folder and output file, oldest first, at most `limit`.
pub async fn completed_in(
    db: &mut crate::Conn,
    rollout: &RolloutRow,
    deployments: &[&str],
    from: &str,
    to: &str,
    limit: i64,
) -> Result<Vec<(String, String, Option<String>)>> {
    Ok(bind_all(
        sqlx::query_as(&format!(
            "SELECT id, run_dir, output FROM runs
          WHERE project = $1 AND chain = $2 AND env = $3 AND ended_at >= $4 AND ended_at < $5
            AND deployment_id IN ({}) AND triggered_by <> 'gate'
            AND status = 'completed'
          ORDER BY ended_at LIMIT $6",
            placeholders(7, deployments.len())
        ))
        .bind(&rollout.project)
        .bind(&rollout.chain)
        .bind(&rollout.env)
        .bind(from)
        .bind(to)
        .bind(limit),
        deployments,
    )
    .fetch_all(&mut *db)
    .await?)
}

/// The models providers reported, per agent: for the runs of `deployments` that ended in
/// `[from, to)`, and for the gate runs of the version of deployment `version_of` in the
/// rollout's env (what the gates saw). Each as (agent, model) pairs, sorted.
pub async fn reported_models(
    db: &mut crate::Conn,
    rollout: &RolloutRow,
    deployments: &[&str],
    from: &str,
    to: &str,
    version_of: &str,
) -> Result<(Vec<(String, String)>, Vec<(String, String)>)> {
    let (project, chain, env) = (&rollout.project, &rollout.chain, &rollout.env);
    let seen: Vec<(String, String)> = bind_all(sqlx::query_as(&format!(
        "SELECT DISTINCT s.agent, s.model_reported FROM run_steps s JOIN runs r ON r.id = s.run_id
          WHERE r.project = $1 AND r.chain = $2 AND r.env = $3 AND r.ended_at >= $4 AND r.ended_at < $5
            AND r.deployment_id IN ({}) AND r.triggered_by <> 'gate'
            AND s.model_reported IS NOT NULL
          ORDER BY 1, 2",
        placeholders(6, deployments.len())
    ))
    .bind(project)
    .bind(chain)
    .bind(env)
    .bind(from)
    .bind(to), deployments)
    .fetch_all(&mut *db)
    .await?;
    // `project || ''` etc.: found through the version's (or the gate trigger's) index, never by a
    // scan of every run of the chain in the env.
    let gated: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT s.agent, s.model_reported FROM run_steps s JOIN runs r ON r.id = s.run_id
          WHERE r.project || '' = $1 AND r.chain || '' = $2 AND r.env || '' = $3 AND r.triggered_by = 'gate'
            AND r.version_hash = (SELECT v.hash FROM deployments d JOIN versions v ON v.id = d.version_id
                                   WHERE d.id = $4)
            AND s.model_reported IS NOT NULL
          ORDER BY 1, 2",
    )
    .bind(project)
    .bind(chain)
    .bind(env)
    .bind(version_of)
    .fetch_all(&mut *db)
    .await?;
    Ok((seen, gated))
}

#[cfg(test)]
mod tests {
    use super::p95_offset;

    #[test]
    fn p95_is_nearest_rank() {
        assert_eq!(p95_offset(100), Some(94), "the 95th of 100");
        assert_eq!(p95_offset(1), Some(0));
        assert_eq!(p95_offset(20), Some(18));
        assert_eq!(p95_offset(0), None);
    }
}
