//! Versions, deployments, rollback, flags and the audit log: the history behind promotion.
//!
//! A version is an immutable snapshot of the definition; a deployment is a pointer (chain, env)
//! → (version, config snapshot). Every pointer move, flag flip and secret change is a row in a
//! hash-chained audit log, written in the same IMMEDIATE transaction as the change itself.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use chainlift_model::hash::{canonical_bytes, definition_files, definition_hash};
use chainlift_model::{ChainDef, EnvFile, Project};
use chainlift_store::audit::{self, AuditEntry};
use chainlift_store::deployments::{self, DeploymentRow};
use chainlift_store::versions::{self, NewVersion, VersionRow};
use chainlift_store::{flags, StoreError};
use sha2::{Digest, Sha256};

use crate::dto::{
    AuditVerification, AuditView, DeploymentView, ExportReport, FileDiff, FlagView, VersionDiff,
    VersionView,
};
use crate::project::{issue_text, resolve_with};
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result};

/// Crash tests: `CHAINLIFT_FAILPOINT=<name>` aborts the process at that point. Debug builds
/// only: a release binary has no variable that kills it mid-transaction.
pub(crate) fn failpoint(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("CHAINLIFT_FAILPOINT").is_ok_and(|f| f == name) {
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// Who acts: `user:` in chainlift.yaml, else `$USER`, else `$LOGNAME`.
pub(crate) fn actor(project: &Project) -> String {
    project
        .policy
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        // Daemons and containers often have no $USER; the home folder still names the account.
        .or_else(|| {
            std::env::var("HOME").ok().and_then(|h| {
                Path::new(&h)
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
            })
        })
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

/// An audit row as a sentence a person reads ("dana ticked rollback-documented in production:
/// runbook reviewed"): ids shortened to 8 characters, a note or reason quoted from the detail.
pub(crate) fn audit_sentence(r: &chainlift_store::audit::AuditRow) -> String {
    let short = |text: &str| -> String {
        text.split(' ')
            .map(|w| {
                let uuid = w.len() == 36 && w.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
                if uuid {
                    w.chars().take(8).collect()
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let subject = r.subject.as_deref().map(short).unwrap_or_default();
    // "<promotion id> <key>" → the key; "<promotion id>" → "promotion 0190abcd".
    let (promotion, rest) = match subject.split_once(' ') {
        Some((id, rest)) if id.len() == 8 => (Some(id.to_string()), rest.to_string()),
        _ if subject.len() == 8 && r.subject.as_deref().is_some_and(|s| s.len() == 36) => {
            (Some(subject.clone()), String::new())
        }
        _ => (None, subject.clone()),
    };
    let verb = match r.action.as_str() {
        "tick" => format!("ticked {rest}"),
        "untick" => format!("unticked {rest}"),
        "waive" => format!("waived the {rest} gate"),
        "approve" => "approved the promotion".to_string(),
        "promote" => "opened the promotion".to_string(),
        "gates" => "recorded the promotion's gate results".to_string(),
        "criteria" => format!("changed the quality criteria ({rest})"),
        "secret-set" => format!("set the secret {rest}"),
        "secret-removed" => format!("removed the secret {rest}"),
        other => {
            let words = other.replace('-', " ");
            if rest.is_empty() {
                words
            } else {
                format!("{words} {rest}")
            }
        }
    };
    let mut out = format!("{} {}", r.actor, verb.trim_end());
    if let Some(chain) = &r.chain {
        out.push_str(&format!(" · {chain}"));
    }
    if let Some(env) = &r.env {
        out.push_str(&format!(" in {env}"));
    }
    if let Some(p) =
        promotion.filter(|_| !matches!(r.action.as_str(), "secret-set" | "secret-removed"))
    {
        out.push_str(&format!(" (promotion {p})"));
    }
    let detail: Option<serde_json::Value> = r
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok());
    let said = detail.as_ref().and_then(|d| {
        ["note", "reason"]
            .iter()
            .find_map(|k| d[*k].as_str().filter(|t| !t.is_empty()).map(String::from))
    });
    if let Some(said) = said {
        out.push_str(&format!(
            ": “{}”",
            said.chars().take(300).collect::<String>()
        ));
    }
    out
}

pub(crate) fn label(v: &VersionRow) -> String {
    v.tag.clone().unwrap_or_else(|| short(&v.hash))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredFile {
    path: String,
    content: String,
}

fn pack(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let list: Vec<StoredFile> = files
        .iter()
        .map(|(path, bytes)| StoredFile {
            path: path.clone(),
            content: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
        .collect();
    let json =
        serde_json::to_vec(&list).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&json)
        .and_then(|_| enc.finish())
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("compress: {e}")))
}

fn unpack(blob: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let corrupt = |e: String| {
        ApiError::new(
            ErrorCode::Internal,
            format!("a stored version is corrupt: {e}"),
        )
    };
    let mut json = Vec::new();
    flate2::read::DeflateDecoder::new(blob)
        .read_to_end(&mut json)
        .map_err(|e| corrupt(e.to_string()))?;
    let list: Vec<StoredFile> =
        serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))?;
    list.into_iter()
        .map(|f| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(f.content)
                .map_err(|e| corrupt(e.to_string()))?;
            Ok((f.path, bytes))
        })
        .collect()
}

/// Write files under `dir`, refusing paths that would leave it or links inside it.
/// What a rollback moved: from the current deployment to the one before it, as a new row.
pub(crate) struct PointerMove {
    pub from: DeploymentRow,
    pub to: DeploymentRow,
    pub row: DeploymentRow,
    pub version: VersionRow,
}

/// A deployment's config snapshot; a stored snapshot that does not parse is an error naming the
/// deployment, never an empty config.
pub(crate) fn snapshot(d: &DeploymentRow) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(&d.config).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!(
                "deployment {} has a damaged config snapshot ({e}): redeploy the version to record a new one",
                d.id
            ),
        )
    })
}

/// Write a version's stored files into `dir` and check they hash to the version.
fn rebuild(v: &VersionRow, dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    write_files(dir, files)?;
    let hash = definition_hash(dir)?;
    if hash != v.hash {
        return Err(ApiError::new(
            ErrorCode::Internal,
            format!(
                "version {} rebuilt from the store hashes to {}: the stored copy is damaged",
                label(v),
                short(&hash)
            ),
        ));
    }
    Ok(())
}

fn write_files(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    for (rel, bytes) in files {
        if rel.split('/').any(|part| part == ".." || part.is_empty()) || rel.starts_with('/') {
            return Err(ApiError::new(
                ErrorCode::Internal,
                format!("a stored version holds an unsafe path `{rel}`"),
            ));
        }
        chainlift_model::confine::write_atomic(dir, &dir.join(rel), bytes)?;
    }
    Ok(())
}

/// A config snapshot as stored: a JSON object in key order (a map of strings always serializes).
pub(crate) fn config_json(config: &BTreeMap<String, String>) -> String {
    serde_json::Value::Object(
        config
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
    .to_string()
}

fn config_hash(config: &BTreeMap<String, String>) -> String {
    hex::encode(Sha256::digest(config_json(config).as_bytes()))
}

fn config_diff(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Option<String> {
    let mut diff = serde_json::Map::new();
    for key in before
        .keys()
        .chain(after.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (a, b) = (before.get(key), after.get(key));
        if a != b {
            diff.insert(key.clone(), serde_json::json!({ "from": a, "to": b }));
        }
    }
    (!diff.is_empty()).then(|| serde_json::Value::Object(diff).to_string())
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::from(StoreError::from(e))
    }
}

/// The audit head kept beside the database: a cut-off tail of the log shows against it.
fn head_path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit.head")
}

impl Chainlift {
    fn read_head(&self) -> Option<(i64, String)> {
        let text = std::fs::read_to_string(head_path(&self.data_dir)).ok()?;
        let (seq, hash) = text.trim().split_once(' ')?;
        Some((seq.parse().ok()?, hash.to_string()))
    }

    /// Record the newest audit row after its transaction committed (never moves backwards).
    pub(crate) fn write_head(&self, row: &chainlift_store::audit::AuditRow) {
        if self.read_head().is_some_and(|(seq, _)| seq >= row.seq) {
            return;
        }
        // Whole or not at all: a torn head would read as a cut-off log.
        let _ = chainlift_model::confine::write_atomic(
            &self.data_dir,
            &head_path(&self.data_dir),
            format!("{} {}\n", row.seq, row.hash).as_bytes(),
        );
    }

    /// Append the audit row to the change's transaction, commit both, then record the head:
    /// a change and its audit row land together or not at all. `crash_point` names the
    /// failpoints around the commit (`<name>:before-commit`, `<name>:after-commit`).
    pub(crate) async fn commit_audited(
        &self,
        tx: chainlift_store::Tx,
        entry: &AuditEntry,
        crash_point: Option<&str>,
    ) -> Result<()> {
        self.commit_audited_all(tx, std::slice::from_ref(entry), crash_point)
            .await
    }

    /// [`Self::commit_audited`] for a change that writes several audit rows, in order.
    pub(crate) async fn commit_audited_all(
        &self,
        mut tx: chainlift_store::Tx,
        entries: &[AuditEntry],
        crash_point: Option<&str>,
    ) -> Result<()> {
        let mut last = None;
        for entry in entries {
            last = Some(audit::append(&mut tx, entry).await?);
        }
        let Some(row) = last else {
            return Err(ApiError::new(
                ErrorCode::Internal,
                "a change was committed with no audit entry",
            ));
        };
        if let Some(name) = crash_point {
            failpoint(&format!("{name}:before-commit"));
        }
        tx.commit().await?;
        if let Some(name) = crash_point {
            failpoint(&format!("{name}:after-commit"));
        }
        self.write_head(&row);
        Ok(())
    }

    /// An audit entry about a secret: its name only, never its value.
    pub(crate) fn audit_entry(
        &self,
        project: &Project,
        action: &str,
        env: &str,
        name: &str,
    ) -> AuditEntry {
        self.entry(
            project,
            action,
            None,
            Some(env),
            Some(name.to_string()),
            None,
        )
    }

    pub(crate) fn entry(
        &self,
        project: &Project,
        action: &str,
        chain: Option<&str>,
        env: Option<&str>,
        subject: Option<String>,
        detail: Option<String>,
    ) -> AuditEntry {
        AuditEntry {
            at: self.clock.now().to_rfc3339(),
            actor: actor(project),
            action: action.into(),
            project: project.id.clone(),
            chain: chain.map(String::from),
            env: env.map(String::from),
            subject,
            detail,
        }
    }

    /// The version a tag or hash prefix (7+ hex) names.
    pub(crate) async fn find_version(
        &self,
        project: &Project,
        chain: &str,
        reference: &str,
    ) -> Result<VersionRow> {
        let hexish = reference.chars().all(|c| c.is_ascii_hexdigit());
        let found = versions::matching(&self.pool, &project.id, chain, reference).await?;
        let found: Vec<VersionRow> = found
            .into_iter()
            .filter(|v| v.tag.as_deref() == Some(reference) || (hexish && reference.len() >= 7))
            .collect();
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no version `{reference}` of {chain}: name a tag or at least 7 hex digits of a hash (see `chainlift versions {chain}`)"),
            )),
            many => Err(ApiError::new(
                ErrorCode::BadInput,
                format!("`{reference}` matches {} versions of {chain}: give more of the hash", many.len()),
            )),
        }
    }

    async fn version_view(
        &self,
        project: &Project,
        v: &VersionRow,
        existing: bool,
    ) -> Result<VersionView> {
        let mut deployed_to = Vec::new();
        for env in project.environments() {
            if deployments::current(&self.pool, &project.id, &v.chain, &env)
                .await?
                .is_some_and(|d| d.version_id == v.id)
            {
                deployed_to.push(env);
            }
        }
        Ok(VersionView {
            seq: v.seq,
            hash: v.hash.clone(),
            version: label(v),
            tag: v.tag.clone(),
            author: v.author.clone(),
            note: v.note.clone(),
            created_at: v.created_at.clone(),
            deployed_to,
            existing,
        })
    }

    /// Snapshot the chain's definition on disk (idempotent: unchanged files return the existing version).
    pub async fn version_create(
        &self,
        at: &ProjectArgs,
        tag: Option<&str>,
        note: Option<&str>,
    ) -> Result<VersionView> {
        let (project, chain) = self.chain_of(at).await?;
        let (row, existing) = self.snapshot(&project, &chain, tag, note).await?;
        self.version_view(&project, &row, existing).await
    }

    /// Give an untagged version its tag (a version has one tag, for good).
    pub async fn version_tag(
        &self,
        at: &ProjectArgs,
        version: &str,
        tag: &str,
    ) -> Result<VersionView> {
        let (project, chain) = self.chain_of(at).await?;
        check_tag(tag)?;
        let v = self.find_version(&project, &chain.name, version).await?;
        match &v.tag {
            Some(have) if have == tag => return self.version_view(&project, &v, true).await,
            Some(have) => {
                return Err(ApiError::new(
                    ErrorCode::BadInput,
                    format!("version {have} is tagged already; a version has one tag"),
                ))
            }
            None => {}
        }
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        tag_free(&mut tx, &project.id, &chain.name, tag).await?;
        versions::set_tag(&mut *tx, v.id, tag).await?;
        tx.commit().await?;
        let tagged = VersionRow {
            tag: Some(tag.to_string()),
            ..v
        };
        self.version_view(&project, &tagged, true).await
    }

    /// The version of the chain's files on disk, created if new.
    pub(crate) async fn snapshot(
        &self,
        project: &Project,
        chain: &ChainDef,
        tag: Option<&str>,
        note: Option<&str>,
    ) -> Result<(VersionRow, bool)> {
        if let Some(t) = tag {
            check_tag(t)?;
        }
        let hash = definition_hash(&chain.dir)?;
        let mut files = Vec::new();
        for (rel, path) in definition_files(&chain.dir)? {
            let bytes = std::fs::read(&path).map_err(|e| {
                ApiError::new(ErrorCode::BadInput, format!("{}: {e}", path.display()))
            })?;
            files.push((rel, canonical_bytes(&bytes)));
        }
        let blob = pack(&files)?;
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        if let Some(existing) = versions::by_hash(&mut *tx, &project.id, &chain.name, &hash).await?
        {
            match (tag, &existing.tag) {
                (Some(t), Some(have)) if t != have => {
                    return Err(ApiError::new(
                        ErrorCode::BadInput,
                        format!("these files are already version {have}; a version has one tag"),
                    ));
                }
                (Some(t), None) => {
                    tag_free(&mut tx, &project.id, &chain.name, t).await?;
                    versions::set_tag(&mut *tx, existing.id, t).await?;
                    tx.commit().await?;
                    let tagged = VersionRow {
                        tag: Some(t.to_string()),
                        ..existing
                    };
                    return Ok((tagged, true));
                }
                _ => return Ok((existing, true)),
            }
        }
        if let Some(t) = tag {
            tag_free(&mut tx, &project.id, &chain.name, t).await?;
        }
        let author = actor(project);
        let now = self.clock.now().to_rfc3339();
        let row = versions::insert(
            &mut tx,
            &NewVersion {
                project: &project.id,
                chain: &chain.name,
                hash: &hash,
                tag,
                author: &author,
                note,
                created_at: &now,
                files: &blob,
            },
        )
        .await?;
        tx.commit().await?;
        Ok((row, false))
    }

    pub async fn versions(&self, at: &ProjectArgs) -> Result<Vec<VersionView>> {
        let (project, chain) = self.chain_of(at).await?;
        let mut out = Vec::new();
        for v in versions::list(&self.pool, &project.id, &chain.name).await? {
            out.push(self.version_view(&project, &v, true).await?);
        }
        Ok(out)
    }

    async fn version_files(&self, v: &VersionRow) -> Result<Vec<(String, Vec<u8>)>> {
        unpack(&versions::files(&self.pool, v.id).await?)
    }

    pub async fn version_diff(&self, at: &ProjectArgs, a: &str, b: &str) -> Result<VersionDiff> {
        let (project, chain) = self.chain_of(at).await?;
        let (va, vb) = (
            self.find_version(&project, &chain.name, a).await?,
            self.find_version(&project, &chain.name, b).await?,
        );
        let fa: BTreeMap<String, Vec<u8>> = self.version_files(&va).await?.into_iter().collect();
        let fb: BTreeMap<String, Vec<u8>> = self.version_files(&vb).await?.into_iter().collect();
        let mut files = Vec::new();
        for path in fa
            .keys()
            .chain(fb.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let (x, y) = (fa.get(path), fb.get(path));
            let change = match (x, y) {
                (Some(x), Some(y)) if x == y => continue,
                (Some(_), Some(_)) => "changed",
                (Some(_), None) => "removed",
                _ => "added",
            };
            // A file on one side only diffs against nothing.
            let text = |b: Option<&Vec<u8>>| match b {
                Some(b) => String::from_utf8_lossy(b).to_string(),
                None => String::new(),
            };
            let (old, new) = (text(x), text(y));
            let diff = similar::TextDiff::from_lines(&old, &new)
                .unified_diff()
                .context_radius(3)
                .missing_newline_hint(true)
                .header(
                    &format!("{}/{path}", label(&va)),
                    &format!("{}/{path}", label(&vb)),
                )
                .to_string();
            files.push(FileDiff {
                path: path.clone(),
                change: change.into(),
                diff,
            });
        }
        Ok(VersionDiff {
            chain: chain.name.clone(),
            a: label(&va),
            b: label(&vb),
            files,
        })
    }

    /// Write a version's files to `to` and check they hash to the version.
    pub async fn version_export(
        &self,
        at: &ProjectArgs,
        reference: &str,
        to: &Path,
    ) -> Result<ExportReport> {
        let (project, chain) = self.chain_of(at).await?;
        let v = self.find_version(&project, &chain.name, reference).await?;
        if to.exists()
            && std::fs::read_dir(to)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            return Err(ApiError::new(
                ErrorCode::BadInput,
                format!("{} is not empty: export into a new folder", to.display()),
            ));
        }
        let files = self.version_files(&v).await?;
        write_files(to, &files)?;
        let hash = definition_hash(to)?;
        if hash != v.hash {
            return Err(ApiError::new(ErrorCode::Internal, format!("the exported files hash to {} but version {} is {}: the stored copy is damaged", short(&hash), label(&v), short(&v.hash))));
        }
        Ok(ExportReport {
            dir: to.display().to_string(),
            version: label(&v),
            hash,
            files: files.into_iter().map(|(p, _)| p).collect(),
        })
    }

    /// The version's files as a chain folder (cached under the data folder, hash verified).
    /// Rebuild a version from the store's bytes into a scratch folder (not the cache) and check
    /// it hashes to itself; the number of files on success.
    pub(crate) async fn verify_from_store(&self, v: &VersionRow) -> Result<usize> {
        let files = self.version_files(v).await?;
        let scratch = tempfile::Builder::new()
            .prefix(".verify-")
            .tempdir_in(&self.data_dir)
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::Internal,
                    format!("{}: {e}", self.data_dir.display()),
                )
            })?;
        rebuild(v, scratch.path(), &files)?;
        Ok(files.len())
    }

    pub(crate) async fn materialize(&self, project: &Project, v: &VersionRow) -> Result<PathBuf> {
        let dir = self
            .data_dir
            .join("versions")
            .join(&project.id)
            .join(&v.chain)
            .join(&v.hash);
        let mtime = |d: &Path| std::fs::metadata(d).and_then(|m| m.modified()).ok();
        if let (Some(now), Ok(seen)) = (mtime(&dir), self.verified.lock()) {
            if seen.get(&dir) == Some(&now) {
                return Ok(dir);
            }
        }
        if dir.is_dir() && definition_hash(&dir).is_ok_and(|h| h == v.hash) {
            if let (Some(now), Ok(mut seen)) = (mtime(&dir), self.verified.lock()) {
                seen.insert(dir.clone(), now);
            }
            return Ok(dir);
        }
        // Several processes may materialize the same version at once: each builds its own
        // scratch folder, verifies it, and renames it into place. A verified copy is never
        // removed under a reader; a damaged one is moved aside, not deleted in place.
        let internal = |p: &Path, e: &dyn std::fmt::Display| {
            ApiError::new(ErrorCode::Internal, format!("{}: {e}", p.display()))
        };
        let parent = dir.parent().unwrap_or(&self.data_dir).to_path_buf();
        std::fs::create_dir_all(&parent).map_err(|e| internal(&parent, &e))?;
        let scratch = tempfile::Builder::new()
            .prefix(".materialize-")
            .tempdir_in(&parent)
            .map_err(|e| internal(&parent, &e))?;
        rebuild(v, scratch.path(), &self.version_files(v).await?)?;
        for _ in 0..3 {
            if dir.is_dir() {
                if definition_hash(&dir).is_ok_and(|h| h == v.hash) {
                    return Ok(dir); // another process won the race with a good copy
                }
                let aside = parent.join(format!(".damaged-{}-{}", v.hash, uuid::Uuid::now_v7()));
                let _ = std::fs::rename(&dir, &aside);
                let _ = std::fs::remove_dir_all(&aside);
            }
            let path = scratch.path().to_path_buf();
            if std::fs::rename(&path, &dir).is_ok() {
                // The scratch folder is now the copy: do not let its guard remove it.
                let _ = scratch.keep();
                return Ok(dir);
            }
        }
        if dir.is_dir() && definition_hash(&dir).is_ok_and(|h| h == v.hash) {
            return Ok(dir);
        }
        Err(internal(
            &dir,
            &"could not put the version's verified copy in place",
        ))
    }

    /// Point (chain, env) at a version with a fresh config snapshot (DESIGN.md §3, §6).
    pub async fn deploy(
        &self,
        at: &ProjectArgs,
        reference: &str,
        env: &str,
        reason: Option<&str>,
    ) -> Result<DeploymentView> {
        self.deploy_canary(at, reference, env, reason, None).await
    }

    /// [`Self::deploy`], as a canary for `canary` % of requests when given (DESIGN.md §10):
    /// the current version stays the pointer, the candidate is a `canary` row beside it. In an
    /// env whose policy has `monitor:`, a deploy that has something to roll back to opens a
    /// rollout; an open one ends first.
    pub async fn deploy_canary(
        &self,
        at: &ProjectArgs,
        reference: &str,
        env: &str,
        reason: Option<&str>,
        canary: Option<u8>,
    ) -> Result<DeploymentView> {
        if let Some(pct) = canary {
            if !(1..=99).contains(&pct) {
                return Err(ApiError::new(
                    ErrorCode::BadInput,
                    format!("--canary {pct}: give the candidate's share as a percent from 1 to 99 (a full switch is a deploy without --canary)"),
                ));
            }
        }
        let (project, chain) = self.chain_of(at).await?;
        let policy = match project.monitor(env) {
            None => None,
            Some(Ok(p)) => Some(p),
            Some(Err(m)) => {
                return Err(ApiError::new(
                    ErrorCode::Refused,
                    format!("{}: {m}", project.policy_at("monitor").file.display()),
                ))
            }
        };
        if canary.is_some() && policy.is_none() {
            return Err(ApiError::new(
                ErrorCode::Refused,
                format!("env `{env}` has no `monitor:` in chainlift.yaml: a canary needs a watch (add e.g. `monitor: {{window: 24h, steps: [10, 50]}}`), or deploy without --canary"),
            ));
        }
        crate::check_env(&project, env)?;
        let mut v = self.find_version(&project, &chain.name, reference).await?;
        // DESIGN.md §6: the first env takes anything; later ones an approved promotion (or
        // passed gates where no approval is required); a version deployed there before always.
        // Asked here for a quick refusal, and again inside the transaction that moves the
        // pointer, where no other writer can change the answer.
        {
            let mut conn = self.pool.acquire().await?;
            Self::deploy_allowed(&mut conn, &project, &chain.name, env, v.id, &label(&v)).await?;
        }
        // The snapshot: this env's config as the version resolves it, without secret values.
        let dir = self.materialize(&project, &v).await?;
        let version_chain = ChainDef::load(&dir)?;
        let env_path = chain.dir.join("config").join(format!("{env}.env"));
        let env_file = EnvFile::load(&env_path)?;
        let none = BTreeMap::new();
        let resolved = resolve_with(&project, &version_chain, env, &env_file, &none, &none)
            .map_err(|issues| {
                let lines: Vec<String> = issues.iter().map(issue_text).collect();
                ApiError::new(
                    ErrorCode::Refused,
                    format!(
                        "version {} does not resolve for env `{env}`:\n{}",
                        label(&v),
                        lines.join("\n")
                    ),
                )
            })?;
        let config = resolved.config.clone();
        let hash = config_hash(&config);

        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        let deployed_before =
            deployments::was_deployed(&mut *tx, &project.id, &chain.name, env, v.id).await?;
        let promotion =
            Self::deploy_allowed(&mut tx, &project, &chain.name, env, v.id, &label(&v)).await?;
        let previous = deployments::current(&mut *tx, &project.id, &chain.name, env).await?;
        let before = match &previous {
            Some(p) => snapshot(p)?,
            None => BTreeMap::new(),
        };
        if let Some(pct) = canary {
            match &previous {
                None => {
                    return Err(ApiError::new(
                        ErrorCode::Refused,
                        format!("nothing is deployed to `{env}` yet: the first deploy is a full one (drop --canary {pct})"),
                    ))
                }
                Some(p) if p.version_id == v.id => {
                    return Err(ApiError::new(
                        ErrorCode::Refused,
                        format!("{} is what `{env}` runs already: a canary needs another version", label(&v)),
                    ))
                }
                Some(_) => {}
            }
        }
        let mut entries = Vec::new();
        entries.extend(
            self.end_open_rollout(
                &mut tx,
                &project,
                &chain.name,
                env,
                &format!("a deploy of {} replaced it", label(&v)),
            )
            .await?,
        );
        let production = project.environments().last().is_some_and(|e| e == env);
        if production && v.tag.is_none() {
            let mut tag = format!("v{}", v.seq);
            if versions::by_tag(&mut *tx, &project.id, &chain.name, &tag)
                .await?
                .is_some()
            {
                tag = format!("v{}-{}", v.seq, &v.hash[..7]);
            }
            versions::set_tag(&mut *tx, v.id, &tag).await?;
            v.tag = Some(tag);
        }
        let row = DeploymentRow {
            id: uuid::Uuid::now_v7().to_string(),
            project: project.id.clone(),
            chain: chain.name.clone(),
            env: env.into(),
            version_id: v.id,
            config: config_json(&config),
            config_hash: hash,
            previous_id: previous.as_ref().map(|p| p.id.clone()),
            action: if canary.is_some() {
                "canary"
            } else if deployed_before {
                "redeploy"
            } else {
                "deploy"
            }
            .into(),
            config_diff: previous
                .as_ref()
                .and_then(|_| config_diff(&before, &config)),
            actor: actor(&project),
            reason: reason.map(String::from),
            created_at: self.clock.now().to_rfc3339(),
            seq: 0,
        };
        failpoint("deploy:before-insert");
        deployments::insert(&mut tx, &row).await?;
        let from = previous.as_ref().map(|p| p.version_id);
        let detail = serde_json::json!({ "version": label(&v), "hash": v.hash, "from_version_id": from, "deployment": row.id, "reason": reason, "canary": canary }).to_string();
        let entry = self.entry(
            &project,
            &row.action,
            Some(&chain.name),
            Some(env),
            Some(label(&v)),
            Some(detail),
        );
        entries.push(entry);
        // Watched where the policy says so and there is something to roll back to.
        let watch = policy.as_ref().zip(previous.as_ref());
        if let Some(p) = &promotion {
            entries.push(
                self.mark_deployed(&mut tx, &project, p, watch.is_some())
                    .await?,
            );
        }
        if let Some((policy, stable)) = watch {
            self.open_rollout(
                &mut tx,
                &project,
                policy,
                stable,
                &row,
                canary,
                promotion.as_ref().map(|p| p.id.as_str()),
            )
            .await?;
        }
        self.commit_audited_all(tx, &entries, Some("deploy"))
            .await?;
        let text = match canary {
            Some(pct) => format!(
                "Chainlift: {} {} deployed to {env} as a canary for {pct} % of requests by {}",
                chain.name,
                label(&v),
                row.actor
            ),
            None => format!(
                "Chainlift: {} {} deployed to {env} by {}",
                chain.name,
                label(&v),
                row.actor
            ),
        };
        let _ = self.notify(&project, &chain, env, &text).await;
        Ok(self.deployment_view(&row, &v))
    }

    fn deployment_view(&self, d: &DeploymentRow, v: &VersionRow) -> DeploymentView {
        DeploymentView {
            id: d.id.clone(),
            chain: d.chain.clone(),
            env: d.env.clone(),
            version: label(v),
            version_hash: v.hash.clone(),
            action: d.action.clone(),
            actor: d.actor.clone(),
            reason: d.reason.clone(),
            created_at: d.created_at.clone(),
            config_hash: d.config_hash.clone(),
            config_diff: d.config_diff.clone(),
            previous_id: d.previous_id.clone(),
        }
    }

    /// Move the pointer back to the deployment before the current one: no gates, audited,
    /// effective for the very next run.
    pub async fn rollback(
        &self,
        at: &ProjectArgs,
        env: &str,
        reason: Option<&str>,
    ) -> Result<DeploymentView> {
        let (project, chain) = self.chain_of(at).await?;
        crate::check_env(&project, env)?;
        // A canary open: rolling back is taking its share away (the pointer is still the
        // stable version). A full switch in its window: the rollout's own rollback.
        if let Some(open) =
            chainlift_store::rollouts::open(&self.pool, &project.id, &chain.name, env).await?
        {
            let why = reason.map_or_else(
                || format!("rolled back by {}", actor(&project)),
                String::from,
            );
            self.abort_rollout(&project, &open.id, &why).await?;
            let current = deployments::current(&self.pool, &project.id, &chain.name, env)
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the pointer is gone"))?;
            let v = versions::get(&self.pool, current.version_id)
                .await?
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::Internal, "the deployed version is missing")
                })?;
            return Ok(self.deployment_view(&current, &v));
        }
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        let moved = self
            .move_pointer_back(
                &mut tx,
                &project,
                &chain.name,
                env,
                reason,
                &actor(&project),
            )
            .await?;
        let rolled_back = chainlift_store::promotions::mark_rolled_back(
            &mut *tx,
            &project.id,
            &chain.name,
            env,
            moved.from.version_id,
            &moved.row.created_at,
        )
        .await?;
        let detail = serde_json::json!({ "to_version": label(&moved.version), "from_deployment": moved.from.id, "to_deployment": moved.to.id, "reason": reason, "promotions_rolled_back": rolled_back }).to_string();
        let entry = self.entry(
            &project,
            "rollback",
            Some(&chain.name),
            Some(env),
            Some(label(&moved.version)),
            Some(detail),
        );
        self.commit_audited(tx, &entry, Some("rollback")).await?;
        Ok(self.deployment_view(&moved.row, &moved.version))
    }

    /// The pointer move of a rollback, inside the caller's transaction: (chain, env) points at
    /// the deployment before the current one again. The rollback drill runs this same code on
    /// a scratch env.
    pub(crate) async fn move_pointer_back(
        &self,
        tx: &mut chainlift_store::Conn,
        project: &Project,
        chain: &str,
        env: &str,
        reason: Option<&str>,
        by: &str,
    ) -> Result<PointerMove> {
        let current = deployments::current(&mut *tx, &project.id, chain, env)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Refused,
                    format!("{chain} has never been deployed to `{env}`: nothing to roll back"),
                )
            })?;
        let target_id = current.previous_id.clone().ok_or_else(|| {
            ApiError::new(
                ErrorCode::Refused,
                format!("{chain} in `{env}` has no earlier deployment to roll back to"),
            )
        })?;
        let target = deployments::get(&mut *tx, &target_id)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Internal,
                    format!("deployment {target_id} is missing from the history"),
                )
            })?;
        let version = versions::get(&mut *tx, target.version_id)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Internal,
                    "the version of the previous deployment is missing",
                )
            })?;
        let row = DeploymentRow {
            id: uuid::Uuid::now_v7().to_string(),
            version_id: target.version_id,
            config: target.config.clone(),
            config_hash: target.config_hash.clone(),
            // Rolling back again walks further back, like an undo stack.
            previous_id: target.previous_id.clone(),
            action: "rollback".into(),
            config_diff: config_diff(&snapshot(&current)?, &snapshot(&target)?),
            actor: by.into(),
            reason: reason.map(String::from),
            created_at: self.clock.now().to_rfc3339(),
            seq: 0,
            ..current.clone()
        };
        failpoint("rollback:before-insert");
        deployments::insert(&mut *tx, &row).await?;
        Ok(PointerMove {
            from: current,
            to: target,
            row,
            version,
        })
    }

    /// Every pointer move of a chain, newest first.
    pub async fn deployments(
        &self,
        at: &ProjectArgs,
        env: Option<&str>,
    ) -> Result<Vec<DeploymentView>> {
        let (project, chain) = self.chain_of(at).await?;
        let mut out = Vec::new();
        for d in deployments::history(&self.pool, &project.id, &chain.name, env).await? {
            if let Some(v) = versions::get(&self.pool, d.version_id).await? {
                out.push(self.deployment_view(&d, &v));
            }
        }
        Ok(out)
    }

    pub async fn flag_set(
        &self,
        at: &ProjectArgs,
        env: &str,
        name: &str,
        value: &str,
    ) -> Result<FlagView> {
        let project = self.project_of(at).await?;
        crate::check_env(&project, env)?;
        if !chainlift_model::envfile::is_valid_key(name) {
            return Err(ApiError::new(
                ErrorCode::BadInput,
                format!("`{name}` is not a valid flag name (letters, digits, _)"),
            ));
        }
        let now = self.clock.now().to_rfc3339();
        let who = actor(&project);
        let before = flags::values(&self.pool, &project.id, env)
            .await?
            .get(name)
            .cloned();
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        flags::set(&mut *tx, &project.id, env, name, value, &now, &who).await?;
        let detail = serde_json::json!({ "from": before, "to": value }).to_string();
        let entry = self.entry(
            &project,
            "flag",
            None,
            Some(env),
            Some(name.to_string()),
            Some(detail),
        );
        self.commit_audited(tx, &entry, None).await?;
        Ok(FlagView {
            env: env.into(),
            name: name.into(),
            value: value.into(),
            updated_at: now,
            updated_by: who,
        })
    }

    pub async fn flags(&self, at: &ProjectArgs, env: &str) -> Result<Vec<FlagView>> {
        let project = self.project_of(at).await?;
        crate::check_env(&project, env)?;
        Ok(flags::list(&self.pool, &project.id, env)
            .await?
            .into_iter()
            .map(|f| FlagView {
                env: env.into(),
                name: f.name,
                value: f.value,
                updated_at: f.updated_at,
                updated_by: f.updated_by,
            })
            .collect())
    }

    pub(crate) async fn flag_values(
        &self,
        project: &Project,
        env: &str,
    ) -> Result<BTreeMap<String, String>> {
        Ok(flags::values(&self.pool, &project.id, env).await?)
    }

    /// The newest audit rows (of the project, when one is found).
    pub async fn audit(&self, project: Option<&Project>, limit: u32) -> Result<Vec<AuditView>> {
        Ok(
            audit::list(&self.pool, project.map(|p| p.id.as_str()), i64::from(limit))
                .await?
                .into_iter()
                .map(|r| AuditView {
                    sentence: audit_sentence(&r),
                    seq: r.seq,
                    at: r.at,
                    actor: r.actor,
                    action: r.action,
                    project: r.project,
                    chain: r.chain,
                    env: r.env,
                    subject: r.subject,
                    detail: r.detail,
                    hash: r.hash,
                })
                .collect(),
        )
    }

    pub async fn audit_verify(&self) -> Result<AuditVerification> {
        let head = self.read_head();
        let (rows, problem) =
            audit::verify(&self.pool, head.as_ref().map(|(s, h)| (*s, h.as_str()))).await?;
        Ok(AuditVerification {
            ok: problem.is_none(),
            rows: rows as u64,
            problem,
        })
    }
}

/// Tags name versions on the command line and in the app: plain words such as v2.3.
fn check_tag(t: &str) -> Result<()> {
    if t.is_empty() || t.len() > 64 || t.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(ApiError::new(
            ErrorCode::BadInput,
            format!("tag `{t}`: use letters, digits, `.`, `-` or `_`, such as v2.3"),
        ));
    }
    if t.len() >= 7 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::new(
            ErrorCode::BadInput,
            format!("tag `{t}` looks like a hash prefix; pick a name such as v2.3"),
        ));
    }
    Ok(())
}

/// Refused when `tag` already names a version of `chain` (a tag names one version).
async fn tag_free(
    tx: &mut chainlift_store::Conn,
    project: &str,
    chain: &str,
    tag: &str,
) -> Result<()> {
    if versions::by_tag(&mut *tx, project, chain, tag)
        .await?
        .is_some()
    {
        return Err(ApiError::new(
            ErrorCode::BadInput,
            format!("tag {tag} already names another version of {chain}"),
        ));
    }
    Ok(())
}
