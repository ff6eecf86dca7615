import { useEffect, useState } from "react";
import type { EventView } from "../bindings/EventView";
import type { RunView } from "../bindings/RunView";
import type { StepView } from "../bindings/StepView";
import type { Trigger } from "../bindings/Trigger";
import { duration, money, readable, when } from "../format";
import { StatusBadge } from "./StatusBadge";

const STATUSES = ["queued", "running", "completed", "failed", "timed_out", "budget_exceeded", "cancelled", "interrupted"];
const TRIGGERS: { value: Trigger; label: string }[] = [
  { value: "manual", label: "manual" },
  { value: "api", label: "api (serve)" },
  { value: "schedule", label: "schedule" },
  { value: "gate", label: "gate" },
];

interface Props {
  environments: string[];
  load: (env: string | null, status: string | null, version: string | null, trigger: Trigger | null) => Promise<RunView[]>;
  /** Start a run from here (with live progress and Cancel). */
  runner?: React.ReactNode;
  /** Changes when a run ends, to reload the list. */
  refreshKey?: number;
  loadEvents?: (id: string) => Promise<EventView[]>;
}

/** Where each step sits on the run's timeline, in percent: at its real start (steps that ran at
 *  once overlap); steps recorded before starts were kept follow one another. */
export function timelineBars(steps: StepView[]): { left: number; width: number }[] {
  let next = 0;
  const spans = steps.map((s) => {
    const start = s.offset_ms ?? next;
    next = start + s.duration_ms;
    return { start, length: s.duration_ms };
  });
  const end = Math.max(1, ...spans.map((x) => x.start + x.length));
  return spans.map((x) => {
    const left = (x.start / end) * 100;
    return { left, width: Math.min(100 - left, Math.max(1.5, (x.length / end) * 100)) };
  });
}

/** Runs with filters; a run's agents on a timeline with tokens, cost, attempts and its output. */
export function RunsScreen({ environments, load, runner, refreshKey, loadEvents }: Props) {
  const [events, setEvents] = useState<EventView[]>([]);
  const [env, setEnv] = useState<string>("");
  const [status, setStatus] = useState<string>("");
  const [version, setVersion] = useState<string>("");
  const [trigger, setTrigger] = useState<Trigger | "">("");
  const [list, setList] = useState<RunView[]>([]);
  const [selected, setSelected] = useState<RunView | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The versions seen so far, to filter by (the chosen one stays listed while filtered).
  const [versions, setVersions] = useState<string[]>([]);

  useEffect(() => {
    // A load started for other filters (or an older refresh) that answers late is dropped.
    let stale = false;
    load(env || null, status || null, version || null, trigger || null).then(
      (runs) => {
        if (stale) return;
        setList(runs);
        setError(null);
        setVersions((seen) => [...new Set([...seen, ...runs.map((r) => r.version)])].sort());
        setSelected((s) => runs.find((r) => r.id === s?.id) ?? runs[0] ?? null);
      },
      (e: unknown) => {
        if (!stale) setError(String((e as { message?: string }).message ?? e));
      },
    );
    return () => {
      stale = true;
    };
  }, [env, status, version, trigger, load, refreshKey]);

  const selectedId = selected?.id ?? null;
  useEffect(() => {
    if (!selectedId || !loadEvents) return;
    void loadEvents(selectedId).then(setEvents, () => setEvents([]));
  }, [selectedId, loadEvents]);

  const total = selected ? Math.max(1, ...selected.steps.map((s) => s.duration_ms)) : 1;
  const placed = selected ? timelineBars(selected.steps) : [];

  return (
    <div className="runs-wrap">
    {runner}
    <div className="runs-screen">
      <section className="card runs-list">
        <header className="run-head">
          <h3>Runs</h3>
          <span>
            <select value={env} onChange={(e) => setEnv(e.target.value)} aria-label="env">
              <option value="">all envs</option>
              {environments.map((e) => (
                <option key={e}>{e}</option>
              ))}
            </select>{" "}
            <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="status">
              <option value="">any status</option>
              {STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>{" "}
            <select value={version} onChange={(e) => setVersion(e.target.value)} aria-label="version" data-testid="runs-version">
              <option value="">any version</option>
              {versions.map((v) => (
                <option key={v}>{v}</option>
              ))}
            </select>{" "}
            <select
              value={trigger}
              onChange={(e) => setTrigger(e.target.value as Trigger | "")}
              aria-label="trigger"
              data-testid="runs-trigger"
            >
              <option value="">any trigger</option>
              {TRIGGERS.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
          </span>
        </header>
        {error && <div className="error-box">{error}</div>}
        {list.length === 0 ? (
          <p className="muted empty">No runs match. Run the chain from Home, or with `chainlift run`.</p>
        ) : (
          <table className="agents">
            <thead>
              <tr>
                <th scope="col">status</th>
                <th scope="col">env</th>
                <th scope="col">version</th>
                <th scope="col">started by</th>
                <th scope="col" className="num">
                  cost
                </th>
                <th scope="col" className="num">
                  started
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((r) => (
                <tr key={r.id} className={selected?.id === r.id ? "selected" : ""} onClick={() => setSelected(r)} data-testid={`run-row-${r.id}`}>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td>{r.env}</td>
                  <td className="model">{r.version}</td>
                  <td className="muted" data-testid={`run-trigger-${r.id}`}>
                    {r.trigger}
                  </td>
                  <td className="num">{money(r.cost)}</td>
                  <td className="num muted nowrap">{when(r.started_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {selected && (
        <section className="card run-detail" data-testid="run-detail">
          <h3>
            {selected.chain} @ {selected.env} · {selected.version} <StatusBadge status={selected.status} />
          </h3>
          <p className="muted">
            {money(selected.cost)} · {selected.tokens_in} / {selected.tokens_out} tokens · {duration(selected.duration_ms)}
            {selected.deployment_id ? ` · deployment ${selected.deployment_id.slice(0, 13)}` : " · files on disk"} · started by{" "}
            {selected.trigger}
          </p>
          {selected.error && <div className="error-box">{selected.error}</div>}
          <div className="timeline">
            {selected.steps.map((s, i) => {
              const { left, width } = placed[i] ?? { left: 0, width: 1.5 };
              return (
                <div className="timeline-row" key={`${s.agent}-${i}`}>
                  <div className="timeline-label">{s.agent}</div>
                  <div className="timeline-track">
                    <div
                      className={`timeline-bar bar-${s.status}`}
                      style={{ marginLeft: `${left}%`, width: `${width}%` }}
                      title={`started ${duration(s.offset_ms ?? 0)} in, ran ${duration(s.duration_ms)}`}
                    />
                  </div>
                  <div className="timeline-facts muted">
                    {s.model_reported ?? s.model_requested} · ×{s.attempts} · {s.tokens_in + s.tokens_out} tok · {money(s.cost)} ·{" "}
                    {duration(s.duration_ms)}
                  </div>
                </div>
              );
            })}
          </div>
          <p className="muted small">longest step {duration(total)}</p>
          {!selected.files_here && (
            <p className="muted small" data-testid="run-files-elsewhere">
              {selected.ran_on
                ? `This run's files (events, outputs) are on ${selected.ran_on}, the machine that ran it; the output below is the copy the history keeps.`
                : "This run's files are no longer in the data folder; the output below is the copy the history keeps."}
            </p>
          )}
          {selected.output_preview && <pre className="output" tabIndex={0} aria-label="the run's output">{selected.output_preview}</pre>}
          <details data-testid="run-events">
            <summary>Events ({events.length})</summary>
            <ol className="events-list">
              {events.map((e, i) => (
                <li key={i}>
                  <span className="muted">{when(e.at)}</span> <strong>{e.event}</strong>
                  {e.from && <span className="muted"> from {e.from}</span>}
                  <pre tabIndex={0}>{readable(e.payload)}</pre>
                </li>
              ))}
            </ol>
          </details>
        </section>
      )}
    </div>
    </div>
  );
}
