//! A chain plus one environment's config → typed values the engine can run.
//!
//! Precedence (DESIGN.md §2): `--var` > flag values > `config/<env>.env` > defaults. Secret
//! references stay `${NAME}` placeholders; values are type-checked after substitution and a
//! bad one is reported at the line holding the reference, naming the env file that gave it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use crate::chain::{ChainDef, OutputKind, Scalar};
use crate::envfile::EnvFile;
use crate::error::SourceLocation;
use crate::project::{ModelEntry, Project};
use crate::subst::{self, Lookup, SubstError};

/// One problem found while resolving a chain for an environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolveIssue {
    pub code: &'static str,
    pub message: String,
    pub at: SourceLocation,
    pub hint: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedAgent {
    pub name: String,
    /// The model as the chain names it (an alias or a provider's id).
    pub model: String,
    pub model_entry: ModelEntry,
    pub timeout: Duration,
    pub prompt: String,
    pub triggers: Vec<String>,
    pub emits: Option<String>,
    pub output: OutputKind,
    pub schema: Option<PathBuf>,
    pub max_tokens: u32,
    pub temperature: Option<f64>,
    pub max_attempts: u32,
    /// First retry delay and the cap of the exponential backoff.
    pub initial_delay: Duration,
    pub max_delay: Duration,
    /// `wait_for: all`: start once every trigger has arrived (fan-in), not on each.
    pub wait_for_all: bool,
    /// `routes:` in order; the first whose `when` holds picks the event (`when: None` is `else`).
    pub routes: Vec<Route>,
    /// An event to emit, or an agent to hand over to, when this agent fails.
    pub on_error: Option<String>,
    /// `kind: command`: run a CLI agent instead of calling a model.
    pub command: Option<CommandSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub when: Option<String>,
    pub emit: String,
}

/// Where a command agent runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Workspace {
    Local { dir: PathBuf },
    Docker { container: String },
    Ssh { host: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec {
    /// The command line, run by `sh -c` with the rendered prompt on stdin.
    pub command: String,
    pub workspace: Workspace,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedChain {
    pub name: String,
    pub dir: PathBuf,
    pub env: String,
    pub agents: Vec<ResolvedAgent>,
    pub output_from: Option<String>,
    pub output_schema: Option<PathBuf>,
    pub output_file: Option<String>,
    pub output_template: Option<PathBuf>,
    pub retries: u32,
    pub concurrency: u32,
    pub cost_per_run: Option<f64>,
    pub cost_per_day: Option<f64>,
    pub max_rounds: u32,
    /// `limits.output_bytes`: the cap on a command agent's stdout and stderr.
    pub output_bytes: u64,
    /// Passwords found in URL-valued config values: redacted from everything a run writes.
    pub url_passwords: Vec<crate::secret::SecretValue>,
    pub data: BTreeMap<String, String>,
    pub notify: BTreeMap<String, String>,
    /// The merged env config without secret values: what a deployment snapshots.
    pub config: BTreeMap<String, String>,
    /// Every name treated as a secret: the chain's `secrets:` and the providers' keys.
    pub secrets: BTreeSet<String>,
    /// The chain's own `secrets:` (what a command agent's environment may receive).
    pub declared_secrets: BTreeSet<String>,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
const DEFAULT_MAX_TOKENS: u32 = 2000;
const DEFAULT_OUTPUT_BYTES: u64 = 10 * 1024 * 1024;

/// Parse `60`, `60s`, `500ms`, `2m`, `1h`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    // Out of range (a hostile `99999999999999999999`) is a bad value, never a panic.
    if !(secs.is_finite() && (0.0..=MAX_DURATION_SECS).contains(&secs)) {
        return None;
    }
    Duration::try_from_secs_f64(secs).ok()
}

/// The longest duration a value may name (a year); timeouts are further held to a day.
const MAX_DURATION_SECS: f64 = 366.0 * 86_400.0;
/// A timeout longer than this is an error (DESIGN.md §2: "out of range such as over 24 h").
pub const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);

/// Quote `value` for `sh`: one single-quoted word, whatever it holds.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// Names that are secrets for this chain whatever `secrets:` says: provider keys.
pub fn secret_names(chain: &ChainDef, project: &Project, models: &[String]) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = chain.secrets.iter().cloned().collect();
    names.insert("OPENAI_API_KEY".into());
    names.insert("ANTHROPIC_API_KEY".into());
    for m in models {
        names.insert(project.model(m).key_secret());
    }
    names
}

pub struct ResolveInput<'a> {
    pub project: &'a Project,
    pub chain: &'a ChainDef,
    pub env: &'a str,
    pub env_file: Option<&'a EnvFile>,
    pub vars: &'a BTreeMap<String, String>,
    pub flags: &'a BTreeMap<String, String>,
}

struct Resolver<'a> {
    input: &'a ResolveInput<'a>,
    secrets: BTreeSet<String>,
    issues: Vec<ResolveIssue>,
}

impl Resolver<'_> {
    fn lookup(&self, name: &str) -> Lookup {
        if self.secrets.contains(name) {
            return Lookup::Secret;
        }
        let i = self.input;
        if let Some(v) = i.vars.get(name).or_else(|| i.flags.get(name)) {
            return Lookup::Value(v.clone());
        }
        match i.env_file.and_then(|f| f.get(name)) {
            Some(v) => Lookup::Value(v.to_string()),
            None => Lookup::Missing,
        }
    }

    fn env_file_label(&self) -> String {
        match self.input.env_file {
            Some(f) => f.path.display().to_string(),
            None => format!("config/{}.env", self.input.env),
        }
    }

    /// Substitute `text`; on failure record an issue and return None.
    fn text(&mut self, text: &str) -> Option<String> {
        match subst::substitute(text, &|n| self.lookup(n)) {
            Ok(v) => Some(v),
            Err(SubstError::Unresolved(name)) => {
                let at = self.input.chain.locate(&format!("${{{name}"));
                let label = self.env_file_label();
                self.issues.push(ResolveIssue {
                    code: "unresolved-var",
                    message: format!("`${{{name}}}` has no value in env `{}`", self.input.env),
                    at,
                    hint: format!("add {name}=… to {label}, or write ${{{name}:-default}}"),
                });
                None
            }
            Err(SubstError::Malformed(bad)) => {
                let at = self.input.chain.locate(&bad);
                self.issues.push(ResolveIssue {
                    code: "bad-reference",
                    message: format!("malformed reference in `{bad}`"),
                    at,
                    hint: "write ${NAME}, ${NAME:-default} or ${FLAG:then:else}".into(),
                });
                None
            }
        }
    }

    /// Like [`Self::text`], but every substituted value is shell-quoted (a command line).
    fn shell_text(&mut self, text: &str) -> Option<String> {
        let quoted = |n: &str| match self.lookup(n) {
            Lookup::Value(v) => Lookup::Value(shell_quote(&v)),
            other => other,
        };
        match subst::substitute(text, &quoted) {
            Ok(v) => Some(v),
            // Same errors as plain text; report them the same way.
            Err(_) => self.text(text),
        }
    }

    /// A path the chain names, inside the chain folder; else an issue and None.
    fn path(&mut self, rel: &str, what: &str) -> Option<PathBuf> {
        match self.input.chain.path(rel) {
            Ok(p) => Some(p),
            Err(e) => {
                self.outside(rel, what, &e.to_string());
                None
            }
        }
    }

    fn outside(&mut self, rel: &str, what: &str, message: &str) {
        let at = self.input.chain.locate(rel);
        self.issues.push(ResolveIssue {
            code: "path-outside-chain",
            message: format!("{what}: {message}"),
            at,
            hint: format!("write {what} as a path inside the chain folder"),
        });
    }

    /// A docker container or ssh host that cannot be taken for an option.
    fn option_safe(&mut self, value: &str, what: &str, agent: &str) -> Option<String> {
        let value = self.text(value)?;
        if value.starts_with('-') || value.trim().is_empty() {
            let at = self.input.chain.locate(&value);
            self.issues.push(ResolveIssue {
                code: "bad-workspace",
                message: format!(
                    "command agent `{agent}`: {what} `{value}` would be read as an option"
                ),
                at,
                hint: format!("give a {what} name that does not start with `-`"),
            });
            return None;
        }
        Some(value)
    }

    /// Agent, event and env names become file names and keys: plain ones only.
    fn check_names(&mut self) {
        let chain = self.input.chain;
        let env = self.input.env;
        if !crate::confine::is_plain_name(env) {
            self.issues.push(ResolveIssue {
                code: "bad-name",
                message: format!("env name `{env}` is not plain"),
                at: SourceLocation {
                    file: chain.dir.join("config"),
                    line: 0,
                },
                hint:
                    "name env files with letters, digits, `_`, `-` or `.` (not starting with `.`)"
                        .into(),
            });
        }
        let names: Vec<&str> = chain.agents.iter().map(|a| a.name.as_str()).collect();
        for agent in &chain.agents {
            if !crate::confine::is_plain_name(&agent.name) {
                self.issues.push(ResolveIssue {
                    code: "bad-name",
                    message: format!("agent name `{}` is not plain", agent.name),
                    at: chain.locate(&agent.name),
                    hint: "use letters, digits, `_`, `-` or `.` (not starting with `.`, no `/`)"
                        .into(),
                });
            }
            let events = agent
                .triggers()
                .iter()
                .cloned()
                .chain(agent.emitted_events(&names));
            for event in events {
                if !crate::confine::is_event_name(&event) {
                    self.issues.push(ResolveIssue {
                        code: "bad-name",
                        message: format!("event `{event}` of agent `{}` is not plain", agent.name),
                        at: chain.locate(&event),
                        hint: "use letters, digits, `_`, `-`, `.` and `:` (e.g. `research:done`)"
                            .into(),
                    });
                }
            }
        }
    }

    /// Substitute and convert a typed value, blaming the env file line that gave it.
    fn typed<T>(
        &mut self,
        scalar: &Scalar,
        what: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let value = self.text(&scalar.0)?;
        if let Some(v) = parse(&value) {
            return Some(v);
        }
        let refs = subst::references(&scalar.0).unwrap_or_default();
        let (at, source) = match refs.first() {
            Some(r) => {
                let at = self.input.chain.locate(&format!("${{{}", r.name));
                let source = if self.input.vars.contains_key(&r.name) {
                    format!(" (given by --var {})", r.name)
                } else {
                    match self
                        .input
                        .env_file
                        .and_then(|f| f.entries.get(&r.name).map(|e| (f, e)))
                    {
                        Some((f, e)) => {
                            format!(" (from {}:{} {})", f.path.display(), e.line, r.name)
                        }
                        None => String::new(),
                    }
                };
                (at, source)
            }
            None => (self.input.chain.locate(&scalar.0), String::new()),
        };
        self.issues.push(ResolveIssue {
            code: "bad-value",
            message: match crate::lint::secret_kind(&value) {
                // A pasted key in the wrong variable must not be echoed.
                Some(_) => format!(
                    "{what} (value hidden: it looks like a secret) is not {expected}{source}"
                ),
                None => format!("{what} `{value}` is not {expected}{source}"),
            },
            at,
            hint: format!("give {what} {expected}"),
        });
        None
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

fn parse_money(s: &str) -> Option<f64> {
    s.trim()
        .trim_start_matches('$')
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
}

pub fn resolve(input: &ResolveInput<'_>) -> Result<ResolvedChain, Vec<ResolveIssue>> {
    let chain = input.chain;
    let project = input.project;

    // The raw model names decide which provider keys are secrets; resolve them first.
    let mut probe = Resolver {
        input,
        secrets: chain.secrets.iter().cloned().collect(),
        issues: vec![],
    };
    let models: Vec<String> = chain
        .agents
        .iter()
        .filter_map(|a| a.model.as_ref().and_then(|m| probe.text(&m.0)))
        .collect();
    let secrets = secret_names(chain, project, &models);
    let mut r = Resolver {
        input,
        secrets: secrets.clone(),
        issues: vec![],
    };

    for name in input.vars.keys() {
        if secrets.contains(name) {
            r.issues.push(ResolveIssue {
                code: "var-on-secret",
                message: format!("--var {name} is refused: {name} is a secret"),
                at: SourceLocation {
                    file: chain.file.clone(),
                    line: 0,
                },
                hint: format!(
                    "store it with `chainlift secrets set --env {} {name}`",
                    input.env
                ),
            });
        }
    }

    let mut agents = Vec::new();
    for spec in &chain.agents {
        let is_command = spec.kind.as_deref() == Some("command");
        let model = match (&spec.model, is_command) {
            (Some(m), _) => r.text(&m.0),
            (None, true) => Some("command".to_string()),
            (None, false) => {
                r.issues.push(ResolveIssue {
                    code: "missing-model",
                    message: format!("agent `{}` names no model", spec.name),
                    at: chain.locate(&format!("name: {}", spec.name)),
                    hint: "add `model: ${MODEL}` to the agent".into(),
                });
                None
            }
        };
        let timeout = match &spec.timeout {
            Some(t) => r.typed(
                t,
                "timeout",
                "a duration of at most 24h (60, 60s, 2m)",
                |v| parse_duration(v).filter(|d| *d <= MAX_TIMEOUT),
            ),
            None => Some(DEFAULT_TIMEOUT),
        };
        let prompt = spec
            .prompt
            .as_deref()
            .map(|p| r.text(p))
            .unwrap_or(Some(String::new()));
        let max_tokens = match &spec.max_tokens {
            Some(t) => r.typed(t, "max_tokens", "a whole number", parse_u32),
            None => Some(DEFAULT_MAX_TOKENS),
        };
        let temperature = match &spec.temperature {
            Some(t) => r
                .typed(t, "temperature", "a number", |s| {
                    s.trim().parse::<f64>().ok()
                })
                .map(Some),
            None => Some(None),
        };
        let retry_field = |key: &str| spec.retry.as_ref().and_then(|v| v.get(key)).cloned();
        let as_text = |v: serde_json::Value| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let max_attempts = retry_field("max_attempts")
            .map(as_text)
            .and_then(|s| parse_u32(&s));
        let initial_delay = retry_field("initial_delay")
            .map(as_text)
            .and_then(|s| parse_duration(&s));
        let max_delay = retry_field("max_delay")
            .map(as_text)
            .and_then(|s| parse_duration(&s));
        let routes = spec
            .routes
            .as_ref()
            .and_then(|v| v.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|route| {
                        match (
                            route.get("when").and_then(|w| w.as_str()),
                            route.get("emit"),
                            route.get("else"),
                        ) {
                            (Some(when), Some(emit), _) => emit.as_str().map(|e| Route {
                                when: Some(when.to_string()),
                                emit: e.to_string(),
                            }),
                            (None, _, Some(other)) => other.as_str().map(|e| Route {
                                when: None,
                                emit: e.to_string(),
                            }),
                            _ => None,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let command = if is_command {
            // Values substituted into a shell line are quoted: a flag `x; curl …|sh` stays one word.
            let line = spec.command.as_ref().and_then(|c| r.shell_text(&c.0));
            let ws = spec.workspace.as_ref();
            let field = |k: &str| {
                ws.and_then(|w| w.get(k))
                    .and_then(|v| v.as_str())
                    .map(String::from)
            };
            let issues_before = r.issues.len();
            let workspace = match field("type").as_deref() {
                Some("docker") => field("container")
                    .and_then(|c| r.option_safe(&c, "container", &spec.name))
                    .map(|container| Workspace::Docker { container }),
                Some("ssh") => field("host")
                    .and_then(|h| r.option_safe(&h, "host", &spec.name))
                    .map(|host| Workspace::Ssh { host }),
                _ => r
                    .path(&field("dir").unwrap_or_else(|| ".".into()), "workspace.dir")
                    .map(|dir| Workspace::Local { dir }),
            };
            match (line, workspace) {
                (Some(command), Some(workspace)) => Some(CommandSpec { command, workspace }),
                // The workspace was already reported (bad-workspace, path-outside-chain).
                (_, None) if r.issues.len() > issues_before => None,
                _ => {
                    r.issues.push(ResolveIssue {
                        code: "bad-command-agent",
                        message: format!("command agent `{}` needs `command:` and a complete `workspace:`", spec.name),
                        at: chain.locate(&format!("name: {}", spec.name)),
                        hint: "e.g. `command: claude -p` and `workspace: {type: local, dir: ./work}` (docker needs container, ssh needs host)".into(),
                    });
                    None
                }
            }
        } else {
            None
        };
        if let (Some(model), Some(timeout), Some(prompt), Some(max_tokens), Some(temperature)) =
            (model, timeout, prompt, max_tokens, temperature)
        {
            if is_command && command.is_none() {
                continue;
            }
            agents.push(ResolvedAgent {
                name: spec.name.clone(),
                model_entry: project.model(&model),
                model,
                timeout,
                prompt,
                triggers: spec.triggers().to_vec(),
                emits: spec.emits.clone(),
                output: spec.output.unwrap_or_default(),
                schema: spec.schema.as_ref().and_then(|s| r.path(s, "schema")),
                max_tokens,
                temperature,
                max_attempts: max_attempts.unwrap_or(0),
                initial_delay: initial_delay.unwrap_or(Duration::from_secs(1)),
                max_delay: max_delay.unwrap_or(Duration::from_secs(30)),
                wait_for_all: spec.wait_for.as_deref() == Some("all"),
                routes,
                on_error: spec.on_error.clone(),
                command,
            });
        }
    }

    let retries = match &chain.execution.retries {
        Some(s) => r.typed(s, "retries", "a whole number", parse_u32),
        None => Some(0),
    };
    let concurrency = match &chain.execution.concurrency {
        Some(s) => r.typed(s, "concurrency", "a whole number", parse_u32),
        None => Some(1),
    };
    let cost_per_run = chain
        .limits
        .cost_per_run
        .as_ref()
        .map(|s| r.typed(s, "cost_per_run", "an amount in USD", parse_money));
    let cost_per_day = chain
        .limits
        .cost_per_day
        .as_ref()
        .map(|s| r.typed(s, "cost_per_day", "an amount in USD", parse_money));
    let output_bytes = match &chain.limits.output_bytes {
        Some(s) => r.typed(s, "output_bytes", "a number of bytes up to 1 GiB", |v| {
            v.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=1 << 30).contains(n))
        }),
        None => Some(DEFAULT_OUTPUT_BYTES),
    };
    let max_rounds = match &chain.limits.max_rounds {
        Some(s) => r.typed(s, "max_rounds", "a whole number", parse_u32),
        None => Some(3),
    };
    let mut data = BTreeMap::new();
    for (k, v) in &chain.data {
        if let Some(v) = r.text(&v.0) {
            data.insert(k.clone(), v);
        }
    }
    let mut notify = BTreeMap::new();
    for (k, v) in &chain.notify {
        if let Some(v) = r.text(&v.0) {
            notify.insert(k.clone(), v);
        }
    }
    let output_template = chain
        .output
        .template
        .as_ref()
        .and_then(|t| r.path(t, "output.template"));
    let output_schema = chain
        .output
        .schema
        .as_ref()
        .and_then(|t| r.path(t, "output.schema"));
    if let Some(file) = &chain.output.file {
        // The output is written inside the run folder: relative, without `..`.
        if let Err(e) = crate::confine::relative(file) {
            r.outside(file, "output.file", &e.to_string());
        }
    }
    r.check_names();

    let mut config: BTreeMap<String, String> = input
        .env_file
        .map(|f| {
            f.entries
                .iter()
                .map(|(k, e)| (k.clone(), e.value.clone()))
                .collect()
        })
        .unwrap_or_default();
    config.extend(input.flags.iter().map(|(k, v)| (k.clone(), v.clone())));
    config.extend(input.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    config.retain(|k, _| !secrets.contains(k));
    // A URL's password is a secret: out of the snapshot, diffs and audit (DESIGN.md §2), and
    // in the run's redactor so no output or event file keeps it.
    let mut url_passwords = Vec::new();
    for value in config.values_mut() {
        if let Some(pw) = crate::secret::url_password(value) {
            url_passwords.push(crate::secret::SecretValue::new(pw));
            *value = crate::secret::mask_url_password(value);
        }
    }

    let issues = r.issues;
    match (
        retries,
        concurrency,
        cost_per_run,
        cost_per_day,
        max_rounds,
        output_bytes,
    ) {
        (Some(retries), Some(concurrency), cpr, cpd, Some(max_rounds), Some(output_bytes))
            if issues.is_empty()
                && cpr.is_none_or(|c| c.is_some())
                && cpd.is_none_or(|c| c.is_some()) =>
        {
            Ok(ResolvedChain {
                name: chain.name.clone(),
                dir: chain.dir.clone(),
                env: input.env.to_string(),
                agents,
                output_from: chain.output.from.clone(),
                output_schema,
                output_file: chain.output.file.clone(),
                output_template,
                retries,
                concurrency,
                cost_per_run: cpr.flatten(),
                cost_per_day: cpd.flatten(),
                max_rounds,
                output_bytes,
                url_passwords,
                data,
                notify,
                config,
                secrets,
                declared_secrets: chain.secrets.iter().cloned().collect(),
            })
        }
        _ => Err(issues),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fixture() -> (tempfile::TempDir, Project, ChainDef) {
        let tmp = tempfile::tempdir().expect("temp dir for the test");
        let dir = tmp.path().join("chains/c");
        std::fs::create_dir_all(dir.join("config")).expect("mkdir");
        std::fs::write(
            dir.join("chain.yaml"),
            "name: c\nsecrets: [HOOK]\nagents:\n  - name: a\n    model: ${MODEL}\n    timeout: ${AGENT_TIMEOUT}\n    prompt: \"{{ input.x }}\"\n    triggers: [chain:start]\n    emits: chain:complete\nnotify: {slack: \"${HOOK}\"}\nexecution: {retries: \"${RETRIES:-2}\"}\n",
        )
        .expect("write chain");
        let project = Project::open(tmp.path()).expect("project");
        let chain = ChainDef::load(&dir).expect("chain");
        (tmp, project, chain)
    }

    fn env(text: &str) -> EnvFile {
        EnvFile::parse(Path::new("config/dev.env"), text).expect("env parses")
    }

    /// Resolve the fixture chain for `dev` with this env file text and these `--var`s.
    fn resolve_dev(
        env_text: &str,
        vars: &[(&str, &str)],
    ) -> Result<ResolvedChain, Vec<ResolveIssue>> {
        let (_tmp, project, chain) = fixture();
        let file = env(env_text);
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let flags = BTreeMap::new();
        let input = ResolveInput {
            project: &project,
            chain: &chain,
            env: "dev",
            env_file: Some(&file),
            vars: &vars,
            flags: &flags,
        };
        resolve(&input)
    }

    #[test]
    fn resolves_with_precedence_and_keeps_secrets() {
        let resolved = resolve_dev(
            "MODEL=gpt-4o\nAGENT_TIMEOUT=2m\nHOOK=leak\n",
            &[("MODEL", "gpt-4o-mini")],
        )
        .expect("resolves");
        assert_eq!(resolved.agents[0].model, "gpt-4o-mini");
        assert_eq!(resolved.agents[0].timeout, Duration::from_secs(120));
        assert_eq!(resolved.agents[0].prompt, "{{ input.x }}");
        assert_eq!(resolved.retries, 2);
        assert_eq!(resolved.notify["slack"], "${HOOK}");
        assert!(
            !resolved.config.contains_key("HOOK"),
            "secret values stay out of the snapshot"
        );
    }

    #[test]
    fn bad_value_names_line_and_env_file() {
        let issues = resolve_dev("MODEL=gpt-4o\n\nAGENT_TIMEOUT=abc\n", &[])
            .expect_err("abc is no duration");
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].at.line, 6, "the line holding ${{AGENT_TIMEOUT}}");
        assert!(
            issues[0].message.contains("config/dev.env:3"),
            "{}",
            issues[0].message
        );
    }

    #[test]
    fn unresolved_and_var_on_secret() {
        let issues =
            resolve_dev("AGENT_TIMEOUT=60\n", &[("HOOK", "x")]).expect_err("MODEL missing");
        let codes: Vec<_> = issues.iter().map(|i| i.code).collect();
        assert!(
            codes.contains(&"unresolved-var") && codes.contains(&"var-on-secret"),
            "{codes:?}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("60s"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("abc"), None);
        assert_eq!(parse_duration("-1"), None);
    }
}
