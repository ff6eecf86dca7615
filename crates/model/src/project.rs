//! A project: its root, id and policy (`chainlift.yaml`), and how commands find it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::chain::{find_with_stem, parse_file, unknown_in};
use crate::error::ModelError;
use crate::fields::{self, UnknownField};

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct ModelEntry {
    pub provider: String,
    pub id: Option<String>,
    pub base_url: Option<String>,
    pub input_per_mtok: Option<f64>,
    pub output_per_mtok: Option<f64>,
    #[serde(default)]
    pub dev_only: bool,
    pub api_key_secret: Option<String>,
}

impl ModelEntry {
    fn priced(provider: &str, id: &str, input: f64, output: f64) -> ModelEntry {
        ModelEntry {
            provider: provider.into(),
            id: Some(id.into()),
            base_url: None,
            input_per_mtok: Some(input),
            output_per_mtok: Some(output),
            dev_only: false,
            api_key_secret: None,
        }
    }

    /// The secret that holds this provider's key.
    pub fn key_secret(&self) -> String {
        self.api_key_secret
            .clone()
            .unwrap_or_else(|| match self.provider.as_str() {
                "anthropic" => "ANTHROPIC_API_KEY".into(),
                _ => "OPENAI_API_KEY".into(),
            })
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct EnvPolicy {
    pub name: String,
    pub gates: Option<Vec<String>>,
    pub approval: Option<String>,
    /// Who may approve promotions to this env (names as in `user:`); unset: anyone.
    pub approvers: Option<Vec<String>>,
    pub monitor: Option<serde_json::Value>,
}

/// A team's own checklist item (DESIGN.md §5): manual, ticked by a person.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TeamItem {
    pub key: String,
    pub section: Option<String>,
    pub text: String,
    /// A required item blocks approval until ticked; `required: false` never blocks.
    #[serde(default = "yes")]
    pub required: bool,
    /// The envs whose promotions carry it; unset: every env.
    pub envs: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Policy {
    pub name: Option<String>,
    pub user: Option<String>,
    pub environments: Option<Vec<EnvPolicy>>,
    #[serde(default)]
    pub models: BTreeMap<String, ModelEntry>,
    /// Entry points of serve (DESIGN.md §9): a name, and the chain it runs, written as a chain
    /// name or `${FLAG:then:else}` so the env's flag picks the chain at each request.
    #[serde(default)]
    pub entrypoints: BTreeMap<String, String>,
    /// The team's own checklist items, added to the promotions of their envs.
    #[serde(default)]
    pub checklist: Vec<TeamItem>,
}

/// Why an entry point cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrypointProblem {
    pub name: String,
    pub at: crate::SourceLocation,
    pub message: String,
}

/// Prices in USD per million tokens for models people use today; `chainlift.yaml` overrides.
fn builtin_model(name: &str) -> Option<ModelEntry> {
    let entry = match name {
        "gpt-5.4-mini" => ModelEntry::priced("openai", "gpt-5.4-mini", 0.25, 2.0),
        "gpt-5.4" => ModelEntry::priced("openai", "gpt-5.4", 1.25, 10.0),
        "gpt-4o-mini" => ModelEntry::priced("openai", "gpt-4o-mini", 0.15, 0.6),
        "gpt-4o" => ModelEntry::priced("openai", "gpt-4o", 2.5, 10.0),
        "claude-sonnet" | "claude-sonnet-4-5" => {
            ModelEntry::priced("anthropic", "claude-sonnet-4-5", 3.0, 15.0)
        }
        "claude-haiku" | "claude-haiku-4-5" => {
            ModelEntry::priced("anthropic", "claude-haiku-4-5", 1.0, 5.0)
        }
        "claude-opus" | "claude-opus-4-5" => {
            ModelEntry::priced("anthropic", "claude-opus-4-5", 5.0, 25.0)
        }
        _ => return None,
    };
    Some(entry)
}

#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub id: String,
    pub policy: Policy,
    /// Keys of `chainlift.yaml` the format does not know.
    pub unknown_fields: Vec<UnknownField>,
    /// Set when another folder already holds this project's name in the data folder, so this
    /// one got an id of its own (bound by the api, DESIGN.md §2).
    pub identity_note: Option<String>,
}

/// Which chain a command is about.
#[derive(Debug, Clone)]
pub struct ChainRef {
    pub project: Project,
    pub dir: PathBuf,
}

fn is_project_root(dir: &Path) -> bool {
    dir.join("chainlift.yaml").is_file() || dir.join("chains").is_dir()
}

fn is_chain_dir(dir: &Path) -> bool {
    find_with_stem(dir, "chain").is_some()
}

fn nearest_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| is_project_root(d))
        .map(Path::to_path_buf)
}

fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    joined.canonicalize().unwrap_or(joined)
}

impl Project {
    pub fn open(root: &Path) -> Result<Project, ModelError> {
        if !root.is_dir() {
            return Err(ModelError::NotFound(format!(
                "{}: no such project folder (give --project a folder holding chainlift.yaml or chains/)",
                root.display()
            )));
        }
        let (policy, unknown_fields) = match find_with_stem(root, "chainlift") {
            Some(path) => {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| ModelError::read(&path, e))?;
                let policy = parse_file::<Option<Policy>>(&path, &text)?.unwrap_or_default();
                (policy, unknown_in(&path, &text, &fields::POLICY)?)
            }
            None => (Policy::default(), vec![]),
        };
        let id = policy.name.clone().unwrap_or_else(|| {
            root.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("project")
                .to_string()
        });
        Ok(Project {
            root: root.to_path_buf(),
            id,
            policy,
            unknown_fields,
            identity_note: None,
        })
    }

    /// Find the project (and the chain, when one is named) as DESIGN.md §2 says:
    /// `--project DIR`, else the CHAIN argument's folder, else the nearest ancestor of `cwd`.
    pub fn discover(
        project: Option<&Path>,
        chain: Option<&str>,
        cwd: &Path,
    ) -> Result<(Project, Option<PathBuf>), ModelError> {
        Self::discover_with(project, chain, cwd, Project::open)
    }

    /// [`Project::discover`], opening the project folder with `open` (e.g. from a memo).
    pub fn discover_with(
        project: Option<&Path>,
        chain: Option<&str>,
        cwd: &Path,
        open: impl FnOnce(&Path) -> Result<Project, ModelError>,
    ) -> Result<(Project, Option<PathBuf>), ModelError> {
        let chain_path = chain
            .map(|c| absolute(Path::new(c), cwd))
            .filter(|p| is_chain_dir(p));
        let root = match (project, &chain_path) {
            (Some(p), _) => absolute(p, cwd),
            (None, Some(chain_dir)) => nearest_root(chain_dir.parent().unwrap_or(chain_dir))
                .unwrap_or_else(|| chain_dir.clone()),
            (None, None) => nearest_root(&absolute(cwd, cwd)).ok_or_else(|| {
                ModelError::NotFound(format!(
                    "no Chainlift project here ({}): run inside a folder holding chainlift.yaml or chains/, or pass --project DIR",
                    cwd.display()
                ))
            })?,
        };
        let project = open(&root)?;
        let chain_dir = match (chain, chain_path) {
            (_, Some(dir)) => Some(dir),
            (Some(name), None) => Some(project.chain_dir(name)?),
            (None, None) => None,
        };
        Ok((project, chain_dir))
    }

    /// The folder of the chain called `name` in this project.
    pub fn chain_dir(&self, name: &str) -> Result<PathBuf, ModelError> {
        let dir = self.root.join("chains").join(name);
        if is_chain_dir(&dir) {
            return Ok(dir);
        }
        let known = self
            .chain_dirs()
            .iter()
            .filter_map(|d| d.file_name()?.to_str().map(String::from))
            .collect::<Vec<_>>();
        Err(ModelError::NotFound(format!(
            "no chain `{name}` in {} (chains here: {})",
            self.root.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )))
    }

    /// Every chain folder under `chains/`, sorted.
    pub fn chain_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.root.join("chains"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| is_chain_dir(p))
            .collect();
        dirs.sort();
        dirs
    }

    /// Environments in promotion order: the policy's, else dev → staging → production.
    pub fn environments(&self) -> Vec<String> {
        match &self.policy.environments {
            Some(envs) => envs.iter().map(|e| e.name.clone()).collect(),
            None => ["dev", "staging", "production"].map(String::from).to_vec(),
        }
    }

    /// The chain an entry point runs in an env with these flag values: `${FLAG:then:else}`
    /// takes `then` when the flag is on, else `else` (a flag never set is off).
    pub fn entrypoint_chain(
        &self,
        name: &str,
        flags: &BTreeMap<String, String>,
    ) -> Result<String, ModelError> {
        let Some(template) = self.policy.entrypoints.get(name) else {
            let known: Vec<&str> = self.policy.entrypoints.keys().map(String::as_str).collect();
            return Err(ModelError::NotFound(format!(
                "no entry point `{name}` in {}/chainlift.yaml (entry points: {})",
                self.root.display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        };
        let lookup = |n: &str| match flags.get(n) {
            Some(v) => crate::subst::Lookup::Value(v.clone()),
            None => crate::subst::Lookup::Missing,
        };
        let chain =
            crate::subst::substitute(template, &lookup).map_err(|e| ModelError::Invalid {
                at: self.policy_at(name),
                message: format!("entrypoints.{name}: {}", subst_message(&e)),
                hint: "write a chain name or `${FLAG:chain-a:chain-b}`".into(),
            })?;
        if !crate::confine::is_plain_name(&chain) {
            return Err(ModelError::Invalid {
                at: self.policy_at(name),
                message: format!("entrypoints.{name} picks `{chain}`, which is not a chain name"),
                hint: "name a folder under chains/ (letters, digits, _ - .)".into(),
            });
        }
        self.chain_dir(&chain).map_err(|e| {
            ModelError::NotFound(format!("entrypoints.{name} picks `{chain}`: {e}"))
        })?;
        Ok(chain)
    }

    /// The env's watch policy: `None` where it has no `monitor:` (a deploy is `stable` at once).
    pub fn monitor(&self, env: &str) -> Option<Result<crate::monitor::MonitorPolicy, String>> {
        let policy = self
            .policy
            .environments
            .iter()
            .flatten()
            .find(|e| e.name == env)?;
        policy
            .monitor
            .as_ref()
            .filter(|v| !v.is_null())
            .map(crate::monitor::MonitorPolicy::parse)
    }

    /// The team's checklist items for promotions to `env`, once every item of `checklist:` is
    /// well formed (else what to fix).
    pub fn team_items(&self, env: &str) -> Result<Vec<&TeamItem>, String> {
        self.check_team_items()?;
        Ok(self
            .policy
            .checklist
            .iter()
            .filter(|i| i.envs.as_ref().is_none_or(|e| e.iter().any(|x| x == env)))
            .collect())
    }

    /// What is wrong with `checklist:` in chainlift.yaml, if anything.
    pub fn check_team_items(&self) -> Result<(), String> {
        const MAX_ITEMS: usize = 50;
        let items = &self.policy.checklist;
        if items.len() > MAX_ITEMS {
            return Err(format!(
                "checklist: {} items, at most {MAX_ITEMS}",
                items.len()
            ));
        }
        let envs = self.environments();
        let mut seen = std::collections::BTreeSet::new();
        for item in items {
            let key = &item.key;
            let slug = !key.is_empty()
                && key.len() <= 64
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !slug {
                return Err(format!(
                    "checklist: key `{}` must be 1-64 lowercase letters, digits or dashes",
                    key.chars().take(64).collect::<String>()
                ));
            }
            if crate::checklist::CHECKLIST.iter().any(|k| k.key == key) {
                return Err(format!(
                    "checklist: `{key}` is one of the built-in items: give the team's item a key of its own"
                ));
            }
            if !seen.insert(key.as_str()) {
                return Err(format!("checklist: `{key}` appears twice"));
            }
            if item.text.trim().is_empty() || item.text.chars().count() > 500 {
                return Err(format!(
                    "checklist.{key}: text must say what a person checks, in 1-500 characters"
                ));
            }
            if let Some(section) = &item.section {
                if section.trim().is_empty() || section.chars().count() > 40 {
                    return Err(format!("checklist.{key}: section must be 1-40 characters"));
                }
            }
            for env in item.envs.iter().flatten() {
                if !envs.contains(env) {
                    return Err(format!(
                        "checklist.{key}: env `{env}` is not one of the project's ({})",
                        envs.join(", ")
                    ));
                }
            }
        }
        for env in self.policy.environments.iter().flatten() {
            for name in env.approvers.iter().flatten() {
                if name.trim().is_empty() || name.chars().count() > 100 {
                    return Err(format!(
                        "environments.{}.approvers: names must be 1-100 characters",
                        env.name
                    ));
                }
            }
            if env.approvers.as_ref().is_some_and(Vec::is_empty) {
                return Err(format!(
                    "environments.{}.approvers is empty: nobody could approve; name who may, or remove it",
                    env.name
                ));
            }
        }
        Ok(())
    }

    /// Who may approve promotions to `env`; `None`: anyone.
    pub fn approvers(&self, env: &str) -> Option<&[String]> {
        self.policy
            .environments
            .iter()
            .flatten()
            .find(|e| e.name == env)
            .and_then(|e| e.approvers.as_deref())
    }

    /// Where `key:` first appears in chainlift.yaml (line 0 when it does not).
    pub fn policy_at(&self, key: &str) -> crate::SourceLocation {
        let file = find_with_stem(&self.root, "chainlift")
            .unwrap_or_else(|| self.root.join("chainlift.yaml"));
        let line = std::fs::read_to_string(&file)
            .ok()
            .and_then(|text| {
                text.lines().position(|l| {
                    l.trim_start()
                        .trim_start_matches(['"', '\''])
                        .starts_with(key)
                })
            })
            .map_or(0, |i| i + 1);
        crate::SourceLocation { file, line }
    }

    /// What is wrong with the entry points, whatever the flags say: each one must be a chain
    /// name or one flag switch between two chains of this project.
    pub fn entrypoint_problems(&self) -> Vec<EntrypointProblem> {
        let mut out = Vec::new();
        for (name, template) in &self.policy.entrypoints {
            let mut problem = |message: String| {
                out.push(EntrypointProblem {
                    name: name.clone(),
                    at: self.policy_at(name),
                    message: format!("entrypoints.{name}: {message}"),
                })
            };
            if !crate::confine::is_plain_name(name) {
                problem(format!(
                    "entry point name `{name}` is not plain (letters, digits, _ - .)"
                ));
                continue;
            }
            let refs = match crate::subst::references(template) {
                Ok(r) => r,
                Err(e) => {
                    problem(subst_message(&e));
                    continue;
                }
            };
            let choices: Vec<String> = match refs.as_slice() {
                [] => vec![template.clone()],
                [crate::subst::Reference {
                    flag: Some((then, other)),
                    ..
                }] if template.starts_with("${") && template.ends_with('}') => {
                    vec![then.clone(), other.clone()]
                }
                _ => {
                    problem(format!(
                        "`{template}` is neither a chain name nor one `${{FLAG:then:else}}`"
                    ));
                    continue;
                }
            };
            for c in choices {
                if !crate::confine::is_plain_name(&c) {
                    problem(format!("`{c}` is not a chain name"));
                } else if let Err(e) = self.chain_dir(&c) {
                    problem(e.to_string());
                }
            }
        }
        out
    }

    /// What `model` (an alias or a provider's id) means: provider, id and prices.
    pub fn model(&self, model: &str) -> ModelEntry {
        if let Some(entry) = self.policy.models.get(model) {
            return entry.clone();
        }
        builtin_model(model).unwrap_or_else(|| ModelEntry {
            provider: if model.starts_with("claude") {
                "anthropic"
            } else {
                "openai"
            }
            .into(),
            id: Some(model.to_string()),
            base_url: None,
            input_per_mtok: None,
            output_per_mtok: None,
            dev_only: false,
            api_key_secret: None,
        })
    }
}

fn subst_message(e: &crate::subst::SubstError) -> String {
    match e {
        crate::subst::SubstError::Unresolved(n) => format!("`${{{n}}}` has no value"),
        crate::subst::SubstError::Malformed(t) => format!("`{t}` is malformed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_from_chain_folder_and_from_cwd() -> Result<(), ModelError> {
        let tmp = tempfile::tempdir().map_err(|e| ModelError::read("tmp", e))?;
        let root = tmp.path().join("acme");
        let chain = root.join("chains/c1");
        std::fs::create_dir_all(&chain).map_err(|e| ModelError::read(&chain, e))?;
        std::fs::write(chain.join("chain.yaml"), "name: c1\n")
            .map_err(|e| ModelError::read(&chain, e))?;

        let (project, dir) = Project::discover(None, Some("chains/c1"), &root)?;
        assert_eq!(project.id, "acme");
        assert!(dir.is_some_and(|d| d.ends_with("chains/c1")));

        let (project, dir) = Project::discover(None, Some("c1"), &chain)?;
        assert_eq!(project.id, "acme");
        assert!(dir.is_some_and(|d| d.ends_with("chains/c1")));

        std::fs::write(root.join("chainlift.yaml"), "name: named\n")
            .map_err(|e| ModelError::read(&root, e))?;
        let (project, _) = Project::discover(Some(&root), None, tmp.path())?;
        assert_eq!(project.id, "named");
        assert!(Project::discover(None, Some("nope"), &root).is_err());
        Ok(())
    }

    #[test]
    fn model_aliases_and_prices() -> Result<(), ModelError> {
        let tmp = tempfile::tempdir().map_err(|e| ModelError::read("tmp", e))?;
        let project = Project::open(tmp.path())?;
        assert_eq!(project.model("claude-sonnet").provider, "anthropic");
        assert_eq!(project.model("gpt-5.4-mini").input_per_mtok, Some(0.25));
        assert_eq!(project.model("my-local").input_per_mtok, None);
        Ok(())
    }
}
