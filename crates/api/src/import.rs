//! `import`: a Mentiko chain file becomes a Chainlift chain folder, written whole or not at all.

use std::path::Path;

use chainlift_model::chain::parse_file;
use chainlift_model::mentiko;

use crate::dto::ImportReport;
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result};

fn io_error(path: &Path, e: std::io::Error) -> ApiError {
    ApiError::new(ErrorCode::BadInput, format!("{}: {e}", path.display()))
}

impl Chainlift {
    pub async fn import(&self, file: &Path, into: &Path) -> Result<ImportReport> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            ApiError::new(
                ErrorCode::BadInput,
                format!("{}: cannot read: {e}", file.display()),
            )
        })?;
        let value: serde_json::Value = parse_file(file, &text)?;
        let imported = mentiko::convert(&value, file)
            .map_err(|e| ApiError::new(ErrorCode::BadInput, format!("{}: {e}", file.display())))?;

        let chains = into.join("chains");
        let dir = chains.join(&imported.name);
        if dir.exists() {
            return Err(ApiError::new(
                ErrorCode::BadInput,
                format!("{} already exists: nothing was written (remove it or import into another folder)", dir.display()),
            ));
        }
        // Write into a scratch folder beside the target and rename it into place, so a failure
        // leaves no half-imported chain.
        let scratch = chains.join(format!(".import-{}", imported.name));
        let _ = std::fs::remove_dir_all(&scratch);
        let written = (|| {
            for (rel, body) in &imported.files {
                let path = scratch.join(rel);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
                }
                std::fs::write(&path, body).map_err(|e| io_error(&path, e))?;
            }
            std::fs::rename(&scratch, &dir).map_err(|e| io_error(&dir, e))
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&scratch);
            return Err(e);
        }

        let at = ProjectArgs {
            project: Some(into.to_path_buf()),
            chain: Some(imported.name.clone()),
            cwd: into.to_path_buf(),
        };
        let validation = self.validate(&at, None).await?;
        Ok(ImportReport {
            chain: imported.name,
            dialect: imported.dialect.as_str().into(),
            dir: dir.display().to_string(),
            files: imported.files.iter().map(|(rel, _)| rel.clone()).collect(),
            notes: imported.notes,
            validation,
        })
    }
}
