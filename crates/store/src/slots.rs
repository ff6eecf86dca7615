//! `env_slots`: an env's `concurrency` shared by every process on one database (DESIGN.md §11).
//! An agent step holds a slot while it runs; slots of a process that stopped beating are taken
//! back by whoever looks next.

use crate::{Pool, Result};

/// Who holds a slot, and since when it was last known alive.
pub struct Claim<'a> {
    pub project: &'a str,
    pub env: &'a str,
    pub holder: &'a str,
    pub run_id: &'a str,
    pub at: &'a str,
    /// Slots whose heartbeat is older than this are free.
    pub stale_before: &'a str,
}

/// Take a free slot of the env if fewer than `limit` are held: its number, or None when all are.
pub async fn try_take(pool: &Pool, c: &Claim<'_>, limit: i64) -> Result<Option<i64>> {
    // Only takers of this env's slots wait for each other.
    let mut tx = crate::begin_keyed(pool, &format!("env_slots/{}/{}", c.project, c.env)).await?;
    sqlx::query("DELETE FROM env_slots WHERE project = $1 AND env = $2 AND heartbeat_at < $3")
        .bind(c.project)
        .bind(c.env)
        .bind(c.stale_before)
        .execute(&mut *tx)
        .await?;
    let held: Vec<i64> = sqlx::query_scalar(
        "SELECT slot FROM env_slots WHERE project = $1 AND env = $2 ORDER BY slot",
    )
    .bind(c.project)
    .bind(c.env)
    .fetch_all(&mut *tx)
    .await?;
    if held.len() as i64 >= limit {
        tx.commit().await?;
        return Ok(None);
    }
    let slot = (0..)
        .find(|n| !held.contains(n))
        .unwrap_or(held.len() as i64);
    sqlx::query(
        "INSERT INTO env_slots (project, env, slot, holder, run_id, taken_at, heartbeat_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(c.project)
    .bind(c.env)
    .bind(slot)
    .bind(c.holder)
    .bind(c.run_id)
    .bind(c.at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(slot))
}

/// Give a slot back (only the holder's: a slot taken back and given to another stays theirs).
pub async fn release(pool: &Pool, project: &str, env: &str, slot: i64, holder: &str) -> Result<()> {
    sqlx::query(
        "DELETE FROM env_slots WHERE project = $1 AND env = $2 AND slot = $3 AND holder = $4",
    )
    .bind(project)
    .bind(env)
    .bind(slot)
    .bind(holder)
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many slots of the env are held now.
    async fn held(pool: &Pool, project: &str, env: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM env_slots WHERE project = $1 AND env = $2")
                .bind(project)
                .bind(env)
                .fetch_one(pool)
                .await?,
        )
    }

    #[tokio::test]
    async fn a_limit_of_two_gives_two_slots_and_takes_back_stale_ones() -> Result<()> {
        let pool = crate::test_pool().await?;
        let claim = |holder: &'static str, at: &'static str, stale: &'static str| Claim {
            project: "p",
            env: "dev",
            holder,
            run_id: holder,
            at,
            stale_before: stale,
        };
        assert_eq!(try_take(&pool, &claim("a", "t1", "t0"), 2).await?, Some(0));
        assert_eq!(try_take(&pool, &claim("b", "t1", "t0"), 2).await?, Some(1));
        assert_eq!(try_take(&pool, &claim("c", "t1", "t0"), 2).await?, None);
        release(&pool, "p", "dev", 0, "a").await?;
        assert_eq!(try_take(&pool, &claim("c", "t2", "t0"), 2).await?, Some(0));
        // b's process died at t1: by t9 its slot is free again.
        assert_eq!(try_take(&pool, &claim("d", "t9", "t5"), 2).await?, Some(0));
        assert_eq!(
            held(&pool, "p", "dev").await?,
            1,
            "c's (t2) and b's (t1) were stale at t5"
        );
        Ok(())
    }
}
