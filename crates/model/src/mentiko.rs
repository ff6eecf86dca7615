//! `chainlift import`: Mentiko chains in both dialects, mapped onto the Chainlift format.
//!
//! - blog: `name, prompt, triggers, emits[]` per agent, `variables`, `schedule`, `retry`, and
//!   `{VARIABLE}` interpolation in prompts;
//! - repo schema: `id, name, triggers, emits` (a string), `prompt | spec | task`, `timeout`,
//!   `retry`, `on_error`, `wait_for_events`, `branches`, `config` (max_rounds, schedule,
//!   workspace, slack).
//!
//! `manual-start` → `chain:start`, `chain-complete` → `chain:complete`; a branch `then: <agent>`
//! becomes a synthesized event that agent triggers on; `variables` become env values; a missing
//! model becomes `${MODEL:-…}`. Whatever cannot be expressed is listed in `notes`, never dropped
//! silently.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Map, Value};

pub const DEFAULT_MODEL: &str = "gpt-5.4-mini";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Blog,
    Repo,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Blog => "blog",
            Dialect::Repo => "repo",
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Agent {
    name: String,
    model: Option<String>,
    timeout: Option<String>,
    prompt: String,
    triggers: Vec<String>,
    wait_for: Option<String>,
    emits: Option<String>,
    routes: Vec<(String, String)>,
    route_else: Option<String>,
    max_attempts: Option<u64>,
    backoff: Option<String>,
    initial_delay: Option<String>,
    max_delay: Option<String>,
    on_error: Option<String>,
}

/// A converted chain: file contents by path relative to the chain folder, and what was lost.
#[derive(Debug, Clone)]
pub struct Imported {
    pub name: String,
    pub dialect: Dialect,
    pub files: Vec<(String, String)>,
    pub notes: Vec<String>,
}

fn event(name: &str) -> String {
    match name {
        "manual-start" | "manual:start" | "chain-start" => "chain:start".into(),
        "chain-complete" | "chain:completed" => "chain:complete".into(),
        other => other.to_string(),
    }
}

fn slug(name: &str) -> String {
    let s: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "agent".into()
    } else {
        s
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(String::from))
            .collect(),
        _ => vec![],
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `{TOPIC}` (Mentiko interpolation) → `${TOPIC}`; `{{ … }}` and other braces are left alone.
pub fn convert_placeholders(prompt: &str) -> (String, BTreeSet<String>) {
    let chars: Vec<char> = prompt.chars().collect();
    let mut out = String::with_capacity(prompt.len());
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '{'
            && chars.get(i + 1) != Some(&'{')
            && (i == 0 || chars[i - 1] != '{' && chars[i - 1] != '$')
        {
            let end = chars[i + 1..]
                .iter()
                .position(|c| *c == '}')
                .map(|p| i + 1 + p);
            if let Some(end) = end {
                let name: String = chars[i + 1..end].iter().collect();
                let valid = name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if valid && chars.get(end + 1) != Some(&'}') {
                    out.push_str(&format!("${{{name}}}"));
                    names.insert(name);
                    i = end + 1;
                    continue;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    (out, names)
}

fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "WEBHOOK",
        "CREDENTIAL",
    ]
    .iter()
    .any(|w| n.contains(w))
}

fn known(map: &Map<String, Value>, keys: &[&str], what: &str, notes: &mut Vec<String>) {
    for k in map.keys().filter(|k| !keys.contains(&k.as_str())) {
        notes.push(format!(
            "{what}: `{k}` has no Chainlift equivalent and was not imported"
        ));
    }
}

pub fn detect(v: &Value) -> Dialect {
    let repo_keys = [
        "config",
        "branches",
        "routing",
        "gateways",
        "default_agent_profile",
    ];
    let agent_has_id = v
        .get("agents")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x.get("id").is_some()));
    if agent_has_id || repo_keys.iter().any(|k| v.get(k).is_some()) {
        Dialect::Repo
    } else {
        Dialect::Blog
    }
}

/// Convert a Mentiko chain. `source` is the file it came from (for `spec:` files beside it).
pub fn convert(v: &Value, source: &Path) -> Result<Imported, String> {
    let Some(root) = v.as_object() else {
        return Err("a Mentiko chain is a JSON object with `name` and `agents`".into());
    };
    let dialect = detect(v);
    let mut notes = Vec::new();
    let name = root
        .get("name")
        .and_then(Value::as_str)
        .map(slug)
        .or_else(|| source.file_stem().and_then(|s| s.to_str()).map(slug))
        .unwrap_or_else(|| "imported".into());
    let Some(raw_agents) = root.get("agents").and_then(Value::as_array) else {
        return Err("the chain has no `agents` list".into());
    };

    let mut variables: BTreeMap<String, String> = BTreeMap::new();
    let mut secrets: BTreeSet<String> = BTreeSet::new();
    let mut schedule = root
        .get("schedule")
        .and_then(Value::as_str)
        .map(String::from);
    let mut max_rounds = None;
    let mut retries = None;
    let mut notify: BTreeMap<String, String> = BTreeMap::new();
    let mut agents: Vec<Agent> = Vec::new();
    // Repo dialect: agent id → Chainlift name. Blog dialect: dropped extra emit → kept emit.
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut aliases: BTreeMap<String, String> = BTreeMap::new();

    match dialect {
        Dialect::Blog => {
            known(
                root,
                &[
                    "name",
                    "description",
                    "agents",
                    "variables",
                    "schedule",
                    "retry",
                    "version",
                ],
                "chain",
                &mut notes,
            );
            match root.get("variables") {
                Some(Value::Object(vars)) => {
                    for (k, v) in vars {
                        let value =
                            scalar_text(v).or_else(|| v.get("default").and_then(scalar_text));
                        if value.is_none() {
                            notes.push(format!("variable {k} has no value or default Chainlift can read: it is empty in config/<env>.env; give it each env's value"));
                        }
                        variables.insert(k.clone(), value.unwrap_or_default());
                    }
                }
                Some(Value::Array(vars)) => {
                    for v in vars {
                        let (Some(k), value) = (
                            v.get("name").and_then(Value::as_str),
                            v.get("default")
                                .or_else(|| v.get("value"))
                                .and_then(scalar_text),
                        ) else {
                            notes.push(format!("a variable without a `name` was skipped: {v}"));
                            continue;
                        };
                        if value.is_none() {
                            notes.push(format!("variable {k} has no value or default Chainlift can read: it is empty in config/<env>.env; give it each env's value"));
                        }
                        variables.insert(k.to_string(), value.unwrap_or_default());
                    }
                }
                _ => {}
            }
            if let Some(r) = root.get("retry") {
                let attempts = r
                    .get("max_attempts")
                    .and_then(Value::as_u64)
                    .or_else(|| r.get("max_retries").and_then(Value::as_u64).map(|n| n + 1));
                retries = attempts.map(|a| a.saturating_sub(1));
            }
            for (i, a) in raw_agents.iter().enumerate() {
                let Some(obj) = a.as_object() else {
                    notes.push(format!("agent #{} is not an object and was skipped", i + 1));
                    continue;
                };
                known(
                    obj,
                    &[
                        "name",
                        "prompt",
                        "triggers",
                        "emits",
                        "model",
                        "timeout",
                        "description",
                    ],
                    &format!("agent #{}", i + 1),
                    &mut notes,
                );
                let raw_name = obj.get("name").and_then(Value::as_str).unwrap_or("agent");
                let name = slug(raw_name);
                let emits: Vec<String> =
                    strings(obj.get("emits")).iter().map(|e| event(e)).collect();
                if emits.len() > 1 {
                    notes.push(format!(
                        "agent `{name}` emits {} events; Chainlift agents emit one: kept `{}`, and agents listening to the others now listen to it",
                        emits.len(),
                        emits[0]
                    ));
                }
                agents.push(Agent {
                    name,
                    model: obj.get("model").and_then(Value::as_str).map(String::from),
                    timeout: obj.get("timeout").and_then(scalar_text),
                    prompt: obj
                        .get("prompt")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    triggers: strings(obj.get("triggers"))
                        .iter()
                        .map(|t| event(t))
                        .collect(),
                    emits: emits.first().cloned(),
                    ..Agent::default()
                });
                // Listeners of the extra events hear the kept one instead.
                if let Some(kept) = emits.first() {
                    for extra in emits.iter().skip(1) {
                        aliases.insert(extra.clone(), kept.clone());
                    }
                }
            }
            for a in &mut agents {
                for t in &mut a.triggers {
                    if let Some(kept) = aliases.get(t) {
                        *t = kept.clone();
                    }
                }
                a.triggers.dedup();
            }
        }
        Dialect::Repo => {
            known(
                root,
                &[
                    "name",
                    "version",
                    "description",
                    "config",
                    "agents",
                    "branches",
                    "routing",
                    "default_agent_profile",
                ],
                "chain",
                &mut notes,
            );
            if root.get("default_agent_profile").is_some() {
                notes.push("chain: `default_agent_profile` (a Mentiko CLI profile) has no equivalent; agents get `${MODEL:-…}`".into());
            }
            if let Some(config) = root.get("config").and_then(Value::as_object) {
                known(
                    config,
                    &[
                        "max_rounds",
                        "schedule",
                        "slack",
                        "workspace",
                        "monitor",
                        "monitor_interval",
                        "timezone",
                    ],
                    "config",
                    &mut notes,
                );
                max_rounds = config.get("max_rounds").and_then(Value::as_u64);
                schedule = schedule.or_else(|| {
                    config
                        .get("schedule")
                        .and_then(Value::as_str)
                        .map(String::from)
                });
                if let Some(tz) = config
                    .get("timezone")
                    .and_then(Value::as_str)
                    .filter(|t| *t != "UTC")
                {
                    notes.push(format!("config.timezone `{tz}`: Chainlift schedules run in UTC; adjust the cron expression"));
                }
                if config.get("slack").is_some() {
                    notify.insert("slack".into(), "${SLACK_WEBHOOK}".into());
                    secrets.insert("SLACK_WEBHOOK".into());
                    notes.push("config.slack: now `notify.slack: ${SLACK_WEBHOOK}`; store the URL with `chainlift secrets set --env ENV SLACK_WEBHOOK` (a webhook URL is a secret and was not copied)".into());
                }
                if let Some(ws) = config.get("workspace") {
                    notes.push(format!("config.workspace ({}): Chainlift sets a workspace per command agent; add `kind: command` and `workspace:` to the agents that need it", ws.get("type").and_then(Value::as_str).unwrap_or("local")));
                }
                for k in ["monitor", "monitor_interval"] {
                    if config.get(k).is_some() {
                        notes.push(format!("config.{k}: Chainlift monitors deployments (chainlift.yaml `monitor:`), not single agents"));
                    }
                }
            }
            if root.get("routing").is_some() {
                notes.push("routing (default timeouts, retries, error handlers): set `execution:` and each agent's `retry:`/`on_error:` instead".into());
            }
            for (i, a) in raw_agents.iter().enumerate() {
                let Some(obj) = a.as_object() else {
                    notes.push(format!("agent #{} is not an object and was skipped", i + 1));
                    continue;
                };
                if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
                    notes.push(format!("agent #{}: `$ref: {r}` points into a Mentiko agent registry, which cannot be read here; the agent was skipped", i + 1));
                    continue;
                }
                let id = obj
                    .get("id")
                    .or_else(|| obj.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("agent");
                let name = slug(id);
                ids.insert(id.to_string(), name.clone());
                let what = format!("agent `{name}`");
                known(
                    obj,
                    &[
                        "id",
                        "name",
                        "role",
                        "triggers",
                        "emits",
                        "prompt",
                        "spec",
                        "task",
                        "timeout",
                        "retry",
                        "on_error",
                        "on_timeout",
                        "wait_for_events",
                        "model",
                        "agent_profile",
                        "cli",
                    ],
                    &what,
                    &mut notes,
                );
                for k in ["agent_profile", "cli"] {
                    if let Some(v) = obj.get(k).and_then(Value::as_str) {
                        notes.push(format!("{what}: `{k}: {v}` names a Mentiko CLI profile; the agent calls a model (`${{MODEL:-{DEFAULT_MODEL}}}`) — or make it `kind: command`"));
                    }
                }
                let mut prompt = obj
                    .get("prompt")
                    .or_else(|| obj.get("task"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if let Some(spec) = obj.get("spec").and_then(Value::as_str) {
                    let path = source.parent().unwrap_or(Path::new(".")).join(spec);
                    match std::fs::read_to_string(&path) {
                        Ok(text) if prompt.is_empty() => prompt = text,
                        Ok(_) => notes.push(format!("{what}: both `prompt` and `spec`; kept the prompt")),
                        Err(_) => notes.push(format!("{what}: spec file {spec} was not found beside the chain; write the prompt by hand")),
                    }
                }
                let timeout = match obj.get("timeout").and_then(Value::as_i64) {
                    Some(t) if t > 0 => Some(format!("{t}s")),
                    _ => None,
                };
                let retry = obj.get("retry");
                let mut agent = Agent {
                    name,
                    model: obj.get("model").and_then(Value::as_str).map(String::from),
                    timeout,
                    prompt,
                    triggers: strings(obj.get("triggers"))
                        .iter()
                        .map(|t| event(t))
                        .collect(),
                    emits: obj.get("emits").and_then(Value::as_str).map(event),
                    max_attempts: retry
                        .and_then(|r| r.get("max_retries"))
                        .and_then(Value::as_u64)
                        .map(|n| n + 1),
                    backoff: retry
                        .and_then(|r| r.get("backoff"))
                        .and_then(Value::as_str)
                        .map(String::from),
                    initial_delay: retry
                        .and_then(|r| r.get("initial_delay"))
                        .and_then(Value::as_u64)
                        .map(|n| format!("{n}s")),
                    max_delay: retry
                        .and_then(|r| r.get("max_delay"))
                        .and_then(Value::as_u64)
                        .map(|n| format!("{n}s")),
                    on_error: obj
                        .get("on_error")
                        .and_then(Value::as_str)
                        .map(String::from),
                    ..Agent::default()
                };
                if let Some(r) = retry.and_then(Value::as_object) {
                    known(
                        r,
                        &["max_retries", "backoff", "initial_delay", "max_delay"],
                        &format!("{what} retry"),
                        &mut notes,
                    );
                }
                if let Some(t) = obj.get("on_timeout").and_then(Value::as_str) {
                    if agent.on_error.as_deref() != Some(t) {
                        notes.push(format!("{what}: `on_timeout: {t}` — Chainlift routes every failure, timeouts included, through `on_error`"));
                    }
                }
                if let Some(w) = obj.get("wait_for_events") {
                    agent
                        .triggers
                        .extend(strings(w.get("events")).iter().map(|e| event(e)));
                    match w.get("wait_for").and_then(Value::as_str).unwrap_or("all") {
                        "any" => agent.wait_for = Some("any".into()),
                        "quorum" => {
                            agent.wait_for = Some("all".into());
                            notes.push(format!("{what}: `wait_for: quorum` is not supported; it now waits for all events"));
                        }
                        _ => agent.wait_for = Some("all".into()),
                    }
                    if w.get("timeout").is_some() {
                        notes.push(format!("{what}: the fan-in wait timeout has no equivalent; the agent's own timeout applies"));
                    }
                }
                agents.push(agent);
            }
            // on_error names an agent id; map it to the agent's new name.
            for a in &mut agents {
                if let Some(target) = a.on_error.clone() {
                    a.on_error = Some(ids.get(&target).cloned().unwrap_or(target));
                }
            }
            apply_branches(root.get("branches"), &ids, &mut agents, &mut notes);
        }
    }

    // Mentiko routes branches and on_error to agents whatever their triggers say; here the
    // synthesized events carry that, so triggers nothing emits are dropped from those agents.
    let mut emitted: BTreeSet<String> = BTreeSet::from(["chain:start".to_string()]);
    for a in &agents {
        emitted.extend(a.emits.iter().cloned());
        emitted.extend(a.routes.iter().map(|(_, e)| e.clone()));
        emitted.extend(a.route_else.iter().cloned());
    }
    let handoff: BTreeSet<String> = agents.iter().filter_map(|a| a.on_error.clone()).collect();
    for a in agents.iter_mut() {
        let mut seen = BTreeSet::new();
        a.triggers.retain(|t| seen.insert(t.clone()));
        let (keep, dropped): (Vec<String>, Vec<String>) = a
            .triggers
            .iter()
            .cloned()
            .partition(|t| emitted.contains(t));
        if !dropped.is_empty() && (!keep.is_empty() || handoff.contains(&a.name)) {
            notes.push(format!(
                "agent `{}`: no agent emits {}; the trigger was dropped (the agent is reached by a branch or on_error)",
                a.name,
                dropped.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ")
            ));
            a.triggers = keep;
        } else if a.triggers.is_empty() && !handoff.contains(&a.name) {
            // Mentiko runs an agent without triggers first.
            notes.push(format!(
                "agent `{}` had no triggers; it now starts on chain:start",
                a.name
            ));
            a.triggers.push("chain:start".into());
        }
    }
    // No agent ends the chain: the events nobody listens to end it.
    let ends_somewhere = agents.iter().any(|a| {
        a.emits.as_deref() == Some("chain:complete")
            || a.routes.iter().any(|(_, e)| e == "chain:complete")
            || a.route_else.as_deref() == Some("chain:complete")
    });
    if !ends_somewhere {
        let heard: BTreeSet<String> = agents.iter().flat_map(|a| a.triggers.clone()).collect();
        for a in agents.iter_mut() {
            if let Some(e) = a.emits.clone().filter(|e| !heard.contains(e)) {
                notes.push(format!("nothing emitted chain-complete: `{e}` (emitted by `{}`, heard by no agent) now ends the chain as chain:complete", a.name));
                a.emits = Some("chain:complete".into());
            }
        }
    }

    // Prompts: `{VAR}` → `${VAR}`; every variable becomes an env value (or a secret).
    let mut used = BTreeSet::new();
    for a in &mut agents {
        let (prompt, names) = convert_placeholders(&a.prompt);
        a.prompt = prompt;
        used.extend(names);
    }
    for name in &used {
        if looks_secret(name) {
            secrets.insert(name.clone());
            if variables.remove(name).is_some_and(|v| !v.is_empty()) {
                notes.push(format!("variable {name} looks like a secret: its value was not copied; store it with `chainlift secrets set --env ENV {name}`"));
            }
        } else if !variables.contains_key(name) {
            variables.insert(name.clone(), String::new());
            notes.push(format!(
                "prompt variable {name} has no value: fill it in each config/<env>.env"
            ));
        }
    }
    for (k, _) in variables.clone().iter().filter(|(k, _)| looks_secret(k)) {
        variables.remove(k);
        secrets.insert(k.clone());
        notes.push(format!("variable {k} looks like a secret: its value was not copied; store it with `chainlift secrets set --env ENV {k}`"));
    }
    for a in agents.iter().filter(|a| a.prompt.trim().is_empty()) {
        notes.push(format!(
            "agent `{}` has no prompt (no `prompt`, `task` or readable `spec`): write one in agents/{}.yaml before running it",
            a.name, a.name
        ));
    }
    let needs_model = agents.iter().any(|a| a.model.is_none());

    let mut files = Vec::new();
    for a in &agents {
        files.push((format!("agents/{}.yaml", a.name), agent_yaml(a)));
    }
    files.push((
        "chain.yaml".into(),
        chain_yaml(
            &name,
            root.get("description").and_then(Value::as_str),
            schedule.as_deref(),
            &secrets,
            &agents,
            max_rounds,
            retries,
            &notify,
        ),
    ));
    let mut env = String::from("# Imported from Mentiko: review each value per environment.\n");
    if needs_model {
        env.push_str(&format!("MODEL={DEFAULT_MODEL}\n"));
    }
    for (k, v) in &variables {
        env.push_str(&format!("{k}={}\n", env_value(v)));
    }
    for e in ["dev", "staging", "production"] {
        files.push((format!("config/{e}.env"), env.clone()));
    }
    Ok(Imported {
        name,
        dialect,
        files,
        notes,
    })
}

fn apply_branches(
    branches: Option<&Value>,
    ids: &BTreeMap<String, String>,
    agents: &mut [Agent],
    notes: &mut Vec<String>,
) {
    let Some(branches) = branches.and_then(Value::as_object) else {
        return;
    };
    let name_of = |id: &str| ids.get(id).cloned().unwrap_or_else(|| slug(id));
    for (raw_event, rule) in branches {
        let ev = event(raw_event);
        let mut hear = |agent: &str, on: &str, agents: &mut [Agent]| {
            let n = name_of(agent);
            match agents.iter_mut().find(|a| a.name == n) {
                Some(a) if !a.triggers.iter().any(|t| t == on) => a.triggers.push(on.to_string()),
                Some(_) => {}
                None => notes.push(format!("branch on `{raw_event}` names agent `{agent}`, which the chain does not define")),
            }
        };
        match rule {
            Value::String(target) => hear(target, &ev, agents),
            Value::Array(targets) => {
                for t in targets.iter().filter_map(Value::as_str) {
                    hear(t, &ev, agents);
                }
            }
            Value::Object(obj) => {
                let fan_out: Vec<String> = strings(obj.get("fan_out"));
                for t in &fan_out {
                    hear(t, &ev, agents);
                }
                if let Some(join) = obj.get("fan_in").and_then(Value::as_str) {
                    let emitted: Vec<String> = fan_out
                        .iter()
                        .filter_map(|t| {
                            agents
                                .iter()
                                .find(|a| a.name == name_of(t))
                                .and_then(|a| a.emits.clone())
                        })
                        .collect();
                    let n = name_of(join);
                    if let Some(a) = agents.iter_mut().find(|a| a.name == n) {
                        a.triggers.extend(emitted);
                        a.triggers.sort();
                        a.triggers.dedup();
                        a.wait_for = Some(
                            obj.get("wait_for")
                                .and_then(Value::as_str)
                                .filter(|w| *w == "any")
                                .unwrap_or("all")
                                .to_string(),
                        );
                    }
                }
                let conditions = obj
                    .get("conditions")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if !conditions.is_empty() {
                    // The emitters of the event choose among synthesized events, one per target.
                    let mut routes = Vec::new();
                    for c in &conditions {
                        let (Some(cond), Some(then)) = (
                            c.get("if").and_then(Value::as_str),
                            c.get("then").and_then(Value::as_str),
                        ) else {
                            continue;
                        };
                        let synth = format!("{ev}:{}", name_of(then));
                        hear(then, &synth, agents);
                        routes.push((cond.to_string(), synth));
                    }
                    let default = obj.get("default").and_then(Value::as_str).map(|d| {
                        let synth = format!("{ev}:{}", name_of(d));
                        hear(d, &synth, agents);
                        synth
                    });
                    for a in agents
                        .iter_mut()
                        .filter(|a| a.emits.as_deref() == Some(ev.as_str()))
                    {
                        a.routes = routes.clone();
                        a.route_else = default.clone().or_else(|| Some(ev.clone()));
                        a.emits = None;
                    }
                    notes.push(format!("branch conditions on `{raw_event}` were copied as `when:` expressions verbatim: check each is a minijinja expression over `output`"));
                }
                for k in obj.keys().filter(|k| {
                    !["fan_out", "fan_in", "conditions", "default", "wait_for"]
                        .contains(&k.as_str())
                }) {
                    notes.push(format!("branch on `{raw_event}`: `{k}` has no Chainlift equivalent and was not imported"));
                }
            }
            _ => notes.push(format!(
                "branch on `{raw_event}` is neither an agent, a list nor a rule; skipped"
            )),
        }
    }
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn env_value(v: &str) -> String {
    if v.is_empty() || v.contains(['#', '"', '\'', '\n']) || v.starts_with(' ') || v.ends_with(' ')
    {
        q(&v.replace('\n', " "))
    } else {
        v.to_string()
    }
}

fn agent_yaml(a: &Agent) -> String {
    let mut y = format!("name: {}\n", q(&a.name));
    y.push_str("prompt: |\n");
    let prompt = if a.prompt.trim().is_empty() {
        "TODO: write this agent's prompt"
    } else {
        a.prompt.trim_end()
    };
    for line in prompt.lines() {
        if line.is_empty() {
            y.push('\n');
        } else {
            y.push_str("  ");
            y.push_str(line);
            y.push('\n');
        }
    }
    let triggers: Vec<String> = a.triggers.iter().map(|t| q(t)).collect();
    y.push_str(&format!("triggers: [{}]\n", triggers.join(", ")));
    if let Some(w) = &a.wait_for {
        y.push_str(&format!("wait_for: {w}\n"));
    }
    if let Some(e) = &a.emits {
        y.push_str(&format!("emits: {}\n", q(e)));
    }
    if !a.routes.is_empty() || a.route_else.is_some() {
        y.push_str("routes:\n");
        for (when, emit) in &a.routes {
            y.push_str(&format!("  - {{when: {}, emit: {}}}\n", q(when), q(emit)));
        }
        if let Some(e) = &a.route_else {
            y.push_str(&format!("  - {{else: {}}}\n", q(e)));
        }
    }
    if a.max_attempts.is_some() || a.backoff.is_some() {
        let mut parts = Vec::new();
        if let Some(n) = a.max_attempts {
            parts.push(format!("max_attempts: {n}"));
        }
        if let Some(b) = &a.backoff {
            parts.push(format!("backoff: {}", q(b)));
        }
        if let Some(d) = &a.initial_delay {
            parts.push(format!("initial_delay: {d}"));
        }
        if let Some(d) = &a.max_delay {
            parts.push(format!("max_delay: {d}"));
        }
        y.push_str(&format!("retry: {{{}}}\n", parts.join(", ")));
    }
    if let Some(e) = &a.on_error {
        y.push_str(&format!("on_error: {}\n", q(e)));
    }
    y
}

#[allow(clippy::too_many_arguments)]
fn chain_yaml(
    name: &str,
    description: Option<&str>,
    schedule: Option<&str>,
    secrets: &BTreeSet<String>,
    agents: &[Agent],
    max_rounds: Option<u64>,
    retries: Option<u64>,
    notify: &BTreeMap<String, String>,
) -> String {
    let mut y = String::from("# Imported from Mentiko by `chainlift import`.\nversion: 1\n");
    y.push_str(&format!("name: {}\n", q(name)));
    if let Some(d) = description {
        y.push_str(&format!("description: {}\n", q(d)));
    }
    if !secrets.is_empty() {
        let s: Vec<&str> = secrets.iter().map(String::as_str).collect();
        y.push_str(&format!("secrets: [{}]\n", s.join(", ")));
    }
    if let Some(s) = schedule {
        y.push_str(&format!("schedule: {}\n", q(s)));
    }
    y.push_str("agents:\n");
    for a in agents {
        y.push_str(&format!("  - name: {}\n", q(&a.name)));
        let model = a
            .model
            .clone()
            .unwrap_or_else(|| format!("${{MODEL:-{DEFAULT_MODEL}}}"));
        y.push_str(&format!("    model: {}\n", q(&model)));
        if let Some(t) = &a.timeout {
            y.push_str(&format!("    timeout: {}\n", q(t)));
        }
    }
    let rounds = max_rounds.unwrap_or(3);
    y.push_str(&format!("limits: {{max_rounds: {rounds}}}\n"));
    if let Some(r) = retries {
        y.push_str(&format!("execution: {{retries: {r}}}\n"));
    }
    if !notify.is_empty() {
        let n: Vec<String> = notify
            .iter()
            .map(|(k, v)| format!("{k}: {}", q(v)))
            .collect();
        y.push_str(&format!("notify: {{{}}}\n", n.join(", ")));
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let (out, names) = convert_placeholders(
            "Research {TOPIC} for {{ input.x }} in {lower} and {BRAND_VOICE}.",
        );
        assert_eq!(
            out,
            "Research ${TOPIC} for {{ input.x }} in {lower} and ${BRAND_VOICE}."
        );
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["BRAND_VOICE", "TOPIC"]
        );
    }

    #[test]
    fn detects_dialects() {
        assert_eq!(
            detect(&serde_json::json!({"agents": [{"name": "a"}]})),
            Dialect::Blog
        );
        assert_eq!(
            detect(&serde_json::json!({"agents": [{"id": "a"}]})),
            Dialect::Repo
        );
    }
}
