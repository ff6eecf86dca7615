//! What crosses the boundary: the CLI's `--format json` and the app's IPC use these same
//! types and snake_case field names. TypeScript is generated from them (see `tests/bindings.rs`).

use serde::Serialize;
use ts_rs::TS;

macro_rules! dto {
    ($($item:item)*) => {
        $(
            #[derive(Debug, Clone, PartialEq, Serialize, TS)]
            #[ts(export_to = "../../../ui/src/bindings/")]
            $item
        )*
    };
}

dto! {
    /// A finding of `validate`: what, where, and how to fix it.
    pub struct Finding {
        pub code: String,
        pub severity: Severity,
        pub message: String,
        pub env: Option<String>,
        pub file: Option<String>,
        #[ts(type = "number | null")]
        pub line: Option<usize>,
        pub hint: Option<String>,
    }

    #[serde(rename_all = "snake_case")]
    pub enum Severity {
        Error,
        Warning,
    }

    /// What started a run (DESIGN.md §9).
    #[derive(Copy, Eq, Default, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Trigger {
        /// `chainlift run`, or Run in the app.
        #[default]
        Manual,
        /// A request to `chainlift serve`.
        Api,
        /// A tick of a chain's `schedule:`.
        Schedule,
        /// A gate's run (smoke, quality, the rollback drill).
        Gate,
    }

    pub struct ValidationReport {
        pub chain: String,
        pub envs: Vec<String>,
        pub ok: bool,
        pub errors: u32,
        pub warnings: u32,
        pub findings: Vec<Finding>,
    }

    /// One agent step of a run.
    pub struct StepView {
        pub agent: String,
        pub model_requested: String,
        pub model_reported: Option<String>,
        pub attempts: u32,
        #[ts(type = "number")]
        pub tokens_in: u64,
        #[ts(type = "number")]
        pub tokens_out: u64,
        /// USD; null when the model has no price.
        pub cost: Option<f64>,
        /// When the step started (the run's start plus its offset); None on old rows.
        pub started_at: Option<String>,
        /// The step's start in ms after the run's: steps that ran at once overlap.
        #[ts(type = "number | null")]
        pub offset_ms: Option<u64>,
        #[ts(type = "number")]
        pub duration_ms: u64,
        pub status: String,
        pub error: Option<String>,
    }

    /// A run as `runs last` prints it (DESIGN.md §8).
    pub struct RunView {
        pub id: String,
        pub project: String,
        pub chain: String,
        pub env: String,
        /// The tag, else 12 hex of the hash.
        pub version: String,
        pub version_hash: String,
        pub deployment_id: Option<String>,
        pub status: chainlift_model::lifecycle::RunStatus,
        pub cost: Option<f64>,
        #[ts(type = "number")]
        pub tokens_in: u64,
        #[ts(type = "number")]
        pub tokens_out: u64,
        #[ts(type = "number | null")]
        pub duration_ms: Option<u64>,
        pub started_at: String,
        pub ended_at: Option<String>,
        /// The output file's path.
        pub output: Option<String>,
        /// The first part of the output file (or of the text the database keeps of it, when
        /// the files are on another machine), for previews.
        pub output_preview: Option<String>,
        /// Whether the run's files (events, outputs) are on this machine.
        pub files_here: bool,
        /// The host that ran it, where its files are, when that is another machine.
        pub ran_on: Option<String>,
        pub error: Option<String>,
        pub run_dir: String,
        pub trigger: Trigger,
        pub steps: Vec<StepView>,
    }

    /// A live progress report of a run.
    pub struct RunProgress {
        pub agent: String,
        /// `started`, `completed` or `failed`.
        pub state: String,
        pub done: u32,
        pub total: u32,
    }

    pub struct GraphNode {
        pub id: String,
        /// `agent`, `start` or `end`.
        pub kind: String,
        pub label: String,
    }

    pub struct GraphEdge {
        pub id: String,
        pub source: String,
        pub target: String,
        /// The event that connects them.
        pub label: String,
    }

    pub struct ChainGraph {
        pub nodes: Vec<GraphNode>,
        pub edges: Vec<GraphEdge>,
    }

    /// An agent's settings as one environment resolves them.
    pub struct AgentInEnv {
        pub agent: String,
        pub model: String,
        pub provider: String,
        pub timeout_secs: f64,
    }

    pub struct RunSummary {
        pub id: String,
        pub status: String,
        pub cost: Option<f64>,
        pub started_at: String,
    }

    /// One environment column of a chain.
    pub struct EnvColumn {
        pub env: String,
        pub agents: Vec<AgentInEnv>,
        /// Why this env does not resolve, if it does not.
        pub problems: Vec<String>,
        pub last_run: Option<RunSummary>,
        /// The version deployed here now (its tag, else 12 hex of its hash).
        pub deployed_version: Option<String>,
        /// The newest promotion to this env: its id and state.
        pub promotion: Option<PromotionSummary>,
        /// The newest result of each of this env's gates on the files as they are now; when
        /// these files were never gated here, those of the version gated last (`gates_of`).
        pub gates: Vec<GateBrief>,
        /// The version `gates` are of, when it is not the files as they are now.
        pub gates_of: Option<String>,
    }

    pub struct GateBrief {
        pub gate: String,
        /// Waived where a person waived it on the newest promotion of these results' version.
        pub status: chainlift_gates::GateStatus,
        pub summary: String,
    }

    pub struct PromotionSummary {
        pub id: String,
        pub version: String,
        pub state: String,
    }

    pub struct ChainView {
        pub name: String,
        pub dir: String,
        pub description: Option<String>,
        pub graph: ChainGraph,
        pub envs: Vec<EnvColumn>,
        /// Set when the chain's files do not load (syntax error …); the rest is then empty.
        pub error: Option<String>,
    }

    pub struct ProjectView {
        pub id: String,
        /// Why the id is not the project's name (another folder holds that name), if so.
        pub identity_note: Option<String>,
        pub root: String,
        pub environments: Vec<String>,
        pub chains: Vec<ChainView>,
    }

    /// Whether a secret is set in an env; never its value.
    pub struct SecretStatus {
        pub name: String,
        pub env: String,
        pub set: bool,
        pub set_at: Option<String>,
        /// Whether a chain of the project needs it in this env.
        pub required: bool,
    }
}

dto! {
    /// One config key that differs between two envs. Values of secrets (or of anything that
    /// looks like one) are never shown: they read `****`.
    pub struct KeyDiff {
        pub key: String,
        /// `added` (only in B), `removed` (only in A) or `changed`.
        pub change: String,
        pub a: Option<String>,
        pub b: Option<String>,
    }

    pub struct SecretDiff {
        pub name: String,
        pub a_set: bool,
        pub b_set: bool,
    }

    /// An agent's settings as one env resolves them.
    pub struct AgentSide {
        pub model: String,
        pub timeout_secs: f64,
        pub retries: u32,
    }

    pub struct AgentDiff {
        pub agent: String,
        pub a: Option<AgentSide>,
        pub b: Option<AgentSide>,
        pub differs: bool,
    }

    /// `chainlift diff CHAIN ENV_A ENV_B`.
    pub struct EnvDiff {
        pub chain: String,
        pub env_a: String,
        pub env_b: String,
        pub keys: Vec<KeyDiff>,
        pub unchanged: u32,
        pub secrets: Vec<SecretDiff>,
        pub agents: Vec<AgentDiff>,
        /// Why an env does not resolve, when it does not.
        pub problems: Vec<String>,
    }
}

dto! {
    /// `chainlift import FILE --into DIR`: what was written, what could not be expressed, and
    /// how the result validates.
    pub struct ImportReport {
        pub chain: String,
        /// `blog` or `repo`: which Mentiko dialect the file was read as.
        pub dialect: String,
        pub dir: String,
        pub files: Vec<String>,
        pub notes: Vec<String>,
        pub validation: ValidationReport,
    }
}

dto! {
    /// `chainlift validate-output FILE --schema SCHEMA`.
    pub struct OutputCheck {
        pub ok: bool,
        pub errors: Vec<String>,
    }
}

dto! {
    pub struct VersionView {
        /// 1, 2, 3… per chain.
        #[ts(type = "number")]
        pub seq: i64,
        pub hash: String,
        /// The tag, else 12 hex of the hash.
        pub version: String,
        pub tag: Option<String>,
        pub author: String,
        pub note: Option<String>,
        pub created_at: String,
        /// Envs whose deployment points at this version now.
        pub deployed_to: Vec<String>,
        /// True when `version create` found the same files already stored.
        pub existing: bool,
    }

    pub struct FileDiff {
        pub path: String,
        /// `added`, `removed` or `changed`.
        pub change: String,
        /// A unified diff (empty for binary files).
        pub diff: String,
    }

    pub struct VersionDiff {
        pub chain: String,
        pub a: String,
        pub b: String,
        pub files: Vec<FileDiff>,
    }

    pub struct ExportReport {
        pub dir: String,
        pub version: String,
        pub hash: String,
        pub files: Vec<String>,
    }

    /// One move of a (chain, env) pointer.
    pub struct DeploymentView {
        pub id: String,
        pub chain: String,
        pub env: String,
        pub version: String,
        pub version_hash: String,
        /// `deploy`, `redeploy` or `rollback`.
        pub action: String,
        pub actor: String,
        pub reason: Option<String>,
        pub created_at: String,
        pub config_hash: String,
        /// Config keys changed since the previous deployment (JSON object), when any.
        pub config_diff: Option<String>,
        pub previous_id: Option<String>,
    }

    pub struct FlagView {
        pub env: String,
        pub name: String,
        pub value: String,
        pub updated_at: String,
        pub updated_by: String,
    }

    pub struct AuditView {
        #[ts(type = "number")]
        pub seq: i64,
        pub at: String,
        pub actor: String,
        pub action: String,
        pub project: String,
        pub chain: Option<String>,
        pub env: Option<String>,
        pub subject: Option<String>,
        pub detail: Option<String>,
        pub hash: String,
        /// The entry as a sentence ("dana ticked rollback-documented in production: “…”").
        pub sentence: String,
    }

    pub struct AuditVerification {
        pub ok: bool,
        #[ts(type = "number")]
        pub rows: u64,
        pub problem: Option<String>,
    }
}

dto! {
    /// `chainlift gate CHAIN --env ENV`: every gate that ran, in order.
    pub struct GateRunView {
        pub chain: String,
        pub env: String,
        /// The tag, else 12 hex of the hash of what was gated.
        pub version: String,
        pub version_hash: String,
        pub passed: bool,
        pub gates: Vec<chainlift_gates::GateReport>,
        /// The results are of other files than those on disk now (the newest gated in this
        /// env, shown until the current files are gated).
        pub stale: bool,
    }

    /// A gate starting (`started`) or ending (its status) during `gate`.
    pub struct GateProgress {
        pub gate: String,
        pub state: String,
        pub done: u32,
        pub total: u32,
    }
}

dto! {
    pub struct ChecklistItemView {
        pub key: String,
        pub section: String,
        pub kind: chainlift_model::lifecycle::ItemKind,
        pub state: chainlift_model::lifecycle::ItemState,
        /// For a manual item: what a person checks (a team item's `text`).
        pub evidence: Option<String>,
        /// Who last ticked or unticked a manual item, when, and their note.
        pub ticked_by: Option<String>,
        pub ticked_at: Option<String>,
        pub note: Option<String>,
        /// False for a team item that never blocks approval.
        pub required: bool,
    }

    pub struct ChecklistView {
        pub items: Vec<ChecklistItemView>,
        /// Why the promotion cannot be approved yet.
        pub blocking: Vec<String>,
    }

    pub struct PromotionGateView {
        pub gate: String,
        pub status: chainlift_gates::GateStatus,
        pub summary: String,
        pub waived_by: Option<String>,
        pub waiver_note: Option<String>,
        /// The quality gate's scores, for the charts (other gates: none).
        pub quality: Option<chainlift_gates::QualityScores>,
    }

    /// `promote`'s JSON (DESIGN.md §8).
    pub struct PromotionView {
        pub id: String,
        /// When it was opened (its gates ran then).
        pub created_at: String,
        pub chain: String,
        pub to_env: String,
        pub version: String,
        pub state: chainlift_model::lifecycle::PromotionState,
        pub gates: Vec<PromotionGateView>,
        pub checklist: ChecklistView,
        pub approved_by: Option<String>,
        pub approval_note: Option<String>,
        /// Who may approve promotions to this env (`approvers:`); `None`: anyone.
        pub approvers: Option<Vec<String>>,
        /// Who this process acts as (`user:` in chainlift.yaml, else the account).
        pub acting_as: String,
        /// Changes of the quality criteria since the previous promotion to this env.
        pub criteria_changes: Vec<CriteriaChange>,
        /// Why its rollout ended as it did ("failure rate 0.42 > 0.10 over 57 runs of v3 …").
        pub reason: Option<String>,
        /// Notifications that could not be sent (never their target).
        pub warnings: Vec<String>,
    }
}

/// One of an agent's routes: `when` holds → `emit`; no `when` is the `else` (last).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, TS)]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct RouteDraft {
    pub when: Option<String>,
    pub emit: String,
}

dto! {
    /// An agent as the pipeline editor shows and edits it (values as written, `${VAR}` kept).
    pub struct AgentDraft {
        pub name: String,
        /// `llm` or `command`.
        pub kind: String,
        pub prompt: Option<String>,
        pub triggers: Vec<String>,
        pub emits: Option<String>,
        /// Every event it can emit: `emits`, routes, `on_error`.
        pub emitted: Vec<String>,
        /// Its routes, in order (empty: none, or `routes_fixed`).
        pub routes: Vec<RouteDraft>,
        /// The routes as written (JSON) when they are not plain `when`/`emit` rows the editor
        /// can show; then they are read-only.
        pub routes_fixed: Option<String>,
        pub model: Option<String>,
        pub timeout: Option<String>,
        /// `any` (the default) or `all`: start on every trigger, or once all have arrived.
        pub wait_for: Option<String>,
        /// Where a failure goes: an event, or an agent's name.
        pub on_error: Option<String>,
        /// Its agent file, relative to the chain folder.
        pub file: Option<String>,
    }

    /// A finding and the agents it is about (by name in its message or its file).
    pub struct AgentFinding {
        pub agents: Vec<String>,
        pub finding: Finding,
    }

    pub struct EditorView {
        pub chain: String,
        pub dir: String,
        pub chain_file: String,
        /// The hash of the definition files as read; saving with a stale one is a conflict.
        pub fingerprint: String,
        pub agents: Vec<AgentDraft>,
        pub findings: Vec<AgentFinding>,
        pub layout: Vec<NodePosition>,
    }
}

/// Where a node sits in the editor (kept in the chain's layout sidecar).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, TS)]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct NodePosition {
    pub id: String,
    pub x: f64,
    pub y: f64,
}

dto! {
    /// Each env's config side by side (secret values shown as ****).
    pub struct EnvConfigTable {
        pub chain: String,
        pub envs: Vec<String>,
        pub rows: Vec<ConfigRow>,
    }

    pub struct ConfigRow {
        pub key: String,
        /// One per env, in `envs` order; null where that env does not set it.
        pub values: Vec<Option<String>>,
    }
}

dto! {
    /// One event of a run, with a preview of its payload.
    pub struct EventView {
        pub at: String,
        pub event: String,
        /// The agent that emitted it (none for chain:start).
        pub from: Option<String>,
        pub payload: String,
    }
}

impl Trigger {
    /// The name stored in SQLite and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Api => "api",
            Trigger::Schedule => "schedule",
            Trigger::Gate => "gate",
        }
    }

    pub fn parse(s: &str) -> Option<Trigger> {
        [
            Trigger::Manual,
            Trigger::Api,
            Trigger::Schedule,
            Trigger::Gate,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

dto! {
    /// An env's serve process, from the scheduler lease it holds (the app's Home).
    pub struct ServeStatusView {
        pub env: String,
        /// The host and process id of the holder.
        pub host: String,
        pub pid: Option<u32>,
        /// Where it listens (`127.0.0.1:7420`).
        pub listen: Option<String>,
        /// Since when it holds the env.
        pub since: String,
        /// Its last renewal; `live` is false once the lease expired (a crashed process).
        pub renewed_at: Option<String>,
        pub expires_at: String,
        pub live: bool,
        pub requests_per_min: u32,
        pub in_flight: u32,
        pub last_error: Option<String>,
        pub last_error_at: Option<String>,
    }

    /// The change feed's sequences (DESIGN.md §9 addition, docs/DECISIONS.md): a screen showing
    /// a topic reloads when its number moves.
    pub struct ChangeFeed {
        #[ts(type = "number")]
        pub runs: i64,
        #[ts(type = "number")]
        pub history: i64,
        #[ts(type = "number")]
        pub serve: i64,
    }
}

dto! {
    /// `rollout --format json` (DESIGN.md §10): the newest rollout of a chain in an env.
    pub struct RolloutView {
        pub id: String,
        pub chain: String,
        pub env: String,
        /// The version a rollback returns to (the new one once `stable`).
        pub stable: String,
        /// The version taking `weight` % of requests now (in the window: the new one at 100);
        /// null when none.
        pub candidate: Option<String>,
        pub weight: u32,
        /// The version this rollout brought (the candidate, whatever became of it).
        pub version: String,
        pub state: chainlift_model::lifecycle::RolloutState,
        pub phase: RolloutPhase,
        pub window_ends_at: Option<String>,
        pub started_at: String,
        pub ended_at: Option<String>,
        /// Why it ended rolled back (or was held), in words a PM can read.
        pub reason: Option<String>,
        pub promotion_id: Option<String>,
        /// The watch policy at the deploy: steps and thresholds, for the charts.
        pub steps: Vec<u32>,
        pub thresholds: Vec<MetricThreshold>,
        #[ts(type = "number")]
        pub interval_secs: u64,
        /// Newest first.
        pub analyses: Vec<AnalysisView>,
    }

    /// Where traffic is: the candidate takes a share (`canary`), all of it after the full
    /// switch (`window`), or the rollout is over (`ended`).
    #[derive(Copy, Eq)]
    #[serde(rename_all = "snake_case")]
    pub enum RolloutPhase {
        Canary,
        Window,
        Ended,
    }

    pub struct MetricThreshold {
        pub metric: chainlift_model::lifecycle::Metric,
        /// The most (failure rate, ratios) or the least (quality) that passes.
        pub threshold: f64,
    }

    /// One metric of one interval.
    pub struct AnalysisView {
        /// When the interval ended.
        pub at: String,
        pub interval_start: String,
        pub metric: chainlift_model::lifecycle::Metric,
        pub verdict: chainlift_model::lifecycle::Verdict,
        pub value: Option<f64>,
        pub threshold: Option<f64>,
        pub runs: u32,
        /// The candidate's and the stable's own figure (rate, mean cost, p95 ms).
        pub candidate_value: Option<f64>,
        pub stable_value: Option<f64>,
        pub detail: Option<String>,
    }
}

dto! {
    /// One run's side of a review: its output as written (bounded) and its scores.
    pub struct ReviewSide {
        pub version: String,
        pub run_id: Option<String>,
        pub output: Option<String>,
        /// The output was longer than the panel shows (64 KiB).
        pub output_cut: bool,
        /// Why there is no output to show (no run, no file, the file is on another machine).
        pub missing: Option<String>,
        pub scores: Vec<chainlift_gates::CellScore>,
        /// Why this input has no scores.
        pub error: Option<String>,
    }

    /// One quality input as the reviewer saw it, beside the deployed version's answer.
    pub struct ReviewView {
        pub input: String,
        /// The input event's payload, pretty JSON (None when the run's files are not here).
        pub input_text: Option<String>,
        pub candidate: ReviewSide,
        pub baseline: Option<ReviewSide>,
    }

    /// A gated version on the quality trend.
    pub struct TrendPoint {
        pub version: String,
        pub hash: String,
        pub gated_at: String,
        pub min_average: f64,
        pub overall: f64,
        #[ts(type = "Record<string, number>")]
        pub criteria: std::collections::BTreeMap<String, f64>,
        /// The average cost of the version's runs in this env (None: no priced run).
        pub cost_per_run: Option<f64>,
    }
}

/// A quality criterion as chain.yaml has it, and as the app edits it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, TS)]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct CriterionEdit {
    pub name: String,
    /// What the criterion means for this chain, told to the reviewer.
    pub guidance: Option<String>,
}

/// The quality gate's criteria and threshold (`gates.quality` of chain.yaml).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, TS)]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct QualityCriteria {
    pub criteria: Vec<CriterionEdit>,
    pub min_average: f64,
}

dto! {
    /// A change of the criteria, as the promotion shows it ("threshold 4.0 → 3.8 by dana: …").
    pub struct CriteriaChange {
        pub summary: String,
        pub by: String,
        pub at: String,
        pub reason: String,
    }
}
