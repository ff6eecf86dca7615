// The pipeline editor's model: the agents as the user is editing them, the graph they make,
// and the edits that turn what was read into what is shown. Pure functions, tested with vitest.
import type { AgentDraft } from "./bindings/AgentDraft";
import type { ChainEdit } from "./bindings/ChainEdit";
import type { ChainGraph } from "./bindings/ChainGraph";

export const START = "chain:start";
export const COMPLETE = "chain:complete";

/** Events an agent sends: its `emits` plus what its routes and on_error send (read-only here). */
export function eventsOf(a: AgentDraft, base?: AgentDraft): string[] {
  const fromRoutes = (base ?? a).emitted.filter((e) => e !== (base ?? a).emits);
  const all = a.emits ? [a.emits, ...fromRoutes] : fromRoutes;
  return [...new Set(all)];
}

/** Agents as nodes, events as labelled edges, like the Rust side draws a saved chain. */
export function graphOf(agents: AgentDraft[], base: AgentDraft[] = []): ChainGraph {
  const byName = new Map(base.map((b) => [b.name, b]));
  const nodes: ChainGraph["nodes"] = [{ id: START, kind: "start", label: "start" }];
  const edges: ChainGraph["edges"] = [];
  for (const a of agents) nodes.push({ id: a.name, kind: "agent", label: a.name });
  let ends = false;
  for (const a of agents) {
    if (a.triggers.includes(START)) {
      edges.push({ id: `${START}->${a.name}`, source: START, target: a.name, label: START });
    }
    for (const ev of eventsOf(a, byName.get(a.name))) {
      if (ev === COMPLETE) {
        ends = true;
        edges.push({ id: `${a.name}->${COMPLETE}`, source: a.name, target: COMPLETE, label: COMPLETE });
      }
      for (const b of agents.filter((b) => b.triggers.includes(ev))) {
        edges.push({ id: `${a.name}-${ev}->${b.name}`, source: a.name, target: b.name, label: ev });
      }
    }
  }
  if (ends) nodes.push({ id: COMPLETE, kind: "end", label: "complete" });
  return { nodes, edges };
}

export type Connected = { agents: AgentDraft[] } | { error: string };

/** Wire `from`'s event to `to`'s triggers (`from` gets an `emits` if it has none). */
export function connect(agents: AgentDraft[], from: string, to: string): Connected {
  if (from === to) return { error: `${from} cannot trigger itself from the editor` };
  const source = agents.find((a) => a.name === from);
  if (to === COMPLETE) {
    if (!source) return { error: "connect an agent to complete" };
    if (source.emits && source.emits !== COMPLETE) {
      return { error: `${from} already emits ${source.emits}; an agent emits one event (routes can send more)` };
    }
    return { agents: agents.map((a) => (a.name === from ? { ...a, emits: COMPLETE } : a)) };
  }
  const target = agents.find((a) => a.name === to);
  if (!target) return { error: `${to} is not an agent` };
  let event: string;
  let next = agents;
  if (from === START) {
    event = START;
  } else if (!source) {
    return { error: `${from} is not an agent` };
  } else if (source.emits && source.emits !== COMPLETE) {
    event = source.emits;
  } else if (source.emits === COMPLETE) {
    return { error: `${from} ends the chain (emits ${COMPLETE}); change its emits first` };
  } else {
    event = `${from}:done`;
    next = next.map((a) => (a.name === from ? { ...a, emits: event } : a));
  }
  if (target.triggers.includes(event)) return { agents: next };
  return { agents: next.map((a) => (a.name === to ? { ...a, triggers: [...a.triggers, event] } : a)) };
}

/** Remove the wire `event` into `to`. */
export function disconnect(agents: AgentDraft[], event: string, to: string): AgentDraft[] {
  return agents.map((a) => (a.name === to ? { ...a, triggers: a.triggers.filter((t) => t !== event) } : a));
}

export function newAgent(name: string): AgentDraft {
  return {
    name,
    kind: "llm",
    prompt: `Describe what ${name} does with its input.\n\n{{ input }}\n`,
    triggers: [],
    emits: null,
    emitted: [],
    routes: null,
    model: null,
    timeout: null,
    file: `agents/${name}.yaml`,
  };
}

/** A name the files accept: lowercase letters, digits, - and _. */
export function validName(name: string, taken: string[]): string | null {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) return "use lowercase letters, digits, - and _";
  if (taken.includes(name)) return `there is already an agent named ${name}`;
  return null;
}

const TEXT_FIELDS = ["prompt", "model", "timeout", "emits"] as const;

/** The edits that turn `base` (as read) into `draft` (as shown). */
export function editsBetween(base: AgentDraft[], draft: AgentDraft[]): ChainEdit[] {
  const edits: ChainEdit[] = [];
  const before = new Map(base.map((a) => [a.name, a]));
  const after = new Set(draft.map((a) => a.name));
  for (const a of base) {
    if (!after.has(a.name)) edits.push({ op: "delete_agent", name: a.name });
  }
  for (const a of draft) {
    let old = before.get(a.name);
    if (!old) {
      edits.push({ op: "add_agent", name: a.name });
      old = newAgent(a.name);
    }
    for (const field of TEXT_FIELDS) {
      const v = a[field] === "" ? null : a[field];
      if (v !== old[field]) edits.push({ op: "set_text", agent: a.name, field, value: v });
    }
    if (a.triggers.join("\n") !== old.triggers.join("\n")) {
      edits.push({ op: "set_list", agent: a.name, field: "triggers", values: a.triggers });
    }
  }
  return edits;
}
