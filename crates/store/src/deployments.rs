//! `deployments`: every move of a (chain, env) pointer is a row; the newest row is the pointer.
//! A canary's candidate is a row too (action `canary`), never the pointer (DESIGN.md §10).

use sqlx::any::AnyExecutor;

use crate::Result;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeploymentRow {
    pub id: String,
    pub project: String,
    pub chain: String,
    pub env: String,
    pub version_id: i64,
    pub config: String,
    pub config_hash: String,
    pub previous_id: Option<String>,
    pub action: String,
    pub config_diff: Option<String>,
    pub actor: String,
    pub reason: Option<String>,
    pub created_at: String,
    pub seq: i64,
}

pub async fn current<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    env: &str,
) -> Result<Option<DeploymentRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM deployments WHERE project = $1 AND chain = $2 AND env = $3 AND action <> 'canary'
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(project)
    .bind(chain)
    .bind(env)
    .fetch_optional(db)
    .await?)
}

#[derive(sqlx::FromRow)]
struct Routed {
    #[sqlx(flatten)]
    pointer: DeploymentRow,
    canary_id: Option<String>,
    weight: Option<i64>,
}

/// The pointer and, while a canary of (chain, env) is open, its candidate's deployment id and
/// weight: what a request routes by, in one query.
pub async fn current_routed<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    env: &str,
) -> Result<Option<(DeploymentRow, Option<(String, i64)>)>> {
    let row: Option<Routed> = sqlx::query_as(
        "SELECT d.*, r.canary_id AS canary_id, r.weight AS weight
           FROM deployments d
           LEFT JOIN rollouts r ON r.project = d.project AND r.chain = d.chain AND r.env = d.env
                               AND r.state IN ('monitoring', 'paused') AND r.switch_id IS NULL
          WHERE d.project = $1 AND d.chain = $2 AND d.env = $3 AND d.action <> 'canary'
          ORDER BY d.seq DESC LIMIT 1",
    )
    .bind(project)
    .bind(chain)
    .bind(env)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let canary = r.canary_id.zip(r.weight);
        (r.pointer, canary)
    }))
}

pub async fn get<'e>(db: impl AnyExecutor<'e>, id: &str) -> Result<Option<DeploymentRow>> {
    Ok(sqlx::query_as("SELECT * FROM deployments WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// Every pointer move of a chain (in one env, or all), newest first.
pub async fn history<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    env: Option<&str>,
) -> Result<Vec<DeploymentRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM deployments WHERE project = $1 AND chain = $2 AND ($3 IS NULL OR env = $3)
         ORDER BY created_at DESC, seq DESC",
    )
    .bind(project)
    .bind(chain)
    .bind(env)
    .fetch_all(db)
    .await?)
}

/// Whether this version was ever deployed to this env.
pub async fn was_deployed<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    env: &str,
    version_id: i64,
) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deployments WHERE project = $1 AND chain = $2 AND env = $3 AND version_id = $4
           AND action <> 'canary'",
    )
    .bind(project)
    .bind(chain)
    .bind(env)
    .bind(version_id)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

/// Insert a pointer move with the next `seq` (inside the caller's transaction).
pub async fn insert(db: &mut crate::Conn, d: &DeploymentRow) -> Result<i64> {
    let seq: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM deployments WHERE project = $1 AND chain = $2 AND env = $3",
    )
    .bind(&d.project)
    .bind(&d.chain)
    .bind(&d.env)
    .fetch_one(&mut *db)
    .await?;
    sqlx::query(
        "INSERT INTO deployments (id, project, chain, env, version_id, config, config_hash, previous_id,
                                  action, config_diff, actor, reason, created_at, seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&d.id)
    .bind(&d.project)
    .bind(&d.chain)
    .bind(&d.env)
    .bind(d.version_id)
    .bind(&d.config)
    .bind(&d.config_hash)
    .bind(&d.previous_id)
    .bind(&d.action)
    .bind(&d.config_diff)
    .bind(&d.actor)
    .bind(&d.reason)
    .bind(&d.created_at)
    .bind(seq)
    .execute(&mut *db)
    .await?;
    Ok(seq)
}
