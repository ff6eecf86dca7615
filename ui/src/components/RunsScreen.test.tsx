import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { RunView } from "../bindings/RunView";
import type { Trigger } from "../bindings/Trigger";
import type { StepView } from "../bindings/StepView";
import { RunsScreen, timelineBars } from "./RunsScreen";

const step = (agent: string, offset_ms: number | null, duration_ms: number): StepView => ({
  agent,
  model_requested: "m",
  model_reported: null,
  attempts: 1,
  tokens_in: 1,
  tokens_out: 1,
  cost: null,
  started_at: null,
  offset_ms,
  duration_ms,
  status: "completed",
  error: null,
});

const run = (id: string, trigger: Trigger): RunView => ({
  id,
  project: "acme",
  chain: "content-pipeline",
  env: "production",
  version: "v3",
  version_hash: "ab".repeat(32),
  deployment_id: "d1",
  status: "completed",
  cost: 0.01,
  tokens_in: 10,
  tokens_out: 20,
  duration_ms: 1200,
  started_at: "2026-12-02T10:00:00Z",
  ended_at: "2026-12-02T10:00:01Z",
  output: null,
  output_preview: null,
  files_here: true,
  ran_on: null,
  error: null,
  run_dir: "/tmp/r",
  trigger,
  steps: [],
});

afterEach(cleanup);

describe("runs screen", () => {
  it("shows what started each run and filters by it", async () => {
    const asked: (Trigger | null)[] = [];
    const all = [run("r-api", "api"), run("r-tick", "schedule"), run("r-me", "manual")];
    const load = (_e: string | null, _s: string | null, _v: string | null, trigger: Trigger | null) => {
      asked.push(trigger);
      return Promise.resolve(all.filter((r) => !trigger || r.trigger === trigger));
    };
    render(<RunsScreen environments={["dev", "production"]} load={load} />);
    await waitFor(() => expect(screen.getByTestId("run-trigger-r-api").textContent).toBe("api"));
    expect(screen.getByTestId("run-trigger-r-tick").textContent).toBe("schedule");
    fireEvent.change(screen.getByTestId("runs-trigger"), { target: { value: "schedule" } });
    await waitFor(() => expect(screen.queryByTestId("run-trigger-r-api")).toBeNull());
    expect(screen.getByTestId("run-trigger-r-tick")).toBeTruthy();
    expect(asked).toEqual([null, "schedule"]);
  });
});

describe("timelineBars", () => {
  it("draws steps that ran at once at their real starts, overlapping", () => {
    const bars = timelineBars([step("research", 0, 400), step("a", 400, 600), step("b", 410, 590), step("merge", 1000, 1000)]);
    expect(bars.map((b) => Math.round(b.left))).toEqual([0, 20, 21, 50]);
    expect(Math.round(bars[1]?.width ?? 0)).toBe(30);
    expect(Math.round(bars[2]?.width ?? 0)).toBe(30);
  });

  it("lays old rows without starts one after another", () => {
    const bars = timelineBars([step("a", null, 100), step("b", null, 300)]);
    expect(bars.map((b) => Math.round(b.left))).toEqual([0, 25]);
  });
});
