//! Redaction: every string Chainlift writes passes through here first.

use super::SecretValue;

/// Replaces every known secret value with `****`: in text as written, in its JSON-escaped
/// form (a value with `"` or `\\` survives serialization escaped), and in JSON values before
/// they are serialized ([`Redactor::redact_value`]).
#[derive(Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

/// Prints how many values it holds, never the values.
impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} values)", self.values.len())
    }
}

impl Redactor {
    pub fn add(&mut self, value: &SecretValue) {
        // Very short values would redact ordinary text; they are still never written on purpose.
        let v = value.expose();
        if v.len() < 4 {
            return;
        }
        let escaped = serde_json::to_string(v)
            .map(|q| q[1..q.len() - 1].to_string())
            .unwrap_or_else(|_| v.to_string());
        for form in [v.to_string(), escaped] {
            if !self.values.contains(&form) {
                self.values.push(form);
            }
        }
        // Longest first, so a value that contains another is replaced whole.
        self.values.sort_by_key(|x| std::cmp::Reverse(x.len()));
    }

    /// Redact every string (and key) of a JSON value in place, before it is serialized.
    pub fn redact_value(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        if self.values.is_empty() {
            return;
        }
        match value {
            Value::String(s) => {
                let r = self.redact(s);
                if r != *s {
                    *s = r;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_value(v)),
            Value::Object(map) => {
                let old = std::mem::take(map);
                for (k, mut v) in old {
                    self.redact_value(&mut v);
                    map.insert(self.redact(&k), v);
                }
            }
            _ => {}
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "****");
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence_longest_first() {
        let mut r = Redactor::default();
        r.add(&SecretValue::new("abcd"));
        r.add(&SecretValue::new("abcdefgh"));
        assert_eq!(r.redact("x abcdefgh y abcd"), "x **** y ****");
    }

    #[test]
    fn quotes_and_backslashes_do_not_survive_serialization() {
        let mut r = Redactor::default();
        let secret = SecretValue::new(r#"p"a\ss"#);
        r.add(&secret);
        let mut v = serde_json::json!({"a": [format!("key={}", secret.expose())]});
        let serialized = v.to_string();
        assert!(!r.redact(&serialized).contains(r#"a\\ss"#));
        r.redact_value(&mut v);
        assert_eq!(v.to_string(), r#"{"a":["key=****"]}"#);
        assert_eq!(format!("{r:?}"), "Redactor(2 values)");
    }
}
