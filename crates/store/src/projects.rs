//! `projects`: which folder owns which project id (DESIGN.md §2).

use crate::Pool;
use sha2::{Digest, Sha256};

use crate::Result;

/// The id a project folder of `host` has: the one it was bound to, else its name when no other
/// folder of that host holds that name, else the name with a short hash of the root. `true`
/// when the name was taken by another folder. (`host` is "" where one machine holds the history.)
pub async fn bind(
    pool: &Pool,
    host: &str,
    name: &str,
    root: &str,
    at: &str,
) -> Result<(String, bool)> {
    if let Some(id) = id_of_root(pool, host, root).await? {
        return Ok((id.clone(), id != name));
    }
    // Bound meanwhile by another process? Look again under the write lock.
    let mut tx = crate::begin_write(pool).await?;
    if let Some(id) = id_of_root(&mut *tx, host, root).await? {
        return Ok((id.clone(), id != name));
    }
    let taken: Option<String> =
        sqlx::query_scalar("SELECT root FROM projects WHERE host = $1 AND id = $2")
            .bind(host)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
    let id = match taken {
        None => name.to_string(),
        Some(_) => {
            let hash = hex::encode(Sha256::digest(root.as_bytes()));
            format!("{name}-{}", &hash[..8])
        }
    };
    sqlx::query(
        "INSERT INTO projects (host, id, name, root, bound_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(host)
    .bind(&id)
    .bind(name)
    .bind(root)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((id.clone(), id != name))
}

async fn id_of_root<'e>(
    db: impl sqlx::any::AnyExecutor<'e>,
    host: &str,
    root: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM projects WHERE host = $1 AND root = $2")
            .bind(host)
            .bind(root)
            .fetch_optional(db)
            .await?,
    )
}

/// The folder of `host` a project id was bound to.
pub async fn root_of(pool: &Pool, host: &str, id: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT root FROM projects WHERE host = $1 AND id = $2")
            .bind(host)
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Bindings made where one machine held the history (host "") become `host`'s: a laptop's
/// history copied into a team database keeps its folders' identities there.
pub async fn adopt(pool: &Pool, host: &str) -> Result<u64> {
    Ok(sqlx::query("UPDATE projects SET host = $1 WHERE host = ''")
        .bind(host)
        .execute(pool)
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_folder_claiming_a_name_gets_its_own_id() -> Result<()> {
        let pool = crate::test_pool().await?;
        assert_eq!(
            bind(&pool, "", "acme", "/a", "t").await?,
            ("acme".into(), false)
        );
        assert_eq!(
            bind(&pool, "", "acme", "/a", "t").await?,
            ("acme".into(), false)
        );
        let (other, renamed) = bind(&pool, "", "acme", "/b", "t").await?;
        assert!(
            renamed && other.starts_with("acme-") && other.len() == 13,
            "{other}"
        );
        assert_eq!(bind(&pool, "", "acme", "/b", "t").await?.0, other);
        assert_eq!(root_of(&pool, "", &other).await?.as_deref(), Some("/b"));
        // Another machine on the same history binds its own checkout to the name.
        assert_eq!(
            bind(&pool, "pm-laptop", "acme", "/home/pm/acme", "t").await?,
            ("acme".into(), false)
        );
        assert_eq!(
            root_of(&pool, "pm-laptop", "acme").await?.as_deref(),
            Some("/home/pm/acme")
        );
        assert_eq!(root_of(&pool, "", "acme").await?.as_deref(), Some("/a"));
        Ok(())
    }
}
