//! The promotion checklist: the seed's four sections as fixed keys, decided by gate evidence
//! (auto) or ticked by a person (manual), then the team's own items from `chainlift.yaml`.

use chainlift_model::lifecycle::{ItemKind, ItemState};
use chainlift_model::project::TeamItem;

use crate::report::{GateReport, GateStatus};
use crate::CHECKLIST;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: String,
    pub section: String,
    pub kind: ItemKind,
    pub state: ItemState,
    pub evidence: Option<String>,
    /// False for a team item that never blocks approval.
    pub required: bool,
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
    /// The team's items for this env (`checklist:` in chainlift.yaml), after the built-in ones.
    pub team: &'a [&'a TeamItem],
}

fn manual(key: &str, section: &str, ticks: &[Tick], why: &str) -> Item {
    let ticked = ticks.iter().any(|t| t.key == key && t.ticked);
    Item {
        key: key.into(),
        section: section.into(),
        kind: ItemKind::Manual,
        state: if ticked {
            ItemState::Ticked
        } else {
            ItemState::Unticked
        },
        evidence: Some(why.into()),
        required: true,
    }
}

fn auto(key: &str, section: &str, state: ItemState, evidence: String) -> Item {
    Item {
        key: key.into(),
        section: section.into(),
        kind: ItemKind::Auto,
        state,
        evidence: Some(evidence),
        required: true,
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
            let state = if ok {
                ItemState::Passed
            } else {
                ItemState::Failed
            };
            items.push(auto(k.key, k.section, state, evidence));
            continue;
        }
        let (state, evidence) = if !input.required_gates.iter().any(|g| g == k.from) {
            (
                ItemState::NotApplicable,
                format!("the {} gate is not required in this env", k.from),
            )
        } else {
            match input.reports.iter().find(|r| r.gate == k.from) {
                None => (
                    ItemState::Failed,
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
                        (true, GateStatus::Waived) => ItemState::Waived,
                        (true, _) => ItemState::Failed,
                        (false, _) => ItemState::Passed,
                    };
                    (state, text)
                }
            }
        };
        items.push(auto(k.key, k.section, state, evidence));
    }
    for t in input.team {
        let mut item = manual(
            &t.key,
            t.section.as_deref().unwrap_or("team"),
            input.ticks,
            &t.text,
        );
        item.required = t.required;
        items.push(item);
    }
    items
}

/// Why a promotion cannot be approved yet (empty when it can).
pub fn blocking(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .filter(|i| i.required)
        .filter_map(|i| match i.state {
            ItemState::Failed => Some(format!("{} failed", i.key)),
            ItemState::Unticked => Some(format!("{} is not ticked", i.key)),
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
            team: &[],
        });
        let state = |k: &str| {
            items
                .iter()
                .find(|i| i.key == k)
                .map(|i| i.state.as_str())
                .unwrap_or("missing")
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
            team: &[],
        });
        let state = |k: &str| {
            items
                .iter()
                .find(|i| i.key == k)
                .map(|i| i.state.as_str())
                .unwrap_or("missing")
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

    #[test]
    fn team_items_are_manual_and_an_optional_one_never_blocks() {
        let legal = TeamItem {
            key: "legal-review".into(),
            section: Some("team".into()),
            text: "legal read the prompts".into(),
            required: true,
            envs: None,
        };
        let demo = TeamItem {
            key: "demo".into(),
            section: None,
            text: "shown in the weekly demo".into(),
            required: false,
            envs: None,
        };
        let ticks = [Tick {
            key: "rollback-documented".into(),
            ticked: true,
        }];
        let items = compute(&Inputs {
            required_gates: &[],
            reports: &[],
            event_problems: &[],
            has_edge_fixtures: true,
            ticks: &ticks,
            team: &[&legal, &demo],
        });
        assert_eq!(items.len(), 22);
        let legal_item = items.iter().find(|i| i.key == "legal-review");
        assert_eq!(
            legal_item.map(|i| (i.kind, i.state, i.section.as_str())),
            Some((ItemKind::Manual, ItemState::Unticked, "team"))
        );
        assert_eq!(blocking(&items), ["legal-review is not ticked"]);
    }
}
