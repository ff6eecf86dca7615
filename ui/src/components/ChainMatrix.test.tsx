import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import type { GateStatus } from "../bindings/GateStatus";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ChainView } from "../bindings/ChainView";
import type { EnvColumn } from "../bindings/EnvColumn";
import { ChainMatrix, gateLine } from "./ChainMatrix";

const col = (env: string, patch: Partial<EnvColumn> = {}): EnvColumn => ({
  env,
  agents: [],
  problems: [],
  last_run: null,
  deployed_version: null,
  promotion: null,
  gates: [],
  gates_of: null,
  ...patch,
});

const chain = (name: string, envs: EnvColumn[], error: string | null = null): ChainView => ({
  name,
  dir: `/p/chains/${name}`,
  description: null,
  graph: { nodes: [], edges: [] },
  envs,
  error,
});

afterEach(cleanup);

describe("ChainMatrix", () => {
  it("sums up each env's gates in one line", () => {
    const g = (gate: string, status: GateStatus) => ({ gate, status, summary: "" });
    expect(gateLine(col("dev"))).toEqual({ text: "gates not run", tone: "muted" });
    expect(gateLine(col("dev", { gates: [g("smoke", "passed"), g("cost", "failed")] }))).toEqual({
      text: "cost failed",
      tone: "bad",
    });
    expect(gateLine(col("dev", { gates: [g("smoke", "passed"), g("infra", "waived")] })).text).toBe(
      "1/2 gates passed, 1 waived",
    );
    // Results of an earlier version say which.
    expect(gateLine(col("dev", { gates: [g("smoke", "passed")], gates_of: "v2" })).text).toBe("1/1 gates passed (on v2)");
  });

  it("shows every chain against every env, with what waits for approval, and picks a chain", () => {
    const onSelect = vi.fn();
    const onOpen = vi.fn();
    render(
      <ChainMatrix
        chains={[
          chain("a", [col("dev"), col("prod", { deployed_version: "v3", promotion: { id: "p9", version: "v4", state: "awaiting_approval" } })]),
          chain("b", [col("dev"), col("prod")]),
          chain("broken", [], "chain.yaml:3: bad indentation"),
        ]}
        environments={["dev", "prod"]}
        selected="a"
        onSelect={onSelect}
        onOpenPromotion={onOpen}
      />,
    );
    expect(screen.getByTestId("matrix-a-prod").textContent).toContain("runs v3");
    fireEvent.click(screen.getByText("v4 waiting: awaiting approval"));
    expect(onOpen).toHaveBeenCalledWith("p9");
    expect(onSelect).not.toHaveBeenCalled();
    fireEvent.click(screen.getByText("b"));
    expect(onSelect).toHaveBeenCalledWith("b");
    expect(screen.getByTestId("matrix-row-broken").textContent).toContain("does not load");
  });
});
