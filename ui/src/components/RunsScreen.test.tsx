import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { RunView } from "../bindings/RunView";
import type { Trigger } from "../bindings/Trigger";
import { RunsScreen } from "./RunsScreen";

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
