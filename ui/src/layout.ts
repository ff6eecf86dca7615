// Lay a chain graph out left to right with dagre; React Flow does no layout of its own.
import dagre from "@dagrejs/dagre";
import { Position, type NodeHandle } from "@xyflow/react";
import type { ChainGraph } from "./bindings/ChainGraph";

// The nodes' sizes, as styles.css fixes them (border-box): React Flow is told them up front.
export const NODE_WIDTH = 196;
export const NODE_HEIGHT = 56;
const END_SIZE = 104;
const END_HEIGHT = 36;
const HANDLE = 6;

export interface Placed {
  id: string;
  kind: string;
  label: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

// Layouts by the graph's shape: Home and the editor draw the same graph, and the editor
// rebuilds its graph on every keystroke of a prompt (same shape): dagre runs once per shape
// (~0.1 s for 200 agents).
const laidOut = new Map<string, Placed[]>();
const KEPT = 8;

export function layoutGraph(graph: ChainGraph): Placed[] {
  // In any order: Home's graph (from the domain crate) and the editor's (drawn from its draft)
  // list the same edges in different orders.
  const key =
    graph.nodes.map((n) => `${n.id}\u0001${n.kind}\u0001${n.label}`).sort().join("\u0002") +
    "\u0003" +
    graph.edges.map((e) => `${e.source}\u0001${e.target}\u0001${e.label}`).sort().join("\u0002");
  const known = laidOut.get(key);
  if (known) return known;
  const placed = runDagre(graph);
  laidOut.set(key, placed);
  if (laidOut.size > KEPT) {
    const oldest = laidOut.keys().next().value;
    if (oldest !== undefined) laidOut.delete(oldest);
  }
  return placed;
}

function runDagre(graph: ChainGraph): Placed[] {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 36, ranksep: 30, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) {
    const agent = n.kind === "agent";
    g.setNode(n.id, { width: agent ? NODE_WIDTH : END_SIZE, height: agent ? NODE_HEIGHT : END_HEIGHT });
  }
  // Give each edge its label's size so dagre leaves room for the event name between ranks.
  for (const e of graph.edges) {
    g.setEdge(e.source, e.target, { width: e.label.length * 6 + 12, height: 18, labelpos: "c" });
  }
  dagre.layout(g);
  return graph.nodes.map((n) => {
    const p = g.node(n.id);
    return {
      id: n.id,
      kind: n.kind,
      label: n.label,
      width: p.width,
      height: p.height,
      x: p.x - p.width / 2,
      y: p.y - p.height / 2,
    };
  });
}

/** One label per event leaving an agent: where an event fans out to several agents, the edges
 *  after the first carry no label, so labels never sit on top of each other. */
export function labelOnce<E extends { source: string; label: string }>(edges: E[]): (E & { shown: string | undefined })[] {
  const seen = new Set<string>();
  return edges.map((e) => {
    const key = `${e.source}\u0000${e.label}`;
    const first = !seen.has(key);
    seen.add(key);
    return { ...e, shown: first ? e.label : undefined };
  });
}

/** A node's size and handles, known before React Flow measures anything: the graph shows (edges
 *  and all) and fits in its first frame instead of waiting a frame or more for every node to be
 *  measured. Handles sit where React Flow's CSS puts them: centred on the left and right edges. */
export function presized(p: Pick<Placed, "kind" | "width" | "height">): {
  initialWidth: number;
  initialHeight: number;
  handles: NodeHandle[];
} {
  const y = p.height / 2 - HANDLE / 2;
  const handles: NodeHandle[] = [];
  const side = { y, width: HANDLE, height: HANDLE };
  if (p.kind !== "start") handles.push({ type: "target", position: Position.Left, x: -HANDLE / 2, ...side });
  if (p.kind !== "end") handles.push({ type: "source", position: Position.Right, x: p.width - HANDLE / 2, ...side });
  return { initialWidth: p.width, initialHeight: p.height, handles };
}
