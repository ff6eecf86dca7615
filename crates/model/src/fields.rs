//! Unknown fields: every key a file holds is checked against the format's known keys, so a
//! typo (`promtp:`) is a finding that names the file, the line and the nearest known name
//! instead of a field silently ignored.

use std::path::Path;

use serde_json::Value;

use crate::error::SourceLocation;

/// What a value in the format may hold.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Anything (free text, numbers, lists the format does not fix).
    Any,
    /// A mapping with these known keys.
    Map(&'static [(&'static str, Shape)]),
    /// A mapping whose keys are the user's (data sources, model aliases) with values of a shape.
    MapOf(&'static Shape),
    /// A list whose items have a shape.
    List(&'static Shape),
}

/// A key the format does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    pub at: SourceLocation,
    /// Dotted path to the key, e.g. `agents[1].promtp`.
    pub path: String,
    pub key: String,
    pub suggestion: Option<String>,
}

const RETRY: Shape = Shape::Map(&[
    ("max_attempts", Shape::Any),
    ("backoff", Shape::Any),
    ("initial_delay", Shape::Any),
    ("max_delay", Shape::Any),
]);
const ROUTE: Shape = Shape::Map(&[
    ("when", Shape::Any),
    ("emit", Shape::Any),
    ("else", Shape::Any),
]);
const ROUTES: Shape = Shape::List(&ROUTE);
const WORKSPACE: Shape = Shape::Map(&[
    ("type", Shape::Any),
    ("dir", Shape::Any),
    ("container", Shape::Any),
    ("host", Shape::Any),
]);

pub const AGENT: Shape = Shape::Map(&[
    ("name", Shape::Any),
    ("model", Shape::Any),
    ("timeout", Shape::Any),
    ("prompt", Shape::Any),
    ("triggers", Shape::Any),
    ("wait_for", Shape::Any),
    ("output", Shape::Any),
    ("schema", Shape::Any),
    ("emits", Shape::Any),
    ("routes", ROUTES),
    ("retry", RETRY),
    ("on_error", Shape::Any),
    ("max_tokens", Shape::Any),
    ("temperature", Shape::Any),
    ("kind", Shape::Any),
    ("command", Shape::Any),
    ("workspace", WORKSPACE),
]);
const AGENTS: Shape = Shape::List(&AGENT);
const ANY: Shape = Shape::Any;

const GATES: Shape = Shape::Map(&[
    (
        "smoke",
        Shape::Map(&[
            ("input", Shape::Any),
            ("expected", Shape::Any),
            ("edge", Shape::Any),
        ]),
    ),
    (
        "quality",
        Shape::Map(&[
            ("inputs", Shape::Any),
            ("min_average", Shape::Any),
            (
                "reviewer",
                Shape::Map(&[("model", Shape::Any), ("prompt", Shape::Any)]),
            ),
            ("criteria", Shape::Any),
        ]),
    ),
    ("cost", Shape::Map(&[("max_ratio", Shape::Any)])),
    ("config", Shape::Any),
    ("infra", Shape::Any),
    ("rollback", Shape::Any),
]);

pub const CHAIN: Shape = Shape::Map(&[
    ("version", Shape::Any),
    ("name", Shape::Any),
    ("description", Shape::Any),
    ("secrets", Shape::Any),
    ("schedule", Shape::Any),
    ("input", Shape::Map(&[("schema", Shape::Any)])),
    ("agents", AGENTS),
    (
        "output",
        Shape::Map(&[
            ("from", Shape::Any),
            ("schema", Shape::Any),
            ("file", Shape::Any),
            ("template", Shape::Any),
        ]),
    ),
    (
        "execution",
        Shape::Map(&[("retries", Shape::Any), ("concurrency", Shape::Any)]),
    ),
    (
        "limits",
        Shape::Map(&[
            ("cost_per_run", Shape::Any),
            ("cost_per_day", Shape::Any),
            ("max_rounds", Shape::Any),
            ("output_bytes", Shape::Any),
        ]),
    ),
    ("notify", Shape::MapOf(&ANY)),
    ("data", Shape::MapOf(&ANY)),
    ("gates", GATES),
]);

const MODEL: Shape = Shape::Map(&[
    ("provider", Shape::Any),
    ("id", Shape::Any),
    ("base_url", Shape::Any),
    ("input_per_mtok", Shape::Any),
    ("output_per_mtok", Shape::Any),
    ("dev_only", Shape::Any),
    ("api_key_secret", Shape::Any),
]);
const MODELS: Shape = Shape::MapOf(&MODEL);
const ENV_POLICY: Shape = Shape::Map(&[
    ("name", Shape::Any),
    ("gates", Shape::Any),
    ("approval", Shape::Any),
    ("approvers", Shape::Any),
    (
        "monitor",
        Shape::Map(&[
            ("window", Shape::Any),
            ("interval", Shape::Any),
            ("max_failure_rate", Shape::Any),
            ("max_cost_ratio", Shape::Any),
            ("max_latency_ratio", Shape::Any),
            ("min_runs", Shape::Any),
            ("quality_sample", Shape::Any),
            ("min_quality", Shape::Any),
            ("steps", Shape::Any),
            ("step_for", Shape::Any),
            ("inconclusive", Shape::Any),
        ]),
    ),
]);
const ENVS: Shape = Shape::List(&ENV_POLICY);

pub const POLICY: Shape = Shape::Map(&[
    ("name", Shape::Any),
    ("user", Shape::Any),
    ("environments", ENVS),
    ("models", MODELS),
    ("entrypoints", Shape::Any),
    (
        "checklist",
        Shape::List(&Shape::Map(&[
            ("key", Shape::Any),
            ("section", Shape::Any),
            ("text", Shape::Any),
            ("required", Shape::Any),
            ("envs", Shape::Any),
        ])),
    ),
]);

/// Check `value` (the parsed text of `file`) against `shape`.
pub fn check(file: &Path, text: &str, value: &Value, shape: &Shape) -> Vec<UnknownField> {
    let mut out = Vec::new();
    let lines = KeyLines::new(text);
    walk(file, &lines, value, shape, "", &mut out);
    out
}

fn walk(
    file: &Path,
    lines: &KeyLines,
    value: &Value,
    shape: &Shape,
    path: &str,
    out: &mut Vec<UnknownField>,
) {
    match (shape, value) {
        (Shape::Map(known), Value::Object(map)) => {
            for (key, v) in map {
                let child = join(path, key);
                match known.iter().find(|(k, _)| k == key) {
                    Some((_, s)) => walk(file, lines, v, s, &child, out),
                    None => out.push(UnknownField {
                        at: SourceLocation {
                            file: file.to_path_buf(),
                            line: lines.find(key),
                        },
                        path: child,
                        key: key.clone(),
                        suggestion: nearest(key, known.iter().map(|(k, _)| *k)),
                    }),
                }
            }
        }
        (Shape::MapOf(s), Value::Object(map)) => {
            for (key, v) in map {
                walk(file, lines, v, s, &join(path, key), out);
            }
        }
        (Shape::List(s), Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                walk(file, lines, v, s, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Lines where a key is written (`key:` in YAML, `"key":` in JSON), for pointing at it.
struct KeyLines<'a> {
    lines: Vec<&'a str>,
}

impl<'a> KeyLines<'a> {
    fn new(text: &'a str) -> Self {
        KeyLines {
            lines: text.lines().collect(),
        }
    }

    fn find(&self, key: &str) -> usize {
        let quoted = format!("\"{key}\"");
        for (i, line) in self.lines.iter().enumerate() {
            let t = line
                .trim_start()
                .trim_start_matches("- ")
                .trim_start_matches('{')
                .trim_start();
            let rest = t
                .strip_prefix(key)
                .or_else(|| t.strip_prefix(quoted.as_str()));
            if rest.is_some_and(|r| r.trim_start().starts_with(':')) {
                return i + 1;
            }
            // Flow mappings: `{a: 1, key: 2}`.
            if line.contains(&format!(", {key}:"))
                || line.contains(&format!("{{{key}:"))
                || line.contains(&format!("{{ {key}:"))
            {
                return i + 1;
            }
        }
        0
    }
}

/// Levenshtein distance, for "did you mean".
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest known name, when it is close enough to be what was meant.
pub fn nearest<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (key.chars().count() / 3).max(2);
    known
        .map(|k| (distance(key, k), k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unknown_keys_with_line_and_suggestion() {
        let text = "name: c\nagents:\n  - name: a\n    promtp: hi\n    retry: {max_attemps: 2}\nnotify: {anything: x}\nfoo: 1\n";
        let value: Value = serde_yaml_ng::from_str(text).expect("valid YAML");
        let found = check(Path::new("chain.yaml"), text, &value, &CHAIN);
        let summary: Vec<_> = found
            .iter()
            .map(|u| (u.path.as_str(), u.at.line, u.suggestion.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("agents[0].promtp", 4, Some("prompt")),
                ("agents[0].retry.max_attemps", 5, Some("max_attempts")),
                ("foo", 7, None)
            ]
        );
    }

    #[test]
    fn distances() {
        assert_eq!(distance("promtp", "prompt"), 2);
        assert_eq!(distance("", "ab"), 2);
        assert_eq!(
            nearest("tigers", ["triggers", "timeout"].into_iter()),
            Some("triggers".into())
        );
        assert_eq!(nearest("zzzzzz", ["triggers"].into_iter()), None);
    }
}
