//! Lint: what `chainlift validate` reports. Each finding names the variable, event or field it
//! is about, where it is (file and line) and how to fix it — and never prints a secret value or
//! any part of one.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::chain::{AgentSpec, ChainDef, Scalar};
use crate::envfile::EnvFile;
use crate::error::SourceLocation;
use crate::project::Project;
use crate::resolve::{secret_names, ResolveIssue, ResolvedChain};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lint {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub env: Option<String>,
    pub at: Option<SourceLocation>,
    pub hint: String,
}

/// One environment as the linter sees it.
pub struct EnvLint {
    pub name: String,
    pub file: Option<EnvFile>,
    pub resolved: Result<ResolvedChain, Vec<ResolveIssue>>,
    /// Whether findings about this env are reported (`validate --env` narrows).
    pub report: bool,
}

pub struct LintInput<'a> {
    pub project: &'a Project,
    pub chain: &'a ChainDef,
    /// Every env in promotion order; the last is production.
    pub envs: &'a [EnvLint],
    /// Whether a secret is set in an env (from the database or the process env, never the keychain).
    pub secret_is_set: &'a dyn Fn(&str, &str) -> bool,
    /// The keyed hash `secrets set` recorded of a secret's value in an env (never the value;
    /// `None` when unset, recorded before hashes, or read from process variables).
    pub secret_hash: &'a dyn Fn(&str, &str) -> Option<String>,
}

/// A secret-valued config value with each `${SECRET}` replaced by the keyed hash of that
/// env's value, so two envs' values compare equal exactly when the secrets hold the same
/// value. `None` when any referenced secret has no recorded hash in `env`: not comparable.
pub fn secret_fingerprint(
    value: &str,
    env: &str,
    secret_hash: &dyn Fn(&str, &str) -> Option<String>,
) -> Option<String> {
    let refs = crate::subst::references(value).ok()?;
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    for r in refs {
        let start = rest.find("${")?;
        let end = start + rest[start..].find('}')?;
        out.push_str(&rest[..start]);
        out.push_str("${#");
        out.push_str(&secret_hash(env, &r.name)?);
        out.push('}');
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Every code the linter can report, with its severity, for the README table and tests.
pub const CODES: &[(&str, Severity, &str)] = &[
    ("unknown-field", Severity::Error, "a key the format does not know (suggests the nearest)"),
    ("duplicate-agent", Severity::Error, "two agents share a name"),
    ("trigger-never-emitted", Severity::Error, "an agent triggers on an event no agent emits"),
    ("no-start", Severity::Error, "no agent triggers on chain:start"),
    ("no-path-to-complete", Severity::Error, "chain:complete cannot be reached from chain:start"),
    ("cycle-without-max-rounds", Severity::Error, "agents trigger each other in a loop and limits.max_rounds is not set"),
    ("unresolved-var", Severity::Error, "a ${VAR} has no value in that env (says which)"),
    ("bad-value", Severity::Error, "a value has the wrong type after substitution (names the env file line that gave it)"),
    ("bad-reference", Severity::Error, "a malformed ${…}"),
    ("var-on-secret", Severity::Error, "--var given for a secret"),
    ("missing-model", Severity::Error, "an agent names no model"),
    ("bad-command-agent", Severity::Error, "a command agent lacks `command:` or a complete `workspace:`"),
    ("missing-env-file", Severity::Error, "an env has no config/<env>.env"),
    ("prompt-syntax", Severity::Error, "a prompt is not a valid template"),
    ("unknown-prompt-variable", Severity::Error, "a prompt reads something other than input, events or data, or a data source that does not exist"),
    ("prompt-input-field", Severity::Error, "a prompt reads an input field the input schema does not have"),
    ("prompt-event-unavailable", Severity::Error, "a prompt reads an event no earlier agent emits"),
    ("secret-literal", Severity::Error, "a chain, agent or env file holds what looks like an API key or token"),
    ("secret-in-env-file", Severity::Error, "an env file gives a secret a value"),
    ("shares-production-data", Severity::Error, "a non-production env uses production's data source or notification target"),
    ("names-production-host", Severity::Error, "a non-production env's data source or notification target names a production host"),
    ("invalid-schema", Severity::Error, "a schema file is missing, not JSON, or not valid JSON Schema"),
    ("missing-file", Severity::Error, "a file the chain names does not exist"),
    ("bad-name", Severity::Error, "an agent, event or env name that is not plain (letters, digits, _ - . ; events also :)"),
    ("path-outside-chain", Severity::Error, "a path the chain names leaves the chain folder (absolute, `..`, or a link out)"),
    ("bad-schedule", Severity::Error, "`schedule:` is not a cron (5 or 6 fields), zone, `missed` or input the scheduler can use"),
    ("bad-entrypoint", Severity::Error, "an entry point in chainlift.yaml is not a chain name or one `${FLAG:then:else}` between two chains of the project"),
    ("bad-monitor", Severity::Error, "an env's `monitor:` in chainlift.yaml has a value the watch cannot use"),
    ("bad-checklist", Severity::Error, "`checklist:` or an env's `approvers:` in chainlift.yaml cannot be used"),
    ("bad-workspace", Severity::Error, "a command agent's docker container or ssh host starts with `-` (it would be read as an option)"),
    ("invalid-fixture", Severity::Error, "a fixture is missing, not JSON, or invalid against the input schema"),
    ("bad-match-rule", Severity::Error, "expected-output.json holds a rule that cannot be applied"),
    ("emit-unheard", Severity::Warning, "an agent emits an event nobody triggers on"),
    ("staging-model-differs", Severity::Warning, "staging runs a different model than production"),
    ("dev-only-in-production", Severity::Warning, "production uses a model marked dev_only"),
    ("timeout-longer", Severity::Warning, "a timeout is longer than in the previous env"),
    ("retries-fewer", Severity::Warning, "fewer attempts than in the previous env"),
    ("no-cost-cap", Severity::Warning, "staging or production without cost_per_run and cost_per_day"),
    ("secret-unset", Severity::Warning, "a secret the env needs is not set"),
];

fn severity_of(code: &str) -> Severity {
    CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, s, _)| *s)
        .unwrap_or(Severity::Error)
}

struct Out {
    lints: Vec<Lint>,
}

impl Out {
    fn push(
        &mut self,
        code: &'static str,
        env: Option<&str>,
        at: Option<SourceLocation>,
        message: String,
        hint: impl Into<String>,
    ) {
        self.lints.push(Lint {
            code,
            severity: severity_of(code),
            message,
            env: env.map(String::from),
            at,
            hint: hint.into(),
        });
    }
}

pub fn lint(input: &LintInput<'_>) -> Vec<Lint> {
    let mut out = Out { lints: Vec::new() };
    let chain = input.chain;
    for u in input
        .chain
        .unknown_fields
        .iter()
        .chain(&input.project.unknown_fields)
    {
        let hint = match &u.suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => "remove it, or check DESIGN.md §2 for the fields a chain takes".into(),
        };
        out.push(
            "unknown-field",
            None,
            Some(u.at.clone()),
            format!("unknown field `{}`", u.path),
            hint,
        );
    }
    lint_agents(chain, &mut out);
    lint_events(chain, &mut out);
    lint_prompts(chain, &mut out);
    lint_files(chain, &mut out);
    lint_schedule(chain, &mut out);
    for p in input.project.entrypoint_problems() {
        out.push(
            "bad-entrypoint",
            None,
            Some(p.at),
            p.message,
            "entrypoints: {content: \"${USE_NEW_PIPELINE:content-pipeline-v2:content-pipeline-v1}\"}, naming chains under chains/",
        );
    }
    for env in input.project.policy.environments.iter().flatten() {
        if let Some(Err(message)) = input.project.monitor(&env.name) {
            out.push(
                "bad-monitor",
                Some(&env.name),
                Some(input.project.policy_at("monitor")),
                message,
                "monitor: {window: 24h, interval: 5m, max_failure_rate: 0.1, steps: [10, 50]} (DESIGN.md §10)",
            );
        }
    }
    if let Err(message) = input.project.check_team_items() {
        out.push(
            "bad-checklist",
            None,
            Some(input.project.policy_at("checklist")),
            message,
            "checklist: [{key: legal-review, section: team, text: \"Legal read the prompts\", envs: [production]}] (DESIGN.md §5)",
        );
    }
    for (path, text) in &chain.sources {
        lint_secret_literals(path, text, &mut out);
    }
    for env in input.envs.iter().filter(|e| e.report) {
        if let Some(file) = &env.file {
            if let Ok(text) = std::fs::read_to_string(&file.path) {
                lint_secret_literals(&file.path, &text, &mut out);
            }
        }
    }
    lint_envs(input, &mut out);
    let mut lints = out.lints;
    // One `${AGENT_TIMEOUT}` shared by two agents is one problem, reported once.
    let mut seen = BTreeSet::new();
    lints.retain(|l| {
        seen.insert((
            l.code,
            l.env.clone(),
            l.message.clone(),
            l.at.clone().map(|a| (a.file, a.line)),
        ))
    });
    lints.sort_by_key(|l| l.severity);
    lints
}

fn agent_at(chain: &ChainDef, agent: &AgentSpec) -> SourceLocation {
    match &agent.file {
        Some(f) => chain.locate_in(f, "name:"),
        None => chain.locate(&format!("name: {}", agent.name)),
    }
}

fn lint_agents(chain: &ChainDef, out: &mut Out) {
    let mut seen = BTreeSet::new();
    for a in &chain.agents {
        if !seen.insert(a.name.as_str()) {
            out.push(
                "duplicate-agent",
                None,
                Some(chain.locate(&format!("name: {}", a.name))),
                format!("two agents are named `{}`", a.name),
                "rename one: events and outputs are keyed by agent name",
            );
        }
    }
}

/// The event graph: who emits and who hears each event, and which agent hands over to which.
struct Events<'a> {
    agents: Vec<&'a AgentSpec>,
    emits: Vec<Vec<String>>,
    succ: Vec<Vec<usize>>,
    preds: Vec<Vec<usize>>,
}

impl<'a> Events<'a> {
    fn new(chain: &'a ChainDef) -> Self {
        let names: Vec<&str> = chain.agents.iter().map(|a| a.name.as_str()).collect();
        let emits: Vec<Vec<String>> = chain
            .agents
            .iter()
            .map(|a| a.emitted_events(&names))
            .collect();
        let mut hearers: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (j, a) in chain.agents.iter().enumerate() {
            for t in a.triggers() {
                hearers.entry(t.as_str()).or_default().push(j);
            }
        }
        let n = chain.agents.len();
        let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, a) in chain.agents.iter().enumerate() {
            let mut next: Vec<usize> = emits[i]
                .iter()
                .flat_map(|e| hearers.get(e.as_str()).into_iter().flatten().copied())
                .collect();
            // on_error naming an agent hands over to it directly.
            if let Some(target) = a.on_error.as_deref() {
                next.extend(names.iter().position(|n| *n == target));
            }
            next.sort_unstable();
            next.dedup();
            for &j in &next {
                preds[j].push(i);
            }
            succ[i] = next;
        }
        Events {
            agents: chain.agents.iter().collect(),
            emits,
            succ,
            preds,
        }
    }

    /// Events reachable from chain:start.
    fn reachable_events(&self) -> BTreeSet<String> {
        let mut seen_events: BTreeSet<String> = BTreeSet::from(["chain:start".to_string()]);
        let mut ran = vec![false; self.agents.len()];
        let mut queue: VecDeque<String> = VecDeque::from(["chain:start".to_string()]);
        while let Some(e) = queue.pop_front() {
            for (i, a) in self.agents.iter().enumerate() {
                if !ran[i] && a.triggers().contains(&e) {
                    ran[i] = true;
                    for x in &self.emits[i] {
                        if seen_events.insert(x.clone()) {
                            queue.push_back(x.clone());
                        }
                    }
                }
            }
        }
        seen_events
    }

    /// The agents of one cycle, if the agents trigger each other in a loop.
    fn a_cycle(&self) -> Option<Vec<usize>> {
        let n = self.agents.len();
        let succ = &self.succ;
        let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
        let mut stack: Vec<usize> = Vec::new();
        fn dfs(
            i: usize,
            succ: &[Vec<usize>],
            state: &mut [u8],
            stack: &mut Vec<usize>,
        ) -> Option<Vec<usize>> {
            state[i] = 1;
            stack.push(i);
            for &j in &succ[i] {
                if state[j] == 1 {
                    let from = stack.iter().position(|&x| x == j).unwrap_or(0);
                    return Some(stack[from..].to_vec());
                }
                if state[j] == 0 {
                    if let Some(c) = dfs(j, succ, state, stack) {
                        return Some(c);
                    }
                }
            }
            stack.pop();
            state[i] = 2;
            None
        }
        (0..n).find_map(|i| {
            if state[i] == 0 {
                dfs(i, succ, &mut state, &mut stack)
            } else {
                None
            }
        })
    }

    /// Events an agent can read: chain:start and whatever its ancestors (and itself, in a loop) emit.
    fn available_to(&self, target: usize) -> BTreeSet<String> {
        let n = self.agents.len();
        let preds = &self.preds;
        let mut seen = vec![false; n];
        let mut queue = VecDeque::from(preds[target].clone());
        let mut events = BTreeSet::from(["chain:start".to_string()]);
        while let Some(i) = queue.pop_front() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            events.extend(self.emits[i].iter().cloned());
            queue.extend(preds[i].iter().copied());
        }
        events
    }
}

fn lint_events(chain: &ChainDef, out: &mut Out) {
    let graph = Events::new(chain);
    let emitted: BTreeSet<&str> = graph.emits.iter().flatten().map(String::as_str).collect();
    let heard: BTreeSet<&str> = chain
        .agents
        .iter()
        .flat_map(|a| a.triggers().iter().map(String::as_str))
        .collect();
    for a in &chain.agents {
        for t in a
            .triggers()
            .iter()
            .filter(|t| *t != "chain:start" && !emitted.contains(t.as_str()))
        {
            let near = crate::fields::nearest(
                t,
                emitted.iter().copied().filter(|e| *e != "chain:complete"),
            );
            let hint = match near {
                Some(n) => format!("did you mean `{n}`? Events are matched by exact name"),
                None => format!("emit `{t}` from an earlier agent, or fix the event name"),
            };
            let at = a
                .file
                .as_ref()
                .map(|f| chain.locate_in(f, t))
                .unwrap_or_else(|| chain.locate(t));
            out.push(
                "trigger-never-emitted",
                None,
                Some(at),
                format!("agent `{}` triggers on `{t}`, which no agent emits", a.name),
                hint,
            );
        }
    }
    for (i, a) in chain.agents.iter().enumerate() {
        for e in graph.emits[i]
            .iter()
            .filter(|e| *e != "chain:complete" && !heard.contains(e.as_str()))
            // `<agent>:error` exists for the on_error handler's prompt, not for triggers.
            .filter(|e| e.strip_suffix(":error") != Some(a.name.as_str()))
        {
            let at = a
                .file
                .as_ref()
                .map(|f| chain.locate_in(f, e))
                .unwrap_or_else(|| chain.locate(e));
            out.push(
                "emit-unheard",
                None,
                Some(at),
                format!("agent `{}` emits `{e}`, which no agent triggers on", a.name),
                format!("add `{e}` to a later agent's triggers, or emit chain:complete"),
            );
        }
    }
    let top = Some(chain.locate("agents:"));
    if !heard.contains("chain:start") {
        out.push(
            "no-start",
            None,
            top.clone(),
            "no agent triggers on chain:start, so the chain can never begin".into(),
            "add `triggers: [chain:start]` to the first agent",
        );
    } else if !graph.reachable_events().contains("chain:complete") {
        out.push(
            "no-path-to-complete",
            None,
            top,
            "no path of events leads from chain:start to chain:complete, so the chain can never finish".into(),
            "make the last agent `emits: chain:complete`, and check each trigger matches an earlier emit",
        );
    }
    if chain.limits.max_rounds.is_none() {
        if let Some(cycle) = graph.a_cycle() {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&i| chain.agents[i].name.as_str())
                .collect();
            let at = agent_at(chain, &chain.agents[cycle[0]]);
            let what = match names.as_slice() {
                [one] => format!("agent `{one}` triggers itself"),
                many => format!("agents {} trigger each other", many.join(" → ")),
            };
            out.push(
                "cycle-without-max-rounds",
                None,
                Some(at),
                format!("{what} in a loop and nothing bounds it"),
                "set `limits: {max_rounds: 3}` in chain.yaml (how often an agent may run in one run)",
            );
        }
    }
}

static EVENT_REF: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"events\s*\[\s*["']([^"']+)["']\s*\]"#).ok());

fn input_properties(chain: &ChainDef) -> Option<BTreeSet<String>> {
    let schema = read_json(&chain.dir.join(chain.input_schema.as_ref()?)).ok()?;
    let props = schema.get("properties")?.as_object()?;
    Some(props.keys().cloned().collect())
}

fn lint_prompts(chain: &ChainDef, out: &mut Out) {
    let graph = Events::new(chain);
    let input_fields = input_properties(chain);
    let env = minijinja::Environment::new();
    for (i, a) in chain.agents.iter().enumerate() {
        let Some(prompt) = &a.prompt else { continue };
        let locate = |needle: &str| match &a.file {
            Some(f) => chain.locate_in(f, needle),
            None => chain.locate(needle),
        };
        let template = match env.template_from_str(prompt) {
            Ok(t) => t,
            Err(e) => {
                out.push(
                    "prompt-syntax",
                    None,
                    Some(locate("prompt")),
                    format!(
                        "agent `{}`: the prompt is not a valid template: {}",
                        a.name,
                        e.detail().unwrap_or("syntax error")
                    ),
                    "close every {{ … }} and {% … %}; write literal braces as {{ '{{' }}",
                );
                continue;
            }
        };
        for var in template.undeclared_variables(true) {
            let mut parts = var.splitn(2, '.');
            let root = parts.next().unwrap_or_default();
            let field = parts.next().map(|f| f.split('.').next().unwrap_or(f));
            match (root, field) {
                ("input", Some(f)) => {
                    if let Some(fields) = &input_fields {
                        if !fields.contains(f) {
                            out.push("prompt-input-field", None, Some(locate(&var)), format!("agent `{}` reads `{var}`, but the input schema has no field `{f}`", a.name), format!("add `{f}` to the input schema, or fix the name"));
                        }
                    }
                }
                ("data", Some(f)) if !chain.data.contains_key(f) => {
                    let known: Vec<&str> = chain.data.keys().map(String::as_str).collect();
                    out.push(
                        "unknown-prompt-variable",
                        None,
                        Some(locate(&var)),
                        format!("agent `{}` reads `{var}`, but `data:` has no `{f}`", a.name),
                        format!(
                            "add `{f}` under `data:` in chain.yaml (known: {})",
                            if known.is_empty() {
                                "none".into()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                }
                ("input" | "events" | "data", _) => {}
                (other, _) => {
                    out.push(
                        "unknown-prompt-variable",
                        None,
                        Some(locate(other)),
                        format!(
                            "agent `{}` reads `{other}`, which a prompt cannot see",
                            a.name
                        ),
                        "prompts see `input`, `events[\"name\"].output` and `data`",
                    );
                }
            }
        }
        if let Some(re) = EVENT_REF.as_ref() {
            let available = graph.available_to(i);
            for cap in re.captures_iter(prompt) {
                let event = cap.get(1).map(|m| m.as_str()).unwrap_or_default();
                if !available.contains(event) {
                    out.push(
                        "prompt-event-unavailable",
                        None,
                        Some(locate(event)),
                        format!(
                            "agent `{}` reads events[\"{event}\"], which no earlier agent emits",
                            a.name
                        ),
                        "read an event emitted by an agent that runs before this one",
                    );
                }
            }
        }
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("line {}: not valid JSON: {e}", e.line()))
}

/// Check a JSON Schema file; returns it when it is usable.
fn check_schema(chain: &ChainDef, rel: &str, what: &str, out: &mut Out) -> Option<Value> {
    let path = chain.dir.join(rel);
    let at = Some(chain.locate(rel));
    let schema = match read_json(&path) {
        Ok(v) => v,
        Err(e) => {
            out.push(
                "invalid-schema",
                None,
                at,
                format!("{what} {}: {e}", path.display()),
                "point it at a JSON Schema file in the chain folder",
            );
            return None;
        }
    };
    match jsonschema::validator_for(&schema) {
        Ok(_) => Some(schema),
        Err(e) => {
            out.push(
                "invalid-schema",
                None,
                at,
                format!("{what} {} is not valid JSON Schema: {e}", path.display()),
                "fix the schema (https://json-schema.org/draft/2020-12)",
            );
            None
        }
    }
}

/// `schedule:` parses (cron, zone, missed), and its input file is in the chain folder and meets
/// `input.schema`.
fn lint_schedule(chain: &ChainDef, out: &mut Out) {
    let Some(raw) = &chain.schedule else {
        return;
    };
    let at = Some(chain.locate("schedule:"));
    let schedule = match crate::schedule::Schedule::parse(raw) {
        Ok(s) => s,
        Err(e) => {
            out.push(
                "bad-schedule",
                None,
                at,
                e,
                "schedule: \"0 9 * * 1-5\" or {cron: \"*/30 * * * * *\", timezone: Europe/Paris, input: test-fixtures/daily.json, missed: skip}",
            );
            return;
        }
    };
    let input = match &schedule.input {
        None => Value::Object(Default::default()),
        Some(rel) => {
            let path = match chain.path(rel) {
                Ok(p) => p,
                Err(e) => {
                    out.push(
                        "bad-schedule",
                        None,
                        at,
                        e.to_string(),
                        "give a file under the chain folder",
                    );
                    return;
                }
            };
            match read_json(&path) {
                Ok(v) => v,
                Err(e) => {
                    out.push(
                        "bad-schedule",
                        None,
                        at,
                        format!("schedule.input {}: {e}", path.display()),
                        "give a JSON file under the chain folder",
                    );
                    return;
                }
            }
        }
    };
    let Some(rel) = &chain.input_schema else {
        return;
    };
    let Some(schema) = chain.path(rel).ok().and_then(|p| read_json(&p).ok()) else {
        return; // the schema's own problems are reported where it is named
    };
    if let Ok(v) = jsonschema::validator_for(&schema) {
        let errors: Vec<String> = v
            .iter_errors(&input)
            .take(5)
            .map(|e| e.to_string())
            .collect();
        if !errors.is_empty() {
            out.push(
                "bad-schedule",
                None,
                at,
                format!(
                    "the scheduled input ({}) breaks input.schema: {}",
                    schedule.input.as_deref().unwrap_or("{}"),
                    errors.join("; ")
                ),
                "give schedule.input a file that meets input.schema",
            );
        }
    }
}

fn lint_files(chain: &ChainDef, out: &mut Out) {
    if let Some(rel) = &chain.output.schema {
        check_schema(chain, rel, "output schema", out);
    }
    let mut checked = BTreeSet::new();
    for a in &chain.agents {
        if let Some(rel) = a.schema.as_ref().filter(|r| checked.insert(r.as_str())) {
            if chain.output.schema.as_ref() != Some(rel) {
                check_schema(chain, rel, &format!("agent `{}` schema", a.name), out);
            }
        }
    }
    if let Some(rel) = &chain.output.template {
        if !chain.dir.join(rel).is_file() {
            out.push(
                "missing-file",
                None,
                Some(chain.locate(rel)),
                format!("output template {rel} does not exist"),
                "create it, or remove `template:` to write the output as JSON",
            );
        }
    }
    let input_schema = chain
        .input_schema
        .as_ref()
        .and_then(|rel| check_schema(chain, rel, "input schema", out));
    let validator = input_schema
        .as_ref()
        .and_then(|s| jsonschema::validator_for(s).ok());
    let gates = chain.gates.clone().unwrap_or(Value::Null);
    let fixture = |rel: &str, must_match_input: bool, out: &mut Out| {
        let path = chain.dir.join(rel);
        let at = Some(chain.locate(rel));
        match read_json(&path) {
            Err(e) => out.push(
                "invalid-fixture",
                None,
                at,
                format!("fixture {rel}: {e}"),
                "create the fixture, or fix its path in chain.yaml's gates",
            ),
            Ok(value) => {
                if let (true, Some(v)) = (must_match_input, &validator) {
                    if let Some(err) = v.iter_errors(&value).next() {
                        out.push(
                            "invalid-fixture",
                            None,
                            at,
                            format!("fixture {rel} does not match the input schema: {err}"),
                            "fix the fixture or the input schema",
                        );
                    }
                }
            }
        }
    };
    if let Some(rel) = gates.pointer("/smoke/input").and_then(Value::as_str) {
        fixture(rel, true, out);
    }
    if let Some(dir) = gates.pointer("/quality/inputs").and_then(Value::as_str) {
        let path = chain.dir.join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        if files.is_empty() {
            out.push(
                "invalid-fixture",
                None,
                Some(chain.locate(dir)),
                format!("quality inputs {dir} holds no .json files"),
                "add representative inputs, one JSON file each",
            );
        }
        for f in files {
            let rel = f
                .strip_prefix(&chain.dir)
                .unwrap_or(&f)
                .display()
                .to_string();
            fixture(&rel, true, out);
        }
    }
    if let Some(rel) = gates.pointer("/smoke/expected").and_then(Value::as_str) {
        match read_json(&chain.dir.join(rel)) {
            Err(e) => out.push(
                "invalid-fixture",
                None,
                Some(chain.locate(rel)),
                format!("fixture {rel}: {e}"),
                "create it with match rules keyed by output path",
            ),
            Ok(rules) => {
                if let Err(errors) = crate::expect::parse_rules(&rules) {
                    for e in errors {
                        let at = chain.locate_in(&chain.dir.join(rel), &format!("\"{}\"", e.path));
                        out.push("bad-match-rule", None, Some(at), format!("rule for `{}`: {}", e.path, e.message), "rules: type, min_items, max_items, regex, contains, approx (+ tolerance), equals, exists");
                    }
                }
            }
        }
    }
}

static KEY_PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("an Anthropic API key", r"sk-ant-[A-Za-z0-9_-]{20,}"),
        ("an OpenAI API key", r"sk-(proj-)?[A-Za-z0-9_-]{20,}"),
        ("a Slack token", r"xox[abprs]-[A-Za-z0-9-]{10,}"),
        (
            "a Slack webhook",
            r"hooks\.slack\.com/services/[A-Za-z0-9/]{20,}",
        ),
        ("an AWS access key", r"AKIA[0-9A-Z]{16}"),
        (
            "a GitHub token",
            r"(ghp|gho|ghs|ghu)_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}",
        ),
        ("a GitLab token", r"glpat-[A-Za-z0-9_-]{20,}"),
        ("a Google API key", r"AIza[0-9A-Za-z_-]{35}"),
        ("a private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
        (
            "a password in a URL",
            r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@$]{3,}@",
        ),
    ]
    .into_iter()
    .filter_map(|(what, re)| Regex::new(re).ok().map(|r| (what, r)))
    .collect()
});

/// Bits per character of a token; random keys score high, words and ids low.
fn entropy(token: &str) -> f64 {
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    for c in token.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let n = token.chars().count() as f64;
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

fn looks_random(token: &str) -> bool {
    token.len() >= 24
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/_=-".contains(c))
        && token.chars().any(|c| c.is_ascii_uppercase())
        && token.chars().any(|c| c.is_ascii_lowercase())
        && token.chars().any(|c| c.is_ascii_digit())
        && entropy(token) >= 4.0
}

/// What kind of secret `line` seems to hold, if any ("an OpenAI API key", "a high-entropy token").
pub fn secret_kind(line: &str) -> Option<&'static str> {
    KEY_PATTERNS
        .iter()
        .find(|(_, re)| re.is_match(line))
        .map(|(w, _)| *w)
        .or_else(|| {
            line.split(|c: char| c.is_whitespace() || "\"'=:,/{}[]()`".contains(c))
                .any(looks_random)
                .then_some("a high-entropy token")
        })
}

fn lint_secret_literals(path: &Path, text: &str, out: &mut Out) {
    for (i, line) in text.lines().enumerate() {
        let what = secret_kind(line);
        if let Some(what) = what {
            out.push(
                "secret-literal",
                None,
                Some(SourceLocation { file: path.to_path_buf(), line: i + 1 }),
                format!("line {} holds what looks like {what}; secrets never belong in chain, agent or env files", i + 1),
                "move it to the keychain: `chainlift secrets set --env ENV NAME`, list NAME under `secrets:` and write ${NAME}",
            );
        }
    }
}

/// The env file line that gave the first `${VAR}` of `scalar`, else where it is written.
fn config_at(chain: &ChainDef, env: &EnvLint, text: &str) -> SourceLocation {
    let refs = crate::subst::references(text).unwrap_or_default();
    for r in &refs {
        if let Some((file, entry)) = env
            .file
            .as_ref()
            .and_then(|f| f.entries.get(&r.name).map(|e| (f, e)))
        {
            return SourceLocation {
                file: file.path.clone(),
                line: entry.line,
            };
        }
    }
    chain.locate(text)
}

/// The host of a URL-like value (`postgres://user@db:5432/x` → `db`), lowercased.
pub fn host_of(value: &str) -> Option<String> {
    let rest = value.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = if host_port.starts_with('[') {
        host_port.split(']').next()?.trim_start_matches('[')
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn lint_envs(input: &LintInput<'_>, out: &mut Out) {
    let chain = input.chain;
    let envs = input.envs;
    let resolved: Vec<Option<&ResolvedChain>> =
        envs.iter().map(|e| e.resolved.as_ref().ok()).collect();
    let last = envs.len().saturating_sub(1);
    for (i, env) in envs.iter().enumerate() {
        if !env.report {
            continue;
        }
        let name = env.name.as_str();
        let e = Some(name);
        match &env.resolved {
            Err(issues) => {
                for issue in issues {
                    out.push(
                        issue.code,
                        e,
                        Some(issue.at.clone()),
                        issue.message.clone(),
                        issue.hint.clone(),
                    );
                }
            }
            Ok(r) => {
                for secret in needed_secrets(chain, r) {
                    if !(input.secret_is_set)(name, &secret) {
                        out.push(
                            "secret-unset",
                            e,
                            None,
                            format!("secret {secret} is not set for env `{name}`"),
                            format!("chainlift secrets set --env {name} {secret}"),
                        );
                    }
                }
                if i > 0 && (r.cost_per_run.is_none() || r.cost_per_day.is_none()) {
                    let missing = match (r.cost_per_run.is_none(), r.cost_per_day.is_none()) {
                        (true, true) => "cost_per_run and cost_per_day",
                        (true, false) => "cost_per_run",
                        _ => "cost_per_day",
                    };
                    out.push("no-cost-cap", e, Some(chain.locate("limits")), format!("env `{name}` has no {missing}"), "set `limits: {cost_per_run: ${MAX_COST_PER_RUN}, cost_per_day: ${MAX_COST_PER_DAY}}` and give each env its caps");
                }
                if i == last && envs.len() > 1 {
                    for a in r.agents.iter().filter(|a| a.model_entry.dev_only) {
                        let at = chain
                            .agent(&a.name)
                            .and_then(|s| s.model.as_ref())
                            .map(|m| config_at(chain, env, &m.0));
                        out.push(
                            "dev-only-in-production",
                            e,
                            at,
                            format!(
                                "agent `{}` uses `{}` in `{name}`, a model marked dev_only",
                                a.name, a.model
                            ),
                            "use the production model here (chainlift.yaml marks dev_only models)",
                        );
                    }
                }
                if envs.len() >= 3 && i + 1 == last {
                    if let Some(prod) = resolved[last] {
                        for a in &r.agents {
                            if let Some(p) = prod
                                .agents
                                .iter()
                                .find(|p| p.name == a.name)
                                .filter(|p| p.model != a.model)
                            {
                                let at = chain
                                    .agent(&a.name)
                                    .and_then(|s| s.model.as_ref())
                                    .map(|m| config_at(chain, env, &m.0));
                                out.push("staging-model-differs", e, at, format!("agent `{}` runs `{}` in `{name}` but `{}` in `{}`", a.name, a.model, p.model, envs[last].name), "validate on the production model before promoting: give staging production's model");
                            }
                        }
                    }
                }
                if i > 0 {
                    if let Some(prev) = resolved[i - 1] {
                        compare_with_previous(chain, env, r, &envs[i - 1].name, prev, out);
                    }
                }
                if i < last {
                    if let Some(prod) = resolved[last] {
                        let prod_name = &envs[last].name;
                        compare_with_production(chain, env, r, prod_name, prod, out);
                        compare_secret_targets(input, env, r, prod_name, prod, out);
                    }
                }
            }
        }
        if let Some(file) = &env.file {
            let secrets = match &env.resolved {
                Ok(r) => r.secrets.clone(),
                Err(_) => secret_names(chain, input.project, &[]),
            };
            for (key, entry) in &file.entries {
                if secrets.contains(key) && key != "CHAINLIFT_CASSETTE" {
                    out.push(
                        "secret-in-env-file",
                        e,
                        Some(SourceLocation {
                            file: file.path.clone(),
                            line: entry.line,
                        }),
                        format!(
                            "{key} is a secret, but {} gives it a value",
                            file.path
                                .file_name()
                                .map(|f| f.to_string_lossy())
                                .unwrap_or_default()
                        ),
                        format!(
                            "delete the line and run `chainlift secrets set --env {name} {key}`"
                        ),
                    );
                }
            }
        }
    }
}

fn attempts(chain: &ResolvedChain, agent: &crate::ResolvedAgent) -> u32 {
    if agent.max_attempts > 0 {
        agent.max_attempts
    } else {
        chain.retries + 1
    }
}

fn compare_with_previous(
    chain: &ChainDef,
    env: &EnvLint,
    r: &ResolvedChain,
    prev_name: &str,
    prev: &ResolvedChain,
    out: &mut Out,
) {
    let name = env.name.as_str();
    for a in &r.agents {
        let Some(p) = prev.agents.iter().find(|p| p.name == a.name) else {
            continue;
        };
        let spec = chain.agent(&a.name);
        if a.timeout > p.timeout {
            let at = spec
                .and_then(|s| s.timeout.as_ref())
                .map(|t| config_at(chain, env, &t.0));
            out.push(
                "timeout-longer",
                Some(name),
                at,
                format!(
                    "agent `{}` times out after {}s in `{name}`, longer than {}s in `{prev_name}`",
                    a.name,
                    a.timeout.as_secs_f64(),
                    p.timeout.as_secs_f64()
                ),
                "timeouts get stricter toward production",
            );
        }
        let (now, before) = (attempts(r, a), attempts(prev, p));
        if now < before {
            let at = Some(config_at(
                chain,
                env,
                chain
                    .execution
                    .retries
                    .as_ref()
                    .map(|s: &Scalar| s.0.as_str())
                    .unwrap_or("execution"),
            ));
            out.push("retries-fewer", Some(name), at, format!("agent `{}` gets {now} attempt(s) in `{name}`, fewer than {before} in `{prev_name}`", a.name), "retries should not drop toward production");
        }
    }
}

fn compare_with_production(
    chain: &ChainDef,
    env: &EnvLint,
    r: &ResolvedChain,
    prod_name: &str,
    prod: &ResolvedChain,
    out: &mut Out,
) {
    let name = env.name.as_str();
    let prod_hosts: BTreeSet<String> = prod
        .data
        .values()
        .chain(prod.notify.values())
        .filter(|v| !v.contains("${"))
        .filter_map(|v| host_of(v))
        .collect();
    let sections = [
        ("data", &chain.data, &r.data, &prod.data),
        ("notify", &chain.notify, &r.notify, &prod.notify),
    ];
    for (section, raw, mine, theirs) in sections {
        for (key, value) in mine {
            if value.contains("${") {
                continue; // a secret: compared by hash only where both values are known (config gate)
            }
            let at = raw.get(key).map(|s| config_at(chain, env, &s.0));
            // Name the variable and the env file line that gave the value, not only the key.
            let source = raw
                .get(key)
                .and_then(|s| crate::subst::references(&s.0).ok())
                .and_then(|refs| refs.first().map(|r| r.name.clone()))
                .map(|var| match &at {
                    Some(a) if a.line > 0 => format!(" (set by {var} in {a})"),
                    _ => format!(" (set by {var})"),
                })
                .unwrap_or_default();
            if theirs.get(key) == Some(value) {
                out.push(
                    "shares-production-data",
                    Some(name),
                    at,
                    format!("{section}.{key} in `{name}` is the same as in `{prod_name}`{source}"),
                    format!("point {section}.{key} at `{name}`'s own target in config/{name}.env"),
                );
            } else if let Some(host) = host_of(value)
                .filter(|h| prod_hosts.contains(h) && h != "localhost" && h != "127.0.0.1")
            {
                out.push(
                    "names-production-host",
                    Some(name),
                    at,
                    format!(
                        "{section}.{key} in `{name}` names host `{host}`, which `{prod_name}` uses"
                    ),
                    format!("use a `{name}` host for {section}.{key}"),
                );
            }
        }
    }
}

/// DESIGN.md §2: a secret-valued data source or notification target (`${SLACK_WEBHOOK}`)
/// compared with production's by the keyed hashes `secrets set` recorded, never the values:
/// staging's webhook holding production's is the seed's own wrong notification target.
fn compare_secret_targets(
    input: &LintInput<'_>,
    env: &EnvLint,
    r: &ResolvedChain,
    prod_name: &str,
    prod: &ResolvedChain,
    out: &mut Out,
) {
    let chain = input.chain;
    let name = env.name.as_str();
    let sections = [
        ("data", &chain.data, &r.data, &prod.data),
        ("notify", &chain.notify, &r.notify, &prod.notify),
    ];
    for (section, raw, mine, theirs) in sections {
        for (key, value) in mine.iter().filter(|(_, v)| v.contains("${")) {
            let Some(their) = theirs.get(key) else {
                continue;
            };
            let ours = secret_fingerprint(value, name, input.secret_hash);
            let prods = secret_fingerprint(their, prod_name, input.secret_hash);
            if ours.is_none() || ours != prods {
                continue;
            }
            let Ok(refs) = crate::subst::references(value) else {
                continue; // a fingerprint was made, so the references parse
            };
            let names: Vec<String> = refs.into_iter().map(|r| r.name).collect();
            let at = raw.get(key).map(|s| config_at(chain, env, &s.0));
            out.push(
                "shares-production-data",
                Some(name),
                at,
                format!(
                    "{section}.{key} in `{name}` is the same as in `{prod_name}` (secret {} holds the same value in both; compared by keyed hash)",
                    names.join(", ")
                ),
                format!(
                    "give `{name}` its own target: chainlift secrets set --env {name} {}",
                    names.first().map(String::as_str).unwrap_or("NAME")
                ),
            );
        }
    }
}

/// The secret-valued data sources and notification targets of `env` that cannot be compared
/// with production's (a hash missing on either side), with the reason: the config gate says
/// so rather than report them checked.
pub fn uncompared_secret_targets(
    input: &LintInput<'_>,
    env: &str,
    production: &str,
) -> Vec<(&'static str, String)> {
    let find = |n: &str| {
        input
            .envs
            .iter()
            .find(|e| e.name == n)
            .and_then(|e| e.resolved.as_ref().ok())
    };
    let (Some(r), Some(prod)) = (find(env), find(production)) else {
        return vec![];
    };
    if env == production {
        return vec![];
    }
    let mut out = Vec::new();
    for (section, mine, theirs) in [
        ("data", &r.data, &prod.data),
        ("notify", &r.notify, &prod.notify),
    ] {
        for (key, value) in mine.iter().filter(|(_, v)| v.contains("${")) {
            let Some(their) = theirs.get(key) else {
                continue;
            };
            for (e, v) in [(env, value), (production, their)] {
                if secret_fingerprint(v, e, input.secret_hash).is_none() {
                    out.push((section, format!("{section}.{key} (a secret) was not compared with `{production}`: no keyed hash recorded for it in `{e}` (set it again with `chainlift secrets set --env {e}`, or values come from process variables)")));
                    break;
                }
            }
        }
    }
    out
}

/// The secrets an env needs: the chain's `secrets:` and its models' provider keys.
pub fn needed_secrets(chain: &ChainDef, resolved: &ResolvedChain) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = chain.secrets.iter().cloned().collect();
    // An env that replays a cassette calls no provider, so it needs no provider key.
    let replayed = resolved
        .config
        .get("CHAINLIFT_CASSETTE")
        .is_some_and(|c| !c.is_empty());
    if !replayed {
        names.extend(
            resolved
                .agents
                .iter()
                .filter(|a| a.command.is_none())
                .map(|a| a.model_entry.key_secret()),
        );
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_on_error_handler_may_read_the_failure() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("chains/c");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(
            dir.join("chain.yaml"),
            "name: c\nagents:\n  - {name: flaky, model: m, prompt: x, triggers: [chain:start], emits: chain:complete, on_error: fallback}\n  - {name: fallback, model: m, prompt: \"{{ events['flaky:error'].output.error }}\", emits: chain:complete}\n",
        )
        .expect("write");
        let project = Project::open(tmp.path()).expect("project");
        let chain = ChainDef::load(&dir).expect("chain");
        let set = |_: &str, _: &str| true;
        let lints = lint(&LintInput {
            project: &project,
            chain: &chain,
            envs: &[],
            secret_is_set: &set,
            secret_hash: &|_, _| None,
        });
        assert!(lints.is_empty(), "{lints:?}");
    }

    #[test]
    fn hosts() {
        assert_eq!(
            host_of("postgres://u:p@prod-db:5432/prod").as_deref(),
            Some("prod-db")
        );
        assert_eq!(
            host_of("https://hooks.slack.com/x").as_deref(),
            Some("hooks.slack.com")
        );
        assert_eq!(host_of("http://[::1]:80/").as_deref(), Some("::1"));
        assert_eq!(host_of("plain"), None);
    }

    #[test]
    fn random_tokens_are_flagged_words_are_not() {
        assert!(looks_random("Zx81kQv02LmN4pRt7YwB3cDe"));
        assert!(!looks_random("research-and-write-a-report-now"));
        assert!(!looks_random("0123456789abcdef0123456789abcdef"));
    }
}
