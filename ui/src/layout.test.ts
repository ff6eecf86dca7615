import { describe, expect, it } from "vitest";
import { layoutGraph, labelOnce } from "./layout";

describe("layoutGraph", () => {
  it("places a linear chain left to right without overlap", () => {
    const placed = layoutGraph({
      nodes: [
        { id: "chain:start", kind: "start", label: "start" },
        { id: "researcher", kind: "agent", label: "researcher" },
        { id: "writer", kind: "agent", label: "writer" },
        { id: "chain:complete", kind: "end", label: "complete" },
      ],
      edges: [
        { id: "a", source: "chain:start", target: "researcher", label: "chain:start" },
        { id: "b", source: "researcher", target: "writer", label: "research:done" },
        { id: "c", source: "writer", target: "chain:complete", label: "chain:complete" },
      ],
    });
    const x = (id: string) => placed.find((p) => p.id === id)?.x ?? Number.NaN;
    expect(x("chain:start")).toBeLessThan(x("researcher"));
    expect(x("researcher")).toBeLessThan(x("writer"));
    expect(x("writer")).toBeLessThan(x("chain:complete"));
    const r = placed.find((p) => p.id === "researcher");
    const w = placed.find((p) => p.id === "writer");
    expect(r && w && r.x + r.width <= w.x).toBe(true);
  });
});

describe("labelOnce", () => {
  it("labels an event fanning out to several agents once", () => {
    const shown = labelOnce([
      { source: "a", label: "a:done" },
      { source: "a", label: "a:done" },
      { source: "b", label: "a:done" },
      { source: "a", label: "a:error" },
    ]).map((e) => e.shown);
    expect(shown).toEqual(["a:done", undefined, "a:done", "a:error"]);
  });
});

describe("layoutGraph's cache", () => {
  it("lays a shape out once: the same graph in new objects gets the same placement", () => {
    const g = () => ({
      nodes: [
        { id: "chain:start", kind: "start", label: "start" },
        { id: "a", kind: "agent", label: "a" },
      ],
      edges: [{ id: "s", source: "chain:start", target: "a", label: "chain:start" }],
    });
    expect(layoutGraph(g())).toBe(layoutGraph(g()));
  });
});
