// The pipeline editor's model: the agents as the user is editing them, the graph they make,
// and the edits that turn what was read into what is shown. Pure functions, tested with vitest.
import type { AgentDraft } from "./bindings/AgentDraft";
import type { ChainEdit } from "./bindings/ChainEdit";
import type { ChainGraph } from "./bindings/ChainGraph";
import type { RouteDraft } from "./bindings/RouteDraft";

export const START = "chain:start";
export const COMPLETE = "chain:complete";

/** An agent as edited; `was` is the name it was read under, when it has been renamed. */
export type Draft = AgentDraft & { was?: string };

/** The name an agent had when it was read (the key into the agents as read). */
export const readName = (a: Draft): string => a.was ?? a.name;

/**
 * Events an agent sends: its `emits`, its routes, and what `on_error` sends (an agent's name
 * there goes through the `<agent>:error` event). Routes the editor cannot show as rows count
 * as read.
 */
export function eventsOf(a: AgentDraft, agentNames: string[]): string[] {
  const all = [a.emits, ...a.routes.map((r) => r.emit)];
  if (a.on_error) all.push(agentNames.includes(a.on_error) ? `${a.name}:error` : a.on_error);
  if (a.routes_fixed) all.push(...a.emitted);
  return [...new Set(all.filter((e): e is string => !!e))];
}

/** Agents as nodes, events as labelled edges, like the Rust side draws a saved chain. */
export function graphOf(agents: Draft[]): ChainGraph {
  const names = agents.map((a) => a.name);
  const nodes: ChainGraph["nodes"] = [{ id: START, kind: "start", label: "start" }];
  const edges: ChainGraph["edges"] = [];
  for (const a of agents) nodes.push({ id: a.name, kind: "agent", label: a.name });
  let ends = false;
  for (const a of agents) {
    if (a.triggers.includes(START)) {
      edges.push({ id: `${START}->${a.name}`, source: START, target: a.name, label: START });
    }
    for (const ev of eventsOf(a, names)) {
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
    if (source.routes.length > 0) {
      return { error: `${from} sends by routes: give one of its routes the event ${COMPLETE}` };
    }
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
  } else if (source.routes.length > 0) {
    // An agent with routes sends one of several events: wire the first the target does not hear yet.
    const unheard = source.routes.map((r) => r.emit).filter((e) => e && e !== COMPLETE && !target.triggers.includes(e));
    if (unheard.length === 0) return { error: `${to} already hears every event ${from}'s routes send` };
    event = unheard[0] as string;
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
    routes: [],
    routes_fixed: null,
    model: null,
    timeout: null,
    wait_for: null,
    on_error: null,
    file: `agents/${name}.yaml`,
  };
}

/** A name the files accept: lowercase letters, digits, - and _. */
export function validName(name: string, taken: string[]): string | null {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) return "use lowercase letters, digits, - and _";
  if (taken.includes(name)) return `there is already an agent named ${name}`;
  return null;
}

/** Rename `from` to `to` in the draft (checked with `validName` first). */
export function rename(agents: Draft[], from: string, to: string): Draft[] {
  return agents.map((a) => {
    if (a.name !== from) return a;
    const was = readName(a);
    const next: Draft = { ...a, name: to, was };
    if (was === to) delete next.was;
    return next;
  });
}

/** What is wrong with routes before they are saved (the same rules the files are held to). */
export function routeProblem(routes: RouteDraft[]): string | null {
  for (const [i, r] of routes.entries()) {
    if (!r.emit.trim()) return `route ${i + 1} sends no event`;
    if (r.when !== null && !r.when.trim()) return `route ${i + 1} needs a condition (or make it the else)`;
    if (r.when === null && i !== routes.length - 1) return "the else route must be the last";
  }
  return null;
}

const TEXT_FIELDS = ["prompt", "model", "timeout", "emits", "wait_for", "on_error"] as const;

/**
 * Renames in an order that never takes a name still in use. A cycle (two agents swapping names)
 * goes through a temporary name, so it still saves in one go.
 */
function renamesOf(draft: Draft[]): ChainEdit[] {
  let pending = draft
    .filter((a) => a.was !== undefined && a.was !== a.name)
    .map((a) => ({ from: a.was ?? a.name, to: a.name }));
  const taken = new Set([...draft.map((a) => a.name), ...pending.map((r) => r.from)]);
  const out: ChainEdit[] = [];
  while (pending.length > 0) {
    const busy = new Set(pending.map((r) => r.from));
    const ready = pending.filter((r) => !busy.has(r.to));
    if (ready.length === 0) {
      const first = pending[0] as { from: string; to: string };
      let tmp = `${first.from}-renaming`;
      for (let n = 2; taken.has(tmp); n++) tmp = `${first.from}-renaming-${n}`;
      taken.add(tmp);
      out.push({ op: "rename_agent", from: first.from, to: tmp });
      pending = [{ from: tmp, to: first.to }, ...pending.slice(1)];
      continue;
    }
    for (const r of ready) out.push({ op: "rename_agent", from: r.from, to: r.to });
    pending = pending.filter((r) => !ready.includes(r));
  }
  return out;
}

/** The edits that turn `base` (as read) into `draft` (as shown). */
export function editsBetween(base: AgentDraft[], draft: Draft[]): ChainEdit[] {
  const edits: ChainEdit[] = [];
  const before = new Map(base.map((a) => [a.name, a]));
  const after = new Set(draft.map(readName));
  for (const a of base) {
    if (!after.has(a.name)) edits.push({ op: "delete_agent", name: a.name });
  }
  edits.push(...renamesOf(draft));
  // A new agent may take a name another agent was renamed away from.
  const renamedAway = new Set(draft.flatMap((a) => (a.was === undefined ? [] : [a.was])));
  for (const a of draft) {
    let old = a.was === undefined && renamedAway.has(a.name) ? undefined : before.get(readName(a));
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
    if (JSON.stringify(a.routes) !== JSON.stringify(old.routes)) {
      edits.push({ op: "set_routes", agent: a.name, routes: a.routes });
    }
  }
  return edits;
}

/** The editor's undo history: what came before the draft shown, and what an undo took back. */
export interface History {
  past: Draft[][];
  future: Draft[][];
  /** The field the last change typed into, so a run of keystrokes is one step. */
  lastKey: string | null;
}

export const emptyHistory: History = { past: [], future: [], lastKey: null };
const HISTORY_LIMIT = 100;

/** Record that `before` is being replaced; `key` names a typed field (same key: same step). */
export function remember(h: History, before: Draft[], key: string | null = null): History {
  if (key !== null && key === h.lastKey) return h;
  return { past: [...h.past.slice(-(HISTORY_LIMIT - 1)), before], future: [], lastKey: key };
}

/** One step back: the draft to show and the history after it (null: nothing to undo). */
export function undo(h: History, present: Draft[]): [Draft[], History] | null {
  const prev = h.past[h.past.length - 1];
  if (!prev) return null;
  return [prev, { past: h.past.slice(0, -1), future: [present, ...h.future], lastKey: null }];
}

export function redo(h: History, present: Draft[]): [Draft[], History] | null {
  const [next, ...rest] = h.future;
  if (!next) return null;
  return [next, { past: [...h.past, present], future: rest, lastKey: null }];
}
