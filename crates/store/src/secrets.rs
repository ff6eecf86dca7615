//! `secrets`: which secret names are set per (project, env), and when. Never values.

use serde::Serialize;
use sqlx::SqlitePool;

use crate::Result;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SecretRow {
    pub name: String,
    pub set_at: String,
}

pub async fn mark_set(
    pool: &SqlitePool,
    project: &str,
    env: &str,
    name: &str,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO secrets (project, env, name, set_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (project, env, name) DO UPDATE SET set_at = excluded.set_at",
    )
    .bind(project)
    .bind(env)
    .bind(name)
    .bind(at)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn remove(pool: &SqlitePool, project: &str, env: &str, name: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM secrets WHERE project = ? AND env = ? AND name = ?")
        .bind(project)
        .bind(env)
        .bind(name)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn list(pool: &SqlitePool, project: &str, env: &str) -> Result<Vec<SecretRow>> {
    Ok(sqlx::query_as(
        "SELECT name, set_at FROM secrets WHERE project = ? AND env = ? ORDER BY name",
    )
    .bind(project)
    .bind(env)
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn set_list_remove() -> Result<()> {
        let pool = crate::open_in_memory().await?;
        mark_set(&pool, "p", "dev", "B", "t1").await?;
        mark_set(&pool, "p", "dev", "A", "t1").await?;
        mark_set(&pool, "p", "dev", "A", "t2").await?;
        mark_set(&pool, "p", "prod", "C", "t1").await?;
        let rows = list(&pool, "p", "dev").await?;
        assert_eq!(
            rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["A", "B"]
        );
        assert_eq!(rows[0].set_at, "t2");
        assert!(remove(&pool, "p", "dev", "A").await?);
        assert!(!remove(&pool, "p", "dev", "A").await?);
        Ok(())
    }
}
