import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ChecklistView } from "../bindings/ChecklistView";
import { Checklist } from "./Checklist";

afterEach(cleanup);

const checklist: ChecklistView = {
  items: [
    { key: "chain-completes", section: "functional", kind: "auto", state: "passed", evidence: "completed", ticked_by: null, ticked_at: null, note: null, required: true },
    { key: "output-quality", section: "functional", kind: "auto", state: "failed", evidence: "average 2.5 below 4.0", ticked_by: null, ticked_at: null, note: null, required: true },
    { key: "rollback-documented", section: "rollback", kind: "manual", state: "unticked", evidence: null, ticked_by: null, ticked_at: null, note: null, required: true },
    { key: "legal-review", section: "team", kind: "manual", state: "ticked", evidence: "Legal read the prompts", ticked_by: "dana", ticked_at: "2026-12-01T10:00:00Z", note: "read v3", required: true },
    { key: "demo", section: "team", kind: "manual", state: "unticked", evidence: "Shown in the demo", ticked_by: "lee", ticked_at: "2026-12-01T11:00:00Z", note: "demo moved", required: false },
  ],
  blocking: ["output-quality failed", "rollback-documented is not ticked"],
};

describe("Checklist", () => {
  it("groups by section, ticks and unticks manual items with a note, and says what blocks approval", () => {
    const onTick = vi.fn();
    const onUntick = vi.fn();
    render(<Checklist checklist={checklist} onTick={onTick} onUntick={onUntick} />);
    expect(screen.getByText("functional")).toBeTruthy();
    expect(screen.getByText("team")).toBeTruthy();
    expect(screen.getByTestId("checklist-item-output-quality").textContent).toContain("average 2.5 below 4.0");
    expect(screen.getByTestId("checklist-item-chain-completes").querySelector("button")).toBeNull();
    fireEvent.click(screen.getByTestId("tick-rollback-documented"));
    expect(onTick).toHaveBeenCalledWith("rollback-documented", null);
    fireEvent.change(screen.getByTestId("tick-note-legal-review"), { target: { value: "  they read the old prompts " } });
    fireEvent.click(screen.getByTestId("untick-legal-review"));
    expect(onUntick).toHaveBeenCalledWith("legal-review", "they read the old prompts");
    expect(screen.getByTestId("ticked-by-legal-review").textContent).toContain("ticked by dana");
    expect(screen.getByTestId("ticked-by-demo").textContent).toContain("unticked by lee");
    expect(screen.getByTestId("checklist-item-demo").textContent).toContain("optional");
    expect(screen.getByTestId("checklist-blocking").textContent).toContain("rollback-documented is not ticked");
  });

  it("is a record once approved: nothing to tick", () => {
    render(<Checklist checklist={checklist} editable={false} onTick={vi.fn()} onUntick={vi.fn()} />);
    expect(screen.queryByTestId("tick-rollback-documented")).toBeNull();
    expect(screen.queryByTestId("untick-legal-review")).toBeNull();
  });
});
