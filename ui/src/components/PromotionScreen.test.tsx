import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PromotionView } from "../bindings/PromotionView";
import { PromotionScreen } from "./PromotionScreen";

afterEach(cleanup);

const approved = (state: PromotionView["state"], reason: string | null = null): PromotionView => ({
  id: "0199p",
  chain: "content-pipeline",
  to_env: "production",
  version: "v3",
  state,
  gates: [],
  checklist: { items: [], blocking: [] },
  approved_by: "dana",
  approval_note: "ship it",
  reason,
  warnings: [],
  created_at: "2026-12-01T10:00:00Z",
  approvers: null,
  acting_as: "dana",
  criteria_changes: [],
});

const noop = () => undefined;

describe("PromotionScreen", () => {
  it("deploys an approved version in full or as a canary for the percent given", () => {
    const onDeploy = vi.fn();
    render(
      <PromotionScreen
        promotion={approved("approved")}
        deployed={{ production: "v2" }}
        root="/p"
        onTick={noop}
        onUntick={noop}
        onRepromote={noop}
        onExport={() => Promise.resolve(null)}
        onApprove={noop}
        onDeploy={onDeploy}
        onRollback={noop}
        onWaive={() => Promise.resolve()}
      />,
    );
    fireEvent.click(screen.getByTestId("deploy-canary-button"));
    expect(onDeploy).toHaveBeenLastCalledWith(10);
    fireEvent.change(screen.getByTestId("canary-percent"), { target: { value: "25" } });
    fireEvent.click(screen.getByTestId("deploy-canary-button"));
    expect(onDeploy).toHaveBeenLastCalledWith(25);
    fireEvent.change(screen.getByTestId("canary-percent"), { target: { value: "500" } });
    fireEvent.click(screen.getByTestId("deploy-canary-button"));
    expect(onDeploy).toHaveBeenLastCalledWith(99);
    fireEvent.click(screen.getByTestId("deploy-button"));
    expect(onDeploy).toHaveBeenLastCalledWith(null);
  });

  it("offers no canary where nothing is deployed yet, and reads why a rollout ended", () => {
    render(
      <PromotionScreen
        promotion={approved("rolled_back", "failure rate 0.42 > 0.10 over 57 runs of v3")}
        deployed={{ production: null }}
        root="/p"
        onTick={noop}
        onUntick={noop}
        onRepromote={noop}
        onExport={() => Promise.resolve(null)}
        onApprove={noop}
        onDeploy={noop}
        onRollback={noop}
        onWaive={() => Promise.resolve()}
      />,
    );
    expect(screen.queryByTestId("deploy-canary-button")).toBeNull();
    expect(screen.getByTestId("promotion-reason").textContent).toContain("0.42 > 0.10");
  });

  it("asks for a typed note, says who may approve, and shows criteria changes with a re-run", () => {
    const onApprove = vi.fn();
    const onRepromote = vi.fn();
    const awaiting: PromotionView = {
      ...approved("awaiting_approval"),
      approved_by: null,
      approval_note: null,
      approvers: ["lee", "sam"],
      criteria_changes: [{ summary: "threshold 4.0 → 3.8", by: "dana", at: "2026-12-01T11:00:00Z", reason: "terse is fine now" }],
    };
    render(
      <PromotionScreen
        promotion={awaiting}
        deployed={{ production: "v2" }}
        root="/p"
        onTick={noop}
        onUntick={noop}
        onRepromote={onRepromote}
        onExport={() => Promise.resolve(null)}
        onApprove={onApprove}
        onDeploy={noop}
        onRollback={noop}
        onWaive={() => Promise.resolve()}
      />,
    );
    expect(screen.getByTestId("approvers").textContent).toContain("lee, sam");
    expect(screen.getByTestId("approvers").textContent).toContain("ask one of them");
    const approve = screen.getByTestId("approve-button") as HTMLButtonElement;
    expect(approve.disabled).toBe(true);
    fireEvent.change(screen.getByTestId("approval-note"), { target: { value: " outputs read " } });
    expect(approve.disabled).toBe(false);
    fireEvent.click(approve);
    expect(onApprove).toHaveBeenCalledWith("outputs read");
    expect(screen.getByTestId("criteria-changes").textContent).toContain("threshold 4.0 → 3.8 by dana");
    fireEvent.click(screen.getByTestId("repromote"));
    expect(onRepromote).toHaveBeenCalled();
  });
});
