//! The canonical content hash of a chain definition (DESIGN.md §3).
//!
//! Sorted relative paths with `/` separators, LF line ends; env files (`config/`), recorded
//! cassettes and hidden files are not part of the definition, so they do not change the version.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::ModelError;

const EXCLUDED_DIRS: [&str; 3] = ["config", "cassettes", "outputs"];

/// Every definition file under `dir` as (relative path with `/`, absolute path), sorted.
pub fn definition_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, ModelError> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), ModelError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ModelError::read(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ModelError::read(dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        let file_type = entry.file_type().map_err(|e| ModelError::read(&path, e))?;
        if file_type.is_dir() {
            if dir == root && EXCLUDED_DIRS.contains(&name.as_str()) {
                continue;
            }
            walk(root, &path, out)?;
        } else if file_type.is_file() {
            let rel = path
                .strip_prefix(root)
                .map_err(|e| ModelError::read(&path, e))?
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
    Ok(())
}

/// Normalise line ends so a checkout on Windows hashes the same.
pub fn canonical_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The hex SHA-256 of the chain folder's definition.
pub fn definition_hash(dir: &Path) -> Result<String, ModelError> {
    let mut hasher = Sha256::new();
    for (rel, path) in definition_files(dir)? {
        let bytes = std::fs::read(&path).map_err(|e| ModelError::read(&path, e))?;
        let body = canonical_bytes(&bytes);
        hasher.update(rel.as_bytes());
        hasher.update([0]);
        hasher.update((body.len() as u64).to_le_bytes());
        hasher.update(&body);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_env_files_and_line_ends() -> Result<(), ModelError> {
        let tmp = tempfile::tempdir().map_err(|e| ModelError::read("tmp", e))?;
        let d = tmp.path();
        let w = |rel: &str, text: &str| {
            let p = d.join(rel);
            std::fs::create_dir_all(p.parent().unwrap_or(d)).ok();
            std::fs::write(p, text).ok();
        };
        w("chain.yaml", "name: a\nagents: []\n");
        w("agents/x.yaml", "name: x\n");
        let h1 = definition_hash(d)?;
        w("config/dev.env", "A=1\n");
        w(".events/1.json", "{}");
        assert_eq!(definition_hash(d)?, h1);
        w("chain.yaml", "name: a\r\nagents: []\r\n");
        assert_eq!(definition_hash(d)?, h1);
        w("agents/x.yaml", "name: y\n");
        assert_ne!(definition_hash(d)?, h1);
        Ok(())
    }
}
