//! Paths taken from project data, kept inside their folder, and the one way Chainlift writes a
//! file.
//!
//! Project folders come from strangers: a path a chain names (`output.file`, a schema, a
//! template, a fixture, a cassette) must resolve inside the folder it belongs to, and no write
//! may follow a symbolic link a repository shipped. Every write goes through [`write_atomic`]: a
//! random-named temporary file created with `O_EXCL` in the same folder, fsync, rename.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error("`{path}` leaves {root}: paths in a chain must stay inside its folder (write it relative, without `..`)")]
    Escapes { path: String, root: String },
    #[error("{path} is a symbolic link: Chainlift does not write through links (remove the link)")]
    Link { path: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

fn io(path: &Path, e: impl std::fmt::Display) -> ConfineError {
    ConfineError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// `rel` as a path inside `root`: relative, no `..` that climbs above `root`, and (when it
/// exists) not a link that points out of it. Missing files are allowed: callers report them.
pub fn inside(root: &Path, rel: impl AsRef<Path>) -> Result<PathBuf, ConfineError> {
    let rel = rel.as_ref();
    let escapes = || ConfineError::Escapes {
        path: rel.display().to_string(),
        root: root.display().to_string(),
    };
    let clean = lexical(rel).ok_or_else(escapes)?;
    let joined = root.join(&clean);
    if let Ok(real) = joined.canonicalize() {
        let real_root = root.canonicalize().map_err(|e| io(root, e))?;
        if !real.starts_with(&real_root) {
            return Err(escapes());
        }
    }
    Ok(joined)
}

/// `rel` normalised, when it is relative and never climbs above its start (checked without
/// touching the disk, for paths inside a folder that does not exist yet: a run's output).
pub fn relative(rel: impl AsRef<Path>) -> Result<PathBuf, ConfineError> {
    let rel = rel.as_ref();
    lexical(rel).ok_or_else(|| ConfineError::Escapes {
        path: rel.display().to_string(),
        root: "its folder".into(),
    })
}

fn lexical(rel: &Path) -> Option<PathBuf> {
    let mut clean = PathBuf::new();
    for part in rel.components() {
        match part {
            Component::Normal(p) => clean.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !clean.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(clean)
}

/// Refuse when any component of `path` below `root` (the file itself included) is a symbolic
/// link. `root` itself may be one: the user chose it.
pub fn check_no_links(root: &Path, path: &Path) -> Result<(), ConfineError> {
    let rel = path.strip_prefix(root).map_err(|_| ConfineError::Escapes {
        path: path.display().to_string(),
        root: root.display().to_string(),
    })?;
    let mut at = root.to_path_buf();
    for part in rel.components() {
        match part {
            Component::Normal(p) => at.push(p),
            Component::CurDir => continue,
            _ => {
                return Err(ConfineError::Escapes {
                    path: path.display().to_string(),
                    root: root.display().to_string(),
                })
            }
        }
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(ConfineError::Link {
                    path: at.display().to_string(),
                })
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&at, e)),
        }
    }
    Ok(())
}

/// Create the folders of `path` below `root` one by one, refusing links.
pub fn create_dirs(root: &Path, dir: &Path) -> Result<(), ConfineError> {
    check_no_links(root, dir)?;
    let rel = dir.strip_prefix(root).map_err(|_| ConfineError::Escapes {
        path: dir.display().to_string(),
        root: root.display().to_string(),
    })?;
    std::fs::create_dir_all(root).map_err(|e| io(root, e))?;
    let mut at = root.to_path_buf();
    for part in rel.components() {
        at.push(part);
        match std::fs::create_dir(&at) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // Another writer may have made it, or it may be a link made since the check.
                let m = std::fs::symlink_metadata(&at).map_err(|e| io(&at, e))?;
                if m.file_type().is_symlink() {
                    return Err(ConfineError::Link {
                        path: at.display().to_string(),
                    });
                }
                if !m.is_dir() {
                    return Err(io(&at, "exists and is not a folder"));
                }
            }
            Err(e) => return Err(io(&at, e)),
        }
    }
    Ok(())
}

/// Write `bytes` to `path` (inside `root`) whole or not at all: a fresh temporary file beside
/// it, fsync, rename over it. No component below `root` may be a link, the target included
/// (a rename would replace the link, but a repository that ships one means harm).
pub fn write_atomic(root: &Path, path: &Path, bytes: &[u8]) -> Result<(), ConfineError> {
    let parent = path.parent().ok_or_else(|| io(path, "has no folder"))?;
    create_dirs(root, parent)?;
    check_no_links(root, path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".chainlift-tmp")
        .tempfile_in(parent)
        .map_err(|e| io(parent, e))?;
    tmp.write_all(bytes).map_err(|e| io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| io(path, e))?;
    tmp.persist(path).map_err(|e| io(path, e.error))?;
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(parent) {
        let _ = d.sync_all(); // the rename is durable once the folder is; best effort
    }
    Ok(())
}

/// Write a file in a folder this process made (a run folder): a new file is created with
/// `create_new` (so no link or planted file is followed) and not synced — a run's files are
/// records of the run, not state to recover; a file that already exists is replaced through
/// [`write_atomic`]. One inode per file instead of two, and no fsync on the run's path.
pub fn write_fresh(root: &Path, path: &Path, bytes: &[u8]) -> Result<(), ConfineError> {
    let parent = path.parent().ok_or_else(|| io(path, "has no folder"))?;
    create_dirs(root, parent)?;
    check_no_links(root, path)?;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut f) => f.write_all(bytes).map_err(|e| io(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => write_atomic(root, path, bytes),
        Err(e) => Err(io(path, e)),
    }
}

/// Names of agents, events, envs and variables that become file names or keys: letters,
/// digits, `_`, `-`, `.` (events also `:`), not starting with `.`, at most 128 characters.
pub fn is_plain_name(name: &str) -> bool {
    is_name_with(name, &[])
}

/// An event name: a plain name that may also hold `:` (`research:done`, `chain:start`).
pub fn is_event_name(name: &str) -> bool {
    is_name_with(name, &[':'])
}

fn is_name_with(name: &str, extra: &[char]) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') || extra.contains(&c)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_refuses_absolute_and_climbing_paths() -> Result<(), ConfineError> {
        let tmp = tempfile::tempdir().map_err(|e| io(Path::new("tmp"), e))?;
        let root = tmp.path();
        assert!(inside(root, "/etc/passwd").is_err());
        assert!(inside(root, "../x").is_err());
        assert!(inside(root, "a/../../x").is_err());
        assert_eq!(inside(root, "a/./b/../c")?, root.join("a/c"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", root.join("out")).map_err(|e| io(root, e))?;
            assert!(inside(root, "out/passwd").is_err());
        }
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn writes_never_follow_links() -> Result<(), ConfineError> {
        let tmp = tempfile::tempdir().map_err(|e| io(Path::new("tmp"), e))?;
        let root = tmp.path().join("root");
        let victim = tmp.path().join("victim");
        std::fs::create_dir_all(root.join("real")).map_err(|e| io(&root, e))?;
        std::fs::write(&victim, "keep").map_err(|e| io(&victim, e))?;
        std::os::unix::fs::symlink(&victim, root.join("file")).map_err(|e| io(&root, e))?;
        std::os::unix::fs::symlink(tmp.path(), root.join("dir")).map_err(|e| io(&root, e))?;
        let e = write_atomic(&root, &root.join("file"), b"x");
        assert!(matches!(e, Err(ConfineError::Link { .. })), "{e:?}");
        let e = write_atomic(&root, &root.join("dir/victim"), b"x");
        assert!(matches!(e, Err(ConfineError::Link { .. })), "{e:?}");
        assert_eq!(
            std::fs::read_to_string(&victim).ok().as_deref(),
            Some("keep")
        );
        for write in [write_atomic, write_fresh] {
            let e = write(&root, &root.join("file"), b"x");
            assert!(matches!(e, Err(ConfineError::Link { .. })), "{e:?}");
            let e = write(&root, &root.join("dir/victim"), b"x");
            assert!(matches!(e, Err(ConfineError::Link { .. })), "{e:?}");
        }
        write_fresh(&root, &root.join("real/fresh.txt"), b"one")?;
        write_fresh(&root, &root.join("real/fresh.txt"), b"two")?; // replaced, whole
        assert_eq!(
            std::fs::read_to_string(root.join("real/fresh.txt"))
                .ok()
                .as_deref(),
            Some("two")
        );
        write_atomic(&root, &root.join("real/new/a.txt"), b"ok")?;
        assert_eq!(
            std::fs::read_to_string(root.join("real/new/a.txt"))
                .ok()
                .as_deref(),
            Some("ok")
        );
        Ok(())
    }

    #[test]
    fn plain_names() {
        for ok in ["writer", "w-2", "a.b", "A_1"] {
            assert!(is_plain_name(ok), "{ok}");
        }
        for bad in ["", "../x", ".hidden", "a/b", "a b", "a\\b", "é"] {
            assert!(!is_plain_name(bad), "{bad}");
        }
        assert!(is_event_name("research:done") && !is_event_name("x/y:done"));
    }
}
