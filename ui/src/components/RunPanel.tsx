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
  /** Each agent's latest state while running: started, completed or failed. */
  agents: Record<string, string>;
}

interface Props {
  env: string;
  envs: string[];
  state: RunState;
  onEnv: (env: string) => void;
  onRun: () => void;
  onCancel: () => void;
  /** Controls and progress only (the Runs screen shows results in its list and detail). */
  compact?: boolean;
}

export function RunPanel({ env, envs, state, onEnv, onRun, onCancel, compact }: Props) {
  const { running, progress, run, error, agents } = state;
  const pct = progress && progress.total > 0 ? Math.round((progress.done / progress.total) * 100) : 0;
  return (
    <section className="run-panel card">
      <header className="run-head">
        <h3>Run</h3>
        <span className="run-controls">
          <select aria-label="run env" data-testid="run-env" value={env} disabled={running} onChange={(e) => onEnv(e.target.value)}>
            {envs.map((e) => (
              <option key={e}>{e}</option>
            ))}
          </select>
          {running ? (
            <button data-testid="cancel-button" onClick={onCancel}>
              Cancel
            </button>
          ) : (
            <button className="primary" data-testid="run-button" onClick={onRun} title="Run (Ctrl+Enter)">
              {`Run in ${env}`}
            </button>
          )}
        </span>
      </header>
      {running && (
        <div className="progress" aria-label="run progress">
          <div className="progress-bar" style={{ width: `${Math.max(pct, 6)}%` }} />
          <div className="progress-text">
            {progress ? `${progress.agent} ${progress.state} · ${progress.done}/${progress.total} agents` : "starting…"}
          </div>
        </div>
      )}
      {running && (
          <div className="agent-states" data-testid="run-agents">
            {Object.entries(agents).map(([agent, st]) => (
              <span key={agent} className={`chip agent-${st}`}>
                {st === "started" ? "⟳" : st === "completed" ? "✓" : "✗"} {agent}
              </span>
            ))}
          </div>
      )}
      {error && (
        <div className="error-box" role="alert">
          <strong>{error.code}</strong> {error.message}
        </div>
      )}
      {compact && run && !running && (
        <p className="muted">
          Last run: <StatusBadge status={run.status} testId="run-status" /> {money(run.cost)} · {duration(run.duration_ms)}{" "}
          — its agents, output and events are below.
        </p>
      )}
      {!running && !run && !error && (
        <p className="muted empty">
          No run yet. Press <em>Run in {env}</em> to run the chain on its smoke input.
        </p>
      )}
      {run && !running && !compact && (
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
          {run.output_preview && <pre className="output" data-testid="run-output" tabIndex={0} aria-label="the run's output">{run.output_preview}</pre>}
        </div>
      )}
    </section>
  );
}
