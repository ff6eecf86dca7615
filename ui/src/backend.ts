// The only module that talks to the Rust side. Components import from here, so they can be
// tested without Tauri, and errors always arrive as {code, message}.
import { Channel, invoke } from "@tauri-apps/api/core";
import { open } from "@tauri-apps/plugin-dialog";
import type { ApiError } from "./bindings/ApiError";
import type { ChecklistView } from "./bindings/ChecklistView";
import type { DeploymentView } from "./bindings/DeploymentView";
import type { EnvDiff } from "./bindings/EnvDiff";
import type { SecretStatus } from "./bindings/SecretStatus";
import type { PromotionView } from "./bindings/PromotionView";
import type { VersionView } from "./bindings/VersionView";
import type { AuditView } from "./bindings/AuditView";
import type { ChainEdit } from "./bindings/ChainEdit";
import type { EditorView } from "./bindings/EditorView";
import type { EnvConfigTable } from "./bindings/EnvConfigTable";
import type { FlagView } from "./bindings/FlagView";
import type { GateProgress } from "./bindings/GateProgress";
import type { GateRunView } from "./bindings/GateRunView";
import type { NodePosition } from "./bindings/NodePosition";
import type { VersionDiff } from "./bindings/VersionDiff";
import type { EventView } from "./bindings/EventView";
import type { ProjectView } from "./bindings/ProjectView";
import type { RunProgress } from "./bindings/RunProgress";
import type { RunView } from "./bindings/RunView";
import type { Trigger } from "./bindings/Trigger";
import type { ChangeFeed } from "./bindings/ChangeFeed";
import type { ServeStatusView } from "./bindings/ServeStatusView";
import type { RolloutView } from "./bindings/RolloutView";
import type { ReviewView } from "./bindings/ReviewView";
import type { TrendPoint } from "./bindings/TrendPoint";
import type { QualityCriteria } from "./bindings/QualityCriteria";
import type { CriteriaChange } from "./bindings/CriteriaChange";
import type { DatabaseView } from "./bindings/DatabaseView";

/** What the rollout panel's buttons ask of the open rollout. */
export type RolloutRequest = "promote" | "abort" | "pause" | "resume";

/** Turn whatever a command rejected with into an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    return e as ApiError;
  }
  return { code: "internal", message: String(e) };
}

/** When a test sets `window.__chainliftIpc = []`, every IPC response is recorded there (so an
 * end-to-end test can check that no response carries a secret). */
type IpcLog = { __chainliftIpc?: string[] };

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    const result = await invoke<T>(command, args);
    (window as IpcLog).__chainliftIpc?.push(JSON.stringify({ cmd: command, result }));
    return result;
  } catch (e) {
    (window as IpcLog).__chainliftIpc?.push(JSON.stringify({ cmd: command, error: e }));
    throw toApiError(e);
  }
}

/** Open a project folder; without a path, the one the app was started with (or the sample). */
export function openProject(path?: string): Promise<ProjectView> {
  return call<ProjectView>("open_project", { path: path ?? null });
}

/** Run a chain in an env on its smoke input, reporting per-agent progress as it goes. */
export function runChain(
  project: string,
  chain: string,
  env: string,
  onProgress: (p: RunProgress) => void,
  ticket?: string,
): Promise<RunView> {
  const channel = new Channel<RunProgress>();
  channel.onmessage = onProgress;
  return call<RunView>("run_chain", { project, chain, env, ticket: ticket ?? null, onProgress: channel });
}

/** Cancel the run started with `ticket`; false when it has already ended. */
export function cancelRun(ticket: string): Promise<boolean> {
  return call<boolean>("cancel_run", { ticket });
}

export function lastRun(project: string, chain: string, env: string): Promise<RunView | null> {
  return call<RunView | null>("last_run", { project, chain, env });
}

/** Ask the user for a project folder; null when they cancel. */
export async function pickFolder(): Promise<string | null> {
  const picked = await open({ directory: true, multiple: false, title: "Open a Chainlift project" });
  return typeof picked === "string" ? picked : null;
}

export function versions(project: string, chain: string): Promise<VersionView[]> {
  return call<VersionView[]>("versions", { project, chain });
}

/** Promote the chain's files to an env: runs its gates (can take a while). */
export function promote(project: string, chain: string, toEnv: string): Promise<PromotionView> {
  return call<PromotionView>("promote", { project, chain, toEnv });
}

export function promotion(project: string, id: string): Promise<PromotionView> {
  return call<PromotionView>("promotion", { project, id });
}

export function tick(project: string, id: string, key: string, note?: string): Promise<ChecklistView> {
  return call<ChecklistView>("tick", { project, id, key, note: note ?? null });
}

export function untick(project: string, id: string, key: string, note?: string): Promise<ChecklistView> {
  return call<ChecklistView>("untick", { project, id, key, note: note ?? null });
}

/** One quality input as the reviewer saw it, beside the deployed version's answer. */
export function reviewInput(project: string, chain: string, env: string, version: string, input: string): Promise<ReviewView> {
  return call<ReviewView>("review_input", { project, chain, env, version, input });
}

/** The quality gate over the chain's gated versions in an env, oldest first. */
export function qualityTrend(project: string, chain: string, env: string): Promise<TrendPoint[]> {
  return call<TrendPoint[]>("quality_trend", { project, chain, env });
}

export function qualityCriteria(project: string, chain: string): Promise<QualityCriteria> {
  return call<QualityCriteria>("quality_criteria", { project, chain });
}

/** Write the criteria and threshold into chain.yaml, with the person's reason (audited). */
export function setQualityCriteria(
  project: string,
  chain: string,
  criteria: QualityCriteria,
  reason: string,
): Promise<CriteriaChange> {
  return call<CriteriaChange>("set_quality_criteria", { project, chain, criteria, reason });
}

/** Write the promotion's report into the data folder; its path. */
export function exportReport(project: string, id: string, format: "html" | "markdown"): Promise<string> {
  return call<string>("export_report", { project, id, format });
}

export function approve(project: string, id: string, note: string): Promise<PromotionView> {
  return call<PromotionView>("approve", { project, id, note });
}

/** Deploy a version; with `canary`, as a canary for that percent of requests (DESIGN.md §10). */
export function deploy(project: string, chain: string, version: string, env: string, canary: number | null = null): Promise<DeploymentView> {
  return call<DeploymentView>("deploy", { project, chain, version, env, canary });
}

/** The newest rollout of a chain in an env, open or ended (none: never one). */
export function rollout(project: string, chain: string, env: string): Promise<RolloutView | null> {
  return call<RolloutView | null>("rollout", { project, chain, env });
}

export function rolloutAct(project: string, chain: string, env: string, action: RolloutRequest): Promise<RolloutView> {
  return call<RolloutView>("rollout_act", { project, chain, env, action });
}

export function rollback(project: string, chain: string, env: string): Promise<DeploymentView> {
  return call<DeploymentView>("rollback", { project, chain, env });
}

export function diffEnvs(project: string, chain: string, envA: string, envB: string): Promise<EnvDiff> {
  return call<EnvDiff>("diff_envs", { project, chain, envA, envB });
}

export function secrets(project: string, env: string): Promise<SecretStatus[]> {
  return call<SecretStatus[]>("secrets", { project, env });
}

/** Store a secret: the value goes to the keychain; only its status comes back. */
export function setSecret(project: string, env: string, name: string, value: string): Promise<SecretStatus> {
  return call<SecretStatus>("secret_set", { project, env, name, value });
}

export function clearSecret(project: string, env: string, name: string): Promise<boolean> {
  return call<boolean>("secret_clear", { project, env, name });
}

export function runs(
  project: string,
  chain: string,
  env: string | null,
  status: string | null,
  version: string | null = null,
  trigger: Trigger | null = null,
): Promise<RunView[]> {
  return call<RunView[]>("runs", { project, chain, env, status, version, trigger });
}

/** Which history this app has open (the SQLite file or a PostgreSQL server) and its schema. */
export function databaseInfo(): Promise<DatabaseView> {
  return call<DatabaseView>("database_info");
}

export function recentProjects(): Promise<string[]> {
  return call<string[]>("recent_projects");
}

export function editor(project: string, chain: string): Promise<EditorView> {
  return call<EditorView>("editor", { project, chain });
}

/** Write the edits into the chain's files; refused with `conflict` if they changed since `base`. */
export function editorSave(project: string, chain: string, base: string, edits: ChainEdit[]): Promise<EditorView> {
  return call<EditorView>("editor_save", { project, chain, base, edits });
}

export function layoutSave(project: string, chain: string, positions: NodePosition[]): Promise<void> {
  return call<null>("layout_save", { project, chain, positions }).then(() => undefined);
}

/** Be told of every change to the chain's files (the editor's own saves included). */
export function watchChain(project: string, chain: string, onChange: (path: string) => void): Promise<void> {
  const channel = new Channel<string>();
  channel.onmessage = onChange;
  return call<null>("watch_chain", { project, chain, onChange: channel }).then(() => undefined);
}

export function gateRun(
  project: string,
  chain: string,
  env: string,
  onProgress: (p: GateProgress) => void,
): Promise<GateRunView> {
  const channel = new Channel<GateProgress>();
  channel.onmessage = onProgress;
  return call<GateRunView>("gate_run", { project, chain, env, onProgress: channel });
}

/** An env's newest gate results for the files on disk, or for `version` (a tag or hash). */
export function gateLatest(project: string, chain: string, env: string, version?: string): Promise<GateRunView | null> {
  return call<GateRunView | null>("gate_latest", { project, chain, env, version: version ?? null });
}

export function waive(project: string, id: string, gate: string, reason: string): Promise<PromotionView> {
  return call<PromotionView>("waive", { project, id, gate, reason });
}

export function flags(project: string, chain: string, env: string): Promise<FlagView[]> {
  return call<FlagView[]>("flags", { project, chain, env });
}

export function flagSet(project: string, chain: string, env: string, name: string, value: string): Promise<FlagView> {
  return call<FlagView>("flag_set", { project, chain, env, name, value });
}

export function deployments(project: string, chain: string, env: string | null): Promise<DeploymentView[]> {
  return call<DeploymentView[]>("deployments", { project, chain, env });
}

export function audit(project: string): Promise<AuditView[]> {
  return call<AuditView[]>("audit", { project });
}

export function versionCreate(project: string, chain: string, tag: string | null, note: string | null): Promise<VersionView> {
  return call<VersionView>("version_create", { project, chain, tag, note });
}

export function versionTag(project: string, chain: string, version: string, tag: string): Promise<VersionView> {
  return call<VersionView>("version_tag", { project, chain, version, tag });
}

export function versionDiff(project: string, chain: string, a: string, b: string): Promise<VersionDiff> {
  return call<VersionDiff>("version_diff", { project, chain, a, b });
}

export function envConfig(project: string, chain: string): Promise<EnvConfigTable> {
  return call<EnvConfigTable>("env_config", { project, chain });
}

/** A run's events in order, payloads cut to a preview (secrets already redacted). */
export function runEvents(id: string): Promise<EventView[]> {
  return call<EventView[]>("run_events", { id });
}

/** Be told each time any process (the CLI, a serve, this app) changes runs, the history or a
 * serve lease: the feed's numbers, once at the start and then on each move. */
export function watchChanges(onChange: (feed: ChangeFeed) => void): Promise<void> {
  const channel = new Channel<ChangeFeed>();
  channel.onmessage = onChange;
  return call<null>("watch_changes", { onChange: channel }).then(() => undefined);
}

/** Per env, the serve process holding it (from its lease). */
export function serveStatus(project: string): Promise<ServeStatusView[]> {
  return call<ServeStatusView[]>("serve_status", { project });
}
