import { describe, expect, it } from "vitest";
import type { AgentDraft } from "./bindings/AgentDraft";
import type { ChainGraph } from "./bindings/ChainGraph";
import fixtures from "./graph-fixtures.json";
import { connect, disconnect, editsBetween, emptyHistory, graphOf, newAgent, redo, remember, rename, routeProblem, undo, validName } from "./draft";

const agent = (name: string, triggers: string[], emits: string | null): AgentDraft => ({
  ...newAgent(name),
  prompt: "p",
  triggers,
  emits,
  emitted: emits ? [emits] : [],
});

const base = [agent("researcher", ["chain:start"], "research:done"), agent("writer", ["research:done"], "chain:complete")];

describe("the editor's draft", () => {
  it("draws agents and events like the saved chain", () => {
    const g = graphOf(base);
    expect(g.nodes.map((n) => n.id)).toEqual(["chain:start", "researcher", "writer", "chain:complete"]);
    expect(g.edges.map((e) => `${e.source}-${e.label}->${e.target}`)).toEqual([
      "chain:start-chain:start->researcher",
      "researcher-research:done->writer",
      "writer-chain:complete->chain:complete",
    ]);
  });

  it("connecting two agents writes the event into the target's triggers", () => {
    const withEditor = [...base, agent("editor", [], null)];
    const r = connect(withEditor, "researcher", "editor");
    if ("error" in r) throw new Error(r.error);
    expect(r.agents.find((a) => a.name === "editor")?.triggers).toEqual(["research:done"]);
    expect(editsBetween(withEditor, r.agents)).toEqual([
      { op: "set_list", agent: "editor", field: "triggers", values: ["research:done"] },
    ]);
  });

  it("an agent without emits gets one when connected", () => {
    const two = [agent("a", ["chain:start"], null), agent("b", [], null)];
    const r = connect(two, "a", "b");
    if ("error" in r) throw new Error(r.error);
    expect(r.agents[0]?.emits).toBe("a:done");
    expect(r.agents[1]?.triggers).toEqual(["a:done"]);
  });

  it("refuses to wire out of an agent that ends the chain", () => {
    expect(connect(base, "writer", "researcher")).toHaveProperty("error");
    expect(connect(base, "writer", "writer")).toHaveProperty("error");
  });

  it("disconnecting removes the trigger", () => {
    expect(disconnect(base, "research:done", "writer")[1]?.triggers).toEqual([]);
  });

  it("turns adds, deletes and field changes into edits", () => {
    const first = base[0];
    if (!first) throw new Error("no agent");
    const draft = [{ ...first, prompt: "new" }, newAgent("critic")];
    expect(editsBetween(base, draft)).toEqual([
      { op: "delete_agent", name: "writer" },
      { op: "set_text", agent: "researcher", field: "prompt", value: "new" },
      { op: "add_agent", name: "critic" },
    ]);
  });

  it("a rename is one edit, and later changes go to the new name", () => {
    const renamed = rename(base, "writer", "author").map((a) => (a.name === "author" ? { ...a, prompt: "q" } : a));
    expect(editsBetween(base, renamed)).toEqual([
      { op: "rename_agent", from: "writer", to: "author" },
      { op: "set_text", agent: "author", field: "prompt", value: "q" },
    ]);
    // The graph keeps its wires through the rename.
    expect(graphOf(renamed).edges.map((e) => e.id)).toContain("researcher-research:done->author");
    // Renamed back, nothing is left to save.
    expect(editsBetween(base, rename(rename(base, "writer", "author"), "author", "writer"))).toEqual([]);
    // A new agent may take the old name: it is added, not mistaken for the renamed one.
    const reuse = [...rename(base, "writer", "author"), newAgent("writer")];
    expect(editsBetween(base, reuse).map((e) => e.op)).toEqual(["rename_agent", "add_agent"]);
  });

  it("renames run in an order that never takes a name in use", () => {
    const chained = rename(rename(base, "writer", "author"), "researcher", "writer");
    expect(editsBetween(base, chained).filter((e) => e.op === "rename_agent")).toEqual([
      { op: "rename_agent", from: "writer", to: "author" },
      { op: "rename_agent", from: "researcher", to: "writer" },
    ]);
  });

  it("two agents swapping names go through a temporary name, in one save", () => {
    const swapped = rename(rename(rename(base, "writer", "tmp"), "researcher", "writer"), "tmp", "researcher");
    expect(editsBetween(base, swapped).filter((e) => e.op === "rename_agent")).toEqual([
      { op: "rename_agent", from: "researcher", to: "researcher-renaming" },
      { op: "rename_agent", from: "writer", to: "researcher" },
      { op: "rename_agent", from: "researcher-renaming", to: "writer" },
    ]);
  });

  it("routes become one edit and draw one wire per event", () => {
    const first = base[0];
    if (!first) throw new Error("no agent");
    const routes = [
      { when: "output.long", emit: "research:long" },
      { when: null, emit: "research:done" },
    ];
    const draft = [{ ...first, emits: null, routes }, base[1] as AgentDraft];
    expect(editsBetween(base, draft)).toEqual([
      { op: "set_text", agent: "researcher", field: "emits", value: null },
      { op: "set_routes", agent: "researcher", routes },
    ]);
    expect(graphOf(draft).edges.map((e) => e.id)).toContain("researcher-research:done->writer");
    expect(routeProblem(routes)).toBeNull();
    expect(routeProblem([...routes].reverse())).toMatch(/else/);
    expect(routeProblem([{ when: " ", emit: "x" }])).toMatch(/condition/);
  });

  it("connecting out of an agent with routes wires a route's event, never adds an emits", () => {
    const first = base[0];
    if (!first) throw new Error("no agent");
    const routed = { ...first, emits: null, routes: [{ when: "output.long", emit: "research:long" }, { when: null, emit: "research:done" }] };
    const agents = [routed, agent("writer", ["research:done"], "chain:complete")];
    const r = connect(agents, "researcher", "writer");
    if ("error" in r) throw new Error(r.error);
    expect(r.agents[0]?.emits).toBeNull();
    expect(r.agents[1]?.triggers).toEqual(["research:done", "research:long"]);
    expect(connect(r.agents, "researcher", "writer")).toHaveProperty("error");
  });

  it("fan-in and on_error are edits too, and on_error draws its event", () => {
    const [researcher, writer] = base as [AgentDraft, AgentDraft];
    const fixer = agent("fixer", ["researcher:error"], "research:done");
    const draft = [{ ...researcher, on_error: "fixer" }, { ...writer, wait_for: "all" }, fixer];
    expect(editsBetween([...base, fixer], draft)).toEqual([
      { op: "set_text", agent: "researcher", field: "on_error", value: "fixer" },
      { op: "set_text", agent: "writer", field: "wait_for", value: "all" },
    ]);
    expect(graphOf(draft).edges.map((e) => e.id)).toContain("researcher-researcher:error->fixer");
  });

  it("undo and redo step through changes, and a run of typing in one field is one step", () => {
    const withCritic = [...base, newAgent("critic")];
    let h = remember(emptyHistory, base);
    const typed1 = withCritic.map((a) => (a.name === "critic" ? { ...a, prompt: "a" } : a));
    h = remember(h, withCritic, "critic.prompt");
    const typed2 = withCritic.map((a) => (a.name === "critic" ? { ...a, prompt: "ab" } : a));
    h = remember(h, typed1, "critic.prompt");
    expect(h.past).toEqual([base, withCritic]);
    const back = undo(h, typed2);
    if (!back) throw new Error("nothing to undo");
    expect(back[0]).toBe(withCritic);
    const back2 = undo(back[1], back[0]);
    if (!back2) throw new Error("nothing to undo");
    expect(back2[0]).toBe(base);
    expect(undo(back2[1], back2[0])).toBeNull();
    const again = redo(back2[1], back2[0]);
    expect(again?.[0]).toBe(withCritic);
    // A new change drops what could be redone.
    expect(remember(back2[1], back2[0]).future).toEqual([]);
  });

  it("checks new names", () => {
    expect(validName("Bad Name", [])).not.toBeNull();
    expect(validName("writer", ["writer"])).not.toBeNull();
    expect(validName("critic-2", ["writer"])).toBeNull();
  });
});

describe("one graph", () => {
  const sorted = (g: ChainGraph) => ({
    nodes: [...g.nodes].sort((a, b) => a.id.localeCompare(b.id)),
    edges: [...g.edges].sort((a, b) => a.id.localeCompare(b.id)),
  });
  for (const f of fixtures as unknown as { chain: string; agents: AgentDraft[]; graph: ChainGraph }[]) {
    it(`draws ${f.chain} as the domain crate builds it (routes, on_error, fan-out, fan-in)`, () => {
      expect(sorted(graphOf(f.agents))).toEqual(sorted(f.graph));
    });
  }
});
