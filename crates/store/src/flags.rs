//! `flags`: per-environment values read by `${FLAG:then:else}` at the next run.

use std::collections::BTreeMap;

use sqlx::any::AnyExecutor;

use crate::Result;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FlagRow {
    pub name: String,
    pub value: String,
    pub updated_at: String,
    pub updated_by: String,
}

pub async fn set<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    env: &str,
    name: &str,
    value: &str,
    at: &str,
    by: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO flags (project, env, name, value, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (project, env, name) DO UPDATE SET value = excluded.value,
           updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(project)
    .bind(env)
    .bind(name)
    .bind(value)
    .bind(at)
    .bind(by)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn list<'e>(db: impl AnyExecutor<'e>, project: &str, env: &str) -> Result<Vec<FlagRow>> {
    Ok(sqlx::query_as("SELECT name, value, updated_at, updated_by FROM flags WHERE project = $1 AND env = $2 ORDER BY name")
        .bind(project)
        .bind(env)
        .fetch_all(db)
        .await?)
}

pub async fn values<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    env: &str,
) -> Result<BTreeMap<String, String>> {
    Ok(list(db, project, env)
        .await?
        .into_iter()
        .map(|f| (f.name, f.value))
        .collect())
}
