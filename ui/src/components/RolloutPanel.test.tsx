import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AnalysisView } from "../bindings/AnalysisView";
import type { RolloutView } from "../bindings/RolloutView";

const calls: string[] = [];
let current: RolloutView | null = null;
vi.mock("../backend", () => ({
  rollout: () => Promise.resolve(current),
  rolloutAct: (_p: string, _c: string, _e: string, action: string) => {
    calls.push(action);
    return Promise.resolve(current && { ...current, state: action === "pause" ? "paused" : current.state });
  },
}));

const { RolloutPanel, series, timeLeft } = await import("./RolloutPanel");

const analysis = (at: string, verdict: AnalysisView["verdict"], candidate: number, stable: number): AnalysisView => ({
  at,
  interval_start: at,
  metric: "failure_rate",
  verdict,
  value: candidate,
  threshold: 0.1,
  runs: 30,
  candidate_value: candidate,
  stable_value: stable,
  detail: null,
});

const canary = (): RolloutView => ({
  id: "r1",
  chain: "content-pipeline",
  env: "production",
  stable: "v2",
  candidate: "v3",
  weight: 10,
  version: "v3",
  state: "monitoring",
  phase: "canary",
  window_ends_at: null,
  started_at: "2026-12-02T10:00:00Z",
  ended_at: null,
  reason: null,
  promotion_id: null,
  steps: [10, 50],
  thresholds: [{ metric: "failure_rate", threshold: 0.1 }],
  interval_secs: 300,
  analyses: [analysis("2026-12-02T10:10:00Z", "successful", 0.02, 0.01), analysis("2026-12-02T10:05:00Z", "successful", 0.03, 0.01)],
});

afterEach(() => {
  cleanup();
  calls.length = 0;
});

describe("rollout panel", () => {
  it("puts the analyses oldest first with the limit beside them", () => {
    const points = series(canary().analyses, "failure_rate");
    expect(points.map((p) => p.candidate)).toEqual([0.03, 0.02]);
    expect(points.every((p) => p.limit === 0.1)).toBe(true);
  });

  it("says how long the window has left", () => {
    const now = Date.parse("2026-12-02T10:00:00Z");
    expect(timeLeft("2026-12-02T11:30:00Z", now)).toBe("1 h 30 min left");
    expect(timeLeft("2026-12-02T10:00:42Z", now)).toBe("42 s left");
    expect(timeLeft("2026-12-02T09:00:00Z", now)).toBe("window over");
  });

  it("shows the canary's share and next steps, and pauses only after a confirm", async () => {
    current = canary();
    render(<RolloutPanel root="/p" chain="content-pipeline" env="production" refresh={0} />);
    await waitFor(() => expect(screen.getByTestId("rollout-weight-production").textContent).toBe("v3 takes 10 %"));
    expect(screen.getByTestId("rollout-panel-production").textContent).toContain("next: 50 % → the full switch");
    fireEvent.click(screen.getByTestId("rollout-pause-button"));
    expect(calls).toEqual([]);
    fireEvent.click(screen.getByTestId("confirm-button"));
    await waitFor(() => expect(calls).toEqual(["pause"]));
    await waitFor(() => expect(screen.getByTestId("rollout-resume-button")).toBeTruthy());
  });

  it("reads a rollback as a sentence, with why", async () => {
    current = { ...canary(), state: "rolled_back", phase: "ended", candidate: null, weight: 0, reason: "failure rate 0.42 > 0.10 over 57 runs of v3" };
    render(<RolloutPanel root="/p" chain="content-pipeline" env="production" refresh={1} />);
    await waitFor(() => expect(screen.getByTestId("rollout-reason-production").textContent).toContain("0.42 > 0.10"));
    expect(screen.getByTestId("rollout-panel-production").textContent).toContain("rollout of v3 rolled back: every request on v2");
  });
});
