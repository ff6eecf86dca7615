//! The cost gate: per-run cost within the env's cap, and within `max_ratio` × the baseline
//! re-priced at this env's model prices — with the agent whose tokens grew, and why.

use std::collections::BTreeMap;

use crate::report::{evidence, GateReport};

#[derive(Debug, Clone, PartialEq)]
pub struct StepCost {
    pub agent: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub attempts: u32,
}

/// A previous run to compare with: which one, and its steps.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub label: String,
    pub steps: Vec<StepCost>,
}

pub struct CostInput<'a> {
    pub env: &'a str,
    pub run_cost: Option<f64>,
    pub steps: &'a [StepCost],
    pub cap: Option<f64>,
    pub max_ratio: f64,
    pub baseline: Option<Baseline>,
    /// This env's prices per agent: USD per million input and output tokens.
    pub prices: &'a BTreeMap<String, (f64, f64)>,
}

fn totals(steps: &[StepCost]) -> BTreeMap<String, (u64, u64, u32, u32)> {
    let mut out: BTreeMap<String, (u64, u64, u32, u32)> = BTreeMap::new();
    for s in steps {
        let e = out.entry(s.agent.clone()).or_default();
        e.0 += s.tokens_in;
        e.1 += s.tokens_out;
        e.2 += s.attempts;
        e.3 += 1;
    }
    out
}

/// The agent whose tokens grew most against the baseline, and the likely cause.
pub fn explain_growth(now: &[StepCost], before: &[StepCost]) -> Option<String> {
    let (a, b) = (totals(now), totals(before));
    let (agent, (tin, tout, att, rounds), growth) = a
        .iter()
        .map(|(agent, t)| {
            let old = b.get(agent).copied().unwrap_or((0, 0, 0, 0));
            let growth = (t.0 + t.1) as f64 / ((old.0 + old.1).max(1)) as f64;
            (agent.clone(), *t, growth)
        })
        .max_by(|x, y| x.2.total_cmp(&y.2))?;
    let old = b.get(&agent).copied().unwrap_or((0, 0, 0, 0));
    if growth <= 1.05 {
        return None;
    }
    let why = if rounds > old.3 {
        format!("more rounds ({} → {rounds} runs of the agent)", old.3)
    } else if att > old.2 {
        format!("more attempts ({} → {att}: retries)", old.2)
    } else if tin as f64 > old.0 as f64 * 1.2 {
        format!("a longer prompt ({} → {tin} input tokens)", old.0)
    } else {
        format!("longer answers ({} → {tout} output tokens)", old.1)
    };
    Some(format!("`{agent}` used {growth:.1}× the tokens: {why}"))
}

pub fn evaluate(input: &CostInput<'_>) -> GateReport {
    let env = input.env;
    let mut ev = Vec::new();
    match (input.run_cost, input.cap) {
        (Some(c), Some(cap)) => ev.push(evidence("cost per run within the cap", c <= cap, format!("${c:.4} per run, cap ${cap:.2} in `{env}`"), None)),
        (None, _) => ev.push(evidence("cost per run known", false, "a model in this run has no price, so the cost is unknown: add input_per_mtok/output_per_mtok in chainlift.yaml", None)),
        (Some(c), None) => ev.push(evidence("cost per run within the cap", false, format!("${c:.4} per run, but `{env}` sets no cost_per_run"), None)),
    }
    let mut note = String::new();
    match (&input.baseline, input.run_cost) {
        (Some(base), Some(cost)) => {
            let repriced: Option<f64> = base
                .steps
                .iter()
                .map(|s| input.prices.get(&s.agent).map(|(i, o)| (s.tokens_in as f64 * i + s.tokens_out as f64 * o) / 1e6))
                .sum();
            match repriced {
                Some(b) if b > 0.0 => {
                    let ratio = cost / b;
                    let mut detail = format!("${cost:.4} vs ${b:.4} for {} re-priced at `{env}` prices: {ratio:.2}× (max {:.1}×)", base.label, input.max_ratio);
                    if let Some(why) = explain_growth(input.steps, &base.steps) {
                        detail.push_str(&format!("; {why}"));
                    }
                    ev.push(evidence("cost ratio to the baseline", ratio <= input.max_ratio, detail, None));
                }
                _ => note = format!("; the ratio is skipped: {} cannot be re-priced at `{env}` prices", base.label),
            }
        }
        (None, _) => note = "; the ratio is skipped: no baseline (no earlier run of this version in the previous env, nothing deployed here)".into(),
        (Some(_), None) => {}
    }
    let mut report = GateReport::from_evidence(
        "cost",
        ev,
        format!("cost within bounds in `{env}`{note}"),
        |f| {
            f.iter()
                .map(|e| e.detail.clone())
                .collect::<Vec<_>>()
                .join(" · ")
        },
    );
    if report.status == crate::GateStatus::Passed {
        let details: Vec<String> = report.evidence.iter().map(|e| e.detail.clone()).collect();
        report.summary = format!(
            "cost within bounds in `{env}`: {}{note}",
            details.join("; ")
        );
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(agent: &str, tin: u64, tout: u64, attempts: u32) -> StepCost {
        StepCost {
            agent: agent.into(),
            tokens_in: tin,
            tokens_out: tout,
            attempts,
        }
    }

    #[test]
    fn a_retry_loop_blows_the_ratio_and_is_named() {
        let prices = BTreeMap::from([("a".to_string(), (1.0, 2.0)), ("w".to_string(), (1.0, 2.0))]);
        let base = Baseline {
            label: "v1's last staging run".into(),
            steps: vec![step("a", 100, 50, 1), step("w", 1000, 500, 1)],
        };
        let now = vec![step("a", 100, 50, 1), step("w", 3000, 1500, 3)];
        let cost = (100.0 + 100.0 + 3000.0 + 3000.0) / 1e6;
        let report = evaluate(&CostInput {
            env: "staging",
            run_cost: Some(cost),
            steps: &now,
            cap: Some(1.0),
            max_ratio: 2.0,
            baseline: Some(base),
            prices: &prices,
        });
        assert_eq!(report.status, crate::GateStatus::Failed);
        assert!(
            report
                .summary
                .contains("`w` used 3.0× the tokens: more attempts (1 → 3: retries)"),
            "{}",
            report.summary
        );
    }

    #[test]
    fn no_baseline_skips_the_ratio_and_says_so() {
        let prices = BTreeMap::new();
        let report = evaluate(&CostInput {
            env: "staging",
            run_cost: Some(0.01),
            steps: &[],
            cap: Some(0.5),
            max_ratio: 2.0,
            baseline: None,
            prices: &prices,
        });
        assert_eq!(report.status, crate::GateStatus::Passed);
        assert!(report.summary.contains("no baseline"));
    }
}
