import { useCallback, useEffect, useState } from "react";
import * as backend from "../backend";
import { toApiError } from "../backend";
import type { ApiError } from "../bindings/ApiError";
import type { GateProgress } from "../bindings/GateProgress";
import type { GateReport } from "../bindings/GateReport";
import type { GateRunView } from "../bindings/GateRunView";
import type { RunView } from "../bindings/RunView";
import { money } from "../format";
import { StatusBadge, gateGlyph } from "./StatusBadge";
import { WaiveControl } from "./WaiveControl";
import { QualityReview } from "./QualityReview";
import { QualityTrend } from "./QualityTrend";

interface Props {
  root: string;
  chain: string;
  environments: string[];
  /** The open promotion per env, to waive a failed gate on. */
  promotionOf: (env: string) => string | null;
  onWaive: (promotion: string, gate: string, reason: string) => Promise<void>;
  /** A gate run ended (the home cells show gate results). */
  onRan?: () => void;
}

export function GatesScreen({ root, chain, environments, promotionOf, onWaive, onRan }: Props) {
  const [env, setEnv] = useState(environments.includes("staging") ? "staging" : (environments[0] ?? "dev"));
  const [report, setReport] = useState<GateRunView | null>(null);
  const [progress, setProgress] = useState<GateProgress | null>(null);
  // Each gate's state as the run reports it, in the order they started.
  const [steps, setSteps] = useState<[string, string][]>([]);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [runs, setRuns] = useState<RunView[]>([]);
  // A version picked on the trend: its gate run is shown instead of the newest.
  const [pinned, setPinned] = useState<string | null>(null);
  const [ranCount, setRanCount] = useState(0);

  const refresh = useCallback(async () => {
    try {
      setReport(await backend.gateLatest(root, chain, env, pinned ?? undefined));
      setRuns(await backend.runs(root, chain, null, null));
      setError(null);
    } catch (e) {
      setError(toApiError(e));
    }
  }, [root, chain, env, pinned]);

  useEffect(() => {
    void refresh();
  }, [refresh]);
  useEffect(() => setPinned(null), [env]);

  const run = async () => {
    setRunning(true);
    setError(null);
    setProgress(null);
    setSteps([]);
    const onProgress = (p: GateProgress) => {
      setProgress(p);
      setSteps((all) =>
        all.some(([g]) => g === p.gate)
          ? all.map(([g, st]): [string, string] => [g, g === p.gate ? p.state : st])
          : [...all, [p.gate, p.state]],
      );
    };
    try {
      setPinned(null);
      setReport(await backend.gateRun(root, chain, env, onProgress));
      setRuns(await backend.runs(root, chain, null, null));
      setRanCount((n) => n + 1);
      onRan?.();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setRunning(false);
    }
  };

  const quality = report?.gates.find((g) => g.gate === "quality")?.quality ?? null;
  const promotion = promotionOf(env);

  return (
    <div className="gates-screen">
      <div className="toolbar">
        <h2>Gates</h2>
        <label className="inline-label">
          env
          <select value={env} onChange={(e) => setEnv(e.target.value)} data-testid="gates-env">
            {environments.map((e) => (
              <option key={e}>{e}</option>
            ))}
          </select>
        </label>
        <button className="primary" data-testid="run-gates-button" disabled={running} onClick={() => void run()}>
          {running ? "Running gates…" : `Run ${env}'s gates`}
        </button>
        {report && (
          <span className="muted">
            on version <strong>{report.version}</strong> · <StatusBadge status={report.passed ? "passed" : "failed"} />
          </span>
        )}
      </div>
      {running && (
        <div className="progress" data-testid="gates-progress">
          <div
            className="progress-bar"
            style={{ width: `${progress ? Math.max(4, (100 * progress.done) / Math.max(1, progress.total)) : 4}%` }}
          />
          <div className="progress-text">
            {progress ? `${progress.done} of ${progress.total} gates done` : "starting…"}
          </div>
        </div>
      )}
      {running && steps.length > 0 && (
        <div className="gate-steps" data-testid="gate-steps">
          {steps.map(([gate, state]) => (
            <span key={gate} className={`gate-chip gate-chip-${state === "started" ? "running" : state}`}>
              {gateGlyph(state)} {gate}
              {state === "started" && <span className="muted"> running</span>}
            </span>
          ))}
        </div>
      )}
      {error && (
        <div className="error-box" role="alert">
          <strong>{error.code}</strong> {error.message}
        </div>
      )}
      {pinned && report && !running && (
        <div className="notice" role="status" data-testid="gates-pinned">
          Showing the gate run of <strong>{report.version}</strong> in {env}.{" "}
          <button className="link-button" onClick={() => setPinned(null)}>
            Back to the newest
          </button>
        </div>
      )}
      {report?.stale && !running && !pinned && (
        <div className="notice warn-notice" data-testid="gates-stale">
          These are {env}'s newest results, for version <strong>{report.version}</strong>: the chain's files have changed
          since. Run {env}'s gates to check the files as they are now.
        </div>
      )}
      {!report && !running && !error && (
        <div className="empty card">
          <h3>No gate results for these files in {env} yet</h3>
          <p className="muted">
            Run {env}'s gates to see smoke, quality, cost and the rest — each with its evidence. Results are kept per
            version, so editing the chain starts a fresh column.
          </p>
        </div>
      )}
      {quality && report && <QualityReview root={root} chain={chain} env={env} version={report.version} q={quality} />}
      {report && (
        <div className="gate-cards">
          {report.gates.map((g) => (
            <GateCard key={g.gate} gate={g} promotion={promotion} onWaive={onWaive} />
          ))}
        </div>
      )}
      <QualityTrend root={root} chain={chain} env={env} refresh={ranCount} onOpen={setPinned} />
      <CostChart runs={runs} environments={environments} />
    </div>
  );
}

function GateCard({
  gate,
  promotion,
  onWaive,
}: {
  gate: GateReport;
  promotion: string | null;
  onWaive: Props["onWaive"];
}) {
  return (
    <section className={`card gate-card gate-${gate.status}`} data-testid={`gate-status-${gate.gate}`}>
      <div className="gate-head">
        <h3>{gate.gate}</h3>
        <StatusBadge status={gate.status} />
      </div>
      <p>{gate.summary}</p>
      <details>
        <summary>Evidence ({gate.evidence.length})</summary>
        <ul className="evidence">
          {gate.evidence.map((e, i) => (
            <li key={i} className={e.ok ? "ok" : "bad"}>
              <span aria-hidden>{e.ok ? "✓" : "✗"}</span> <strong>{e.check}</strong>{" "}
              <span className="detail">{e.detail}</span>
            </li>
          ))}
        </ul>
      </details>
      {gate.status === "failed" &&
        (promotion ? (
          <WaiveControl gate={gate.gate} onWaive={(reason) => onWaive(promotion, gate.gate, reason)} />
        ) : (
          <p className="muted small">Promote to this env to waive a failure with a reason.</p>
        ))}
    </section>
  );
}

const ENV_COLORS = ["#6366f1", "#f59e0b", "#10b981", "#ef4444", "#0ea5e9"];

/** Cost per run, oldest to newest, coloured by env and grouped by version. */
export function CostChart({ runs, environments }: { runs: RunView[]; environments: string[] }) {
  const priced = runs.filter((r) => r.cost !== null).slice(0, 60).reverse();
  if (priced.length === 0) {
    return (
      <section className="card" data-testid="cost-chart">
        <h3>Cost per run</h3>
        <p className="muted">No priced runs yet: run the chain (Home → Run) or its gates to see cost per run here.</p>
      </section>
    );
  }
  const max = Math.max(...priced.map((r) => r.cost ?? 0), 1e-6);
  const w = 16;
  const h = 140;
  const width = priced.length * (w + 4) + 60;
  return (
    <section className="card" data-testid="cost-chart">
      <h3>Cost per run</h3>
      <svg width={Math.max(width, 300)} height={h + 40} role="img" aria-label="cost per run">
        <text x={0} y={12} className="axis">
          {money(max)}
        </text>
        <line x1={50} x2={width} y1={h} y2={h} className="grid-line" />
        {priced.map((r, i) => {
          const bh = Math.max(2, (h - 20) * ((r.cost ?? 0) / max));
          const color = ENV_COLORS[Math.max(0, environments.indexOf(r.env)) % ENV_COLORS.length];
          const prev = priced[i - 1];
          const newVersion = !prev || prev.version !== r.version;
          return (
            <g key={r.id}>
              {newVersion && (
                <text x={50 + i * (w + 4)} y={h + 16} className="axis">
                  {r.version.slice(0, 8)}
                </text>
              )}
              <rect x={50 + i * (w + 4)} y={h - bh} width={w} height={bh} rx={2} fill={color}>
                <title>{`${r.env} · ${r.version} · ${money(r.cost)} · ${r.status} · ${r.started_at}`}</title>
              </rect>
            </g>
          );
        })}
      </svg>
      <div className="legend small">
        {environments.map((e, i) => (
          <span key={e} className="legend-item">
            <span className="swatch" style={{ background: ENV_COLORS[i % ENV_COLORS.length] }} /> {e}
          </span>
        ))}
      </div>
    </section>
  );
}
