import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  applyNodeChanges,
  type Connection,
  type Edge,
  type Node,
  type NodeChange,
  type NodeProps,
} from "@xyflow/react";
import * as backend from "../backend";
import { toApiError } from "../backend";
import type { AgentDraft } from "../bindings/AgentDraft";
import type { AgentFinding } from "../bindings/AgentFinding";
import type { ApiError } from "../bindings/ApiError";
import type { EditorView } from "../bindings/EditorView";
import type { EnvColumn } from "../bindings/EnvColumn";
import type { RouteDraft } from "../bindings/RouteDraft";
import {
  COMPLETE,
  START,
  connect,
  disconnect,
  editsBetween,
  emptyHistory,
  eventsOf,
  graphOf,
  newAgent,
  redo,
  remember,
  rename,
  routeProblem,
  undo,
  validName,
  type Draft,
  type History,
} from "../draft";
import { labelOnce, layoutGraph, presized } from "../layout";
import { MarkShown, useFittedViewport, type FitOptions } from "./fit";

const FIT: FitOptions = { padding: 0.2, minZoom: 0.5, maxZoom: 1.2 };

type NodeData = { label: string; kind: string; errors: number; warnings: number; selected: boolean; tip: string };
type EditorNode = Node<NodeData, "agent" | "terminal">;

function AgentNode({ data }: NodeProps<EditorNode>) {
  const cls = `agent-node editable${data.selected ? " selected" : ""}${data.errors ? " has-errors" : ""}`;
  return (
    <div className={cls} data-testid={`agent-node-${data.label}`} title={data.tip || undefined}>
      <Handle type="target" position={Position.Left} />
      <div className="agent-node-kind">{data.kind}</div>
      <div className="agent-node-name">{data.label}</div>
      {(data.errors > 0 || data.warnings > 0) && (
        <div className="node-badges" data-testid={`node-findings-${data.label}`}>
          {data.errors > 0 && <span className="badge bad">{data.errors}</span>}
          {data.warnings > 0 && <span className="badge warn">{data.warnings}</span>}
        </div>
      )}
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

function TerminalNode({ data }: NodeProps<EditorNode>) {
  return (
    <div className={`terminal-node terminal-${data.kind}`} data-testid={`terminal-${data.kind}`}>
      {data.kind === "end" && <Handle type="target" position={Position.Left} />}
      {data.label}
      {data.kind === "start" && <Handle type="source" position={Position.Right} />}
    </div>
  );
}

const nodeTypes = { agent: AgentNode, terminal: TerminalNode };
const FAR_ZOOM = 0.45;

interface Props {
  root: string;
  chain: string;
  envs: EnvColumn[];
  /** Ctrl+S / the Save button bump this to ask for a save. */
  saveRequest: number;
  onSaved: () => void;
  onDirty: (dirty: boolean) => void;
}

interface Loaded {
  view: EditorView;
  /** The agents as read: edits are computed against these. */
  base: AgentDraft[];
}

export function EditorScreen({ root, chain, envs, saveRequest, onSaved, onDirty }: Props) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [draft, setShown] = useState<Draft[]>([]);
  const [history, setHistory] = useState<History>(emptyHistory);
  /** Show `next`, remembering the draft it replaces for Undo (`key`: a field being typed in). */
  const setDraft = (next: Draft[] | ((d: Draft[]) => Draft[]), key: string | null = null) => {
    const value = typeof next === "function" ? next(draft) : next;
    if (value === draft) return;
    setHistory((h) => remember(h, draft, key));
    setShown(value);
  };
  const step = useCallback(
    (back: boolean) => {
      const moved = back ? undo(history, draft) : redo(history, draft);
      if (!moved) return;
      setShown(moved[0]);
      setHistory(moved[1]);
    },
    [history, draft],
  );
  // Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y) undo and redo the graph; in a text field they stay the field's own.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey)) return;
      const key = e.key.toLowerCase();
      if (key !== "z" && key !== "y") return;
      const target = e.target as HTMLElement | null;
      if (target && ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
      e.preventDefault();
      step(key === "z" && !e.shiftKey);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [step]);
  const [positions, setPositions] = useState<Record<string, { x: number; y: number }>>({});
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [conflict, setConflict] = useState(false);
  const [saving, setSaving] = useState(false);
  const [newName, setNewName] = useState("");
  const [showAll, setShowAll] = useState(false);
  // Zoomed far out, event labels are too small to read and cost the most to paint: hide them.
  const [far, setFar] = useState(false);
  const edits = useMemo(() => (loaded ? editsBetween(loaded.base, draft) : []), [loaded, draft]);
  const dirty = edits.length > 0;
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;
  const fingerprintRef = useRef<string>("");

  useEffect(() => onDirty(dirty), [dirty, onDirty]);

  const accept = useCallback((view: EditorView) => {
    if (performance.getEntriesByName("chainlift:editor-loaded").length === 0) performance.mark("chainlift:editor-loaded");
    setLoaded({ view, base: view.agents });
    setShown(view.agents);
    setHistory(emptyHistory);
    fingerprintRef.current = view.fingerprint;
    setPositions(Object.fromEntries(view.layout.map((p) => [p.id, { x: p.x, y: p.y }])));
    setConflict(false);
  }, []);

  const reload = useCallback(async () => {
    try {
      accept(await backend.editor(root, chain));
      setError(null);
    } catch (e) {
      setError(toApiError(e));
    }
  }, [root, chain, accept]);

  // Load, then follow changes on disk: reload when nothing is unsaved, else ask.
  useEffect(() => {
    void reload();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onChange = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void backend.editor(root, chain).then(
          (view) => {
            if (view.fingerprint === fingerprintRef.current) return;
            if (dirtyRef.current) {
              setConflict(true);
            } else {
              accept(view);
              setNotice("Reloaded: the chain's files changed on disk.");
            }
          },
          (e) => setError(toApiError(e)),
        );
      }, 250);
    };
    backend.watchChain(root, chain, onChange).catch((e) => setError(toApiError(e)));
    return () => clearTimeout(timer);
  }, [root, chain, reload, accept]);

  const save = useCallback(async () => {
    // With a conflict open, the user chooses first (reload or keep), then saves.
    if (!loaded || edits.length === 0 || conflict) return;
    setSaving(true);
    setError(null);
    try {
      const view = await backend.editorSave(root, chain, fingerprintRef.current, edits);
      accept(view);
      setNotice(`Saved ${edits.length} change${edits.length === 1 ? "" : "s"} to ${chain}'s files.`);
      onSaved();
    } catch (e) {
      const err = toApiError(e);
      if (err.code === "conflict") setConflict(true);
      else setError(err);
    } finally {
      setSaving(false);
    }
  }, [loaded, edits, conflict, root, chain, accept, onSaved]);

  const lastSave = useRef(saveRequest);
  useEffect(() => {
    if (saveRequest !== lastSave.current) {
      lastSave.current = saveRequest;
      void save();
    }
  }, [saveRequest, save]);

  const keepMine = async () => {
    // Apply my edits over the files as they are now: only the fields I changed are written.
    try {
      const view = await backend.editor(root, chain);
      fingerprintRef.current = view.fingerprint;
      setConflict(false);
      setNotice("Keeping your edits: Save writes them over the files as they are now.");
    } catch (e) {
      setError(toApiError(e));
    }
  };

  const findings = useMemo(() => loaded?.view.findings ?? [], [loaded]);
  const findingsOf = (name: string) => findings.filter((f) => f.agents.includes(name));
  const graph = useMemo(() => graphOf(draft), [draft]);
  const auto = useMemo(() => Object.fromEntries(layoutGraph(graph).map((p) => [p.id, p])), [graph]);

  const nodes: EditorNode[] = useMemo(
    () =>
      graph.nodes.map((n) => {
        const mine = n.kind === "agent" ? findings.filter((f) => f.agents.includes(n.id)) : [];
        const errors = mine.filter((f) => f.finding.severity === "error").length;
        const agent = draft.find((a) => a.name === n.id);
        const placed = auto[n.id];
        return {
          id: n.id,
          type: n.kind === "agent" ? "agent" : "terminal",
          position: positions[n.id] ?? { x: auto[n.id]?.x ?? 0, y: auto[n.id]?.y ?? 0 },
          ...(placed ? presized(placed) : {}),
          data: {
            label: n.label,
            kind: n.kind === "agent" ? (agent?.kind ?? "llm") : n.kind,
            errors,
            warnings: mine.length - errors,
            selected: selected === n.id,
            tip: mine.map((f) => `${f.finding.code}: ${f.finding.message}`).join("\n"),
          },
        };
      }),
    [graph, positions, auto, findings, draft, selected],
  );
  const edges: Edge[] = useMemo(
    () =>
      labelOnce(graph.edges).map((e) => ({
        id: e.id,
        source: e.source,
        target: e.target,
        label: e.shown,
        data: { event: e.label },
        type: "smoothstep",
        markerEnd: { type: MarkerType.ArrowClosed },
        labelBgPadding: [6, 3] as [number, number],
        labelBgBorderRadius: 4,
        className: "event-edge",
        deletable: e.target !== COMPLETE && e.source !== START ? true : e.source === START,
      })),
    [graph],
  );

  const persistLayout = (next: Record<string, { x: number; y: number }>) => {
    const list = Object.entries(next).map(([id, p]) => ({ id, x: p.x, y: p.y }));
    backend.layoutSave(root, chain, list).catch((e) => setError(toApiError(e)));
  };

  // React Flow measures nodes through change events: keep its view of the nodes (sizes, the
  // position while dragging) and refresh it from the draft whenever the draft changes.
  const [flowNodes, setFlowNodes] = useState<EditorNode[]>([]);
  useEffect(() => {
    setFlowNodes((prev) => {
      const old = new Map(prev.map((n) => [n.id, n]));
      return nodes.map((n) => {
        const p = old.get(n.id);
        return p ? { ...n, measured: p.measured, width: p.width, height: p.height } : n;
      });
    });
  }, [nodes]);

  // The first view fits the chain as it first shows; later edits keep the user's pan and zoom.
  const { ref: graphRef, viewport } = useFittedViewport(`${root}\u0000${chain}`, flowNodes, FIT);

  const onNodesChange = (changes: NodeChange<EditorNode>[]) => {
    setFlowNodes((ns) => applyNodeChanges(changes, ns));
  };

  const onDragStop = (moved: EditorNode[]) => {
    const next = { ...positions };
    for (const n of moved) next[n.id] = { x: n.position.x, y: n.position.y };
    setPositions(next);
    persistLayout(next);
  };

  const onConnect = (c: Connection) => {
    const result = connect(draft, c.source, c.target);
    if ("error" in result) setError({ code: "bad_input", message: result.error });
    else {
      setDraft(result.agents);
      setError(null);
    }
  };

  const onEdgesDelete = (gone: Edge[]) => {
    let next = draft;
    for (const e of gone) {
      if (e.target === COMPLETE) {
        next = next.map((a) => (a.name === e.source && a.emits === COMPLETE ? { ...a, emits: null } : a));
      } else {
        next = disconnect(next, String(e.label), e.target);
      }
    }
    setDraft(next);
  };

  const update = (name: string, patch: Partial<AgentDraft>) =>
    setDraft(
      (d) => d.map((a) => (a.name === name ? { ...a, ...patch } : a)),
      `${name}.${Object.keys(patch).sort().join(",")}`,
    );

  const addAgent = () => {
    const name = newName.trim();
    const problem = validName(name, draft.map((a) => a.name));
    if (problem) {
      setError({ code: "bad_input", message: `${name || "(empty)"}: ${problem}` });
      return;
    }
    setDraft((d) => [...d, newAgent(name)]);
    setSelected(name);
    setNewName("");
    setError(null);
  };

  const renameAgent = (from: string, to: string): string | null => {
    const problem = validName(to, draft.map((a) => a.name).filter((n) => n !== from));
    if (problem) return problem;
    if (to === from) return null;
    setDraft((d) => rename(d, from, to));
    setPositions((p) => {
      const at = p[from];
      if (!at) return p;
      return Object.fromEntries([...Object.entries(p).filter(([id]) => id !== from), [to, at]]);
    });
    setSelected(to);
    return null;
  };

  const deleteAgent = (name: string) => {
    setDraft((d) => d.filter((a) => a.name !== name));
    setSelected(null);
  };

  const agent = draft.find((a) => a.name === selected) ?? null;
  const knownEvents = useMemo(() => {
    const all = new Set<string>([START]);
    const names = draft.map((a) => a.name);
    for (const a of draft) for (const e of eventsOf(a, names)) all.add(e);
    return [...all].sort();
  }, [draft]);

  if (!loaded) {
    return (
      <section className="card">
        {error ? (
          <div className="error-box" role="alert">
            <strong>{error.code}</strong> {error.message}
          </div>
        ) : (
          <p className="muted">Reading the chain…</p>
        )}
      </section>
    );
  }

  return (
    <div className="editor">
      <div className="editor-toolbar">
        <button
          className="primary"
          data-testid="save-button"
          disabled={!dirty || saving || conflict}
          onClick={() => void save()}
          title="Save (Ctrl+S)"
        >
          {saving ? "Saving…" : "Save"}
        </button>
        <span className={dirty ? "badge warn" : "muted"} data-testid="dirty-state">
          {dirty ? `${edits.length} unsaved change${edits.length === 1 ? "" : "s"}` : "All changes saved"}
        </span>
        <button disabled={!dirty} onClick={() => setDraft(loaded.base)}>
          Discard
        </button>
        <button data-testid="undo-button" disabled={history.past.length === 0} onClick={() => step(true)} title="Undo (Ctrl+Z)">
          Undo
        </button>
        <button data-testid="redo-button" disabled={history.future.length === 0} onClick={() => step(false)} title="Redo (Ctrl+Shift+Z)">
          Redo
        </button>
        <span className="spacer" />
        <input
          placeholder="new-agent-name"
          value={newName}
          data-testid="new-agent-name"
          onChange={(e) => setNewName(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && addAgent()}
        />
        <button data-testid="add-agent-button" onClick={addAgent}>
          Add agent
        </button>
        <button
          data-testid="auto-layout"
          onClick={() => {
            setPositions({});
            persistLayout({});
          }}
          title="Forget dragged positions and lay the graph out again"
        >
          Auto layout
        </button>
      </div>
      {conflict && (
        <div className="conflict-box" role="alert" data-testid="conflict">
          <div>
            <strong>The chain's files changed on disk</strong> while you have unsaved edits.
          </div>
          <div className="actions">
            <button data-testid="conflict-reload" onClick={() => void reload()}>
              Reload from disk (drop my edits)
            </button>
            <button data-testid="conflict-keep" className="primary" onClick={() => void keepMine()}>
              Keep my edits
            </button>
          </div>
        </div>
      )}
      {error && (
        <div className="error-box" role="alert" data-testid="editor-error">
          <strong>{error.code}</strong> {error.message}
        </div>
      )}
      {notice && !error && (
        <div className="notice" data-testid="editor-notice" onClick={() => setNotice(null)}>
          {notice}
        </div>
      )}
      <div className="editor-main">
        <section className="card graph-card editor-graph">
          <div className={far ? "graph far" : "graph"} data-testid="chain-graph" ref={graphRef}>
            {viewport && (
            <ReactFlow
              nodes={flowNodes}
              edges={edges}
              nodeTypes={nodeTypes}
              onNodesChange={onNodesChange}
              onNodeDragStop={(_, __, moved) => onDragStop(moved)}
              onConnect={onConnect}
              onEdgesDelete={onEdgesDelete}
              onNodeClick={(_, n) => setSelected(n.type === "agent" ? n.id : null)}
              onPaneClick={() => setSelected(null)}
              onInit={(rf) => setFar(rf.getZoom() < FAR_ZOOM)}
              onMoveEnd={(_, viewport) => setFar(viewport.zoom < FAR_ZOOM)}
              defaultViewport={viewport}
              minZoom={0.25}
              onlyRenderVisibleElements={draft.length > 40}
              proOptions={{ hideAttribution: true }}
            >
              {draft.length <= 40 && <Background gap={20} size={1} />}
              <Controls showInteractive={false} />
              <MarkShown name="chainlift:editor-shown" />
            </ReactFlow>
            )}
          </div>
        </section>
        <aside className="card properties" data-testid="properties">
          {agent ? (
            <AgentProperties
              agent={agent}
              envs={envs}
              findings={findingsOf(agent.name)}
              events={knownEvents}
              agents={draft.map((a) => a.name)}
              onChange={(patch) => update(agent.name, patch)}
              onRename={(to) => renameAgent(agent.name, to)}
              onDelete={() => deleteAgent(agent.name)}
            />
          ) : (
            <div className="empty-props">
              <h3>Properties</h3>
              <p className="muted">
                Click an agent to rename it or edit its prompt, triggers, emits or routes, model and timeout. Drag from an agent's right
                handle to another agent to wire its event into that agent's triggers; select a wire and press
                Delete to remove it.
              </p>
            </div>
          )}
        </aside>
      </div>
      <section className="card findings" data-testid="findings">
        <h3>
          Lint findings <span className="muted">({findings.length}, as saved)</span>
        </h3>
        {findings.length === 0 ? (
          <p className="muted">No findings: the saved chain lints clean in every env.</p>
        ) : (
          <ul className="finding-list">
            {findings.slice(0, showAll ? findings.length : 40).map((f, i) => (
              <li key={i} className={f.finding.severity}>
                <span className={`badge ${f.finding.severity === "error" ? "bad" : "warn"}`}>{f.finding.code}</span>{" "}
                {f.finding.env && <span className="muted">[{f.finding.env}] </span>}
                {f.finding.message}
                {f.finding.file && (
                  <span className="muted">
                    {" "}
                    — {f.finding.file.replace(loaded.view.dir + "/", "")}
                    {f.finding.line ? `:${f.finding.line}` : ""}
                  </span>
                )}
                {f.finding.hint && <div className="hint">fix: {f.finding.hint}</div>}
              </li>
            ))}
          </ul>
        )}
        {findings.length > 40 && !showAll && (
          <button className="link" onClick={() => setShowAll(true)}>
            Show all {findings.length} findings
          </button>
        )}
      </section>
    </div>
  );
}

interface PropsPanel {
  agent: AgentDraft;
  envs: EnvColumn[];
  findings: AgentFinding[];
  events: string[];
  /** Every agent's name, for on_error. */
  agents: string[];
  onChange: (patch: Partial<AgentDraft>) => void;
  /** Returns what is wrong with the new name, or null when renamed. */
  onRename: (to: string) => string | null;
  onDelete: () => void;
}

function NameField({ name, was, onRename }: { name: string; was?: string; onRename: (to: string) => string | null }) {
  const [value, setValue] = useState(name);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    setValue(name);
    setProblem(null);
  }, [name]);
  const apply = () => setProblem(onRename(value.trim()));
  return (
    <div className="field">
      <div className="row">
        <input
          className="name-input"
          data-testid="name-input"
          aria-label="agent name"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && apply()}
        />
        <button data-testid="rename-button" disabled={value.trim() === name} onClick={apply}>
          Rename
        </button>
      </div>
      {problem && <span className="field-error">{problem}</span>}
      {was && was !== name && <span className="muted">renamed from {was}: Save moves its file and what names it</span>}
    </div>
  );
}

function AgentProperties({ agent, envs, findings, events, agents, onChange, onRename, onDelete }: PropsPanel & { agent: Draft }) {
  const [addTrigger, setAddTrigger] = useState("");
  const choices = events.filter((e) => !agent.triggers.includes(e) && !eventsOfSelf(agent).includes(e));
  return (
    <div className="props" data-testid={`properties-${agent.name}`}>
      <div className="props-head">
        <h3>Agent</h3>
        <span className="muted">{agent.file ?? "in chain.yaml"}</span>
      </div>
      <NameField name={agent.name} was={agent.was} onRename={onRename} />
      <label>
        Prompt
        <textarea
          data-testid="prompt-input"
          rows={9}
          value={agent.prompt ?? ""}
          onChange={(e) => onChange({ prompt: e.target.value })}
          spellCheck={false}
        />
      </label>
      <div className="field">
        <span>Triggers</span>
        <div className="chips" data-testid="triggers">
          {agent.triggers.length === 0 && <span className="muted">none — this agent never runs</span>}
          {agent.triggers.map((t) => (
            <span className="chip" key={t}>
              {t}
              <button
                aria-label={`remove trigger ${t}`}
                onClick={() => onChange({ triggers: agent.triggers.filter((x) => x !== t) })}
              >
                ×
              </button>
            </span>
          ))}
        </div>
        <div className="row">
          <select data-testid="trigger-select" aria-label="add a trigger event" value={addTrigger} onChange={(e) => setAddTrigger(e.target.value)}>
            <option value="">Trigger on an event…</option>
            {choices.map((e) => (
              <option key={e} value={e}>
                {e}
              </option>
            ))}
          </select>
          <button
            data-testid="trigger-add"
            disabled={!addTrigger}
            onClick={() => {
              onChange({ triggers: [...agent.triggers, addTrigger] });
              setAddTrigger("");
            }}
          >
            Connect
          </button>
        </div>
      </div>
      <Sends agent={agent} onChange={onChange} />
      <div className="two">
        <label>
          Starts on
          <select
            data-testid="wait-for-select"
            value={agent.wait_for ?? "any"}
            onChange={(e) => onChange({ wait_for: e.target.value === "any" ? null : e.target.value })}
          >
            <option value="any">any trigger</option>
            <option value="all">all triggers (fan-in)</option>
          </select>
        </label>
        <label>
          On error
          <OnError agent={agent} agents={agents} onChange={onChange} />
        </label>
      </div>
      <div className="two">
        <label>
          Model
          <input
            data-testid="model-input"
            value={agent.model ?? ""}
            placeholder="${MODEL} or a model name"
            onChange={(e) => onChange({ model: e.target.value || null })}
          />
        </label>
        <label>
          Timeout
          <input
            data-testid="timeout-input"
            value={agent.timeout ?? ""}
            placeholder="${AGENT_TIMEOUT} or 60s"
            onChange={(e) => onChange({ timeout: e.target.value || null })}
          />
        </label>
      </div>
      <table className="resolved">
        <thead>
          <tr>
            <th>env</th>
            <th>model (resolved)</th>
            <th>timeout</th>
          </tr>
        </thead>
        <tbody>
          {envs.map((e) => {
            const r = e.agents.find((a) => a.agent === agent.name);
            return (
              <tr key={e.env}>
                <td>{e.env}</td>
                <td>{r ? `${r.model} (${r.provider})` : <span className="muted">does not resolve here (see findings)</span>}</td>
                <td>{r ? `${r.timeout_secs} s` : ""}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {findings.length > 0 && (
        <ul className="finding-list small">
          {findings.map((f, i) => (
            <li key={i}>
              <span className={`badge ${f.finding.severity === "error" ? "bad" : "warn"}`}>{f.finding.code}</span>{" "}
              {f.finding.message}
            </li>
          ))}
        </ul>
      )}
      <button className="danger" data-testid="delete-agent" onClick={onDelete}>
        Delete agent
      </button>
    </div>
  );
}

function eventsOfSelf(a: AgentDraft): string[] {
  return [...(a.emits ? [a.emits] : []), ...a.routes.map((r) => r.emit)];
}

const AN_EVENT = "__event"; // no agent name starts with _

/** Where a failure goes: nowhere (the run fails), another agent, or an event. */
function OnError({ agent, agents, onChange }: { agent: AgentDraft; agents: string[]; onChange: (patch: Partial<AgentDraft>) => void }) {
  const value = agent.on_error;
  const mode = !value ? "" : agents.includes(value) ? value : AN_EVENT;
  return (
    <>
      <select
        data-testid="on-error-select"
        aria-label="on error, go to"
        value={mode}
        onChange={(e) => {
          const v = e.target.value;
          onChange({ on_error: v === "" ? null : v === AN_EVENT ? `${agent.name}:failed` : v });
        }}
      >
        <option value="">fail the run</option>
        {agents
          .filter((n) => n !== agent.name)
          .map((n) => (
            <option key={n} value={n}>
              hand over to {n}
            </option>
          ))}
        <option value={AN_EVENT}>send an event…</option>
      </select>
      {mode === AN_EVENT && (
        <input
          data-testid="on-error-event"
          aria-label="event sent on error"
          value={value ?? ""}
          onChange={(e) => onChange({ on_error: e.target.value || null })}
        />
      )}
    </>
  );
}

/** What the agent sends when it ends: one event (`emits`), or routes chosen by its output. */
function Sends({ agent, onChange }: { agent: AgentDraft; onChange: (patch: Partial<AgentDraft>) => void }) {
  if (agent.routes_fixed) {
    return (
      <div className="field">
        <span>Routes (written in a shape the editor does not show as rows: edit them in the file)</span>
        <pre className="routes" tabIndex={0}>{agent.routes_fixed}</pre>
      </div>
    );
  }
  if (agent.routes.length === 0) {
    return (
      <div className="field">
        <label>
          Emits
          <input
            data-testid="emits-input"
            value={agent.emits ?? ""}
            placeholder={`${agent.name}:done or chain:complete`}
            onChange={(e) => onChange({ emits: e.target.value || null })}
          />
        </label>
        <button
          className="link"
          data-testid="use-routes"
          onClick={() =>
            onChange({
              emits: null,
              routes: [
                { when: "", emit: agent.emits ?? `${agent.name}:done` },
                { when: null, emit: `${agent.name}:other` },
              ],
            })
          }
        >
          Route by its output instead…
        </button>
      </div>
    );
  }
  const routes = agent.routes;
  const set = (next: RouteDraft[]) => onChange({ routes: next });
  const at = (i: number, patch: Partial<RouteDraft>) => set(routes.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const hasElse = routes.some((r) => r.when === null);
  const problem = routeProblem(routes);
  return (
    <div className="field" data-testid="routes">
      <span>Routes — the first whose condition holds sends its event</span>
      <div className="route-rows">
        {routes.map((r, i) => (
          <div className="route-row" key={i} data-testid={`route-${i}`}>
            {r.when === null ? (
              <span className="route-else">else</span>
            ) : (
              <input
                data-testid={`route-when-${i}`}
                aria-label={`route ${i + 1} condition`}
                placeholder="output.score >= 4"
                value={r.when}
                onChange={(e) => at(i, { when: e.target.value })}
              />
            )}
            <span className="muted">→</span>
            <input
              data-testid={`route-emit-${i}`}
              aria-label={`route ${i + 1} event`}
              placeholder="event:name"
              value={r.emit}
              onChange={(e) => at(i, { emit: e.target.value })}
            />
            <button aria-label={`remove route ${i + 1}`} onClick={() => set(routes.filter((_, j) => j !== i))}>
              ×
            </button>
          </div>
        ))}
      </div>
      {problem && <span className="field-error">{problem}</span>}
      <div className="row">
        <button
          data-testid="route-add"
          onClick={() => {
            const row = { when: "", emit: "" };
            set(hasElse ? [...routes.slice(0, -1), row, routes[routes.length - 1] as RouteDraft] : [...routes, row]);
          }}
        >
          Add route
        </button>
        {!hasElse && <button onClick={() => set([...routes, { when: null, emit: "" }])}>Add else</button>}
        <button
          className="link"
          onClick={() => onChange({ routes: [], emits: routes.find((r) => r.when === null)?.emit ?? routes[0]?.emit ?? null })}
        >
          Send one event instead
        </button>
      </div>
      <span className="muted small hint-text">
        Conditions read <code>output</code>, <code>input</code> and <code>events</code>; a missing field is false.
      </span>
    </div>
  );
}
