//! The TypeScript types in `ui/src/bindings/` are generated from the Rust DTOs and committed.
//! This test fails when they are stale; `UPDATE_BINDINGS=1 cargo test -p chainlift-api --test
//! bindings` rewrites them.

use std::path::PathBuf;

use chainlift_api::dto::*;
use chainlift_api::{ApiError, ErrorCode};
use ts_rs::TS;

fn bindings_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings")
}

fn check<T: TS + 'static>(stale: &mut Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    let name = T::ident();
    let want = T::export_to_string()?;
    let path = bindings_dir().join(format!("{name}.ts"));
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::create_dir_all(bindings_dir())?;
            std::fs::write(&path, &want)?;
        } else {
            stale.push(name);
        }
    }
    Ok(())
}

#[test]
fn typescript_bindings_are_current() -> Result<(), Box<dyn std::error::Error>> {
    let mut stale = Vec::new();
    check::<ApiError>(&mut stale)?;
    check::<chainlift_api::DatabaseView>(&mut stale)?;
    check::<GateBrief>(&mut stale)?;
    check::<EventView>(&mut stale)?;
    check::<EnvConfigTable>(&mut stale)?;
    check::<ConfigRow>(&mut stale)?;
    check::<GateProgress>(&mut stale)?;
    check::<chainlift_gates::QualityScores>(&mut stale)?;
    check::<chainlift_gates::CriterionScore>(&mut stale)?;
    check::<chainlift_gates::InputScores>(&mut stale)?;
    check::<chainlift_gates::CellScore>(&mut stale)?;
    check::<AgentDraft>(&mut stale)?;
    check::<chainlift_api::dto::RouteDraft>(&mut stale)?;
    check::<AgentFinding>(&mut stale)?;
    check::<EditorView>(&mut stale)?;
    check::<NodePosition>(&mut stale)?;
    check::<chainlift_api::editor::ChainEdit>(&mut stale)?;
    check::<ErrorCode>(&mut stale)?;
    check::<Finding>(&mut stale)?;
    check::<Severity>(&mut stale)?;
    check::<ValidationReport>(&mut stale)?;
    check::<StepView>(&mut stale)?;
    check::<RunView>(&mut stale)?;
    check::<chainlift_api::dto::ServeStatusView>(&mut stale)?;
    check::<chainlift_api::dto::ChangeFeed>(&mut stale)?;
    check::<Trigger>(&mut stale)?;
    check::<RolloutView>(&mut stale)?;
    check::<RolloutPhase>(&mut stale)?;
    check::<MetricThreshold>(&mut stale)?;
    check::<AnalysisView>(&mut stale)?;
    check::<chainlift_model::lifecycle::RolloutState>(&mut stale)?;
    check::<chainlift_model::lifecycle::PromotionState>(&mut stale)?;
    check::<chainlift_model::lifecycle::RunStatus>(&mut stale)?;
    check::<chainlift_model::lifecycle::Metric>(&mut stale)?;
    check::<chainlift_model::lifecycle::Verdict>(&mut stale)?;
    check::<RunProgress>(&mut stale)?;
    check::<chainlift_model::lifecycle::ItemState>(&mut stale)?;
    check::<chainlift_model::lifecycle::ItemKind>(&mut stale)?;
    check::<ReviewSide>(&mut stale)?;
    check::<ReviewView>(&mut stale)?;
    check::<TrendPoint>(&mut stale)?;
    check::<CriterionEdit>(&mut stale)?;
    check::<QualityCriteria>(&mut stale)?;
    check::<CriteriaChange>(&mut stale)?;
    check::<GraphNode>(&mut stale)?;
    check::<GraphEdge>(&mut stale)?;
    check::<ChainGraph>(&mut stale)?;
    check::<AgentInEnv>(&mut stale)?;
    check::<RunSummary>(&mut stale)?;
    check::<EnvColumn>(&mut stale)?;
    check::<ChainView>(&mut stale)?;
    check::<ProjectView>(&mut stale)?;
    check::<SecretStatus>(&mut stale)?;
    check::<KeyDiff>(&mut stale)?;
    check::<SecretDiff>(&mut stale)?;
    check::<AgentSide>(&mut stale)?;
    check::<AgentDiff>(&mut stale)?;
    check::<EnvDiff>(&mut stale)?;
    check::<ImportReport>(&mut stale)?;
    check::<OutputCheck>(&mut stale)?;
    check::<VersionView>(&mut stale)?;
    check::<FileDiff>(&mut stale)?;
    check::<VersionDiff>(&mut stale)?;
    check::<ExportReport>(&mut stale)?;
    check::<DeploymentView>(&mut stale)?;
    check::<FlagView>(&mut stale)?;
    check::<AuditView>(&mut stale)?;
    check::<AuditVerification>(&mut stale)?;
    check::<GateRunView>(&mut stale)?;
    check::<ChecklistItemView>(&mut stale)?;
    check::<ChecklistView>(&mut stale)?;
    check::<PromotionGateView>(&mut stale)?;
    check::<PromotionView>(&mut stale)?;
    check::<PromotionSummary>(&mut stale)?;
    check::<chainlift_gates::GateReport>(&mut stale)?;
    check::<chainlift_gates::Evidence>(&mut stale)?;
    check::<chainlift_gates::GateStatus>(&mut stale)?;
    assert!(
        stale.is_empty(),
        "stale TypeScript bindings: {stale:?}; run `UPDATE_BINDINGS=1 cargo test -p chainlift-api --test bindings` and commit ui/src/bindings"
    );
    Ok(())
}
