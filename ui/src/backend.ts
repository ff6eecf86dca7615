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
import type { ProjectView } from "./bindings/ProjectView";
import type { RunProgress } from "./bindings/RunProgress";
import type { RunView } from "./bindings/RunView";

/** Turn whatever a command rejected with into an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    return e as ApiError;
  }
  return { code: "internal", message: String(e) };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
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
): Promise<RunView> {
  const channel = new Channel<RunProgress>();
  channel.onmessage = onProgress;
  return call<RunView>("run_chain", { project, chain, env, onProgress: channel });
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

export function approve(project: string, id: string, note: string): Promise<PromotionView> {
  return call<PromotionView>("approve", { project, id, note });
}

export function deploy(project: string, chain: string, version: string, env: string): Promise<DeploymentView> {
  return call<DeploymentView>("deploy", { project, chain, version, env });
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

export function runs(project: string, chain: string, env: string | null, status: string | null): Promise<RunView[]> {
  return call<RunView[]>("runs", { project, chain, env, status });
}
