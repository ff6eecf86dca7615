import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { QualityScores } from "../bindings/QualityScores";
import { CostChart } from "./GatesScreen";
import { QualityCharts } from "./QualityCharts";

const scores: QualityScores = {
  min_average: 4,
  overall: 3.5,
  baseline: "v3",
  criteria: [
    { name: "accuracy", average: 4.5, baseline: 4.5 },
    { name: "completeness", average: 2.5, baseline: 4.5 },
  ],
  inputs: [
    {
      input: "pricing.json",
      run_id: "r1",
      error: null,
      scores: [
        { criterion: "accuracy", score: 5, rationale: "every figure checks out" },
        { criterion: "completeness", score: 2, rationale: "misses the EU rules" },
      ],
    },
    { input: "broken.json", run_id: null, error: "the run failed: timed out", scores: [] },
  ],
};

afterEach(cleanup);

describe("quality charts", () => {
  it("draws each criterion against the threshold and the baseline", () => {
    const { container } = render(<QualityCharts q={scores} />);
    expect(screen.getByTestId("quality-chart").textContent).toContain("baseline v3");
    const bars = container.querySelectorAll("rect.bar");
    expect(bars).toHaveLength(2);
    expect(bars[0]?.getAttribute("class")).toContain("ok");
    expect(bars[1]?.getAttribute("class")).toContain("bad");
    expect(container.querySelectorAll("line.baseline")).toHaveLength(2);
    expect(container.querySelector("line.threshold")).not.toBeNull();
  });

  it("shows the reviewer's rationale on each heatmap cell, and inputs without scores", () => {
    render(<QualityCharts q={scores} />);
    const heat = screen.getByTestId("quality-heatmap");
    expect(heat.querySelector("td.score-2")?.getAttribute("title")).toBe("completeness 2/5: misses the EU rules");
    expect(heat.textContent).toContain("the run failed: timed out");
  });

  it("says what to do when there is no cost to chart", () => {
    render(<CostChart runs={[]} environments={["dev"]} />);
    expect(screen.getByTestId("cost-chart").textContent).toContain("No priced runs yet");
  });
});
