//! Validation gates and the promotion checklist (DESIGN.md §5).
//!
//! Each gate turns evidence into a [`GateReport`]: what was checked, what was found, and the
//! checklist items it decides. Running chains and reading the database is the api's job; the
//! evaluations here are plain functions over what it gathered, so they are tested directly.

pub mod checklist;
pub mod config;
pub mod cost;
pub mod infra;
pub mod junit;
pub mod quality;
pub mod report;
pub mod rollback;
pub mod smoke;

pub use report::{
    CellScore, CriterionScore, Evidence, GateReport, GateStatus, InputScores, QualityScores,
};

/// The six gates, in the order they run.
pub const GATES: [&str; 6] = ["smoke", "quality", "cost", "config", "infra", "rollback"];

/// One checklist item: its section, fixed key, and whether a person ticks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChecklistKey {
    pub section: &'static str,
    pub key: &'static str,
    pub manual: bool,
    /// The gate whose evidence decides an automatic item (`lint` for event hand-offs).
    pub from: &'static str,
}

const fn auto(section: &'static str, key: &'static str, from: &'static str) -> ChecklistKey {
    ChecklistKey {
        section,
        key,
        manual: false,
        from,
    }
}

/// The seed's four sections as fixed keys.
pub const CHECKLIST: [ChecklistKey; 20] = [
    auto("functional", "chain-completes", "smoke"),
    auto("functional", "output-format", "smoke"),
    auto("functional", "event-handoffs", "lint"),
    auto("functional", "output-quality", "quality"),
    auto("functional", "edge-cases", "smoke"),
    auto("configuration", "secrets-set", "config"),
    auto("configuration", "model-selection", "config"),
    auto("configuration", "execution-params", "config"),
    auto("configuration", "data-sources", "config"),
    auto("configuration", "notification-targets", "config"),
    auto("configuration", "cost-limits", "config"),
    auto("infrastructure", "compute-resources", "infra"),
    auto("infrastructure", "network-access", "infra"),
    auto("infrastructure", "file-permissions", "infra"),
    auto("infrastructure", "workspace-available", "infra"),
    auto("infrastructure", "log-collection", "infra"),
    auto("rollback", "previous-version-tagged", "rollback"),
    auto("rollback", "rollback-under-5-min", "rollback"),
    auto("rollback", "new-data-identifiable", "rollback"),
    ChecklistKey {
        section: "rollback",
        key: "rollback-documented",
        manual: true,
        from: "person",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_every_auto_item_has_a_source() {
        let mut keys: Vec<_> = CHECKLIST.iter().map(|k| k.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), CHECKLIST.len());
        for item in CHECKLIST.iter().filter(|k| !k.manual) {
            assert!(
                GATES.contains(&item.from) || item.from == "lint",
                "{}",
                item.key
            );
        }
    }
}
