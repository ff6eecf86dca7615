//! Cassettes: JSON lines of recorded provider calls, keyed by provider, model, rendered
//! messages and parameters. `replay` answers from one; `--record` writes one from real calls.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::provider::{Completion, CompletionRequest, Message, ProviderError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Interaction {
    pub provider: String,
    pub model: String,
    pub messages: Vec<Message>,
    pub params: Value,
    pub response: Completion,
}

impl Interaction {
    fn matches(&self, req: &CompletionRequest) -> bool {
        self.provider == req.provider
            && self.model == req.model
            && self.messages == req.messages
            && self.params == req.params()
    }
}

#[derive(Debug, Clone)]
pub struct Cassette {
    pub path: PathBuf,
    pub interactions: Vec<Interaction>,
}

impl Cassette {
    pub fn load(path: &Path) -> Result<Cassette, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read cassette: {e}", path.display()))?;
        let mut interactions = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let rec: Interaction = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: not a cassette record: {e}", path.display(), i + 1))?;
            interactions.push(rec);
        }
        Ok(Cassette {
            path: path.to_path_buf(),
            interactions,
        })
    }

    pub fn answer(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        self.interactions.iter().find(|i| i.matches(req)).map(|i| i.response.clone()).ok_or_else(|| {
            ProviderError::fatal(format!(
                "the cassette {} has no recorded answer for {} {} with this prompt; record one with `chainlift run --record`",
                self.path.display(),
                req.provider,
                req.model
            ))
        })
    }
}

/// Appends each real call to a cassette file as it completes.
pub struct Recorder {
    path: PathBuf,
}

impl Recorder {
    /// Start a fresh cassette at `path` (an existing one is replaced).
    pub fn create(path: &Path) -> Result<Recorder, String> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(path, "").map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Recorder {
            path: path.to_path_buf(),
        })
    }

    pub fn record(&self, req: &CompletionRequest, response: &Completion) -> Result<(), String> {
        let rec = Interaction {
            provider: req.provider.clone(),
            model: req.model.clone(),
            messages: req.messages.clone(),
            params: req.params(),
            response: response.clone(),
        };
        let line = serde_json::to_string(&rec).map_err(|e| e.to_string())?;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        writeln!(file, "{line}").map_err(|e| format!("{}: {e}", self.path.display()))
    }
}
