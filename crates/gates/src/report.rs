//! A gate's report: status, a summary a PM can read, and the evidence behind it.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
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

impl GateStatus {
    /// The name stored in SQLite and shown (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            GateStatus::Passed => "passed",
            GateStatus::Failed => "failed",
            GateStatus::Skipped => "skipped",
            GateStatus::Waived => "waived",
        }
    }

    /// The status a stored name names; `None` for anything else.
    pub fn parse(text: &str) -> Option<GateStatus> {
        [
            GateStatus::Passed,
            GateStatus::Failed,
            GateStatus::Skipped,
            GateStatus::Waived,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One checked fact. `item` names the checklist key it decides, when it decides one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct Evidence {
    pub check: String,
    pub ok: bool,
    pub detail: String,
    pub item: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct GateReport {
    pub gate: String,
    pub status: GateStatus,
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// Runs made for this gate (smoke input, edge fixtures, quality inputs).
    #[serde(default)]
    pub run_ids: Vec<String>,
    /// The quality gate's scores, for charts.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub quality: Option<QualityScores>,
}

/// The quality gate's scores: per criterion against the threshold and the baseline, and
/// per input with the reviewer's rationale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct QualityScores {
    pub min_average: f64,
    pub overall: f64,
    /// The deployed version the baseline scores come from.
    pub baseline: Option<String>,
    pub criteria: Vec<CriterionScore>,
    pub inputs: Vec<InputScores>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct CriterionScore {
    pub name: String,
    pub average: f64,
    pub baseline: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct InputScores {
    pub input: String,
    pub run_id: Option<String>,
    /// Why this input has no scores (its run failed, the reviewer did not answer).
    pub error: Option<String>,
    pub scores: Vec<CellScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct CellScore {
    pub criterion: String,
    #[ts(type = "number")]
    pub score: i64,
    pub rationale: String,
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
            quality: None,
        }
    }

    pub fn skipped(gate: &str, why: impl Into<String>) -> GateReport {
        GateReport {
            gate: gate.into(),
            status: GateStatus::Skipped,
            summary: why.into(),
            evidence: vec![],
            run_ids: vec![],
            quality: None,
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
