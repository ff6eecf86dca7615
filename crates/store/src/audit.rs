//! `audit`: an append-only log whose rows are chained by hash. Each row's hash covers every
//! column and the previous row's hash, so an edited, deleted or reordered row breaks the chain;
//! the caller keeps the head (last seq and hash) outside the database to catch a cut-off tail.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyExecutor;

use crate::Result;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub project: String,
    pub chain: Option<String>,
    pub env: Option<String>,
    pub subject: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub project: String,
    pub chain: Option<String>,
    pub env: Option<String>,
    pub subject: Option<String>,
    pub detail: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

fn row_hash(seq: i64, e: &AuditEntry, prev_hash: &str) -> String {
    // JSON of the columns in a fixed order: unambiguous, unlike plain concatenation.
    let canonical = serde_json::json!([
        seq, e.at, e.actor, e.action, e.project, e.chain, e.env, e.subject, e.detail, prev_hash
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Append a row (inside the caller's IMMEDIATE transaction, so no other writer interleaves).
pub async fn append(db: &mut crate::Conn, e: &AuditEntry) -> Result<AuditRow> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *db)
            .await?;
    let (seq, prev_hash) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_string()),
    };
    let hash = row_hash(seq, e, &prev_hash);
    sqlx::query(
        "INSERT INTO audit (seq, at, actor, action, project, chain, env, subject, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(seq)
    .bind(&e.at)
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.project)
    .bind(&e.chain)
    .bind(&e.env)
    .bind(&e.subject)
    .bind(&e.detail)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *db)
    .await?;
    Ok(AuditRow {
        seq,
        at: e.at.clone(),
        actor: e.actor.clone(),
        action: e.action.clone(),
        project: e.project.clone(),
        chain: e.chain.clone(),
        env: e.env.clone(),
        subject: e.subject.clone(),
        detail: e.detail.clone(),
        prev_hash,
        hash,
    })
}

pub async fn list<'e>(
    db: impl AnyExecutor<'e>,
    project: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM audit WHERE ($1 IS NULL OR project = $1) ORDER BY seq DESC LIMIT $2",
    )
    .bind(project)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The newest row's seq (0 on an empty log).
pub async fn last_seq<'e>(db: impl AnyExecutor<'e>) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit")
            .fetch_one(db)
            .await?,
    )
}

/// Rows of `actor` doing `action` after `seq`, oldest first, at most `limit`.
pub async fn by_actor_after<'e>(
    db: impl AnyExecutor<'e>,
    actor: &str,
    action: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM audit WHERE seq > $1 AND actor = $2 AND action = $3 ORDER BY seq LIMIT $4",
    )
    .bind(after)
    .bind(actor)
    .bind(action)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// A chain's rows at or after `since` (RFC 3339), oldest first, at most `limit`.
pub async fn of_chain_since<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    since: &str,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM audit WHERE project = $1 AND chain = $2 AND at >= $3 ORDER BY seq LIMIT $4",
    )
    .bind(project)
    .bind(chain)
    .bind(since)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Walk the whole log in order; the first problem found, if any, as a sentence.
pub async fn verify<'e>(
    db: impl AnyExecutor<'e>,
    head: Option<(i64, &str)>,
) -> Result<(usize, Option<String>)> {
    let rows: Vec<AuditRow> = sqlx::query_as("SELECT * FROM audit ORDER BY seq")
        .fetch_all(db)
        .await?;
    let mut prev = GENESIS.to_string();
    for (i, r) in rows.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if r.seq != expected_seq {
            return Ok((
                rows.len(),
                Some(format!(
                    "row {expected_seq} is missing (the next row is {})",
                    r.seq
                )),
            ));
        }
        if r.prev_hash != prev {
            return Ok((
                rows.len(),
                Some(format!(
                    "row {} does not follow row {}: rows were removed or reordered",
                    r.seq,
                    r.seq - 1
                )),
            ));
        }
        let entry = AuditEntry {
            at: r.at.clone(),
            actor: r.actor.clone(),
            action: r.action.clone(),
            project: r.project.clone(),
            chain: r.chain.clone(),
            env: r.env.clone(),
            subject: r.subject.clone(),
            detail: r.detail.clone(),
        };
        if row_hash(r.seq, &entry, &r.prev_hash) != r.hash {
            return Ok((
                rows.len(),
                Some(format!(
                    "row {} was edited: its content does not match its hash",
                    r.seq
                )),
            ));
        }
        prev = r.hash.clone();
    }
    // The head kept outside may lag (a writer crashed before updating it), never lead.
    if let Some((seq, hash)) = head {
        match rows.get((seq as usize).wrapping_sub(1)) {
            _ if seq <= 0 => {}
            Some(r) if r.hash == hash => {}
            Some(r) => {
                return Ok((
                    rows.len(),
                    Some(format!(
                        "row {} does not match the recorded head of the log",
                        r.seq
                    )),
                ))
            }
            None => {
                let have = rows.len();
                return Ok((
                    have,
                    Some(format!(
                        "rows {}–{seq} are missing from the end of the log",
                        have + 1
                    )),
                ));
            }
        }
    }
    Ok((rows.len(), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            at: "t".into(),
            actor: "dana".into(),
            action: action.into(),
            project: "p".into(),
            ..AuditEntry::default()
        }
    }

    #[tokio::test]
    async fn detects_edits_deletions_reorders_and_a_cut_tail() -> Result<()> {
        let pool = crate::test_pool().await?;
        let mut conn = pool.acquire().await?;
        for a in ["deploy", "flag", "rollback"] {
            append(&mut conn, &entry(a)).await?;
        }
        drop(conn); // the in-memory pool has one connection
        let last = list(&pool, None, 1).await?.remove(0);
        let head = Some((last.seq, last.hash.as_str()));
        assert_eq!(verify(&pool, head).await?, (3, None));

        // Someone with the file (or the database's owner) drops the triggers and edits a row.
        let drops = match crate::Engine::of(&pool) {
            crate::Engine::Sqlite => [
                "DROP TRIGGER audit_no_update",
                "DROP TRIGGER audit_no_delete",
            ],
            crate::Engine::Postgres => [
                "DROP TRIGGER audit_no_update ON audit",
                "DROP TRIGGER audit_no_truncate ON audit",
            ],
        };
        for drop in drops {
            sqlx::query(drop).execute(&pool).await?;
        }
        sqlx::query("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
            .execute(&pool)
            .await?;
        assert!(verify(&pool, head)
            .await?
            .1
            .is_some_and(|p| p.contains("row 2 was edited")));
        sqlx::query("UPDATE audit SET actor = 'dana' WHERE seq = 2")
            .execute(&pool)
            .await?;
        assert_eq!(verify(&pool, head).await?.1, None);

        // Reorder: swap two rows' sequence numbers.
        sqlx::query("UPDATE audit SET seq = 100 WHERE seq = 1")
            .execute(&pool)
            .await?;
        sqlx::query("UPDATE audit SET seq = 1 WHERE seq = 2")
            .execute(&pool)
            .await?;
        sqlx::query("UPDATE audit SET seq = 2 WHERE seq = 100")
            .execute(&pool)
            .await?;
        assert!(verify(&pool, head).await?.1.is_some());
        sqlx::query("UPDATE audit SET seq = 100 WHERE seq = 1")
            .execute(&pool)
            .await?;
        sqlx::query("UPDATE audit SET seq = 1 WHERE seq = 2")
            .execute(&pool)
            .await?;
        sqlx::query("UPDATE audit SET seq = 2 WHERE seq = 100")
            .execute(&pool)
            .await?;
        assert_eq!(verify(&pool, head).await?.1, None);

        // Delete the last row: only the head kept outside the database catches it.
        sqlx::query("DELETE FROM audit WHERE seq = 3")
            .execute(&pool)
            .await?;
        assert_eq!(
            verify(&pool, None).await?.1,
            None,
            "the chain alone cannot see a cut tail"
        );
        assert!(verify(&pool, head)
            .await?
            .1
            .is_some_and(|p| p.contains("missing from the end")));
        // Delete a middle row.
        sqlx::query("DELETE FROM audit WHERE seq = 1")
            .execute(&pool)
            .await?;
        assert!(verify(&pool, None)
            .await?
            .1
            .is_some_and(|p| p.contains("row 1 is missing")));
        Ok(())
    }

    #[tokio::test]
    async fn triggers_refuse_plain_edits() -> Result<()> {
        let pool = crate::test_pool().await?;
        let mut conn = pool.acquire().await?;
        append(&mut conn, &entry("deploy")).await?;
        drop(conn);
        assert!(sqlx::query("UPDATE audit SET actor = 'x'")
            .execute(&pool)
            .await
            .is_err());
        assert!(sqlx::query("DELETE FROM audit")
            .execute(&pool)
            .await
            .is_err());
        Ok(())
    }
}
