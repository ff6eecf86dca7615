import { Suspense, useState } from "react";
import type { EnvColumn } from "../bindings/EnvColumn";
import { ConfirmRollback } from "./ConfirmRollback";
import { money, seconds, when } from "../format";
import { StatusBadge, gateGlyph } from "./StatusBadge";
import { ServeLine } from "./ServeLine";
import type { ServeStatusView } from "../bindings/ServeStatusView";
// The rollout panel (and its chart library) loads only where something is deployed.
import { RolloutPanel } from "../screens";

interface Actions {
  onPromote?: (env: string) => void;
  onOpenPromotion?: (id: string) => void;
  onRollback?: (env: string) => void;
  busy?: string | null;
  /** Per env, the serve process holding it (absent: not loaded, nothing shown). */
  serving?: Record<string, ServeStatusView>;
  /** Where the rollout panels read from, and a number that changes when history does. */
  rollouts?: { root: string; chain: string; refresh: number };
}

export function EnvColumns({ envs, onPromote, onOpenPromotion, onRollback, busy, serving, rollouts }: { envs: EnvColumn[] } & Actions) {
  const [confirm, setConfirm] = useState<string | null>(null);
  return (
    <div className="env-columns">
      {confirm && onRollback && (
        <ConfirmRollback
          env={confirm}
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            onRollback(confirm);
            setConfirm(null);
          }}
        />
      )}
      {envs.map((col, index) => (
        <section key={col.env} className="env-column card" data-testid={`env-column-${col.env}`}>
          <header className="env-head">
            <h3>{col.env}</h3>
            {col.last_run ? (
              <span className="env-last" title={`last run ${when(col.last_run.started_at)}`}>
                <StatusBadge status={col.last_run.status} /> {money(col.last_run.cost)}
              </span>
            ) : (
              <span className="muted">no runs yet</span>
            )}
          </header>
          <div className="env-deploy">
            <span className="muted">deployed</span>{" "}
            <strong data-testid={`deployed-version-${col.env}`}>{col.deployed_version ?? "—"}</strong>
            {col.deployed_version && onRollback && (
              <button className="small-button" data-testid={`rollback-${col.env}`} onClick={() => setConfirm(col.env)}>
                Roll back
              </button>
            )}
            {col.promotion && (
              <button className="link" onClick={() => onOpenPromotion?.(col.promotion?.id ?? "")} title="open the promotion">
                promotion of {col.promotion.version}: <span className={`badge badge-${col.promotion.state}`}>{col.promotion.state.replace("_", " ")}</span>
              </button>
            )}
            {index > 0 && onPromote && (
              <button data-testid="promote-button" disabled={busy !== null && busy !== undefined} onClick={() => onPromote(col.env)}>
                {busy === col.env ? "Running gates…" : `Promote to ${col.env}`}
              </button>
            )}
          </div>
          {serving && <ServeLine env={col.env} status={serving[col.env]} />}
          {rollouts && col.deployed_version && (
            <Suspense fallback={null}>
              <RolloutPanel root={rollouts.root} chain={rollouts.chain} env={col.env} refresh={rollouts.refresh} />
            </Suspense>
          )}
          <div className={col.gates_of ? "env-gates stale" : "env-gates"} data-testid={`env-gates-${col.env}`}>
            {col.gates_of && <span className="muted small">gates of {col.gates_of} (files changed since):</span>}
            {col.gates.length === 0 ? (
              <span className="muted small">gates not run on these files</span>
            ) : (
              col.gates.map((g) => (
                <span key={g.gate} className={`gate-chip gate-chip-${g.status}`} title={`${g.gate}: ${g.status} — ${g.summary}`}>
                  {gateGlyph(g.status)} {g.gate}
                </span>
              ))
            )}
          </div>
          {col.problems.length > 0 ? (
            <ul className="problems">
              {col.problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          ) : (
            <table className="agents">
              <thead>
                <tr>
                  <th>agent</th>
                  <th>model</th>
                  <th className="num">timeout</th>
                </tr>
              </thead>
              <tbody>
                {col.agents.map((a) => (
                  <tr key={a.agent}>
                    <td>{a.agent}</td>
                    <td>
                      <span className="model">{a.model}</span>
                      <span className="provider">{a.provider}</span>
                    </td>
                    <td className="num">{seconds(a.timeout_secs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      ))}
    </div>
  );
}
