//! `expected-output.json`: match rules keyed by a path into the output.
//!
//! `{"title": {"type": "string"}, "sections": {"min_items": 3}, "sources[*].url": {"regex":
//! "^https://"}, "summary": {"contains": "refund"}, "score": {"approx": 4.5, "tolerance": 0.5},
//! "lang": {"equals": "en"}}`. A path is dot-separated keys; `[*]` applies the rule to every
//! item of a list, `[N]` to one.

use regex::Regex;
use serde_json::Value;

pub const RULE_KEYS: [&str; 9] = [
    "type",
    "min_items",
    "max_items",
    "regex",
    "contains",
    "approx",
    "tolerance",
    "equals",
    "exists",
];

#[derive(Debug, Clone)]
pub enum Check {
    Type(String),
    MinItems(usize),
    MaxItems(usize),
    Regex(Regex),
    Contains(String),
    Approx { value: f64, tolerance: f64 },
    Equals(Value),
    Exists(bool),
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub path: String,
    pub checks: Vec<Check>,
}

/// A problem with the rules file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub path: String,
    pub message: String,
}

const TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "array", "object", "null",
];

pub fn parse_rules(value: &Value) -> Result<Vec<Rule>, Vec<RuleError>> {
    let Value::Object(map) = value else {
        return Err(vec![RuleError {
            path: String::new(),
            message: "expected an object of path → rule".into(),
        }]);
    };
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (path, spec) in map {
        let err = |message: String| RuleError {
            path: path.clone(),
            message,
        };
        let Value::Object(spec) = spec else {
            errors.push(err(
                "a rule is an object such as {\"type\": \"string\"}".into()
            ));
            continue;
        };
        let mut checks = Vec::new();
        for (key, v) in spec {
            let check = match key.as_str() {
                "type" => match v.as_str() {
                    Some(t) if TYPES.contains(&t) => Some(Check::Type(t.to_string())),
                    _ => {
                        errors.push(err(format!("`type` is one of {}", TYPES.join(", "))));
                        None
                    }
                },
                "min_items" | "max_items" => match v.as_u64() {
                    Some(n) if key == "min_items" => Some(Check::MinItems(n as usize)),
                    Some(n) => Some(Check::MaxItems(n as usize)),
                    None => {
                        errors.push(err(format!("`{key}` takes a whole number")));
                        None
                    }
                },
                "regex" => match v.as_str().map(Regex::new) {
                    Some(Ok(re)) => Some(Check::Regex(re)),
                    Some(Err(e)) => {
                        errors.push(err(format!("`regex` does not compile: {e}")));
                        None
                    }
                    None => {
                        errors.push(err("`regex` takes a string".into()));
                        None
                    }
                },
                "contains" => match v.as_str() {
                    Some(s) => Some(Check::Contains(s.to_string())),
                    None => {
                        errors.push(err("`contains` takes a string".into()));
                        None
                    }
                },
                "approx" => match v.as_f64() {
                    Some(x) => {
                        let tolerance =
                            spec.get("tolerance").and_then(Value::as_f64).unwrap_or(0.0);
                        Some(Check::Approx {
                            value: x,
                            tolerance,
                        })
                    }
                    None => {
                        errors.push(err("`approx` takes a number".into()));
                        None
                    }
                },
                "tolerance" => None,
                "equals" => Some(Check::Equals(v.clone())),
                "exists" => Some(Check::Exists(v.as_bool().unwrap_or(true))),
                other => {
                    let hint = crate::fields::nearest(other, RULE_KEYS.iter().copied())
                        .map(|k| format!(" (did you mean `{k}`?)"))
                        .unwrap_or_default();
                    errors.push(err(format!(
                        "unknown rule `{other}`{hint}; rules: {}",
                        RULE_KEYS.join(", ")
                    )));
                    None
                }
            };
            checks.extend(check);
        }
        rules.push(Rule {
            path: path.clone(),
            checks,
        });
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

/// The values a path selects in `output` (several with `[*]`).
pub fn select<'a>(output: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![output];
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, index) = match part.find('[') {
            Some(i) => (&part[..i], Some(part[i + 1..].trim_end_matches(']'))),
            None => (part, None),
        };
        let mut next = Vec::new();
        for v in current {
            let v = if key.is_empty() { Some(v) } else { v.get(key) };
            match (v, index) {
                (Some(v), None) => next.push(v),
                (Some(Value::Array(items)), Some("*")) => next.extend(items.iter()),
                (Some(Value::Array(items)), Some(n)) => {
                    next.extend(n.parse::<usize>().ok().and_then(|n| items.get(n)))
                }
                _ => {}
            }
        }
        current = next;
    }
    current
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
    }
}

/// Every rule the output breaks, as readable sentences.
pub fn evaluate(rules: &[Rule], output: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    for rule in rules {
        let values = select(output, &rule.path);
        let p = &rule.path;
        if values.is_empty() {
            if !rule
                .checks
                .iter()
                .any(|c| matches!(c, Check::Exists(false)))
            {
                failures.push(format!("`{p}` is missing from the output"));
            }
            continue;
        }
        for v in values {
            for check in &rule.checks {
                let fail = match check {
                    Check::Type(t) => {
                        let actual = type_name(v);
                        let ok = actual == t || (t == "number" && actual == "integer");
                        (!ok).then(|| format!("`{p}` is {actual}, expected {t}"))
                    }
                    Check::MinItems(n) => match v.as_array() {
                        Some(a) if a.len() >= *n => None,
                        Some(a) => Some(format!(
                            "`{p}` has {} items, expected at least {n}",
                            a.len()
                        )),
                        None => Some(format!("`{p}` is not a list")),
                    },
                    Check::MaxItems(n) => match v.as_array() {
                        Some(a) if a.len() <= *n => None,
                        Some(a) => {
                            Some(format!("`{p}` has {} items, expected at most {n}", a.len()))
                        }
                        None => Some(format!("`{p}` is not a list")),
                    },
                    Check::Regex(re) => match v.as_str() {
                        Some(s) if re.is_match(s) => None,
                        Some(_) => Some(format!("`{p}` does not match /{}/", re.as_str())),
                        None => Some(format!("`{p}` is not text")),
                    },
                    Check::Contains(needle) => match v.as_str() {
                        Some(s) if s.to_lowercase().contains(&needle.to_lowercase()) => None,
                        _ => Some(format!("`{p}` does not contain \"{needle}\"")),
                    },
                    Check::Approx { value, tolerance } => match v.as_f64() {
                        Some(x) if (x - value).abs() <= *tolerance => None,
                        Some(x) => Some(format!("`{p}` is {x}, expected {value} ± {tolerance}")),
                        None => Some(format!("`{p}` is not a number")),
                    },
                    Check::Equals(want) => {
                        (v != want).then(|| format!("`{p}` is {v}, expected {want}"))
                    }
                    Check::Exists(_) => None,
                };
                failures.extend(fail);
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(v: Value) -> Vec<Rule> {
        parse_rules(&v).expect("rules parse")
    }

    #[test]
    fn the_design_example_passes_and_fails() {
        let r = rules(json!({
            "title": {"type": "string"}, "sections": {"min_items": 3},
            "sources[*].url": {"regex": "^https://"}, "summary": {"contains": "refund"},
            "score": {"approx": 4.5, "tolerance": 0.5}, "lang": {"equals": "en"}
        }));
        let good = json!({"title": "t", "sections": [1, 2, 3], "sources": [{"url": "https://a"}, {"url": "https://b"}],
                          "summary": "Refunds matter", "score": 4.2, "lang": "en"});
        assert_eq!(evaluate(&r, &good), Vec::<String>::new());
        let bad = json!({"title": 3, "sections": [1], "sources": [{"url": "http://a"}], "summary": "x", "score": 3, "lang": "de"});
        let failures = evaluate(&r, &bad);
        assert_eq!(failures.len(), 6, "{failures:?}");
        assert!(evaluate(&r, &json!({}))
            .iter()
            .any(|f| f.contains("`title` is missing")));
    }

    #[test]
    fn bad_rules_are_named() {
        let errs =
            parse_rules(&json!({"a": {"regx": "x"}, "b": {"regex": "("}, "c": {"type": "str"}}))
                .expect_err("bad");
        let text = format!("{errs:?}");
        assert!(
            text.contains("did you mean `regex`")
                && text.contains("does not compile")
                && text.contains("`type` is one of"),
            "{text}"
        );
    }

    #[test]
    fn paths_with_indexes() {
        let v = json!({"a": [{"b": 1}, {"b": 2}]});
        assert_eq!(select(&v, "a[*].b"), [&json!(1), &json!(2)]);
        assert_eq!(select(&v, "a[1].b"), [&json!(2)]);
        assert!(select(&v, "a[9].b").is_empty());
    }
}
