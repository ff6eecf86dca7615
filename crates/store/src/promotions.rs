//! `promotions`, `promotion_gates` and `checklist_items`: a version's way into an env.

use sqlx::any::AnyExecutor;

use crate::Result;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PromotionRow {
    pub id: String,
    pub project: String,
    pub chain: String,
    pub to_env: String,
    pub version_id: i64,
    pub state: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub approval_note: Option<String>,
    /// Why its rollout ended as it did (rolled back on a metric, promoted, held).
    #[sqlx(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PromotionGateRow {
    pub promotion_id: String,
    pub gate: String,
    pub status: String,
    pub summary: String,
    pub report: String,
    pub waived_by: Option<String>,
    pub waived_at: Option<String>,
    pub waiver_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChecklistRow {
    pub promotion_id: String,
    pub key: String,
    pub section: String,
    pub kind: String,
    pub state: String,
    pub evidence: Option<String>,
    pub ticked_by: Option<String>,
    pub ticked_at: Option<String>,
    pub note: Option<String>,
    /// False for a team item that never blocks approval.
    #[sqlx(try_from = "crate::IntBool")]
    pub required: bool,
}

pub async fn insert<'e>(db: impl AnyExecutor<'e>, p: &PromotionRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO promotions (id, project, chain, to_env, version_id, state, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&p.id)
    .bind(&p.project)
    .bind(&p.chain)
    .bind(&p.to_env)
    .bind(p.version_id)
    .bind(&p.state)
    .bind(&p.created_by)
    .bind(&p.created_at)
    .bind(&p.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get<'e>(db: impl AnyExecutor<'e>, id: &str) -> Result<Option<PromotionRow>> {
    Ok(sqlx::query_as("SELECT * FROM promotions WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// Promotions whose id starts with `prefix` (ids are long; people type the start).
pub async fn by_prefix<'e>(db: impl AnyExecutor<'e>, prefix: &str) -> Result<Vec<PromotionRow>> {
    Ok(
        sqlx::query_as("SELECT * FROM promotions WHERE id >= $1 AND id < $2 ORDER BY created_at")
            .bind(prefix)
            .bind(format!("{prefix}\u{10ffff}"))
            .fetch_all(db)
            .await?,
    )
}

/// The newest promotion of a version to an env.
pub async fn latest_for<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    env: &str,
    version_id: i64,
) -> Result<Option<PromotionRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM promotions WHERE project = $1 AND chain = $2 AND to_env = $3 AND version_id = $4
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(project)
    .bind(chain)
    .bind(env)
    .bind(version_id)
    .fetch_optional(db)
    .await?)
}

pub async fn list<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: Option<&str>,
) -> Result<Vec<PromotionRow>> {
    Ok(sqlx::query_as("SELECT * FROM promotions WHERE project = $1 AND ($2 IS NULL OR chain = $2) ORDER BY created_at DESC")
        .bind(project)
        .bind(chain)
        .fetch_all(db)
        .await?)
}

/// Move a promotion from `from` to `state`, compare-and-swap: `false` (nothing written) when
/// it is no longer in `from` (another process moved it meanwhile).
pub async fn set_state<'e>(
    db: impl AnyExecutor<'e>,
    id: &str,
    from: &str,
    state: &str,
    at: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE promotions SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4",
    )
    .bind(state)
    .bind(at)
    .bind(id)
    .bind(from)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A rollback moved `env` off `version_id`: its deployed promotions (watched, held or stable)
/// end `rolled_back` (the lifecycle allows it from each of these). Returns their ids.
pub async fn mark_rolled_back<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    env: &str,
    version_id: i64,
    at: &str,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "UPDATE promotions SET state = 'rolled_back', updated_at = $1
          WHERE project = $2 AND chain = $3 AND to_env = $4 AND version_id = $5
            AND state IN ('deployed', 'monitoring', 'paused', 'stable')
          RETURNING id",
    )
    .bind(at)
    .bind(project)
    .bind(chain)
    .bind(env)
    .bind(version_id)
    .fetch_all(db)
    .await?)
}

/// Record why the promotion's rollout moved it.
pub async fn set_reason<'e>(db: impl AnyExecutor<'e>, id: &str, reason: &str) -> Result<()> {
    sqlx::query("UPDATE promotions SET reason = $1 WHERE id = $2")
        .bind(reason)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn approve<'e>(
    db: impl AnyExecutor<'e>,
    id: &str,
    by: &str,
    at: &str,
    note: &str,
) -> Result<bool> {
    // Compare-and-swap: only a promotion waiting for approval (or approved) is approved.
    let done = sqlx::query("UPDATE promotions SET state = 'approved', approved_by = $1, approved_at = $2, approval_note = $3, updated_at = $4 WHERE id = $5 AND state IN ('awaiting_approval', 'approved')")
        .bind(by)
        .bind(at)
        .bind(note)
        .bind(at)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn put_gate<'e>(db: impl AnyExecutor<'e>, g: &PromotionGateRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO promotion_gates (promotion_id, gate, status, summary, report) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (promotion_id, gate) DO UPDATE SET status = excluded.status, summary = excluded.summary,
           report = excluded.report, waived_by = NULL, waived_at = NULL, waiver_note = NULL",
    )
    .bind(&g.promotion_id)
    .bind(&g.gate)
    .bind(&g.status)
    .bind(&g.summary)
    .bind(&g.report)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn gates<'e>(db: impl AnyExecutor<'e>, id: &str) -> Result<Vec<PromotionGateRow>> {
    Ok(
        sqlx::query_as("SELECT * FROM promotion_gates WHERE promotion_id = $1")
            .bind(id)
            .fetch_all(db)
            .await?,
    )
}

pub async fn waive_gate<'e>(
    db: impl AnyExecutor<'e>,
    id: &str,
    gate: &str,
    by: &str,
    at: &str,
    note: &str,
) -> Result<()> {
    sqlx::query("UPDATE promotion_gates SET status = 'waived', waived_by = $1, waived_at = $2, waiver_note = $3 WHERE promotion_id = $4 AND gate = $5")
        .bind(by)
        .bind(at)
        .bind(note)
        .bind(id)
        .bind(gate)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn put_item<'e>(db: impl AnyExecutor<'e>, c: &ChecklistRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO checklist_items (promotion_id, key, section, kind, state, evidence, ticked_by, ticked_at, note, required)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (promotion_id, key) DO UPDATE SET section = excluded.section, kind = excluded.kind,
           state = excluded.state, evidence = excluded.evidence, ticked_by = excluded.ticked_by,
           ticked_at = excluded.ticked_at, note = excluded.note, required = excluded.required",
    )
    .bind(&c.promotion_id)
    .bind(&c.key)
    .bind(&c.section)
    .bind(&c.kind)
    .bind(&c.state)
    .bind(&c.evidence)
    .bind(&c.ticked_by)
    .bind(&c.ticked_at)
    .bind(&c.note)
    .bind(i64::from(c.required))
    .execute(db)
    .await?;
    Ok(())
}

pub async fn items<'e>(db: impl AnyExecutor<'e>, id: &str) -> Result<Vec<ChecklistRow>> {
    Ok(
        sqlx::query_as("SELECT * FROM checklist_items WHERE promotion_id = $1 ORDER BY rowid")
            .bind(id)
            .fetch_all(db)
            .await?,
    )
}
