import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { TrendPoint } from "../bindings/TrendPoint";

let points: TrendPoint[] = [];
vi.mock("../backend", () => ({ qualityTrend: () => Promise.resolve(points) }));
const { QualityTrend, trendRows } = await import("./QualityTrend");

afterEach(cleanup);

const point = (version: string, completeness: number, min: number, cost: number | null): TrendPoint => ({
  version,
  hash: `${version}-hash`,
  gated_at: "2026-12-01T10:00:00Z",
  min_average: min,
  overall: completeness,
  criteria: { completeness, accuracy: 5 },
  cost_per_run: cost,
});

describe("QualityTrend", () => {
  it("turns gated versions into rows per version, with the threshold of the time", () => {
    const { criteria, rows } = trendRows([point("v1", 5, 4, 0.01), point("v2", 2, 3.8, null)]);
    expect(criteria).toEqual(["accuracy", "completeness"]);
    expect(rows).toEqual([
      { version: "v1", threshold: 4, cost: 0.01, accuracy: 5, completeness: 5 },
      { version: "v2", threshold: 3.8, cost: null, accuracy: 5, completeness: 2 },
    ]);
  });

  it("opens a version's gate run, and says why there is no trend yet", async () => {
    const onOpen = vi.fn();
    points = [point("v1", 5, 4, 0.01), point("v2", 2, 4, 0.02)];
    render(<QualityTrend root="/p" chain="c" env="staging" refresh={0} onOpen={onOpen} />);
    fireEvent.click(await screen.findByTestId("trend-open-v1"));
    expect(onOpen).toHaveBeenCalledWith("v1");
    cleanup();
    points = [point("v1", 5, 4, 0.01)];
    render(<QualityTrend root="/p" chain="c" env="staging" refresh={1} onOpen={onOpen} />);
    expect((await screen.findByTestId("quality-trend")).textContent).toContain("One version gated in staging");
  });
});
