//! `db copy`: a whole history from one database into an empty one (a laptop's SQLite into a
//! team's PostgreSQL), table by table in one transaction on the destination, ids and the audit
//! chain kept as they are (the caller re-verifies the chain on the copy).

use crate::runs::values_sql;
use crate::{Engine, Pool, Result, StoreError};
use sqlx::Row;

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Real,
    Blob,
}
use Kind::{Blob, Int, Real, Text};

/// Every table a history holds, parents before children, with its columns and their order.
/// Live state (serve leases) and the change feed are not copied: they belong to the running
/// processes of the source.
/// A table: its name, the order its rows are copied in, its columns.
type Table = (&'static str, &'static str, &'static [(&'static str, Kind)]);

const TABLES: &[Table] = &[
    (
        "projects",
        "host, root",
        &[
            ("host", Text),
            ("id", Text),
            ("name", Text),
            ("root", Text),
            ("bound_at", Text),
        ],
    ),
    (
        "versions",
        "id",
        &[
            ("id", Int),
            ("project", Text),
            ("chain", Text),
            ("seq", Int),
            ("hash", Text),
            ("tag", Text),
            ("author", Text),
            ("note", Text),
            ("created_at", Text),
            ("files", Blob),
        ],
    ),
    (
        "deployments",
        "created_at, seq",
        &[
            ("id", Text),
            ("project", Text),
            ("chain", Text),
            ("env", Text),
            ("version_id", Int),
            ("config", Text),
            ("config_hash", Text),
            ("previous_id", Text),
            ("action", Text),
            ("config_diff", Text),
            ("actor", Text),
            ("reason", Text),
            ("created_at", Text),
            ("seq", Int),
        ],
    ),
    (
        "flags",
        "project, env, name",
        &[
            ("project", Text),
            ("env", Text),
            ("name", Text),
            ("value", Text),
            ("updated_at", Text),
            ("updated_by", Text),
        ],
    ),
    (
        "secrets",
        "project, env, name",
        &[
            ("project", Text),
            ("env", Text),
            ("name", Text),
            ("set_at", Text),
            ("value_hash", Text),
        ],
    ),
    (
        "audit",
        "seq",
        &[
            ("seq", Int),
            ("at", Text),
            ("actor", Text),
            ("action", Text),
            ("project", Text),
            ("chain", Text),
            ("env", Text),
            ("subject", Text),
            ("detail", Text),
            ("prev_hash", Text),
            ("hash", Text),
        ],
    ),
    (
        "gate_reports",
        "created_at, id",
        &[
            ("id", Text),
            ("project", Text),
            ("chain", Text),
            ("env", Text),
            ("version_hash", Text),
            ("gate", Text),
            ("status", Text),
            ("summary", Text),
            ("report", Text),
            ("created_at", Text),
        ],
    ),
    (
        "promotions",
        "created_at, id",
        &[
            ("id", Text),
            ("project", Text),
            ("chain", Text),
            ("to_env", Text),
            ("version_id", Int),
            ("state", Text),
            ("created_by", Text),
            ("created_at", Text),
            ("updated_at", Text),
            ("approved_by", Text),
            ("approved_at", Text),
            ("approval_note", Text),
            ("reason", Text),
        ],
    ),
    (
        "promotion_gates",
        "promotion_id, gate",
        &[
            ("promotion_id", Text),
            ("gate", Text),
            ("status", Text),
            ("summary", Text),
            ("report", Text),
            ("waived_by", Text),
            ("waived_at", Text),
            ("waiver_note", Text),
        ],
    ),
    // In insertion order (`rowid` on both engines), which the checklist is listed in.
    (
        "checklist_items",
        "rowid",
        &[
            ("promotion_id", Text),
            ("key", Text),
            ("section", Text),
            ("kind", Text),
            ("state", Text),
            ("evidence", Text),
            ("ticked_by", Text),
            ("ticked_at", Text),
            ("note", Text),
            ("required", Int),
        ],
    ),
    (
        "runs",
        "started_at, id",
        &[
            ("id", Text),
            ("project", Text),
            ("chain", Text),
            ("env", Text),
            ("version_hash", Text),
            ("version_tag", Text),
            ("deployment_id", Text),
            ("status", Text),
            ("input_file", Text),
            ("run_dir", Text),
            ("started_at", Text),
            ("ended_at", Text),
            ("duration_ms", Int),
            ("cost", Real),
            ("tokens_in", Int),
            ("tokens_out", Int),
            ("output", Text),
            ("error", Text),
            ("output_text", Text),
            ("owner_host", Text),
            ("owner_pid", Int),
            ("heartbeat_at", Text),
            ("triggered_by", Text),
        ],
    ),
    (
        "run_steps",
        "run_id, seq",
        &[
            ("run_id", Text),
            ("seq", Int),
            ("agent", Text),
            ("model_requested", Text),
            ("model_reported", Text),
            ("attempts", Int),
            ("tokens_in", Int),
            ("tokens_out", Int),
            ("cost", Real),
            ("duration_ms", Int),
            ("status", Text),
            ("error", Text),
            ("offset_ms", Int),
        ],
    ),
    (
        "idempotency_keys",
        "project, key",
        &[
            ("project", Text),
            ("key", Text),
            ("run_id", Text),
            ("created_at", Text),
        ],
    ),
    (
        "schedule_ticks",
        "project, chain, env",
        &[
            ("project", Text),
            ("chain", Text),
            ("env", Text),
            ("last_tick", Text),
        ],
    ),
    (
        "rollouts",
        "started_at, id",
        &[
            ("id", Text),
            ("project", Text),
            ("chain", Text),
            ("env", Text),
            ("promotion_id", Text),
            ("stable_id", Text),
            ("canary_id", Text),
            ("switch_id", Text),
            ("weight", Int),
            ("step", Int),
            ("step_since", Text),
            ("state", Text),
            ("policy", Text),
            ("started_at", Text),
            ("analyzed_to", Text),
            ("window_ends_at", Text),
            ("ended_at", Text),
            ("reason", Text),
            ("actor", Text),
            ("updated_at", Text),
            ("rev", Int),
        ],
    ),
    (
        "rollout_analyses",
        "rollout_id, interval_end, metric",
        &[
            ("rollout_id", Text),
            ("interval_start", Text),
            ("interval_end", Text),
            ("at", Text),
            ("metric", Text),
            ("verdict", Text),
            ("value", Real),
            ("threshold", Real),
            ("runs", Int),
            ("candidate_value", Real),
            ("stable_value", Real),
            ("detail", Text),
        ],
    ),
];

/// Rows read and written per statement (under both engines' parameter limits).
const BATCH: usize = 200;

/// How many rows of each table were copied.
pub type Copied = Vec<(&'static str, u64)>;

/// Copy every table of `from` into `to`, which must hold no history yet; all of it or nothing.
pub async fn copy(from: &Pool, to: &Pool) -> Result<Copied> {
    for table in ["versions", "runs", "audit", "projects"] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(to)
            .await?;
        if n > 0 {
            return Err(StoreError::NotEmpty(format!(
                "the destination already holds {n} rows in `{table}`: copy into an empty database"
            )));
        }
    }
    let mut tx = crate::begin_write(to).await?;
    let mut copied = Vec::new();
    for (table, order, columns) in TABLES {
        let names = columns
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!("SELECT {names} FROM {table} ORDER BY {order}"))
            .fetch_all(from)
            .await?;
        for chunk in rows.chunks(BATCH) {
            let sql = values_sql(
                &format!("INSERT INTO {table} ({names})"),
                chunk.len(),
                columns.len(),
            );
            let mut insert = sqlx::query(&sql);
            for row in chunk {
                for (i, (_, kind)) in columns.iter().enumerate() {
                    insert = match kind {
                        Text => insert.bind(row.try_get::<Option<String>, _>(i)?),
                        Int => insert.bind(row.try_get::<Option<i64>, _>(i)?),
                        Real => insert.bind(row.try_get::<Option<f64>, _>(i)?),
                        Blob => insert.bind(row.try_get::<Option<Vec<u8>>, _>(i)?),
                    };
                }
            }
            insert.execute(&mut *tx).await?;
        }
        copied.push((*table, rows.len() as u64));
    }
    if Engine::of(to) == Engine::Postgres {
        // Versions keep their ids; the next one inserted follows the highest.
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('versions', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM versions",
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::TABLES;

    /// Tables the copy leaves behind on purpose: live state of the source's processes.
    const LEFT: &[&str] = &[
        "change_feed",
        "serve_leases",
        "env_slots",
        "_sqlx_migrations",
    ];

    /// Every table and column of the schema is copied (a new one must be added to `TABLES`, or
    /// a copy would lose it without a word).
    #[tokio::test]
    async fn every_table_and_column_of_the_schema_is_copied() -> crate::Result<()> {
        let pool = crate::open_in_memory().await?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&pool)
        .await?;
        let mut listed: Vec<&str> = TABLES.iter().map(|(t, _, _)| *t).collect();
        listed.extend(LEFT);
        listed.sort_unstable();
        assert_eq!(tables, listed);
        for (table, _, columns) in TABLES {
            let mut have: Vec<String> =
                sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .fetch_all(&pool)
                    .await?;
            have.sort();
            let mut copied: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
            copied.sort_unstable();
            assert_eq!(have, copied, "the columns of `{table}`");
        }
        Ok(())
    }
}
