//! `chain.yaml` (or `chain.json`) and `agents/<name>.yaml`, parsed as written.
//!
//! Values that may hold `${VAR}` are kept as [`Scalar`] text here; [`crate::resolve`] types
//! them per environment, so a bad value is reported against the env file that gave it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::error::{ModelError, SourceLocation};
use crate::fields::{self, Shape, UnknownField};

/// When serve posts a run to the `notify` targets (DESIGN.md §9): `on: [failure, completion]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyOn {
    Failure,
    Completion,
}

/// `notify:` as written: named targets, and `on:` (default: failure only).
#[derive(Debug, Clone, Default)]
struct NotifyFile {
    targets: BTreeMap<String, Scalar>,
    on: Option<Vec<NotifyOn>>,
}

impl<'de> Deserialize<'de> for NotifyFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let map = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
        let mut out = NotifyFile::default();
        for (k, v) in map {
            if k == "on" {
                let items: Vec<String> = serde_json::from_value(v).map_err(|_| {
                    D::Error::custom("notify.on is a list: [failure] or [failure, completion]")
                })?;
                let mut on = Vec::new();
                for i in items {
                    on.push(match i.as_str() {
                        "failure" => NotifyOn::Failure,
                        "completion" => NotifyOn::Completion,
                        other => {
                            return Err(D::Error::custom(format!(
                                "notify.on: `{other}` is not failure or completion"
                            )))
                        }
                    });
                }
                out.on = Some(on);
            } else {
                let s = serde_json::from_value::<Scalar>(v)
                    .map_err(|e| D::Error::custom(format!("notify.{k}: {e}")))?;
                out.targets.insert(k, s);
            }
        }
        Ok(out)
    }
}

/// A YAML scalar kept as text: `60`, `"60s"` and `${AGENT_TIMEOUT}` all arrive as strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Scalar(s)),
            serde_json::Value::Number(n) => Ok(Scalar(n.to_string())),
            serde_json::Value::Bool(b) => Ok(Scalar(b.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a single value (text or number), found {}",
                kind_of(&other)
            ))),
        }
    }
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "nothing",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
        _ => "a value",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgentSpec {
    pub name: String,
    pub model: Option<Scalar>,
    pub timeout: Option<Scalar>,
    pub prompt: Option<String>,
    pub triggers: Option<Vec<String>>,
    pub wait_for: Option<String>,
    pub output: Option<OutputKind>,
    pub schema: Option<String>,
    pub emits: Option<String>,
    pub routes: Option<serde_json::Value>,
    pub retry: Option<serde_json::Value>,
    pub on_error: Option<String>,
    pub max_tokens: Option<Scalar>,
    pub temperature: Option<Scalar>,
    pub kind: Option<String>,
    /// `kind: command`: the command line to run (the rendered prompt goes to its stdin).
    pub command: Option<Scalar>,
    pub workspace: Option<serde_json::Value>,
    /// The agent file this spec was merged from, if any.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

impl AgentSpec {
    /// Fill every field this entry leaves empty from `file` (the chain.yaml entry wins).
    fn merged_over(mut self, file: AgentSpec) -> AgentSpec {
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = file.$f; } )* };
        }
        fill!(model, timeout, prompt, triggers, wait_for, output, schema, emits, routes, retry);
        fill!(
            on_error,
            max_tokens,
            temperature,
            kind,
            command,
            workspace,
            file
        );
        self
    }

    pub fn triggers(&self) -> &[String] {
        self.triggers.as_deref().unwrap_or_default()
    }

    /// Every event this agent can emit: `emits`, each route's `emit` and `else`, and
    /// `on_error` when it names an event rather than an agent.
    pub fn emitted_events(&self, agent_names: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = self.emits.iter().cloned().collect();
        if let Some(serde_json::Value::Array(routes)) = &self.routes {
            for route in routes {
                for key in ["emit", "else"] {
                    if let Some(e) = route.get(key).and_then(|v| v.as_str()) {
                        out.push(e.to_string());
                    }
                }
            }
        }
        match self.on_error.as_deref() {
            // Handing over to an agent goes through the synthesized `<agent>:error` event.
            Some(e) if agent_names.contains(&e) => out.push(format!("{}:error", self.name)),
            Some(e) => out.push(e.to_string()),
            None => {}
        }
        out.sort();
        out.dedup();
        out
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OutputSpec {
    pub from: Option<String>,
    pub schema: Option<String>,
    pub file: Option<String>,
    pub template: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Execution {
    pub retries: Option<Scalar>,
    pub concurrency: Option<Scalar>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Limits {
    pub cost_per_run: Option<Scalar>,
    pub cost_per_day: Option<Scalar>,
    pub max_rounds: Option<Scalar>,
    /// The most a command agent may print (stdout), in bytes [10 MiB].
    pub output_bytes: Option<Scalar>,
}

fn default_version() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
struct ChainFile {
    #[serde(default = "default_version")]
    version: u32,
    name: String,
    description: Option<String>,
    #[serde(default)]
    secrets: Vec<String>,
    schedule: Option<serde_json::Value>,
    #[serde(default)]
    agents: Vec<AgentSpec>,
    output: Option<OutputSpec>,
    execution: Option<Execution>,
    limits: Option<Limits>,
    #[serde(default)]
    notify: NotifyFile,
    #[serde(default)]
    data: BTreeMap<String, Scalar>,
    gates: Option<serde_json::Value>,
    input: Option<InputSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct InputSpec {
    schema: Option<String>,
}

/// A chain as written on disk, agents merged with their files.
#[derive(Debug, Clone)]
pub struct ChainDef {
    pub dir: PathBuf,
    pub file: PathBuf,
    pub version: u32,
    pub name: String,
    pub description: Option<String>,
    pub secrets: Vec<String>,
    /// `schedule:` as written; [`crate::schedule::Schedule::parse`] reads it.
    pub schedule: Option<serde_json::Value>,
    pub agents: Vec<AgentSpec>,
    pub output: OutputSpec,
    pub execution: Execution,
    pub limits: Limits,
    pub notify: BTreeMap<String, Scalar>,
    /// When serve posts a run to the notify targets (default: failures).
    pub notify_on: Vec<NotifyOn>,
    pub data: BTreeMap<String, Scalar>,
    pub gates: Option<serde_json::Value>,
    /// The JSON schema of the chain's input, relative to the chain folder (`input.schema`).
    pub input_schema: Option<String>,
    /// Keys the format does not know, in any file of the chain.
    pub unknown_fields: Vec<UnknownField>,
    /// The text of every file read, for pointing at the line a `${VAR}` stands on.
    pub sources: Vec<(PathBuf, String)>,
}

/// Parse YAML or JSON (by extension) into `T`, with errors that name file and line.
pub fn parse_file<T: for<'de> Deserialize<'de>>(path: &Path, text: &str) -> Result<T, ModelError> {
    let is_json = path.extension().is_some_and(|e| e == "json");
    if is_json {
        serde_json::from_str(text).map_err(|e| ModelError::Syntax {
            at: SourceLocation {
                file: path.to_path_buf(),
                line: e.line(),
            },
            message: format!("invalid JSON: {}", strip_position(&e.to_string())),
        })
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| {
            let line = e.location().map(|l| l.line()).unwrap_or(0);
            let mut message = format!("invalid YAML: {}", strip_position(&e.to_string()));
            if let Some(fixed) = quote_flow_references(text, line) {
                message.push_str(&format!(
                    " — a ${{…}} inside {{…}} or […] needs quotes; write the line as: {fixed}"
                ));
            }
            ModelError::Syntax {
                at: SourceLocation {
                    file: path.to_path_buf(),
                    line,
                },
                message,
            }
        })
    }
}

/// `{retries: ${RETRIES}}` is not YAML (braces inside a flow mapping): the line the parser
/// stopped at (or the one before), with every unquoted `${…}` inside a flow collection quoted.
fn quote_flow_references(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    [line, line.saturating_sub(1)]
        .into_iter()
        .filter(|l| *l >= 1)
        .filter_map(|l| lines.get(l - 1))
        .find_map(|l| {
            let (_, rest) = l.split_once(['{', '['])?;
            if !rest.contains("${") {
                return None;
            }
            let re = regex::Regex::new(r#"([:,\[{]\s*)(\$\{[^}"']*\})"#).ok()?;
            let fixed = re.replace_all(l, "$1\"$2\"").to_string();
            (fixed != *l).then(|| fixed.trim().to_string())
        })
}

/// serde's messages end with "at line X column Y"; the location is already in front.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Keys in `text` that `shape` does not know.
pub(crate) fn unknown_in(
    path: &Path,
    text: &str,
    shape: &Shape,
) -> Result<Vec<UnknownField>, ModelError> {
    let value: Option<serde_json::Value> = parse_file(path, text)?;
    Ok(value
        .map(|v| fields::check(path, text, &v, shape))
        .unwrap_or_default())
}

fn read(path: &Path) -> Result<String, ModelError> {
    std::fs::read_to_string(path).map_err(|e| ModelError::read(path, e))
}

/// The first existing file among `stem.yaml`, `stem.yml`, `stem.json` in `dir`.
pub fn find_with_stem(dir: &Path, stem: &str) -> Option<PathBuf> {
    ["yaml", "yml", "json"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.{ext}")))
        .find(|p| p.is_file())
}

impl ChainDef {
    pub fn load(dir: &Path) -> Result<ChainDef, ModelError> {
        let file = find_with_stem(dir, "chain").ok_or_else(|| {
            ModelError::NotFound(format!(
                "{}: no chain.yaml or chain.json in this folder",
                dir.display()
            ))
        })?;
        let text = read(&file)?;
        Self::from_source(dir, file, text)
    }

    /// Parse a chain from the text of its chain file (`file` names it in messages; agent files
    /// are still read from `dir/agents/`).
    pub fn from_source(dir: &Path, file: PathBuf, text: String) -> Result<ChainDef, ModelError> {
        let parsed: ChainFile = parse_file(&file, &text)?;
        let mut unknown_fields = unknown_in(&file, &text, &fields::CHAIN)?;
        let mut sources = vec![(file.clone(), text)];

        let agents_dir = dir.join("agents");
        let mut agents = Vec::with_capacity(parsed.agents.len());
        for entry in parsed.agents {
            // A name like `../x` is reported by resolve (bad-name); its file is never looked for.
            let file = crate::confine::is_plain_name(&entry.name)
                .then(|| find_with_stem(&agents_dir, &entry.name))
                .flatten();
            let merged = match file {
                Some(path) => {
                    let text = read(&path)?;
                    let mut from_file: AgentSpec = parse_file(&path, &text)?;
                    from_file.file = Some(path.clone());
                    unknown_fields.extend(unknown_in(&path, &text, &fields::AGENT)?);
                    sources.push((path, text));
                    entry.merged_over(from_file)
                }
                None => entry,
            };
            agents.push(merged);
        }

        Ok(ChainDef {
            dir: dir.to_path_buf(),
            file,
            version: parsed.version,
            name: parsed.name,
            description: parsed.description,
            secrets: parsed.secrets,
            schedule: parsed.schedule,
            agents,
            output: parsed.output.unwrap_or_default(),
            execution: parsed.execution.unwrap_or_default(),
            limits: parsed.limits.unwrap_or_default(),
            notify: parsed.notify.targets,
            notify_on: parsed.notify.on.unwrap_or_else(|| vec![NotifyOn::Failure]),
            data: parsed.data,
            gates: parsed.gates,
            input_schema: parsed.input.and_then(|i| i.schema),
            unknown_fields,
            sources,
        })
    }

    /// The file and line where `needle` first appears, for errors about a reference.
    pub fn locate(&self, needle: &str) -> SourceLocation {
        for (path, text) in &self.sources {
            if let Some(idx) = text.lines().position(|l| l.contains(needle)) {
                return SourceLocation {
                    file: path.clone(),
                    line: idx + 1,
                };
            }
        }
        SourceLocation {
            file: self.file.clone(),
            line: 0,
        }
    }

    /// The line of `needle` in one file of the chain, else anywhere.
    pub fn locate_in(&self, file: &Path, needle: &str) -> SourceLocation {
        let hit = self
            .sources
            .iter()
            .find(|(p, _)| p == file)
            .and_then(|(p, text)| {
                let idx = text.lines().position(|l| l.contains(needle))?;
                Some(SourceLocation {
                    file: p.clone(),
                    line: idx + 1,
                })
            });
        match hit {
            Some(at) => at,
            None if file.is_file() => {
                let text = std::fs::read_to_string(file).unwrap_or_default();
                let line = text
                    .lines()
                    .position(|l| l.contains(needle))
                    .map(|i| i + 1)
                    .unwrap_or(0);
                SourceLocation {
                    file: file.to_path_buf(),
                    line,
                }
            }
            None => self.locate(needle),
        }
    }

    /// A path the chain names (schema, template, fixture, cassette), inside the chain folder.
    pub fn path(&self, rel: impl AsRef<Path>) -> Result<PathBuf, ModelError> {
        crate::confine::inside(&self.dir, rel).map_err(|e| ModelError::Outside(e.to_string()))
    }

    pub fn agent(&self, name: &str) -> Option<&AgentSpec> {
        self.agents.iter().find(|a| a.name == name)
    }

    /// Environments that have a `config/<env>.env` file, sorted by name.
    pub fn env_files(&self) -> Vec<(String, PathBuf)> {
        let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(self.dir.join("config"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                let env = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".env")?
                    .to_string();
                Some((env, path))
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).ok();
        }
        std::fs::write(path, text).ok();
    }

    #[test]
    fn an_unquoted_reference_in_a_flow_mapping_says_how_to_quote_it() {
        let text = "name: c\nexecution: {retries: ${RETRIES}, concurrency: 2}\n";
        let e = parse_file::<serde_json::Value>(Path::new("chain.yaml"), text);
        let message = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains(
                r#"write the line as: execution: {retries: "${RETRIES}", concurrency: 2}"#
            ),
            "{message}"
        );
    }

    #[test]
    fn merges_agent_files_chain_entry_wins() -> Result<(), ModelError> {
        let tmp = tempfile::tempdir().map_err(|e| ModelError::read("tmp", e))?;
        write(
            tmp.path(),
            "chain.yaml",
            "name: c\nagents:\n  - name: a\n    model: m1\n",
        );
        write(
            tmp.path(),
            "agents/a.yaml",
            "name: a\nmodel: m2\nprompt: hi\ntriggers: [chain:start]\n",
        );
        let chain = ChainDef::load(tmp.path())?;
        let a = chain
            .agent("a")
            .ok_or_else(|| ModelError::NotFound("a".into()))?;
        assert_eq!(a.model, Some(Scalar("m1".into())));
        assert_eq!(a.prompt.as_deref(), Some("hi"));
        assert_eq!(a.triggers(), ["chain:start"]);
        Ok(())
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let tmp = tempfile::tempdir().ok();
        let dir = tmp
            .as_ref()
            .map(|t| t.path().to_path_buf())
            .unwrap_or_default();
        write(
            &dir,
            "chain.yaml",
            "name: c\nagents:\n  - name: [unclosed\n",
        );
        let err = ChainDef::load(&dir)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("chain.yaml:3") || err.contains("chain.yaml:4"),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_are_collected_not_fatal() -> Result<(), ModelError> {
        let tmp = tempfile::tempdir().map_err(|e| ModelError::read("tmp", e))?;
        write(
            tmp.path(),
            "chain.yaml",
            "name: c\nagnets: []\nagents:\n  - name: a\n",
        );
        write(
            tmp.path(),
            "agents/a.yaml",
            "name: a\ntriggerz: [chain:start]\n",
        );
        let chain = ChainDef::load(tmp.path())?;
        let found: Vec<_> = chain
            .unknown_fields
            .iter()
            .map(|u| (u.key.as_str(), u.at.line, u.suggestion.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                ("agnets", 2, Some("agents")),
                ("triggerz", 2, Some("triggers"))
            ]
        );
        Ok(())
    }
}
