import { useMemo } from "react";
import {
  Background,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from "@xyflow/react";
import type { ChainGraph } from "../bindings/ChainGraph";
import { labelOnce, layoutGraph, presized } from "../layout";
import { MarkShown, useFittedViewport, type FitOptions } from "./fit";

type AgentData = { label: string; kind: string };
type AgentNodeType = Node<AgentData, "agent" | "terminal">;

function AgentNode({ data }: NodeProps<AgentNodeType>) {
  return (
    <div className="agent-node" data-testid={`agent-node-${data.label}`}>
      <Handle type="target" position={Position.Left} />
      <div className="agent-node-kind">agent</div>
      <div className="agent-node-name">{data.label}</div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

function TerminalNode({ data }: NodeProps<AgentNodeType>) {
  return (
    <div className={`terminal-node terminal-${data.kind}`}>
      {data.kind === "end" && <Handle type="target" position={Position.Left} />}
      {data.label}
      {data.kind === "start" && <Handle type="source" position={Position.Right} />}
    </div>
  );
}

const nodeTypes = { agent: AgentNode, terminal: TerminalNode };
const FIT: FitOptions = { padding: 0.2, minZoom: 0.1, maxZoom: 1.2 };

export function ChainGraphView({ graph }: { graph: ChainGraph }) {
  // Home reloads the project after every action and hands over an equal graph in new objects:
  // keyed by content, React Flow keeps the nodes it measured, and a changed graph mounts afresh
  // (uncontrolled) so its nodes are measured before they show.
  const key = JSON.stringify(graph);
  const { nodes, edges } = useMemo(() => {
    const nodes: AgentNodeType[] = layoutGraph(graph).map((p) => ({
      id: p.id,
      type: p.kind === "agent" ? "agent" : "terminal",
      position: { x: p.x, y: p.y },
      ...presized(p),
      data: { label: p.label, kind: p.kind },
      draggable: true,
    }));
    const edges: Edge[] = labelOnce(graph.edges).map((e) => ({
      id: e.id,
      source: e.source,
      target: e.target,
      label: e.shown,
      type: "smoothstep",
      markerEnd: { type: MarkerType.ArrowClosed },
      labelBgPadding: [6, 3],
      labelBgBorderRadius: 4,
      className: "event-edge",
    }));
    return { nodes, edges };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- keyed by content, see above
  }, [key]);

  const { ref, viewport } = useFittedViewport(key, nodes, FIT);

  return (
    <div className="graph" data-testid="chain-graph" ref={ref}>
      {viewport && (
      <ReactFlow
        key={key}
        defaultNodes={nodes}
        defaultEdges={edges}
        nodeTypes={nodeTypes}
        defaultViewport={viewport}
        minZoom={FIT.minZoom}
        nodesConnectable={false}
        onlyRenderVisibleElements={nodes.length > 40}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={20} size={1} />
        <MarkShown name="chainlift:graph-shown" />
      </ReactFlow>
      )}
    </div>
  );
}
