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
});

const noop = () => undefined;

describe("PromotionScreen", () => {
  it("deploys an approved version in full or as a canary for the percent given", () => {
    const onDeploy = vi.fn();
    render(
      <PromotionScreen
        promotion={approved("approved")}
        deployed={{ production: "v2" }}
        onTick={noop}
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
        onTick={noop}
        onApprove={noop}
        onDeploy={noop}
        onRollback={noop}
        onWaive={() => Promise.resolve()}
      />,
    );
    expect(screen.queryByTestId("deploy-canary-button")).toBeNull();
    expect(screen.getByTestId("promotion-reason").textContent).toContain("0.42 > 0.10");
  });
});
