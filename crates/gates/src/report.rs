//! A gate's report: status, a summary a PM can read, and the evidence behind it.

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "../../../ui/src/bindings/")]
pub enum GateStatus {
    Passed,
    Failed,
    /// Not applicable here, with the reason in the summary (e.g. no baseline for a ratio).
    Skipped,
    /// A person accepted the failure with a reason.
    Waived,
}

/// One checked fact. `item` names the checklist key it decides, when it decides one.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct Evidence {
    pub check: String,
    pub ok: bool,
    pub detail: String,
    pub item: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct GateReport {
    pub gate: String,
    pub status: GateStatus,
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// Runs made for this gate (smoke input, edge fixtures, quality inputs).
    pub run_ids: Vec<String>,
}

impl GateReport {
    /// A report whose status follows its evidence: failed if any check failed.
    pub fn from_evidence(
        gate: &str,
        evidence: Vec<Evidence>,
        passed: String,
        failed: impl FnOnce(&[&Evidence]) -> String,
    ) -> GateReport {
        let failures: Vec<&Evidence> = evidence.iter().filter(|e| !e.ok).collect();
        let (status, summary) = if failures.is_empty() {
            (GateStatus::Passed, passed)
        } else {
            (GateStatus::Failed, failed(&failures))
        };
        GateReport {
            gate: gate.into(),
            status,
            summary,
            evidence,
            run_ids: vec![],
        }
    }

    pub fn skipped(gate: &str, why: impl Into<String>) -> GateReport {
        GateReport {
            gate: gate.into(),
            status: GateStatus::Skipped,
            summary: why.into(),
            evidence: vec![],
            run_ids: vec![],
        }
    }
}

pub fn evidence(check: &str, ok: bool, detail: impl Into<String>, item: Option<&str>) -> Evidence {
    Evidence {
        check: check.into(),
        ok,
        detail: detail.into(),
        item: item.map(String::from),
    }
}
