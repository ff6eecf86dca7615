//! The sample project (`examples/content-pipeline`), embedded so the app opens something real
//! on first launch with no checkout around it.

use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use crate::{ApiError, ErrorCode, Result};

static SAMPLE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../examples/content-pipeline");

/// Write the sample under `<data_dir>/sample/content-pipeline` (files already there are kept,
/// so a user's edits survive) and return its root.
pub fn materialize(data_dir: &Path) -> Result<PathBuf> {
    let root = data_dir.join("sample").join("content-pipeline");
    write_dir(&SAMPLE, &root)?;
    Ok(root)
}

fn write_dir(dir: &Dir<'_>, root: &Path) -> Result<()> {
    let fail = |p: &Path, e: std::io::Error| {
        ApiError::new(ErrorCode::Internal, format!("{}: {e}", p.display()))
    };
    for file in dir.files() {
        let path = root.join(file.path());
        if path.exists() {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| fail(parent, e))?;
        }
        std::fs::write(&path, file.contents()).map_err(|e| fail(&path, e))?;
    }
    for sub in dir.dirs() {
        write_dir(sub, root)?;
    }
    Ok(())
}
