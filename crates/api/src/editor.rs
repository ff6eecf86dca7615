//! The pipeline editor: a chain's agents as the app edits them, saving edits back into the
//! YAML files with comments and key order kept (see `chainlift_model::yamledit`), node
//! positions in a hidden sidecar file, and a fingerprint so an edit made on disk meanwhile is
//! never overwritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chainlift_model::chain::find_with_stem;
use chainlift_model::yamledit::{self, NewValue};
use chainlift_model::ChainDef;
use serde::Deserialize;
use serde_json::Value;
use ts_rs::TS;

use crate::dto::{AgentDraft, AgentFinding, EditorView, NodePosition, RouteDraft};
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result};

/// The sidecar beside chain.yaml; hidden, so it is not part of the version's hash.
pub const LAYOUT_FILE: &str = ".chainlift-layout.json";

/// Agent fields the editor writes as text.
const TEXT_FIELDS: [&str; 10] = [
    "prompt",
    "model",
    "timeout",
    "emits",
    "output",
    "schema",
    "max_tokens",
    "temperature",
    "on_error",
    "wait_for",
];
/// Agent fields the editor writes as lists.
const LIST_FIELDS: [&str; 1] = ["triggers"];

/// One change made in the editor.
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(tag = "op", rename_all = "snake_case")]
#[ts(export_to = "../../../ui/src/bindings/")]
pub enum ChainEdit {
    /// Set a text field of an agent; `null` removes it.
    SetText {
        agent: String,
        field: String,
        value: Option<String>,
    },
    SetList {
        agent: String,
        field: String,
        values: Vec<String>,
    },
    /// Replace an agent's routes (empty: remove them).
    SetRoutes {
        agent: String,
        routes: Vec<RouteDraft>,
    },
    AddAgent {
        name: String,
    },
    DeleteAgent {
        name: String,
    },
    /// Rename an agent: its entry, its agent file, `on_error` and `output.from` naming it, and
    /// its position in the layout.
    RenameAgent {
        from: String,
        to: String,
    },
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadInput, message)
}

/// Agent names become file names and event prefixes: keep them plain.
pub fn check_agent_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "`{name}` is not a valid agent name: use lowercase letters, digits, - and _ (at most 64)"
        )))
    }
}

/// Routes the engine can follow: every row sends an event, and only the last may be `else`.
fn check_routes(agent: &str, routes: &[RouteDraft]) -> Result<()> {
    for (i, r) in routes.iter().enumerate() {
        let n = i + 1;
        if r.emit.trim().is_empty() {
            return Err(bad(format!("{agent}: route {n} sends no event")));
        }
        match &r.when {
            Some(w) if w.trim().is_empty() => {
                return Err(bad(format!(
                    "{agent}: route {n} has an empty condition; write one or make it the else"
                )))
            }
            None if n != routes.len() => {
                return Err(bad(format!(
                    "{agent}: the else route must be the last (it is route {n} of {})",
                    routes.len()
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The chain's files as the edits change them: path → new text (None: delete).
struct Pending {
    dir: PathBuf,
    chain_file: PathBuf,
    files: BTreeMap<PathBuf, Option<String>>,
}

impl Pending {
    fn text(&mut self, path: &Path) -> Result<Option<String>> {
        if let Some(t) = self.files.get(path) {
            return Ok(t.clone());
        }
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(format!("{}: cannot read it: {e}", path.display())))?;
        self.files.insert(path.to_path_buf(), Some(text.clone()));
        Ok(Some(text))
    }

    fn chain_text(&mut self) -> Result<String> {
        let path = self.chain_file.clone();
        self.text(&path)?
            .ok_or_else(|| bad(format!("{}: the chain file is gone", path.display())))
    }

    fn agent_file(&mut self, agent: &str) -> Result<Option<PathBuf>> {
        // A hostile name (`../../x`) never becomes a path to read, move or delete.
        if !chainlift_model::confine::is_plain_name(agent) {
            return Err(bad(format!(
                "agent `{agent}` has a name that is not plain (letters, digits, _ - .): fix it in the chain file first"
            )));
        }
        let yaml = self.dir.join("agents").join(format!("{agent}.yaml"));
        if let Some(Some(_)) = self.files.get(&yaml) {
            return Ok(Some(yaml));
        }
        if self.files.get(&yaml).is_some_and(Option::is_none) {
            return Ok(None);
        }
        Ok(find_with_stem(&self.dir.join("agents"), agent))
    }

    fn apply(&mut self, edit: &ChainEdit) -> Result<()> {
        match edit {
            ChainEdit::SetText {
                agent,
                field,
                value,
            } => {
                if !TEXT_FIELDS.contains(&field.as_str()) {
                    return Err(bad(format!(
                        "the editor cannot set `{field}` (it sets {})",
                        TEXT_FIELDS.join(", ")
                    )));
                }
                let value = value.clone().map(NewValue::Text);
                self.set_field(agent, field, value.as_ref())
            }
            ChainEdit::SetList {
                agent,
                field,
                values,
            } => {
                if !LIST_FIELDS.contains(&field.as_str()) {
                    return Err(bad(format!("the editor cannot set `{field}` as a list")));
                }
                self.set_field(agent, field, Some(&NewValue::List(values.clone())))
            }
            ChainEdit::SetRoutes { agent, routes } => {
                check_routes(agent, routes)?;
                let value = (!routes.is_empty()).then(|| {
                    NewValue::Maps(
                        routes
                            .iter()
                            .map(|r| match &r.when {
                                Some(w) => vec![
                                    ("when".to_string(), w.clone()),
                                    ("emit".to_string(), r.emit.clone()),
                                ],
                                None => vec![("else".to_string(), r.emit.clone())],
                            })
                            .collect(),
                    )
                });
                self.set_field(agent, "routes", value.as_ref())
            }
            ChainEdit::AddAgent { name } => self.add_agent(name),
            ChainEdit::DeleteAgent { name } => self.delete_agent(name),
            ChainEdit::RenameAgent { from, to } => self.rename_agent(from, to),
        }
    }

    /// The value of an agent's field as the chain loads it: the chain.yaml entry wins.
    fn field(&mut self, agent: &str, field: &str) -> Result<Option<Value>> {
        let text = self.chain_text()?;
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap_or(Value::Null);
        if let Some((idx, _)) = yamledit::find_item(&text, "agents", agent) {
            if let Some(v) = doc.pointer(&format!("/agents/{idx}/{field}")) {
                return Ok(Some(v.clone()));
            }
        }
        let Some(path) = self.agent_file(agent)? else {
            return Ok(None);
        };
        let Some(text) = self.text(&path)? else {
            return Ok(None);
        };
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap_or(Value::Null);
        Ok(doc.get(field).cloned())
    }

    fn rename_agent(&mut self, from: &str, to: &str) -> Result<()> {
        check_agent_name(to)?;
        let chain_file = self.chain_file.clone();
        let text = self.chain_text()?;
        let Some((idx, block)) = yamledit::find_item(&text, "agents", from) else {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("{}: no agent `{from}`", chain_file.display()),
            ));
        };
        if yamledit::find_item(&text, "agents", to).is_some() || self.agent_file(to)?.is_some() {
            return Err(bad(format!("there is already an agent named `{to}`")));
        }
        let edit_error = |e: yamledit::EditError| bad(format!("{}: {e}", chain_file.display()));
        let name = NewValue::Text(to.to_string());
        let mut new =
            yamledit::set_key(&text, block, &format!("/agents/{idx}"), "name", Some(&name))
                .map_err(edit_error)?;
        let doc: Value = serde_yaml_ng::from_str(&new).unwrap_or(Value::Null);
        if doc.pointer("/output/from").and_then(Value::as_str) == Some(from) {
            new = yamledit::replace_scalar(&new, "/output/from", to).map_err(edit_error)?;
        }
        self.files.insert(chain_file, Some(new));
        // The agent file moves to the new name, its own `name:` (if written) with it.
        if let Some(old_path) = self.agent_file(from)? {
            if old_path.extension().is_some_and(|e| e == "json") {
                return Err(bad(format!(
                    "{}: the editor writes YAML agent files only; rename this JSON file by hand",
                    old_path.display()
                )));
            }
            let mut body = self.text(&old_path)?.unwrap_or_default();
            let named: Value = serde_yaml_ng::from_str(&body).unwrap_or(Value::Null);
            if named.get("name").is_some() {
                body =
                    yamledit::set_key(&body, yamledit::top_level(&body), "", "name", Some(&name))
                        .map_err(|e| bad(format!("{}: {e}", old_path.display())))?;
            }
            let ext = old_path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("yaml");
            let new_path = self.dir.join("agents").join(format!("{to}.{ext}"));
            self.files.insert(old_path, None);
            self.files.insert(new_path, Some(body));
        }
        // Agents that hand their errors over to it.
        let doc: Value = serde_yaml_ng::from_str(&self.chain_text()?).unwrap_or(Value::Null);
        let names: Vec<String> = doc
            .get("agents")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("name")?.as_str().map(String::from))
            .collect();
        for agent in names {
            if self
                .field(&agent, "on_error")?
                .as_ref()
                .and_then(Value::as_str)
                == Some(from)
            {
                self.set_field(&agent, "on_error", Some(&name))?;
            }
        }
        // Its dragged position follows it.
        let layout = self.dir.join(LAYOUT_FILE);
        if let Some(text) = self.text(&layout)? {
            let mut value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if let Some(map) = value.get_mut("positions").and_then(Value::as_object_mut) {
                if let Some(p) = map.remove(from) {
                    map.insert(to.to_string(), p);
                    let text = serde_json::to_string_pretty(&value)
                        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
                        + "\n";
                    self.files.insert(layout, Some(text));
                }
            }
        }
        Ok(())
    }

    fn set_field(&mut self, agent: &str, field: &str, value: Option<&NewValue>) -> Result<()> {
        let chain_file = self.chain_file.clone();
        let text = self.chain_text()?;
        let (idx, block) = yamledit::find_item(&text, "agents", agent).ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("{}: no agent `{agent}`", chain_file.display()),
            )
        })?;
        let in_chain = serde_yaml_ng::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.pointer(&format!("/agents/{idx}/{field}")).cloned())
            .is_some();
        let file = self.agent_file(agent)?;
        let edit_error =
            |path: &Path, e: yamledit::EditError| bad(format!("{}: {e}", path.display()));
        // The chain.yaml entry wins over the agent file, so edit where the value is.
        if in_chain || file.is_none() {
            if value.is_none() && !in_chain {
                return Ok(());
            }
            let new = yamledit::set_key(&text, block, &format!("/agents/{idx}"), field, value)
                .map_err(|e| edit_error(&chain_file, e))?;
            self.files.insert(chain_file.clone(), Some(new));
            if value.is_none() {
                // Removing it from the entry must not reveal the agent file's value.
                if let Some(f) = file {
                    self.set_in_file(&f, field, None)?;
                }
            }
            return Ok(());
        }
        if let Some(f) = file {
            self.set_in_file(&f, field, value)?;
        }
        Ok(())
    }

    fn set_in_file(&mut self, path: &Path, field: &str, value: Option<&NewValue>) -> Result<()> {
        if path.extension().is_some_and(|e| e == "json") {
            return Err(bad(format!(
                "{}: the editor writes YAML agent files only; edit this JSON file by hand",
                path.display()
            )));
        }
        let Some(text) = self.text(path)? else {
            return Ok(());
        };
        let new = yamledit::set_key(&text, yamledit::top_level(&text), "", field, value)
            .map_err(|e| bad(format!("{}: {e}", path.display())))?;
        self.files.insert(path.to_path_buf(), Some(new));
        Ok(())
    }

    fn add_agent(&mut self, name: &str) -> Result<()> {
        check_agent_name(name)?;
        let chain_file = self.chain_file.clone();
        let text = self.chain_text()?;
        if yamledit::find_item(&text, "agents", name).is_some() {
            return Err(bad(format!("there is already an agent named `{name}`")));
        }
        let new = yamledit::append_item(&text, "agents", name)
            .map_err(|e| bad(format!("{}: {e}", chain_file.display())))?;
        self.files.insert(chain_file, Some(new));
        let path = self.dir.join("agents").join(format!("{name}.yaml"));
        if self.agent_file(name)?.is_some() {
            return Err(bad(format!(
                "{}: already exists; add `- name: {name}` to chain.yaml to use it",
                path.display()
            )));
        }
        let body = format!(
            "name: {name}\nprompt: |\n  Describe what {name} does with its input.\n\n  {{{{ input }}}}\n"
        );
        self.files.insert(path, Some(body));
        Ok(())
    }

    fn delete_agent(&mut self, name: &str) -> Result<()> {
        let chain_file = self.chain_file.clone();
        let text = self.chain_text()?;
        let new = yamledit::remove_item(&text, "agents", name)
            .map_err(|e| bad(format!("{}: {e}", chain_file.display())))?;
        self.files.insert(chain_file, Some(new));
        if let Some(f) = self.agent_file(name)? {
            self.files.insert(f, None);
        }
        Ok(())
    }

    /// Write every changed file through a temporary file and a rename, so each file is either
    /// old or new; deletions last. Nothing is written or deleted through a link.
    fn write(self) -> Result<()> {
        let io = |p: &Path, e: std::io::Error| {
            ApiError::new(
                ErrorCode::Internal,
                format!("{}: cannot write: {e}", p.display()),
            )
        };
        for path in self.files.keys() {
            chainlift_model::confine::check_no_links(&self.dir, path)?;
        }
        for (path, text) in &self.files {
            let Some(text) = text else { continue };
            if path.is_file() && std::fs::read_to_string(path).is_ok_and(|old| old == *text) {
                continue;
            }
            chainlift_model::confine::write_atomic(&self.dir, path, text.as_bytes())?;
        }
        for (path, text) in &self.files {
            if text.is_none() && path.is_file() {
                std::fs::remove_file(path).map_err(|e| io(path, e))?;
            }
        }
        Ok(())
    }
}

fn fingerprint(dir: &Path) -> Result<String> {
    Ok(chainlift_model::hash::definition_hash(dir)?)
}

/// The dragged node positions. No sidecar: none (the editor lays nodes out). A sidecar that
/// cannot be read or parsed is reported as a warning naming it; its positions are laid out
/// afresh and the next drag rewrites it whole.
fn read_layout(dir: &Path) -> (Vec<NodePosition>, Option<crate::dto::Finding>) {
    let path = dir.join(LAYOUT_FILE);
    let damaged = |why: String, line: Option<usize>| crate::dto::Finding {
        code: "layout-damaged".into(),
        severity: crate::dto::Severity::Warning,
        message: format!(
            "{}: {why}; node positions were laid out afresh",
            path.display()
        ),
        env: None,
        file: Some(path.display().to_string()),
        line,
        hint: Some("drag a node to rewrite it, or delete the file".into()),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (vec![], None),
        Err(e) => return (vec![], Some(damaged(e.to_string(), None))),
    };
    let value: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return (vec![], Some(damaged(e.to_string(), Some(e.line())))),
    };
    let positions = value
        .get("positions")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(id, p)| {
                    Some(NodePosition {
                        id: id.clone(),
                        x: p.get("x")?.as_f64()?,
                        y: p.get("y")?.as_f64()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default(); // no `positions` object: nothing was dragged yet
    (positions, None)
}

/// The routes as rows, if every one is a plain `{when, emit}` or `{else}` of text.
fn route_rows(routes: Option<&Value>) -> Option<Vec<RouteDraft>> {
    let Some(routes) = routes else {
        return Some(Vec::new());
    };
    routes
        .as_array()?
        .iter()
        .map(|r| {
            let m = r.as_object()?;
            let text = |k: &str| m.get(k).and_then(Value::as_str).map(String::from);
            match m.len() {
                2 => Some(RouteDraft {
                    when: Some(text("when")?),
                    emit: text("emit")?,
                }),
                1 => Some(RouteDraft {
                    when: None,
                    emit: text("else")?,
                }),
                _ => None,
            }
        })
        .collect()
}

fn draft(chain: &ChainDef, a: &chainlift_model::chain::AgentSpec) -> AgentDraft {
    let names: Vec<&str> = chain.agents.iter().map(|a| a.name.as_str()).collect();
    let text = |s: &Option<chainlift_model::chain::Scalar>| s.as_ref().map(|v| v.0.clone());
    AgentDraft {
        name: a.name.clone(),
        kind: a.kind.clone().unwrap_or_else(|| "llm".into()),
        prompt: a.prompt.clone(),
        triggers: a.triggers().to_vec(),
        emits: a.emits.clone(),
        emitted: a.emitted_events(&names),
        routes: route_rows(a.routes.as_ref()).unwrap_or_default(),
        routes_fixed: a
            .routes
            .as_ref()
            .filter(|r| route_rows(Some(r)).is_none())
            .map(|r| serde_json::to_string_pretty(r).unwrap_or_default()),
        model: text(&a.model),
        timeout: text(&a.timeout),
        wait_for: a.wait_for.clone(),
        on_error: a.on_error.clone(),
        file: a
            .file
            .as_ref()
            .and_then(|f| f.strip_prefix(&chain.dir).ok())
            .map(|f| f.display().to_string()),
    }
}

impl Chainlift {
    /// The chain as the editor shows it: agents, findings per agent, positions, fingerprint.
    pub async fn editor(&self, at: &ProjectArgs) -> Result<EditorView> {
        let (_, chain) = at.chain()?;
        let report = self.validate(at, None).await?;
        let names: Vec<String> = chain.agents.iter().map(|a| a.name.clone()).collect();
        let findings: Vec<AgentFinding> = report
            .findings
            .into_iter()
            .map(|f| {
                let agents = names
                    .iter()
                    .filter(|n| {
                        f.message.contains(&format!("`{n}`"))
                            || f.file.as_deref().is_some_and(|p| {
                                Path::new(p).file_stem().and_then(|s| s.to_str()) == Some(n)
                                    && p.contains("agents")
                            })
                    })
                    .cloned()
                    .collect();
                AgentFinding { agents, finding: f }
            })
            .collect();
        let (layout, damaged) = read_layout(&chain.dir);
        let mut findings = findings;
        findings.extend(damaged.map(|finding| AgentFinding {
            agents: vec![],
            finding,
        }));
        Ok(EditorView {
            chain: chain.name.clone(),
            dir: chain.dir.display().to_string(),
            chain_file: chain.file.display().to_string(),
            fingerprint: fingerprint(&chain.dir)?,
            agents: chain.agents.iter().map(|a| draft(&chain, a)).collect(),
            findings,
            layout,
        })
    }

    /// Apply `edits` to the chain's files. Refused with `conflict` when the files changed since
    /// `base` (the fingerprint the editor read); then nothing is written.
    pub async fn editor_save(
        &self,
        at: &ProjectArgs,
        base: &str,
        edits: &[ChainEdit],
    ) -> Result<EditorView> {
        let (_, chain) = at.chain()?;
        if chain.file.extension().is_some_and(|e| e == "json") {
            return Err(bad(format!(
                "{}: the editor writes chain.yaml only; edit chain.json by hand",
                chain.file.display()
            )));
        }
        if fingerprint(&chain.dir)? != base {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "{}: the chain's files changed on disk since the editor read them; reload them or keep your edits and save again",
                    chain.dir.display()
                ),
            ));
        }
        let mut pending = Pending {
            dir: chain.dir.clone(),
            chain_file: chain.file.clone(),
            files: BTreeMap::new(),
        };
        for edit in edits {
            pending.apply(edit)?;
        }
        pending.write()?;
        self.editor(at).await
    }

    /// Keep node positions in the sidecar (never in chain.yaml).
    pub fn layout_save(&self, at: &ProjectArgs, positions: &[NodePosition]) -> Result<()> {
        let (_, chain) = at.chain()?;
        let mut map = serde_json::Map::new();
        for p in positions {
            if !p.x.is_finite() || !p.y.is_finite() {
                return Err(bad(format!("position of {} is not a number", p.id)));
            }
            map.insert(
                p.id.clone(),
                serde_json::json!({"x": p.x.round(), "y": p.y.round()}),
            );
        }
        let text = serde_json::to_string_pretty(&serde_json::json!({ "positions": map }))
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        write_whole(&chain.dir, &chain.dir.join(LAYOUT_FILE), &(text + "\n"))
    }
}

/// Write `text` to `path` (inside `root`) through a fresh temporary file and a rename:
/// readers see the old file or the new one, never half of it, and no link is followed.
pub(crate) fn write_whole(root: &Path, path: &Path, text: &str) -> Result<()> {
    chainlift_model::confine::write_atomic(root, path, text.as_bytes()).map_err(ApiError::from)
}
