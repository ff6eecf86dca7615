//! The quality gate's judgement (DESIGN.md §5): a reviewer scores each quality input's output
//! 1–5 per criterion with a rationale; the average must reach `min_average`; each criterion is
//! compared with the baseline version's scores and regressions are named. Running the chain
//! and the reviewer is the caller's, behind [`QualityRunner`]; everything decided is here.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::report::evidence;
use crate::{CellScore, CriterionScore, GateReport, GateStatus, InputScores, QualityScores};

pub const DEFAULT_CRITERIA: [&str; 4] = ["completeness", "accuracy", "formatting", "relevance"];

/// What the reviewer is asked, as a minijinja template over `{criteria, input, output}`.
pub const REVIEWER_PROMPT: &str =
    "You review the output of an LLM agent chain against quality criteria.\n\
Score each criterion from 1 (poor) to 5 (excellent) and give a one-sentence rationale.\n\
Judge only what is in the output; do not give an overall verdict.\n\n\
Criteria: {{ input.criteria | join(\", \") }}{% if input.guidance is defined %}\n\
What each criterion means here: {{ input.guidance | tojson }}{% endif %}\n\n\
The chain's input:\n{{ input.input | tojson }}\n\n\
The chain's output:\n{{ input.output }}\n";

/// A criterion score is a regression when it falls this much below the baseline's.
const REGRESSION: f64 = 0.5;

/// `gates.quality` of a chain, with the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityPolicy {
    /// The folder of quality inputs, relative to the chain; none: nothing to score.
    pub inputs: Option<String>,
    pub min_average: f64,
    pub criteria: Vec<String>,
    /// What a criterion means for this chain, told to the reviewer (`{name, guidance}` items).
    pub guidance: BTreeMap<String, String>,
    /// The reviewer's model as written (`${REVIEWER_MODEL}` by default).
    pub reviewer_model: String,
}

impl QualityPolicy {
    /// Read from the chain's `gates:` value (absent keys take the defaults).
    pub fn from_gates(gates: &Value) -> QualityPolicy {
        // A criterion is a name, or `{name, guidance}` saying what it means for this chain.
        let items = gates
            .pointer("/quality/criteria")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
        let mut guidance = BTreeMap::new();
        let criteria: Vec<String> = items
            .iter()
            .filter_map(|c| match c {
                Value::String(name) => Some(name.clone()),
                Value::Object(m) => {
                    let name = m.get("name")?.as_str()?.to_string();
                    if let Some(g) = m.get("guidance").and_then(Value::as_str) {
                        guidance.insert(name.clone(), g.chars().take(500).collect());
                    }
                    Some(name)
                }
                _ => None,
            })
            .collect::<Vec<_>>();
        let criteria = if criteria.is_empty() {
            DEFAULT_CRITERIA.iter().map(|c| c.to_string()).collect()
        } else {
            criteria
        };
        QualityPolicy {
            inputs: gates
                .pointer("/quality/inputs")
                .and_then(|v| v.as_str())
                .map(String::from),
            min_average: gates
                .pointer("/quality/min_average")
                .and_then(|v| v.as_f64())
                .unwrap_or(4.0),
            criteria,
            guidance,
            reviewer_model: gates
                .pointer("/quality/reviewer/model")
                .and_then(|v| v.as_str())
                .unwrap_or("${REVIEWER_MODEL}")
                .to_string(),
        }
    }
}

/// The JSON schema the reviewer's answer must match: a score and a rationale per criterion.
pub fn reviewer_schema(criteria: &[String]) -> Value {
    let mut props = serde_json::Map::new();
    for c in criteria {
        props.insert(
            c.clone(),
            json!({"type": "object", "required": ["score", "rationale"], "additionalProperties": false,
                   "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}, "rationale": {"type": "string"}}}),
        );
    }
    json!({"type": "object", "required": criteria, "additionalProperties": false, "properties": props})
}

/// The reviewer's answer read as scores: every criterion with a score clamped to 1–5 and its
/// rationale, or `None` when one is missing.
pub fn read_review(answer: &Value, criteria: &[String]) -> Option<BTreeMap<String, (i64, String)>> {
    let scores: BTreeMap<String, (i64, String)> = criteria
        .iter()
        .filter_map(|c| {
            let s = answer.get(c)?;
            Some((
                c.clone(),
                (
                    s.get("score")?.as_i64()?.clamp(1, 5),
                    s.get("rationale")
                        .and_then(|r| r.as_str())
                        .unwrap_or("")
                        .to_string(),
                ),
            ))
        })
        .collect();
    (scores.len() == criteria.len()).then_some(scores)
}

/// One quality input, scored (or why not).
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub input: String,
    pub run_id: Option<String>,
    pub scores: Result<BTreeMap<String, (i64, String)>, String>,
}

/// The version the scores are compared with (the one deployed in the env) and its averages.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub label: String,
    pub averages: BTreeMap<String, f64>,
}

impl Baseline {
    /// The per-criterion averages of a stored quality report (its `criterion:<name>` evidence).
    pub fn from_report(label: &str, report: &Value) -> Baseline {
        let mut averages = BTreeMap::new();
        for e in report["evidence"].as_array().into_iter().flatten() {
            let Some(c) = e["check"]
                .as_str()
                .and_then(|c| c.strip_prefix("criterion:"))
            else {
                continue;
            };
            if let Some(old) = e["detail"].as_str().and_then(|d| d.parse::<f64>().ok()) {
                averages.insert(c.to_string(), old);
            }
        }
        Baseline {
            label: label.to_string(),
            averages,
        }
    }
}

/// What the quality gate needs done: score every input (run the chain, then the reviewer on
/// its output) and find the baseline. The api does it with real runs.
pub trait QualityRunner {
    fn score_all(
        &self,
        inputs: Vec<PathBuf>,
    ) -> impl Future<Output = Result<Vec<Scored>, String>> + Send;
    fn baseline(&self) -> impl Future<Output = Result<Option<Baseline>, String>> + Send;
}

/// Run the gate: the inputs scored through `runner`, then judged.
pub async fn run<R: QualityRunner + Sync>(
    policy: &QualityPolicy,
    model: &str,
    inputs: Vec<PathBuf>,
    runner: &R,
) -> Result<GateReport, String> {
    let mut scored = runner.score_all(inputs).await?;
    scored.sort_by(|a, b| a.input.cmp(&b.input));
    let baseline = runner.baseline().await?;
    Ok(judge(policy, model, &scored, baseline.as_ref()))
}

/// The report: evidence per input and criterion, the average against `min_average`, the
/// regressions against the baseline, and the scores for the charts.
pub fn judge(
    policy: &QualityPolicy,
    model: &str,
    scored: &[Scored],
    baseline: Option<&Baseline>,
) -> GateReport {
    let min_average = policy.min_average;
    let mut ev = Vec::new();
    let mut per_criterion: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for s in scored {
        match &s.scores {
            Ok(scores) => {
                let avg = scores.values().map(|(v, _)| *v as f64).sum::<f64>()
                    / scores.len().max(1) as f64;
                let detail = scores
                    .iter()
                    .map(|(c, (v, why))| format!("{c} {v} ({why})"))
                    .collect::<Vec<_>>()
                    .join("; ");
                ev.push(evidence(
                    &format!("{} scored", s.input),
                    true,
                    format!("average {avg:.2}: {detail}"),
                    None,
                ));
                for (c, (v, _)) in scores {
                    per_criterion.entry(c.clone()).or_default().push(*v);
                }
            }
            Err(e) => ev.push(evidence(
                &format!("{} scored", s.input),
                false,
                e.clone(),
                Some("output-quality"),
            )),
        }
    }
    let averages: BTreeMap<String, f64> = per_criterion
        .iter()
        .map(|(c, v)| (c.clone(), v.iter().sum::<i64>() as f64 / v.len() as f64))
        .collect();
    let all: Vec<i64> = per_criterion.values().flatten().copied().collect();
    let overall = if all.is_empty() {
        0.0
    } else {
        all.iter().sum::<i64>() as f64 / all.len() as f64
    };
    for (c, a) in &averages {
        ev.push(evidence(
            &format!("criterion:{c}"),
            true,
            format!("{a:.2}"),
            None,
        ));
    }
    ev.push(evidence(
        "average score",
        !all.is_empty() && overall >= min_average,
        format!(
            "{overall:.2} across {} input(s) (minimum {min_average:.1})",
            scored.iter().filter(|s| s.scores.is_ok()).count()
        ),
        Some("output-quality"),
    ));
    ev.push(evidence(
        "reviewer",
        true,
        format!("model {model}, temperature 0, prompt:\n{REVIEWER_PROMPT}"),
        None,
    ));

    // Regressions against the version deployed here.
    let mut regressions = Vec::new();
    let mut compared: BTreeMap<String, f64> = BTreeMap::new();
    let mut baseline_label = None;
    if let Some(b) = baseline {
        for (c, old) in &b.averages {
            let Some(new) = averages.get(c) else {
                continue;
            };
            compared.insert(c.clone(), *old);
            baseline_label = Some(b.label.clone());
            if new + REGRESSION <= *old {
                regressions.push(format!(
                    "{c} fell from {old:.1} to {new:.1} (vs {})",
                    b.label
                ));
            }
        }
    }
    if !regressions.is_empty() {
        ev.push(evidence(
            "regressions against the baseline",
            true,
            regressions.join("; "),
            None,
        ));
    }
    let regression_note = if regressions.is_empty() {
        String::new()
    } else {
        format!("; regressions: {}", regressions.join("; "))
    };
    let crit = averages
        .iter()
        .map(|(c, a)| format!("{c} {a:.1}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut report = GateReport::from_evidence(
        "quality",
        ev,
        format!("average {overall:.2} ≥ {min_average:.1} ({crit}){regression_note}"),
        |f| {
            let lowest = averages
                .iter()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .map(|(c, a)| format!("; lowest: {c} {a:.1}"))
                .unwrap_or_default();
            let failed: Vec<String> = f
                .iter()
                .filter(|e| e.check != "average score")
                .map(|e| format!("{}: {}", e.check, e.detail))
                .collect();
            let mut s = format!(
                "average {overall:.2} is below {min_average:.1} ({crit}){lowest}{regression_note}"
            );
            if !failed.is_empty() {
                s = format!("{s} · {}", failed.join(" · "));
            }
            s
        },
    );
    report.run_ids = scored.iter().filter_map(|s| s.run_id.clone()).collect();
    report.quality = Some(QualityScores {
        min_average,
        overall,
        baseline: baseline_label,
        criteria: averages
            .iter()
            .map(|(c, a)| CriterionScore {
                name: c.clone(),
                average: *a,
                baseline: compared.get(c).copied(),
            })
            .collect(),
        inputs: scored
            .iter()
            .map(|s| InputScores {
                input: s.input.clone(),
                run_id: s.run_id.clone(),
                error: s.scores.as_ref().err().cloned(),
                scores: s
                    .scores
                    .as_ref()
                    .map(|m| {
                        m.iter()
                            .map(|(c, (v, why))| CellScore {
                                criterion: c.clone(),
                                score: *v,
                                rationale: why.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
    });
    if report.status == GateStatus::Passed && all.is_empty() {
        report.status = GateStatus::Failed;
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(input: &str, scores: &[(&str, i64)]) -> Scored {
        Scored {
            input: input.into(),
            run_id: Some(format!("run-{input}")),
            scores: Ok(scores
                .iter()
                .map(|(c, v)| (c.to_string(), (*v, format!("{c} rationale"))))
                .collect()),
        }
    }

    fn policy() -> QualityPolicy {
        QualityPolicy::from_gates(
            &json!({"quality": {"inputs": "q", "criteria": ["accuracy", "formatting"]}}),
        )
    }

    #[test]
    fn the_policy_takes_defaults() {
        let p = QualityPolicy::from_gates(&json!({}));
        assert_eq!(p.inputs, None);
        assert_eq!(p.min_average, 4.0);
        assert_eq!(p.criteria.len(), 4);
        assert_eq!(p.reviewer_model, "${REVIEWER_MODEL}");
    }

    #[test]
    fn passes_at_the_minimum_and_names_a_regression() {
        let b = Baseline {
            label: "v2".into(),
            averages: [
                ("accuracy".to_string(), 5.0),
                ("formatting".to_string(), 4.0),
            ]
            .into(),
        };
        let r = judge(
            &policy(),
            "m",
            &[scored("a.json", &[("accuracy", 4), ("formatting", 4)])],
            Some(&b),
        );
        assert_eq!(r.status, GateStatus::Passed, "{}", r.summary);
        assert!(
            r.summary
                .contains("regressions: accuracy fell from 5.0 to 4.0 (vs v2)"),
            "{}",
            r.summary
        );
        let q = r.quality.expect("scores");
        assert_eq!(q.baseline.as_deref(), Some("v2"));
        assert_eq!(q.criteria[0].baseline, Some(5.0));
    }

    #[test]
    fn below_the_minimum_fails_and_says_the_lowest() {
        let r = judge(
            &policy(),
            "m",
            &[scored("a.json", &[("accuracy", 2), ("formatting", 4)])],
            None,
        );
        assert_eq!(r.status, GateStatus::Failed);
        assert!(
            r.summary.contains("below 4.0") && r.summary.contains("lowest: accuracy 2.0"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn nothing_scored_is_a_failure_not_a_pass() {
        let failed = Scored {
            input: "a.json".into(),
            run_id: None,
            scores: Err("the chain did not complete: timed out".into()),
        };
        let r = judge(&policy(), "m", &[failed], None);
        assert_eq!(r.status, GateStatus::Failed);
    }

    #[test]
    fn a_review_missing_a_criterion_is_not_read() {
        let criteria = vec!["accuracy".to_string(), "formatting".to_string()];
        let full = json!({"accuracy": {"score": 9, "rationale": "r"}, "formatting": {"score": 3, "rationale": "f"}});
        let scores = read_review(&full, &criteria).expect("both");
        assert_eq!(scores["accuracy"].0, 5, "clamped to 5");
        assert!(read_review(&json!({"accuracy": {"score": 4}}), &criteria).is_none());
    }
}
