//! `projects`: which folder owns which project id (DESIGN.md §2).

use crate::Pool;
use sha2::{Digest, Sha256};

use crate::Result;

/// The id a project folder has: the one it was bound to, else its name when no other folder
/// holds that name, else the name with a short hash of the root. `true` when the name was
/// taken by another folder.
pub async fn bind(pool: &Pool, name: &str, root: &str, at: &str) -> Result<(String, bool)> {
    if let Some(id) = id_of_root(pool, root).await? {
        return Ok((id.clone(), id != name));
    }
    // Bound meanwhile by another process? Look again under the write lock.
    let mut tx = crate::begin_write(pool).await?;
    if let Some(id) = id_of_root(&mut *tx, root).await? {
        return Ok((id.clone(), id != name));
    }
    let taken: Option<String> = sqlx::query_scalar("SELECT root FROM projects WHERE id = $1")
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
    sqlx::query("INSERT INTO projects (id, name, root, bound_at) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(name)
        .bind(root)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((id.clone(), id != name))
}

async fn id_of_root<'e>(db: impl sqlx::any::AnyExecutor<'e>, root: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM projects WHERE root = $1")
            .bind(root)
            .fetch_optional(db)
            .await?,
    )
}

/// The folder a project id was bound to.
pub async fn root_of(pool: &Pool, id: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT root FROM projects WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_folder_claiming_a_name_gets_its_own_id() -> Result<()> {
        let pool = crate::test_pool().await?;
        assert_eq!(
            bind(&pool, "acme", "/a", "t").await?,
            ("acme".into(), false)
        );
        assert_eq!(
            bind(&pool, "acme", "/a", "t").await?,
            ("acme".into(), false)
        );
        let (other, renamed) = bind(&pool, "acme", "/b", "t").await?;
        assert!(
            renamed && other.starts_with("acme-") && other.len() == 13,
            "{other}"
        );
        assert_eq!(bind(&pool, "acme", "/b", "t").await?.0, other);
        assert_eq!(root_of(&pool, &other).await?.as_deref(), Some("/b"));
        Ok(())
    }
}
