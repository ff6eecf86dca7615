//! The promotion checklist: the seed's four sections as fixed keys, decided by gate evidence
//! (auto) or ticked by a person (manual).

use crate::report::{GateReport, GateStatus};
use crate::CHECKLIST;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: String,
    pub section: String,
    /// `auto` or `manual`.
    pub kind: String,
    /// passed | failed | waived | not_applicable | unticked | ticked
    pub state: String,
    pub evidence: Option<String>,
}

/// Ticks people already gave, kept across re-runs of the gates.
pub struct Tick {
    pub key: String,
    pub ticked: bool,
}

pub struct Inputs<'a> {
    pub required_gates: &'a [String],
    pub reports: &'a [GateReport],
    /// Event hand-off problems found by the linter (trigger never emitted, no path, …).
    pub event_problems: &'a [String],
    pub has_edge_fixtures: bool,
    pub ticks: &'a [Tick],
}

fn manual(key: &str, section: &str, ticks: &[Tick], why: &str) -> Item {
    let ticked = ticks.iter().any(|t| t.key == key && t.ticked);
    Item {
        key: key.into(),
        section: section.into(),
        kind: "manual".into(),
        state: if ticked { "ticked" } else { "unticked" }.into(),
        evidence: Some(why.into()),
    }
}

pub fn compute(input: &Inputs<'_>) -> Vec<Item> {
    let mut items = Vec::new();
    for k in CHECKLIST.iter() {
        if k.manual {
            items.push(manual(
                k.key,
                k.section,
                input.ticks,
                "a person confirms the rollback procedure is written down",
            ));
            continue;
        }
        if k.key == "edge-cases" && !input.has_edge_fixtures {
            items.push(manual(k.key, k.section, input.ticks, "no edge fixtures (test-fixtures/edge): a person checks empty, malformed and large inputs"));
            continue;
        }
        if k.from == "lint" {
            let ok = input.event_problems.is_empty();
            let evidence = if ok {
                "every trigger is emitted by an earlier agent and chain:complete is reachable"
                    .to_string()
            } else {
                input.event_problems.join("; ")
            };
            items.push(Item {
                key: k.key.into(),
                section: k.section.into(),
                kind: "auto".into(),
                state: if ok { "passed" } else { "failed" }.into(),
                evidence: Some(evidence),
            });
            continue;
        }
        let (state, evidence) = if !input.required_gates.iter().any(|g| g == k.from) {
            (
                "not_applicable".to_string(),
                format!("the {} gate is not required in this env", k.from),
            )
        } else {
            match input.reports.iter().find(|r| r.gate == k.from) {
                None => (
                    "failed".to_string(),
                    format!("the {} gate has not run", k.from),
                ),
                Some(r) => {
                    let mine: Vec<_> = r
                        .evidence
                        .iter()
                        .filter(|e| e.item.as_deref() == Some(k.key))
                        .collect();
                    let bad: Vec<String> = mine
                        .iter()
                        .filter(|e| !e.ok)
                        .map(|e| format!("{}: {}", e.check, e.detail))
                        .collect();
                    let failed =
                        !bad.is_empty() || (mine.is_empty() && r.status == GateStatus::Failed);
                    let text = if !bad.is_empty() {
                        bad.join("; ")
                    } else if !mine.is_empty() {
                        mine.iter()
                            .map(|e| e.detail.clone())
                            .collect::<Vec<_>>()
                            .join("; ")
                            .chars()
                            .take(600)
                            .collect::<String>()
                    } else {
                        r.summary.clone()
                    };
                    let state = match (failed, r.status) {
                        (true, GateStatus::Waived) => "waived",
                        (true, _) => "failed",
                        (false, _) => "passed",
                    };
                    (state.to_string(), text)
                }
            }
        };
        items.push(Item {
            key: k.key.into(),
            section: k.section.into(),
            kind: "auto".into(),
            state,
            evidence: Some(evidence),
        });
    }
    items
}

/// Why a promotion cannot be approved yet (empty when it can).
pub fn blocking(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| match i.state.as_str() {
            "failed" => Some(format!("{} failed", i.key)),
            "unticked" => Some(format!("{} is not ticked", i.key)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::evidence;

    #[test]
    fn items_follow_gates_waivers_and_ticks() {
        let smoke = GateReport::from_evidence(
            "smoke",
            vec![
                evidence("c", true, "completed", Some("chain-completes")),
                evidence("o", false, "`title` is missing", Some("output-format")),
            ],
            String::new(),
            |_| "failed".into(),
        );
        let required = vec!["smoke".to_string(), "config".to_string()];
        let ticks = [Tick {
            key: "rollback-documented".into(),
            ticked: true,
        }];
        let items = compute(&Inputs {
            required_gates: &required,
            reports: std::slice::from_ref(&smoke),
            event_problems: &[],
            has_edge_fixtures: true,
            ticks: &ticks,
        });
        let state = |k: &str| {
            items
                .iter()
                .find(|i| i.key == k)
                .map(|i| i.state.clone())
                .unwrap_or_default()
        };
        assert_eq!(items.len(), 20);
        assert_eq!(state("chain-completes"), "passed");
        assert_eq!(state("output-format"), "failed");
        assert_eq!(state("output-quality"), "not_applicable");
        assert_eq!(
            state("secrets-set"),
            "failed",
            "a required gate that has not run"
        );
        assert_eq!(state("rollback-documented"), "ticked");
        assert_eq!(state("event-handoffs"), "passed");
        assert!(blocking(&items).contains(&"output-format failed".to_string()));

        let mut waived = smoke.clone();
        waived.status = GateStatus::Waived;
        let items = compute(&Inputs {
            required_gates: &required[..1],
            reports: &[waived],
            event_problems: &[],
            has_edge_fixtures: false,
            ticks: &[],
        });
        let state = |k: &str| {
            items
                .iter()
                .find(|i| i.key == k)
                .map(|i| i.state.clone())
                .unwrap_or_default()
        };
        assert_eq!(state("output-format"), "waived");
        assert_eq!(
            state("edge-cases"),
            "unticked",
            "manual without edge fixtures"
        );
        assert_eq!(
            blocking(&items),
            [
                "edge-cases is not ticked",
                "rollback-documented is not ticked"
            ]
        );
    }
}
