//! The smoke gate: the chain completes on the smoke input, its output meets its schema and the
//! match rules of `expected-output.json`, and every edge fixture ends cleanly.

use chainlift_model::expect::{evaluate as check_rules, Rule};
use serde_json::Value;

use crate::report::{evidence, GateReport};

/// What a run of the chain came to, as the gate needs it.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    pub id: Option<String>,
    pub status: String,
    pub error: Option<String>,
    /// The JSON (or text) the chain's output agent produced.
    pub output: Option<Value>,
}

pub fn evaluate(
    smoke: &RunResult,
    rules: Option<Result<Vec<Rule>, String>>,
    edges: &[(String, RunResult)],
) -> GateReport {
    let mut ev = Vec::new();
    let completed = smoke.status == "completed";
    let why = smoke.error.clone().unwrap_or_else(|| smoke.status.clone());
    ev.push(evidence(
        "chain completes on the smoke input",
        completed,
        if completed {
            "completed".to_string()
        } else {
            format!("{}: {why}", smoke.status)
        },
        Some("chain-completes"),
    ));
    match (&smoke.output, rules) {
        (_, Some(Err(e))) => ev.push(evidence(
            "expected-output.json",
            false,
            e,
            Some("output-format"),
        )),
        (Some(output), Some(Ok(rules))) => {
            let broken = check_rules(&rules, output);
            let detail = if broken.is_empty() {
                format!("{} rule(s) met; the output matches its schema", rules.len())
            } else {
                broken.join("; ")
            };
            ev.push(evidence(
                "output matches its schema and expected-output.json",
                broken.is_empty(),
                detail,
                Some("output-format"),
            ));
        }
        (Some(_), None) => ev.push(evidence(
            "output matches its schema",
            true,
            "no expected-output.json rules; schema checked by the run",
            Some("output-format"),
        )),
        (None, _) => ev.push(evidence(
            "output exists",
            false,
            format!("no output to check ({why})"),
            Some("output-format"),
        )),
    }
    for (fixture, run) in edges {
        // Clean: completed, or failed with a message — never a hang (timed out) or a silent failure.
        let clean = run.status == "completed"
            || (run.status != "timed_out" && run.error.as_deref().is_some_and(|e| !e.is_empty()));
        let detail = match (&run.error, clean) {
            _ if run.status == "completed" => "completed".to_string(),
            (Some(e), true) => format!("stopped with a clear message: {e}"),
            (Some(e), false) => format!("{}: {e}", run.status),
            (None, _) => format!("{} without a message", run.status),
        };
        ev.push(evidence(
            &format!("edge fixture {fixture} ends cleanly"),
            clean,
            detail,
            Some("edge-cases"),
        ));
    }
    let mut report = GateReport::from_evidence(
        "smoke",
        ev,
        format!("the chain completes on the smoke input and its output is as expected; {} edge fixture(s) end cleanly", edges.len()),
        |f| f.iter().map(|e| format!("{}: {}", e.check, e.detail)).collect::<Vec<_>>().join(" · "),
    );
    report.run_ids = std::iter::once(&smoke.id)
        .chain(edges.iter().map(|(_, r)| &r.id))
        .flatten()
        .cloned()
        .collect();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(status: &str, error: Option<&str>, output: Option<Value>) -> RunResult {
        RunResult {
            id: Some("r".into()),
            status: status.into(),
            error: error.map(String::from),
            output,
        }
    }

    #[test]
    fn passes_and_fails_for_readable_reasons() {
        let rules = chainlift_model::expect::parse_rules(&json!({"title": {"type": "string"}}))
            .map_err(|e| format!("{e:?}"));
        let ok = evaluate(
            &run("completed", None, Some(json!({"title": "t"}))),
            Some(rules.clone()),
            &[("empty.json".into(), run("failed", Some("bad input"), None))],
        );
        assert_eq!(ok.status, crate::GateStatus::Passed, "{ok:?}");
        let drift = evaluate(
            &run("completed", None, Some(json!({"title": 3}))),
            Some(rules),
            &[],
        );
        assert_eq!(drift.status, crate::GateStatus::Failed);
        assert!(
            drift
                .summary
                .contains("`title` is integer, expected string"),
            "{}",
            drift.summary
        );
        let hang = evaluate(
            &run("completed", None, Some(json!({}))),
            None,
            &[("big.json".into(), run("timed_out", Some("slow"), None))],
        );
        assert!(hang.summary.contains("big.json"));
    }
}
