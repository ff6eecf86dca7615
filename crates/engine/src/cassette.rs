//! Cassettes: JSON lines of recorded provider calls, keyed by provider, model, rendered
//! messages and parameters. `replay` answers from one; `--record` writes one from real calls.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use chainlift_model::secret::Redactor;

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
        const MAX: u64 = 64 * 1024 * 1024;
        let size = std::fs::metadata(path)
            .map_err(|e| format!("{}: cannot read cassette: {e}", path.display()))?
            .len();
        if size > MAX {
            return Err(format!(
                "{}: the cassette is larger than 64 MiB; record a smaller one",
                path.display()
            ));
        }
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

/// Keeps each real call of a run and rewrites the cassette whole after each one, so the file
/// is always a complete recording. Values pass the run's redactor before they are serialized:
/// cassettes are committed with the chain.
pub struct Recorder {
    root: PathBuf,
    path: PathBuf,
    lines: std::sync::Mutex<Vec<String>>,
}

impl Recorder {
    /// Start a fresh cassette at `path`, inside `root` (the chain folder); an existing one is
    /// replaced, never written through a link.
    pub fn create(root: &Path, path: &Path) -> Result<Recorder, String> {
        let rec = Recorder {
            root: root.to_path_buf(),
            path: path.to_path_buf(),
            lines: std::sync::Mutex::new(Vec::new()),
        };
        rec.flush(&[])?;
        Ok(rec)
    }

    pub fn record(
        &self,
        req: &CompletionRequest,
        response: &Completion,
        redactor: &Redactor,
    ) -> Result<(), String> {
        let rec = Interaction {
            provider: req.provider.clone(),
            model: req.model.clone(),
            messages: req.messages.clone(),
            params: req.params(),
            response: response.clone(),
        };
        let mut value = serde_json::to_value(&rec).map_err(|e| e.to_string())?;
        redactor.redact_value(&mut value);
        let line = serde_json::to_string(&value).map_err(|e| e.to_string())?;
        let mut lines = self
            .lines
            .lock()
            .map_err(|_| "the cassette recorder failed earlier".to_string())?;
        lines.push(line);
        self.flush(&lines)
    }

    fn flush(&self, lines: &[String]) -> Result<(), String> {
        let mut text = lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        chainlift_model::confine::write_atomic(&self.root, &self.path, text.as_bytes())
            .map_err(|e| e.to_string())
    }
}
