//! Definitions read from disk, kept while their files are unchanged: a serve process starts
//! a run per request, and parsing the same YAML for each was most of a run's fixed cost.
//!
//! An entry is reused only when every file it was read from, and the folders a new file would
//! appear in, still have the size, modification time and inode they had when it was read; any
//! edit (by an editor, `git checkout`, the app's own writer) is a miss and a fresh read. Errors
//! are never kept: a definition that does not load is read again next time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use chainlift_model::{ChainDef, ModelError, Project};

/// Entries kept at most; past it the memo starts afresh (a serve that materialized hundreds
/// of versions reads them again, no more).
const MAX_ENTRIES: usize = 256;

type Stamp = Option<(u64, SystemTime, u64)>;

fn stamp_of(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.len(), m.modified().ok()?, ino))
}

struct Entry<T> {
    stamps: Vec<(PathBuf, Stamp)>,
    value: Arc<T>,
}

impl<T> Entry<T> {
    fn fresh(&self) -> bool {
        self.stamps.iter().all(|(p, s)| stamp_of(p) == *s)
    }
}

#[derive(Default)]
pub(crate) struct Memo {
    chains: Mutex<HashMap<PathBuf, Entry<ChainDef>>>,
    projects: Mutex<HashMap<PathBuf, Entry<Project>>>,
    /// (folder, name) → (id, renamed): a binding never changes once made.
    bound: Mutex<HashMap<Binding, (String, bool)>>,
}

type Binding = (String, String);

/// File times are coarse (a few milliseconds): a file written within this of its reading could
/// be written again with the same size and time, so such a read is not kept (git's "racily
/// clean" rule).
const RACY: std::time::Duration = std::time::Duration::from_millis(100);

fn keep<T>(map: &Mutex<HashMap<PathBuf, Entry<T>>>, at: &Path, entry: Entry<T>) {
    let now = SystemTime::now();
    let racy = entry.stamps.iter().any(|(_, s)| {
        s.is_some_and(|(_, mtime, _)| match now.duration_since(mtime) {
            Ok(age) => age < RACY,
            Err(_) => true, // written "in the future": a clock moved; never trust it
        })
    });
    if racy {
        return;
    }
    if let Ok(mut map) = map.lock() {
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(at.to_path_buf(), entry);
    }
}

fn stamped(paths: impl IntoIterator<Item = PathBuf>) -> Vec<(PathBuf, Stamp)> {
    paths
        .into_iter()
        .map(|p| {
            let s = stamp_of(&p);
            (p, s)
        })
        .collect()
}

impl Memo {
    /// The chain in `dir`, from memory while none of its files changed.
    pub(crate) fn chain(&self, dir: &Path) -> Result<Arc<ChainDef>, ModelError> {
        if let Some(e) = fresh(&self.chains, dir) {
            return Ok(e);
        }
        // Stamped before reading: an edit during the read makes the next lookup a miss.
        let mut stamps = stamped([dir.to_path_buf(), dir.join("agents")]);
        let chain = ChainDef::load(dir)?;
        stamps.extend(stamped(chain.sources.iter().map(|(p, _)| p.clone())));
        let value = Arc::new(chain);
        keep(
            &self.chains,
            dir,
            Entry {
                stamps,
                value: value.clone(),
            },
        );
        Ok(value)
    }

    pub(crate) fn bound(&self, key: &Binding) -> Option<(String, bool)> {
        self.bound.lock().ok()?.get(key).cloned()
    }

    pub(crate) fn keep_bound(&self, key: Binding, id: (String, bool)) {
        if let Ok(mut m) = self.bound.lock() {
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(key, id);
        }
    }

    /// The project in `root` (its `chainlift.yaml`), from memory while unchanged.
    pub(crate) fn project(&self, root: &Path) -> Result<Project, ModelError> {
        if let Some(e) = fresh(&self.projects, root) {
            return Ok(Project::clone(&e));
        }
        let mut stamps = stamped([root.to_path_buf()]);
        stamps.extend(stamped(
            ["chainlift.yaml", "chainlift.yml", "chainlift.json"].map(|f| root.join(f)),
        ));
        let project = Project::open(root)?;
        keep(
            &self.projects,
            root,
            Entry {
                stamps,
                value: Arc::new(project.clone()),
            },
        );
        Ok(project)
    }
}

fn fresh<T>(map: &Mutex<HashMap<PathBuf, Entry<T>>>, at: &Path) -> Option<Arc<T>> {
    let map = map.lock().ok()?;
    map.get(at).filter(|e| e.fresh()).map(|e| e.value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("folder");
        }
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn an_edit_to_any_file_of_the_chain_is_read_again() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("c");
        write(
            &dir,
            "chain.yaml",
            "version: 1\nname: c\nagents:\n  - name: a\n    triggers: [chain:start]\n",
        );
        let memo = Memo::default();
        // Just written: read each time until the files are older than the clock's grain.
        let first = memo.chain(&dir).expect("loads");
        assert!(!Arc::ptr_eq(&first, &memo.chain(&dir).expect("loads")));
        std::thread::sleep(RACY);
        let kept = memo.chain(&dir).expect("loads");
        assert!(Arc::ptr_eq(&kept, &memo.chain(&dir).expect("loads")));
        // A new agent file: the agents folder changed.
        write(&dir, "agents/a.yaml", "name: a\nprompt: one\n");
        let second = memo.chain(&dir).expect("loads");
        assert_eq!(second.agents[0].prompt.as_deref(), Some("one"));
        // The same agent file rewritten with a different length.
        write(&dir, "agents/a.yaml", "name: a\nprompt: three\n");
        let third = memo.chain(&dir).expect("loads");
        assert_eq!(third.agents[0].prompt.as_deref(), Some("three"));
        // Broken: an error, and the old definition is not handed out.
        write(&dir, "chain.yaml", "version: [\n");
        assert!(memo.chain(&dir).is_err());
        assert!(memo.chain(&dir).is_err());
    }
}
