//! `secrets`: which secret names are set per (project, env), and when. Never values.

use serde::Serialize;
use sqlx::any::AnyExecutor;

use crate::Result;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SecretRow {
    pub name: String,
    pub set_at: String,
    /// The keyed hash of the value (never the value); `None` for a secret set before hashes.
    pub value_hash: Option<String>,
}

pub async fn mark_set<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    env: &str,
    name: &str,
    at: &str,
    value_hash: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO secrets (project, env, name, set_at, value_hash) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (project, env, name) DO UPDATE
         SET set_at = excluded.set_at, value_hash = excluded.value_hash",
    )
    .bind(project)
    .bind(env)
    .bind(name)
    .bind(at)
    .bind(value_hash)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn remove<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    env: &str,
    name: &str,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM secrets WHERE project = $1 AND env = $2 AND name = $3")
        .bind(project)
        .bind(env)
        .bind(name)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn list<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    env: &str,
) -> Result<Vec<SecretRow>> {
    Ok(sqlx::query_as(
        "SELECT name, set_at, value_hash FROM secrets WHERE project = $1 AND env = $2 ORDER BY name",
    )
    .bind(project)
    .bind(env)
    .fetch_all(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn set_list_remove() -> Result<()> {
        let pool = crate::test_pool().await?;
        mark_set(&pool, "p", "dev", "B", "t1", "h1").await?;
        mark_set(&pool, "p", "dev", "A", "t1", "h1").await?;
        mark_set(&pool, "p", "dev", "A", "t2", "h2").await?;
        mark_set(&pool, "p", "prod", "C", "t1", "h3").await?;
        let rows = list(&pool, "p", "dev").await?;
        assert_eq!(
            rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["A", "B"]
        );
        assert_eq!(rows[0].set_at, "t2");
        assert_eq!(rows[0].value_hash.as_deref(), Some("h2"));
        assert!(remove(&pool, "p", "dev", "A").await?);
        assert!(!remove(&pool, "p", "dev", "A").await?);
        Ok(())
    }
}
