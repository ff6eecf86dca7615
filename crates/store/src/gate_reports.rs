//! `gate_reports`: every gate's report, kept with the version and env it judged.

use sqlx::any::AnyExecutor;

use crate::Result;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GateReportRow {
    pub id: String,
    pub project: String,
    pub chain: String,
    pub env: String,
    pub version_hash: String,
    pub gate: String,
    pub status: String,
    pub summary: String,
    pub report: String,
    pub created_at: String,
}

pub async fn insert<'e>(db: impl AnyExecutor<'e>, r: &GateReportRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO gate_reports (id, project, chain, env, version_hash, gate, status, summary, report, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&r.id)
    .bind(&r.project)
    .bind(&r.chain)
    .bind(&r.env)
    .bind(&r.version_hash)
    .bind(&r.gate)
    .bind(&r.status)
    .bind(&r.summary)
    .bind(&r.report)
    .bind(&r.created_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The version most recently gated in `env`, if any.
pub async fn latest_gated<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    env: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT version_hash FROM gate_reports WHERE project = $1 AND chain = $2 AND env = $3
           ORDER BY created_at DESC LIMIT 1",
    )
    .bind(project)
    .bind(chain)
    .bind(env)
    .fetch_optional(db)
    .await?)
}

/// The newest report of a gate for a version (in any env when `env` is None).
pub async fn latest<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    version_hash: &str,
    gate: &str,
    env: Option<&str>,
) -> Result<Option<GateReportRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM gate_reports WHERE project = $1 AND chain = $2 AND version_hash = $3 AND gate = $4
           AND ($5 IS NULL OR env = $5) ORDER BY created_at DESC LIMIT 1",
    )
    .bind(project)
    .bind(chain)
    .bind(version_hash)
    .bind(gate)
    .bind(env)
    .fetch_optional(db)
    .await?)
}

/// A gate's newest report per version in an env, newest version first (at most `limit`).
pub async fn newest_per_version<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    env: &str,
    gate: &str,
    limit: i64,
) -> Result<Vec<GateReportRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM gate_reports g WHERE project = $1 AND chain = $2 AND env = $3 AND gate = $4
           AND created_at = (SELECT MAX(created_at) FROM gate_reports h
                             WHERE h.project = g.project AND h.chain = g.chain AND h.env = g.env
                               AND h.gate = g.gate AND h.version_hash = g.version_hash)
         ORDER BY created_at DESC LIMIT $5",
    )
    .bind(project)
    .bind(chain)
    .bind(env)
    .bind(gate)
    .bind(limit)
    .fetch_all(db)
    .await?)
}
