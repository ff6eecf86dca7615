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
pub use chainlift_model::checklist::{ChecklistKey, CHECKLIST};

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
