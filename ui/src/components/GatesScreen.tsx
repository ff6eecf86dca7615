import { useCallback, useEffect, useState } from "react";
import * as backend from "../backend";
import { toApiError } from "../backend";
import type { ApiError } from "../bindings/ApiError";
import type { GateProgress } from "../bindings/GateProgress";
import type { GateReport } from "../bindings/GateReport";
import type { GateRunView } from "../bindings/GateRunView";
import type { QualityScores } from "../bindings/QualityScores";
import type { RunView } from "../bindings/RunView";
import { money } from "../format";
import { StatusBadge, gateGlyph } from "./StatusBadge";
import { WaiveControl } from "./WaiveControl";

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

  const refresh = useCallback(async () => {
    try {
      setReport(await backend.gateLatest(root, chain, env));
      setRuns(await backend.runs(root, chain, null, null));
      setError(null);
    } catch (e) {
      setError(toApiError(e));
    }
  }, [root, chain, env]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

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
      setReport(await backend.gateRun(root, chain, env, onProgress));
      setRuns(await backend.runs(root, chain, null, null));
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
      {report?.stale && !running && (
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
      {quality && <QualityCharts q={quality} />}
      {report && (
        <div className="gate-cards">
          {report.gates.map((g) => (
            <GateCard key={g.gate} gate={g} promotion={promotion} onWaive={onWaive} />
          ))}
        </div>
      )}
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

/** Each criterion against the threshold and the baseline, then inputs × criteria. */
export function QualityCharts({ q }: { q: QualityScores }) {
  const width = 520;
  const row = 30;
  const left = 110;
  const scale = (v: number) => left + ((width - left - 44) * v) / 5;
  const height = q.criteria.length * row + 30;
  const criteria = q.criteria.map((c) => c.name);
  return (
    <section className="card quality" data-testid="quality-chart">
      <div className="quality-head">
        <h3>Quality</h3>
        <span className="muted">
          average <strong>{q.overall.toFixed(2)}</strong> · threshold {q.min_average.toFixed(1)}
          {q.baseline && <> · baseline {q.baseline}</>}
        </span>
      </div>
      <div className="quality-grid">
        <svg width={width} height={height} role="img" aria-label="score per criterion">
          {[1, 2, 3, 4, 5].map((t) => (
            <g key={t}>
              <line x1={scale(t)} x2={scale(t)} y1={0} y2={height - 20} className="grid-line" />
              <text x={scale(t)} y={height - 6} className="axis" textAnchor="middle">
                {t}
              </text>
            </g>
          ))}
          {q.criteria.map((c, i) => (
            <g key={c.name}>
              <text x={left - 8} y={i * row + 19} className="label" textAnchor="end">
                {c.name}
              </text>
              <rect
                x={left}
                y={i * row + 6}
                width={Math.max(0, scale(c.average) - left)}
                height={18}
                rx={4}
                className={c.average >= q.min_average ? "bar ok" : "bar bad"}
              >
                <title>{`${c.name}: ${c.average.toFixed(2)}`}</title>
              </rect>
              <text x={scale(c.average) + 4} y={i * row + 19} className="value">
                {c.average.toFixed(1)}
              </text>
              {c.baseline !== null && (
                <line
                  x1={scale(c.baseline)}
                  x2={scale(c.baseline)}
                  y1={i * row + 2}
                  y2={i * row + 28}
                  className="baseline"
                >
                  <title>{`baseline (${q.baseline ?? ""}): ${c.baseline.toFixed(2)}`}</title>
                </line>
              )}
            </g>
          ))}
          <line
            x1={scale(q.min_average)}
            x2={scale(q.min_average)}
            y1={0}
            y2={height - 20}
            className="threshold"
          >
            <title>{`threshold ${q.min_average}`}</title>
          </line>
        </svg>
        <table className="heatmap" data-testid="quality-heatmap">
          <thead>
            <tr>
              <th>input</th>
              {criteria.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {q.inputs.map((input) => (
              <tr key={input.input}>
                <td className="input-name">{input.input}</td>
                {input.error ? (
                  <td colSpan={criteria.length} className="cell-error" title={input.error}>
                    {input.error}
                  </td>
                ) : (
                  criteria.map((c) => {
                    const cell = input.scores.find((s) => s.criterion === c);
                    return (
                      <td
                        key={c}
                        className={`cell score-${cell?.score ?? 0}`}
                        title={cell ? `${c} ${cell.score}/5: ${cell.rationale}` : "no score"}
                      >
                        {cell?.score ?? "–"}
                      </td>
                    );
                  })
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="legend muted small">
        <span className="swatch threshold-swatch" /> threshold <span className="swatch baseline-swatch" /> baseline
        (deployed version) · hover a cell for the reviewer's rationale
      </div>
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
