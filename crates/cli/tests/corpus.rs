//! The malformed-chain corpus (`tests/corpus/`): every lint rule has a file that triggers it
//! (here) and the sample, which triggers none of them; unreadable input exits 2 naming the
//! file and line. The exact messages are snapshot-tested, so a change in wording is a reviewed
//! change.

mod support;

use std::path::{Path, PathBuf};

use chainlift_model::lint::{Severity, CODES};
use support::{copy_dir, Sandbox, TestResult};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

/// Lay a corpus case over the sandbox's copy of the sample.
fn overlay(case: &Path, sb: &Sandbox) -> std::io::Result<()> {
    for entry in std::fs::read_dir(case)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "project" {
            copy_dir(&entry.path(), &sb.project)?;
        } else if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &sb.chain_dir().join(&name))?;
        } else {
            std::fs::copy(entry.path(), sb.chain_dir().join(&name))?;
        }
    }
    Ok(())
}

#[test]
fn the_sample_triggers_no_rule_but_unset_secrets() -> TestResult {
    let sb = Sandbox::new()?;
    let out = sb
        .cli()
        .args(["validate", "content-pipeline", "--format", "json"])
        .output()?;
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.iter().all(|c| *c == "secret-unset"), "{codes:?}");
    Ok(())
}

#[test]
fn every_case_of_the_corpus() -> TestResult {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let mut covered = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let sb = Sandbox::new()?;
        overlay(case, &sb)?;
        let out = sb.cli().args(["validate", "content-pipeline"]).output()?;
        let code = out.status.code().unwrap_or(-1);
        let text = format!(
            "exit {code}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = text.replace(&sb.project.display().to_string(), "<project>");
        if name.starts_with("syntax-") {
            assert_eq!(code, 2, "{name}: unreadable input exits 2\n{text}");
            assert!(
                text.contains("error: <project>/")
                    && text
                        .lines()
                        .any(|l| l.contains(".yaml:") || l.contains(".env:")),
                "{name}: names file and line\n{text}"
            );
        } else {
            let (_, severity, _) = CODES
                .iter()
                .find(|(c, _, _)| *c == name)
                .ok_or(format!("{name} is no lint code"))?;
            assert!(
                text.contains(&format!("[{name}]")),
                "{name} was not reported\n{text}"
            );
            let want = if *severity == Severity::Error { 1 } else { 0 };
            assert!(code == want || code == 1, "{name}: exit {code}\n{text}");
            covered.push(name.clone());
        }
        insta::assert_snapshot!(name, text);
    }
    let untested: Vec<&str> = CODES
        .iter()
        .map(|(c, _, _)| *c)
        .filter(|c| {
            !covered.iter().any(|x| x == c)
                && ![
                    "var-on-secret",
                    "secret-unset",
                    "missing-model",
                    "bad-reference",
                ]
                .contains(c)
        })
        .collect();
    assert!(
        untested.is_empty(),
        "lint codes without a corpus case: {untested:?}"
    );
    Ok(())
}

#[test]
fn the_readme_publishes_every_code() -> TestResult {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))?;
    for (code, severity, _) in CODES {
        let sev = if *severity == Severity::Error {
            "error"
        } else {
            "warning"
        };
        assert!(
            readme.contains(&format!("| `{code}` | {sev} |")),
            "README lacks `{code}` ({sev})"
        );
    }
    Ok(())
}
