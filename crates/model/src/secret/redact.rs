//! Redaction: every string Chainlift writes passes through here first.

use super::SecretValue;

/// Replaces every known secret value with `****`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    pub fn add(&mut self, value: &SecretValue) {
        // Very short values would redact ordinary text; they are still never written on purpose.
        let v = value.expose();
        if v.len() >= 4 && !self.values.iter().any(|x| x == v) {
            self.values.push(v.to_string());
            // Longest first, so a value that contains another is replaced whole.
            self.values.sort_by_key(|x| std::cmp::Reverse(x.len()));
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
}
