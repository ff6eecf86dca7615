import type { ApiError } from "../bindings/ApiError";
import type { RunProgress } from "../bindings/RunProgress";
import type { RunView } from "../bindings/RunView";
import { duration, money } from "../format";
import { StatusBadge } from "./StatusBadge";

export interface RunState {
  running: boolean;
  progress: RunProgress | null;
  run: RunView | null;
  error: ApiError | null;
}

export function RunPanel({ env, state, onRun }: { env: string; state: RunState; onRun: () => void }) {
  const { running, progress, run, error } = state;
  const pct = progress && progress.total > 0 ? Math.round((progress.done / progress.total) * 100) : 0;
  return (
    <section className="run-panel card">
      <header className="run-head">
        <h3>Run</h3>
        <button className="primary" data-testid="run-button" onClick={onRun} disabled={running}>
          {running ? "Running…" : `Run in ${env}`}
        </button>
      </header>
      {running && (
        <div className="progress" aria-label="run progress">
          <div className="progress-bar" style={{ width: `${Math.max(pct, 6)}%` }} />
          <div className="progress-text">
            {progress ? `${progress.agent} ${progress.state} · ${progress.done}/${progress.total} agents` : "starting…"}
          </div>
        </div>
      )}
      {error && (
        <div className="error-box" role="alert">
          <strong>{error.code}</strong> {error.message}
        </div>
      )}
      {!running && !run && !error && (
        <p className="muted empty">
          No run yet. Press <em>Run in {env}</em> to run the chain on its smoke input.
        </p>
      )}
      {run && !running && (
        <div className="run-result">
          <div className="run-facts">
            <StatusBadge status={run.status} testId="run-status" />
            <span title="total cost">{money(run.cost)}</span>
            <span title="tokens in / out">
              {run.tokens_in} / {run.tokens_out} tokens
            </span>
            <span title="duration">{duration(run.duration_ms)}</span>
            <span className="muted" title={run.version_hash}>
              version {run.version}
            </span>
          </div>
          {run.error && <div className="error-box">{run.error}</div>}
          <table className="steps">
            <tbody>
              {run.steps.map((s) => (
                <tr key={s.agent}>
                  <td>{s.agent}</td>
                  <td>
                    <StatusBadge status={s.status} />
                  </td>
                  <td className="model" title={s.model_reported ? `provider reported ${s.model_reported}` : undefined}>
                    {s.model_requested}
                  </td>
                  <td className="num">{s.tokens_in + s.tokens_out} tok</td>
                  <td className="num">{money(s.cost)}</td>
                  <td className="num">{duration(s.duration_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {run.output_preview && <pre className="output" data-testid="run-output">{run.output_preview}</pre>}
        </div>
      )}
    </section>
  );
}
