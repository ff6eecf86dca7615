import { describe, expect, it } from "vitest";
import { fitted } from "./fit";

const node = (x: number, y: number) => ({ position: { x, y }, initialWidth: 100, initialHeight: 50 });
const o = { padding: 0.2, minZoom: 0.5, maxZoom: 1.2 };

describe("fitted", () => {
  it("centres a small graph at no more than the largest zoom", () => {
    const v = fitted([node(0, 0), node(200, 0)], 1000, 500, o);
    expect(v.zoom).toBe(1.2);
    // The graph (300 wide) sits in the middle of the box.
    expect(v.x + 150 * v.zoom).toBeCloseTo(500);
  });

  it("shows where a graph too wide for the smallest zoom starts", () => {
    const v = fitted([node(0, 0), node(5000, 0)], 800, 500, o);
    expect(v.zoom).toBe(0.5);
    expect(v.x).toBe(16);
  });

  it("keeps the default viewport when there is nothing to fit", () => {
    expect(fitted([], 800, 500, o)).toEqual({ x: 0, y: 0, zoom: 1 });
  });
});
