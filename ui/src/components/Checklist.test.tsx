import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { Checklist } from "./Checklist";

describe("Checklist", () => {
  it("groups by section, ticks only unticked manual items, and says what blocks approval", () => {
    const onTick = vi.fn();
    render(
      <Checklist
        checklist={{
          items: [
            { key: "chain-completes", section: "functional", kind: "auto", state: "passed", evidence: "completed", ticked_by: null, ticked_at: null, note: null },
            { key: "output-quality", section: "functional", kind: "auto", state: "failed", evidence: "average 2.5 below 4.0", ticked_by: null, ticked_at: null, note: null },
            { key: "rollback-documented", section: "rollback", kind: "manual", state: "unticked", evidence: null, ticked_by: null, ticked_at: null, note: null },
          ],
          blocking: ["output-quality failed", "rollback-documented is not ticked"],
        }}
        onTick={onTick}
      />,
    );
    expect(screen.getByText("functional")).toBeTruthy();
    expect(screen.getByTestId("checklist-item-output-quality").textContent).toContain("average 2.5 below 4.0");
    const auto = screen.getByTestId("checklist-item-chain-completes").querySelector("button");
    expect(auto?.disabled).toBe(true);
    const manual = screen.getByTestId("checklist-item-rollback-documented").querySelector("button");
    if (manual) fireEvent.click(manual);
    expect(onTick).toHaveBeenCalledWith("rollback-documented", null);
    expect(screen.getByText(/Not approvable yet/).textContent).toContain("rollback-documented is not ticked");
  });
});
