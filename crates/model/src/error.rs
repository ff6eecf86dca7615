//! Errors that name the file and line a person has to open, and what to do about it.

use std::fmt;
use std::path::PathBuf;

/// Where in which file something was found. `line` is 1-based; 0 means "the whole file".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file.display(), self.line)
        } else {
            write!(f, "{}", self.file.display())
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: cannot read: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{at}: {message}")]
    Syntax { at: SourceLocation, message: String },
    #[error("{at}: {message} (fix: {hint})")]
    Invalid {
        at: SourceLocation,
        message: String,
        hint: String,
    },
    #[error("{0}")]
    NotFound(String),
    /// A path from project data that leaves its folder, or a write through a link.
    #[error("{0}")]
    Outside(String),
}

impl ModelError {
    pub fn read(path: impl Into<PathBuf>, err: impl fmt::Display) -> Self {
        ModelError::Read {
            path: path.into(),
            reason: err.to_string(),
        }
    }

    pub fn location(&self) -> Option<&SourceLocation> {
        match self {
            ModelError::Syntax { at, .. } | ModelError::Invalid { at, .. } => Some(at),
            _ => None,
        }
    }
}
