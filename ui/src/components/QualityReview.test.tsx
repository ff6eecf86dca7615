import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { QualityScores } from "../bindings/QualityScores";
import type { ReviewView } from "../bindings/ReviewView";

const asked: string[] = [];
vi.mock("../backend", () => ({
  reviewInput: (_p: string, _c: string, _e: string, _v: string, input: string): Promise<ReviewView> => {
    asked.push(input);
    return Promise.resolve({
      input,
      input_text: `{\n  "topic": "${input}"\n}`,
      candidate: {
        version: "v3",
        run_id: "r3",
        output: input === "b.json" ? '{"summary":"TERSE","n":1}' : "# Refunds\n\nTERSE: refund. See [the docs](https://example.com/refunds).\n\n<script>alert(1)</script>",
        output_cut: false,
        missing: null,
        scores: [{ criterion: "completeness", score: 2, rationale: "too terse to be complete" }],
        error: null,
      },
      baseline:
        input === "c.json"
          ? null
          : {
              version: "v2",
              run_id: "r2",
              output: "# Refunds\n\nA short refund window keeps trust.",
              output_cut: false,
              missing: null,
              scores: [{ criterion: "completeness", score: 5, rationale: "complete" }],
              error: null,
            },
    });
  },
  toApiError: (e: unknown) => e,
}));

const { QualityReview } = await import("./QualityReview");

afterEach(cleanup);

const q: QualityScores = {
  min_average: 4,
  overall: 2,
  baseline: "v2",
  criteria: [{ name: "completeness", average: 2, baseline: 5 }],
  inputs: ["a.json", "b.json", "c.json"].map((input) => ({
    input,
    run_id: "r",
    error: null,
    scores: [{ criterion: "completeness", score: 2, rationale: "too terse to be complete" }],
  })),
};

describe("QualityReview", () => {
  it("opens an input's review from a cell: rationale as text, both outputs, the change; arrows move, Escape closes", async () => {
    render(<QualityReview root="/p" chain="c" env="staging" version="v3" q={q} />);
    fireEvent.click(screen.getByTestId("heatmap-cell-a.json-completeness"));
    const panel = await screen.findByTestId("review-panel");
    await waitFor(() => expect(screen.getByTestId("review-output").textContent).toContain("too terse to be complete"));
    // Markdown is rendered, raw HTML in an output is not.
    expect(screen.getByTestId("review-output").querySelector("h1")?.textContent).toBe("Refunds");
    expect(panel.querySelector("script")).toBeNull();
    // A link in a model's output is shown with its address, never followed from the app.
    expect(panel.querySelector("a")).toBeNull();
    expect(screen.getByTestId("review-output").textContent).toContain("the docs (https://example.com/refunds)");
    expect(screen.getByTestId("review-baseline").textContent).toContain("A short refund window");
    expect(screen.getByTestId("review-output").textContent).toContain("-3 vs deployed");
    expect(screen.getByTestId("review-diff").querySelector("ins")?.textContent).toContain("TERSE");
    expect(screen.getByTestId("review-diff").querySelector("del")?.textContent).toContain("A short refund window");

    fireEvent.keyDown(panel, { key: "ArrowDown" });
    await waitFor(() => expect(asked.at(-1)).toBe("b.json"));
    // JSON is shown pretty.
    await waitFor(() => expect(screen.getByTestId("review-output").querySelector("pre")?.textContent).toContain('"summary": "TERSE"'));
    fireEvent.keyDown(screen.getByTestId("review-panel"), { key: "ArrowDown" });
    await waitFor(() => expect(screen.getByTestId("review-baseline").textContent).toContain("no answer to compare with"));
    fireEvent.keyDown(screen.getByTestId("review-panel"), { key: "ArrowDown" });
    expect(asked.at(-1)).toBe("c.json");
    fireEvent.keyDown(screen.getByTestId("review-panel"), { key: "Escape" });
    expect(screen.queryByTestId("review-panel")).toBeNull();
  });

  it("opens from the keyboard: Enter on a cell", async () => {
    render(<QualityReview root="/p" chain="c" env="staging" version="v3" q={q} />);
    const cell = screen.getByTestId("heatmap-cell-b.json-completeness");
    expect(cell.tagName).toBe("BUTTON");
    expect(cell.getAttribute("aria-label")).toContain("2 of 5");
    fireEvent.click(cell);
    expect(await screen.findByTestId("review-panel")).toBeTruthy();
  });
});
