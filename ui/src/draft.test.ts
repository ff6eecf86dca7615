import { describe, expect, it } from "vitest";
import type { AgentDraft } from "./bindings/AgentDraft";
import { connect, disconnect, editsBetween, graphOf, newAgent, validName } from "./draft";

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
    const g = graphOf(base, base);
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

  it("checks new names", () => {
    expect(validName("Bad Name", [])).not.toBeNull();
    expect(validName("writer", ["writer"])).not.toBeNull();
    expect(validName("critic-2", ["writer"])).toBeNull();
  });
});
