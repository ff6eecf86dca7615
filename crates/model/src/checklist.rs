//! The checklist's built-in items (DESIGN.md §5): the seed's four sections as fixed keys.

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
