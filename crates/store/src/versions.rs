//! `versions`: immutable, compressed snapshots of a chain's definition.

use sqlx::any::AnyExecutor;

use crate::Result;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VersionRow {
    pub id: i64,
    pub project: String,
    pub chain: String,
    pub seq: i64,
    pub hash: String,
    pub tag: Option<String>,
    pub author: String,
    pub note: Option<String>,
    pub created_at: String,
}

const COLUMNS: &str = "id, project, chain, seq, hash, tag, author, note, created_at";

pub struct NewVersion<'a> {
    pub project: &'a str,
    pub chain: &'a str,
    pub hash: &'a str,
    pub tag: Option<&'a str>,
    pub author: &'a str,
    pub note: Option<&'a str>,
    pub created_at: &'a str,
    pub files: &'a [u8],
}

pub async fn by_hash<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    hash: &str,
) -> Result<Option<VersionRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM versions WHERE project = $1 AND chain = $2 AND hash = $3"
    ))
    .bind(project)
    .bind(chain)
    .bind(hash)
    .fetch_optional(db)
    .await?)
}

pub async fn by_tag<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    tag: &str,
) -> Result<Option<VersionRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM versions WHERE project = $1 AND chain = $2 AND tag = $3"
    ))
    .bind(project)
    .bind(chain)
    .bind(tag)
    .fetch_optional(db)
    .await?)
}

pub async fn get<'e>(db: impl AnyExecutor<'e>, id: i64) -> Result<Option<VersionRow>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM versions WHERE id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// Versions whose tag is `reference`, or whose hash starts with it.
pub async fn matching<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
    reference: &str,
) -> Result<Vec<VersionRow>> {
    let prefix = reference.to_ascii_lowercase();
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM versions WHERE project = $1 AND chain = $2
           AND (tag = $3 OR (hash >= $4 AND hash < $5)) ORDER BY seq"
    ))
    .bind(project)
    .bind(chain)
    .bind(reference)
    .bind(&prefix)
    .bind(format!("{prefix}g"))
    .fetch_all(db)
    .await?)
}

pub async fn list<'e>(
    db: impl AnyExecutor<'e>,
    project: &str,
    chain: &str,
) -> Result<Vec<VersionRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM versions WHERE project = $1 AND chain = $2 ORDER BY seq DESC"
    ))
    .bind(project)
    .bind(chain)
    .fetch_all(db)
    .await?)
}

/// Insert a version with the next `seq` of its chain (inside the caller's transaction).
pub async fn insert(db: &mut crate::Conn, v: &NewVersion<'_>) -> Result<VersionRow> {
    let seq: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM versions WHERE project = $1 AND chain = $2",
    )
    .bind(v.project)
    .bind(v.chain)
    .fetch_one(&mut *db)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO versions (project, chain, seq, hash, tag, author, note, created_at, files)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(v.project)
    .bind(v.chain)
    .bind(seq)
    .bind(v.hash)
    .bind(v.tag)
    .bind(v.author)
    .bind(v.note)
    .bind(v.created_at)
    .bind(v.files)
    .fetch_one(&mut *db)
    .await?;
    Ok(VersionRow {
        id,
        project: v.project.into(),
        chain: v.chain.into(),
        seq,
        hash: v.hash.into(),
        tag: v.tag.map(String::from),
        author: v.author.into(),
        note: v.note.map(String::from),
        created_at: v.created_at.into(),
    })
}

pub async fn set_tag<'e>(db: impl AnyExecutor<'e>, id: i64, tag: &str) -> Result<()> {
    sqlx::query("UPDATE versions SET tag = $1 WHERE id = $2 AND tag IS NULL")
        .bind(tag)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn files<'e>(db: impl AnyExecutor<'e>, id: i64) -> Result<Vec<u8>> {
    Ok(
        sqlx::query_scalar("SELECT files FROM versions WHERE id = $1")
            .bind(id)
            .fetch_one(db)
            .await?,
    )
}
