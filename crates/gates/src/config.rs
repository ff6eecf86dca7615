//! The config gate: the lint's per-env findings, as checklist evidence. The linter and the gate
//! share one implementation, so `validate` and the gate never disagree.

use chainlift_model::lint::{Lint, Severity};

use crate::report::{evidence, Evidence, GateReport};

/// The checklist item a lint code decides.
fn item_of(code: &str, message: &str) -> &'static str {
    match code {
        "secret-unset" | "secret-in-env-file" | "secret-literal" | "var-on-secret" => "secrets-set",
        "staging-model-differs" | "dev-only-in-production" | "missing-model" => "model-selection",
        "timeout-longer" | "retries-fewer" => "execution-params",
        "shares-production-data" | "names-production-host" if message.starts_with("notify.") => {
            "notification-targets"
        }
        "shares-production-data" | "names-production-host" => "data-sources",
        "no-cost-cap" => "cost-limits",
        _ => "execution-params",
    }
}

/// The checklist item of a config section (`data` or `notify`).
fn section_item(section: &str) -> &'static str {
    if section == "notify" {
        "notification-targets"
    } else {
        "data-sources"
    }
}

pub const ITEMS: [&str; 6] = [
    "secrets-set",
    "model-selection",
    "execution-params",
    "data-sources",
    "notification-targets",
    "cost-limits",
];

/// Evaluate the lints of one env (already narrowed to it). In the gate, an unset secret and the
/// policy warnings are failures: promotion is stricter than editing. `uncompared` names the
/// secret-valued targets (section, why) that could not be compared with production's: their
/// item says so instead of "nothing to fix".
pub fn evaluate(env: &str, lints: &[Lint], uncompared: &[(&str, String)]) -> GateReport {
    let mut found: Vec<Evidence> = Vec::new();
    for l in lints.iter().filter(|l| {
        l.env.as_deref() == Some(env) || (l.env.is_none() && l.severity == Severity::Error)
    }) {
        if l.code == "emit-unheard" {
            continue; // a design warning, not configuration
        }
        let item = item_of(l.code, &l.message);
        let at = l.at.as_ref().map(|a| format!(" ({a})")).unwrap_or_default();
        found.push(evidence(
            l.code,
            false,
            format!("{}{at}; fix: {}", l.message, l.hint),
            Some(item),
        ));
    }
    for item in ITEMS {
        if !found.iter().any(|e| e.item.as_deref() == Some(item)) {
            let notes: Vec<&str> = uncompared
                .iter()
                .filter(|(section, _)| section_item(section) == item)
                .map(|(_, why)| why.as_str())
                .collect();
            let detail = if notes.is_empty() {
                "checked, nothing to fix".to_string()
            } else {
                format!("checked; {}", notes.join("; "))
            };
            found.push(evidence(item, true, detail, Some(item)));
        }
    }
    GateReport::from_evidence(
        "config",
        found,
        format!("`{env}` is configured: secrets set, models, limits, data sources and notification targets checked"),
        |f| format!("{} configuration problem(s) in `{env}`: {}", f.len(), f.iter().map(|e| e.detail.split(';').next().unwrap_or("")).collect::<Vec<_>>().join(" · ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_not_compared_is_said_so_not_reported_checked() {
        let why = "notify.slack (a secret) was not compared with `production`".to_string();
        let report = evaluate("staging", &[], &[("notify", why.clone())]);
        let item = report
            .evidence
            .iter()
            .find(|e| e.item.as_deref() == Some("notification-targets"));
        let detail = item.map(|e| e.detail.clone()).unwrap_or_default();
        assert!(detail.contains(&why), "{detail}");
        let data = report
            .evidence
            .iter()
            .find(|e| e.item.as_deref() == Some("data-sources"));
        assert_eq!(
            data.map(|e| e.detail.as_str()),
            Some("checked, nothing to fix")
        );
    }
}
