//! `runs` and `run_steps`: a run is inserted when it starts, and finished (status, totals and
//! every step) in one IMMEDIATE transaction, so a crash never leaves half a record.

use crate::Pool;

use crate::Result;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RunRow {
    pub id: String,
    pub project: String,
    pub chain: String,
    pub env: String,
    pub version_hash: String,
    pub version_tag: Option<String>,
    pub deployment_id: Option<String>,
    pub status: String,
    pub input_file: Option<String>,
    pub run_dir: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub cost: Option<f64>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub output: Option<String>,
    pub error: Option<String>,
    /// manual | api | schedule | gate
    pub triggered_by: String,
    /// The host of the process that ran it: where its files are.
    #[sqlx(default)]
    pub owner_host: Option<String>,
    /// The output's text (at most [`MAX_OUTPUT_TEXT`] bytes), read by [`get`] only.
    #[sqlx(default)]
    pub output_text: Option<String>,
}

/// The most of a run's output the database keeps (the whole output stays in the run's files).
pub const MAX_OUTPUT_TEXT: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StepRow {
    pub seq: i64,
    pub agent: String,
    pub model_requested: String,
    pub model_reported: Option<String>,
    pub attempts: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost: Option<f64>,
    /// When the step started, in ms after the run (None for rows older than migration 0014).
    pub offset_ms: Option<i64>,
    pub duration_ms: i64,
    pub status: String,
    pub error: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEnd {
    pub status: String,
    pub ended_at: String,
    pub duration_ms: i64,
    pub cost: Option<f64>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub output: Option<String>,
    /// The output's text, cut to [`MAX_OUTPUT_TEXT`] bytes at a character boundary.
    pub output_text: Option<String>,
    pub error: Option<String>,
}

/// `text` cut to at most [`MAX_OUTPUT_TEXT`] bytes, at a character boundary.
pub fn bounded_output(text: &str) -> String {
    let mut end = text.len().min(MAX_OUTPUT_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

pub async fn insert_started(pool: &Pool, run: &RunRow) -> Result<()> {
    insert(pool, run, None).await
}

/// Record a run with its owner in one statement (its heartbeat starts at `started_at`).
pub async fn insert_owned(pool: &Pool, run: &RunRow, owner: &Owner) -> Result<()> {
    insert(pool, run, Some(owner)).await
}

async fn insert(pool: &Pool, run: &RunRow, owner: Option<&Owner>) -> Result<()> {
    sqlx::query(
        "INSERT INTO runs (id, project, chain, env, version_hash, version_tag, deployment_id,
                           status, input_file, run_dir, started_at, triggered_by,
                           owner_host, owner_pid, heartbeat_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&run.id)
    .bind(&run.project)
    .bind(&run.chain)
    .bind(&run.env)
    .bind(&run.version_hash)
    .bind(&run.version_tag)
    .bind(&run.deployment_id)
    .bind(&run.status)
    .bind(&run.input_file)
    .bind(&run.run_dir)
    .bind(&run.started_at)
    .bind(&run.triggered_by)
    .bind(owner.map(|o| o.host.as_str()))
    .bind(owner.map(|o| i64::from(o.pid)))
    .bind(owner.map(|_| run.started_at.as_str()))
    .execute(pool)
    .await?;
    Ok(())
}

/// A queued run starts: `running` from `at`. False when it is no longer queued (ended meanwhile,
/// e.g. interrupted by another process that found its owner gone).
pub async fn set_running(pool: &Pool, id: &str, at: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE runs SET status = 'running', started_at = $1 WHERE id = $2 AND status = 'queued'",
    )
    .bind(at)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn finish(pool: &Pool, id: &str, end: &RunEnd, steps: &[StepRow]) -> Result<()> {
    let mut tx = crate::begin_rows(pool).await?;
    sqlx::query(
        "UPDATE runs SET status = $1, ended_at = $2, duration_ms = $3, cost = $4, tokens_in = $5,
                         tokens_out = $6, output = $7, error = $8, output_text = $10
         WHERE id = $9",
    )
    .bind(&end.status)
    .bind(&end.ended_at)
    .bind(end.duration_ms)
    .bind(end.cost)
    .bind(end.tokens_in)
    .bind(end.tokens_out)
    .bind(&end.output)
    .bind(&end.error)
    .bind(id)
    .bind(end.output_text.as_deref().map(bounded_output))
    .execute(&mut *tx)
    .await?;
    // The steps in few statements (13 parameters a step, 1,000 steps a statement: under
    // SQLite's 32,766 and PostgreSQL's 65,535 parameters).
    for chunk in steps.chunks(1000) {
        let sql = values_sql(
            "INSERT INTO run_steps (run_id, seq, agent, model_requested, model_reported, attempts,
                                    tokens_in, tokens_out, cost, offset_ms, duration_ms, status, error)",
            chunk.len(),
            13,
        );
        let mut insert = sqlx::query(&sql);
        for s in chunk {
            insert = insert
                .bind(id)
                .bind(s.seq)
                .bind(&s.agent)
                .bind(&s.model_requested)
                .bind(&s.model_reported)
                .bind(s.attempts)
                .bind(s.tokens_in)
                .bind(s.tokens_out)
                .bind(s.cost)
                .bind(s.offset_ms)
                .bind(s.duration_ms)
                .bind(&s.status)
                .bind(&s.error);
        }
        insert.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Narrowing for run listings; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub project: Option<String>,
    pub chain: Option<String>,
    pub env: Option<String>,
    /// A tag, or a prefix of the version hash.
    pub version: Option<String>,
    pub status: Option<String>,
    pub trigger: Option<String>,
}

/// A run's columns, its version named by the tag it has now (a version tagged after the run
/// still reads `v3`, as everywhere else).
const RUN_COLUMNS: &str = "id, project, chain, env, version_hash,
    COALESCE(version_tag, (SELECT tag FROM versions v WHERE v.project = runs.project
                           AND v.chain = runs.chain AND v.hash = runs.version_hash)) AS version_tag,
    deployment_id, status, input_file, run_dir, started_at, ended_at, duration_ms, cost,
    tokens_in, tokens_out, output, error, triggered_by, owner_host";

/// Runs matching `filter`, newest first. Only the conditions that are set go into the SQL, so
/// SQLite can pick the index that fits (a version or status filter, not a scan of every run).
pub async fn list(pool: &Pool, filter: &RunFilter, limit: i64) -> Result<Vec<RunRow>> {
    let mut sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE 1 = 1");
    let mut binds: Vec<String> = Vec::new();
    let param = |binds: &mut Vec<String>, v: String| {
        binds.push(v);
        format!("${}", binds.len())
    };
    for (column, value) in [
        ("project", &filter.project),
        ("chain", &filter.chain),
        ("env", &filter.env),
        ("status", &filter.status),
        ("triggered_by", &filter.trigger),
    ] {
        if let Some(v) = value {
            let p = param(&mut binds, v.clone());
            sql.push_str(&format!(" AND {column} = {p}"));
        }
    }
    if let Some(v) = &filter.version {
        // A tag, or a hash prefix as a range over the hash index (hex digits sort below 'g').
        let prefix = v.to_ascii_lowercase();
        let tag = param(&mut binds, v.clone());
        let from = param(&mut binds, prefix.clone());
        let to = param(&mut binds, format!("{prefix}g"));
        sql.push_str(&format!(
            " AND (version_tag = {tag} OR (version_hash >= {from} AND version_hash < {to}))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY started_at DESC, id DESC LIMIT ${}",
        binds.len() + 1
    ));
    let mut q = sqlx::query_as(&sql);
    for b in binds {
        q = q.bind(b);
    }
    Ok(q.bind(limit).fetch_all(pool).await?)
}

/// `INSERT … VALUES ($1, …, $width), ($width+1, …), …` for `rows` rows.
pub(crate) fn values_sql(insert: &str, rows: usize, width: usize) -> String {
    let mut sql = format!("{insert} VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * width + c + 1));
        }
        sql.push(')');
    }
    sql
}

pub async fn last(pool: &Pool, filter: &RunFilter) -> Result<Option<RunRow>> {
    Ok(list(pool, filter, 1).await?.into_iter().next())
}

pub async fn get(pool: &Pool, id: &str) -> Result<Option<RunRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS}, output_text FROM runs WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

pub async fn steps(pool: &Pool, run_id: &str) -> Result<Vec<StepRow>> {
    Ok(sqlx::query_as(
        "SELECT seq, agent, model_requested, model_reported, attempts, tokens_in, tokens_out,
                cost, offset_ms, duration_ms, status, error
         FROM run_steps WHERE run_id = $1 ORDER BY seq",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await?)
}

/// What runs of a project in an env started at or after `since` cost (known costs only).
pub async fn cost_since(pool: &Pool, project: &str, env: &str, since: &str) -> Result<f64> {
    let total: Option<f64> = sqlx::query_scalar(
        "SELECT SUM(cost) FROM runs WHERE project = $1 AND env = $2 AND started_at >= $3",
    )
    .bind(project)
    .bind(env)
    .bind(since)
    .fetch_one(pool)
    .await?;
    Ok(total.unwrap_or(0.0))
}

/// The average known cost of a version's runs of a chain in an env (None: no priced run).
pub async fn average_cost(
    pool: &Pool,
    project: &str,
    chain: &str,
    env: &str,
    version_hash: &str,
) -> Result<Option<f64>> {
    Ok(sqlx::query_scalar(
        "SELECT AVG(cost) FROM runs WHERE project = $1 AND chain = $2 AND env = $3 AND version_hash = $4
           AND cost IS NOT NULL",
    )
    .bind(project)
    .bind(chain)
    .bind(env)
    .bind(version_hash)
    .fetch_one(pool)
    .await?)
}

/// Who runs a live run: a process of a host, alive while its heartbeat is fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
}

/// Record the process that runs `id` and its first heartbeat.
pub async fn set_owner(pool: &Pool, id: &str, owner: &Owner, at: &str) -> Result<()> {
    sqlx::query("UPDATE runs SET owner_host = $1, owner_pid = $2, heartbeat_at = $3 WHERE id = $4")
        .bind(&owner.host)
        .bind(i64::from(owner.pid))
        .bind(at)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn heartbeat(pool: &Pool, id: &str, at: &str) -> Result<()> {
    sqlx::query(
        "UPDATE runs SET heartbeat_at = $1 WHERE id = $2 AND status IN ('queued', 'running')",
    )
    .bind(at)
    .bind(id)
    .execute(pool)
    .await?;
    // The env slots its steps hold stay its own while it beats.
    sqlx::query("UPDATE env_slots SET heartbeat_at = $1 WHERE run_id = $2")
        .bind(at)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// A live run and what is known of its owner.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveRun {
    pub id: String,
    pub owner_host: Option<String>,
    pub owner_pid: Option<i64>,
    pub heartbeat_at: Option<String>,
    pub started_at: String,
}

pub async fn live(pool: &Pool) -> Result<Vec<LiveRun>> {
    Ok(sqlx::query_as(
        "SELECT id, owner_host, owner_pid, heartbeat_at, started_at FROM runs
         WHERE status IN ('queued', 'running')",
    )
    .fetch_all(pool)
    .await?)
}

/// End a run whose owner is gone as `interrupted` (only while it is still live: a run that
/// finished meanwhile keeps its status).
pub async fn interrupt(pool: &Pool, id: &str, at: &str, why: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE runs SET status = 'interrupted', ended_at = $1, error = $2
         WHERE id = $3 AND status IN ('queued', 'running')",
    )
    .bind(at)
    .bind(why)
    .bind(id)
    .execute(pool)
    .await?;
    // Its steps hold no env slot any more.
    sqlx::query("DELETE FROM env_slots WHERE run_id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, env: &str, started: &str) -> RunRow {
        RunRow {
            id: id.into(),
            project: "p".into(),
            chain: "c".into(),
            env: env.into(),
            version_hash: "abc".into(),
            version_tag: None,
            deployment_id: None,
            status: "running".into(),
            input_file: None,
            run_dir: "/tmp/x".into(),
            started_at: started.into(),
            ended_at: None,
            duration_ms: None,
            cost: None,
            tokens_in: 0,
            tokens_out: 0,
            output: None,
            error: None,
            triggered_by: "manual".into(),
            owner_host: None,
            output_text: None,
        }
    }

    #[tokio::test]
    async fn insert_finish_and_query() -> Result<()> {
        let pool = crate::test_pool().await?;
        insert_started(&pool, &run("r1", "dev", "2026-01-01T00:00:00Z")).await?;
        insert_started(&pool, &run("r2", "staging", "2026-01-02T00:00:00Z")).await?;
        let step = StepRow {
            seq: 0,
            agent: "a".into(),
            model_requested: "m".into(),
            model_reported: Some("m-1".into()),
            attempts: 1,
            tokens_in: 10,
            tokens_out: 5,
            cost: None,
            offset_ms: Some(0),
            duration_ms: 3,
            status: "completed".into(),
            error: None,
        };
        let end = RunEnd {
            status: "completed".into(),
            ended_at: "2026-01-01T00:00:01Z".into(),
            duration_ms: 1000,
            cost: None,
            tokens_in: 10,
            tokens_out: 5,
            output: Some("/tmp/x/report.md".into()),
            output_text: Some("# Report".into()),
            error: None,
        };
        finish(&pool, "r1", &end, std::slice::from_ref(&step)).await?;

        let all = RunFilter::default();
        assert_eq!(last(&pool, &all).await?.map(|r| r.id), Some("r2".into()));
        let dev = RunFilter {
            env: Some("dev".into()),
            ..RunFilter::default()
        };
        let r1 = last(&pool, &dev).await?;
        assert_eq!(r1.as_ref().map(|r| r.status.as_str()), Some("completed"));
        assert_eq!(r1.and_then(|r| r.cost), None, "unknown cost stays null");
        assert_eq!(steps(&pool, "r1").await?, vec![step]);
        assert!(get(&pool, "nope").await?.is_none());
        let got = get(&pool, "r1").await?.ok_or(sqlx::Error::RowNotFound)?;
        assert_eq!(
            got.output_text.as_deref(),
            Some("# Report"),
            "the output's text is kept"
        );
        assert_eq!(
            bounded_output(&"é".repeat(MAX_OUTPUT_TEXT)).len(),
            MAX_OUTPUT_TEXT
        );
        let by_version = RunFilter {
            version: Some("ABC".into()),
            ..RunFilter::default()
        };
        assert_eq!(
            list(&pool, &by_version, 10).await?.len(),
            2,
            "hash prefixes match in any case"
        );
        let by_status = RunFilter {
            status: Some("completed".into()),
            ..RunFilter::default()
        };
        assert_eq!(
            list(&pool, &by_status, 10)
                .await?
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>(),
            ["r1"]
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_failed_finish_writes_nothing() -> Result<()> {
        let pool = crate::test_pool().await?;
        insert_started(&pool, &run("r1", "dev", "t")).await?;
        let step = StepRow {
            seq: 0,
            agent: "a".into(),
            model_requested: "m".into(),
            model_reported: None,
            attempts: 1,
            tokens_in: 0,
            tokens_out: 0,
            cost: None,
            offset_ms: Some(0),
            duration_ms: 0,
            status: "completed".into(),
            error: None,
        };
        let end = RunEnd {
            status: "completed".into(),
            ended_at: "t".into(),
            duration_ms: 1,
            cost: None,
            tokens_in: 0,
            tokens_out: 0,
            output: None,
            output_text: None,
            error: None,
        };
        // The same step twice violates the primary key: the whole finish must roll back.
        assert!(finish(&pool, "r1", &end, &[step.clone(), step])
            .await
            .is_err());
        assert_eq!(
            get(&pool, "r1").await?.map(|r| r.status),
            Some("running".into())
        );
        assert!(steps(&pool, "r1").await?.is_empty());
        Ok(())
    }
}
