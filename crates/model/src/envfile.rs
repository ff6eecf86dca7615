//! `config/<env>.env`: `KEY=VALUE` lines, as DESIGN.md §2 defines them.
//!
//! `#` starts a comment only at the start of a line or after whitespace in an unquoted value
//! (`KEY=#x` is the value `#x`); quotes keep everything between them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{ModelError, SourceLocation};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEntry {
    pub value: String,
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvFile {
    pub path: PathBuf,
    pub entries: BTreeMap<String, EnvEntry>,
}

impl EnvFile {
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::read(path, e))?;
        Self::parse(path, &text)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|e| e.value.as_str())
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, ModelError> {
        let mut entries = BTreeMap::new();
        for (idx, raw) in text.lines().enumerate() {
            let line_no = idx + 1;
            let at = || SourceLocation {
                file: path.to_path_buf(),
                line: line_no,
            };
            let line = raw.trim_start_matches('\u{feff}').trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((key, rest)) = line.split_once('=') else {
                return Err(ModelError::Invalid {
                    at: at(),
                    message: format!("{} is not KEY=VALUE", truncate(line)),
                    hint: "write one KEY=VALUE per line, or start the line with # for a comment"
                        .into(),
                });
            };
            let key = key.trim();
            if !is_valid_key(key) {
                return Err(ModelError::Invalid {
                    at: at(),
                    message: format!("{} is not a valid variable name", truncate(key)),
                    hint: "names use letters, digits and _ and do not start with a digit".into(),
                });
            }
            let value = parse_value(rest.trim()).map_err(|message| ModelError::Invalid {
                at: at(),
                message,
                hint: "close the quote on the same line".into(),
            })?;
            entries.insert(
                key.to_string(),
                EnvEntry {
                    value,
                    line: line_no,
                },
            );
        }
        Ok(EnvFile {
            path: path.to_path_buf(),
            entries,
        })
    }
}

/// The text quoted in a message: short lines only, and nothing that looks like a secret (a
/// pasted key must not reach the terminal or a log through an error message).
fn truncate(s: &str) -> String {
    if s.chars().count() > 40 || crate::lint::secret_kind(s).is_some() {
        "this line".into()
    } else {
        format!("`{s}`")
    }
}

pub fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(rest: &str) -> Result<String, String> {
    let mut chars = rest.chars();
    match chars.next() {
        Some(q @ ('"' | '\'')) => {
            let body: String = chars.collect();
            match body.find(q) {
                Some(end) => Ok(body[..end].to_string()),
                None => Err(format!("the value opens a {q} quote that is never closed")),
            }
        }
        _ => {
            // An inline comment is ` #` (whitespace, then #) in an unquoted value.
            let mut end = rest.len();
            let bytes = rest.as_bytes();
            for i in 1..bytes.len() {
                if bytes[i] == b'#' && bytes[i - 1].is_ascii_whitespace() {
                    end = i;
                    break;
                }
            }
            Ok(rest[..end].trim_end().to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<EnvFile, ModelError> {
        EnvFile::parse(Path::new("dev.env"), text)
    }

    #[test]
    fn comments_quotes_and_hash_values() -> Result<(), ModelError> {
        let env =
            parse("# top\nA=1\nB=two words # note\nC=#x\nD=\"x # y\"\nE='q'\n\nexport F=f\n")?;
        assert_eq!(env.get("A"), Some("1"));
        assert_eq!(env.get("B"), Some("two words"));
        assert_eq!(env.get("C"), Some("#x"));
        assert_eq!(env.get("D"), Some("x # y"));
        assert_eq!(env.get("E"), Some("q"));
        assert_eq!(env.get("F"), Some("f"));
        assert_eq!(env.entries["B"].line, 3);
        Ok(())
    }

    #[test]
    fn messages_never_quote_a_secret() {
        let err = parse("Zx81kQv02LmN4pRt7YwB3cDe9uFh\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("this line") && !err.contains("Zx81"), "{err}");
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("A=1\nnot a pair\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("dev.env:2"), "{err}");
        let err = parse("A=\"open\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("dev.env:1") && err.contains("never closed"),
            "{err}"
        );
        let err = parse("1A=x\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("not a valid variable name"), "{err}");
    }
}
