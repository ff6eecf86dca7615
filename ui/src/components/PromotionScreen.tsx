import { useState } from "react";
import type { PromotionView } from "../bindings/PromotionView";
import { Checklist } from "./Checklist";
import { WaiveControl } from "./WaiveControl";
import { ConfirmRollback } from "./ConfirmRollback";
import { QualityCharts } from "./GatesScreen";

interface Props {
  promotion: PromotionView | null;
  deployed: Record<string, string | null>;
  onTick: (key: string, note: string | null) => void;
  /** Deployments, flags and audit entries of the chain. */
  activity?: React.ReactNode;
  /** The rollout this promotion's deploy opened (shown once deployed). */
  rollout?: React.ReactNode;
  onApprove: () => void;
  /** Deploy the promoted version: in full, or as a canary for that percent of requests. */
  onDeploy: (canary: number | null) => void;
  onRollback: (env: string) => void;
  onWaive: (gate: string, reason: string) => Promise<void>;
}

/** One promotion: its gates, the checklist, and the approve → deploy → rollback actions. */
export function PromotionScreen({ promotion, deployed, onTick, onApprove, onDeploy, onRollback, onWaive, activity, rollout }: Props) {
  const [confirm, setConfirm] = useState<string | null>(null);
  const [canaryPct, setCanaryPct] = useState(10);
  if (!promotion) {
    return (
      <div className="empty card">
        <h2>No promotion open</h2>
        <p className="muted">Press “Promote to …” on the home screen: the env's gates run and the checklist opens here.</p>
        {activity}
      </div>
    );
  }
  const env = promotion.to_env;
  // What the reviewer scored for this version, so approving does not mean switching screens.
  const quality = promotion.gates.find((g) => g.gate === "quality")?.quality ?? null;
  return (
    <div className="promotion">
      <div className="card promo-head">
        <h2>
          {promotion.chain} {promotion.version} → {env}{" "}
          <span className={`badge badge-${promotion.state}`} data-testid="promotion-state">
            {promotion.state.replace(/_/g, " ")}
          </span>
          {["deployed", "monitoring", "paused", "stable", "rolled_back"].includes(promotion.state) && deployed[env] && deployed[env] !== promotion.version && (
            <span className="badge badge-waived" data-testid="superseded">
              {" "}
              {env} now runs {deployed[env]}
            </span>
          )}
        </h2>
        {promotion.reason && (
          <p className="promo-reason" data-testid="promotion-reason">
            {promotion.reason}
          </p>
        )}
        <div className="promo-actions">
          <span className="muted">
            deployed in {env}: <strong data-testid={`deployed-version-${env}`}>{deployed[env] ?? "—"}</strong>
          </span>
          <button data-testid="approve-button" onClick={onApprove} disabled={promotion.state !== "awaiting_approval"}>
            Approve
          </button>
          <button className="primary" data-testid="deploy-button" onClick={() => onDeploy(null)} disabled={promotion.state !== "approved"}>
            Deploy {promotion.version}
          </button>
          {deployed[env] && (
            <span className="canary-deploy">
              <label>
                as a canary for{" "}
                <input
                  type="number"
                  min={1}
                  max={99}
                  value={canaryPct}
                  data-testid="canary-percent"
                  aria-label="canary share of requests, percent"
                  onChange={(e) => setCanaryPct(Math.min(99, Math.max(1, Number(e.target.value) || 1)))}
                />{" "}
                %
              </label>{" "}
              <button data-testid="deploy-canary-button" onClick={() => onDeploy(canaryPct)} disabled={promotion.state !== "approved"}>
                Deploy as canary
              </button>
            </span>
          )}
          <button data-testid="rollback-button" onClick={() => setConfirm(env)} disabled={!deployed[env]}>
            Rollback {env}
          </button>
        </div>
      </div>
      {["deployed", "monitoring", "paused", "stable", "rolled_back"].includes(promotion.state) && rollout}
      <div className="card">
        <h3>Gates</h3>
        <ul className="gates">
          {promotion.gates.map((g) => (
            <li key={g.gate}>
              <span className={`badge badge-${g.status}`} data-testid={`gate-status-${g.gate}`}>
                {g.status}
              </span>{" "}
              <strong>{g.gate}</strong> <span className="muted">{g.summary}</span>
              {g.waiver_note && <span className="muted"> — waived by {g.waived_by}: {g.waiver_note}</span>}
              {g.status === "failed" && ["created", "gates_running", "gates_failed", "awaiting_approval", "approved"].includes(promotion.state) && (
                <WaiveControl gate={g.gate} onWaive={(reason) => onWaive(g.gate, reason)} />
              )}
            </li>
          ))}
        </ul>
      </div>
      {quality && <QualityCharts q={quality} />}
      <div className="card">
        <h3>Checklist</h3>
        <Checklist checklist={promotion.checklist} onTick={onTick} />
      </div>
      {activity}
      {confirm && (
        <ConfirmRollback
          env={confirm}
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            onRollback(confirm);
            setConfirm(null);
          }}
        />
      )}
    </div>
  );
}
