import { useState } from "react";
import type { PromotionView } from "../bindings/PromotionView";
import { when } from "../format";
import { Checklist } from "./Checklist";
import { WaiveControl } from "./WaiveControl";
import { ConfirmRollback } from "./ConfirmRollback";
import { QualityReview } from "./QualityReview";
import { CriteriaEditor } from "./CriteriaEditor";

interface Props {
  promotion: PromotionView | null;
  root: string;
  deployed: Record<string, string | null>;
  onTick: (key: string, note: string | null) => void;
  onUntick: (key: string, note: string | null) => void;
  /** Deployments, flags and audit entries of the chain. */
  activity?: React.ReactNode;
  /** The rollout this promotion's deploy opened (shown once deployed). */
  rollout?: React.ReactNode;
  onApprove: (note: string) => void;
  /** Deploy the promoted version: in full, or as a canary for that percent of requests. */
  onDeploy: (canary: number | null) => void;
  onRollback: (env: string) => void;
  onWaive: (gate: string, reason: string) => Promise<void>;
  /** Promote the files as they are now to the same env (after the criteria changed). */
  onRepromote: () => void;
  /** Write the report into the data folder; resolves to its path. */
  onExport: (format: "html" | "markdown") => Promise<string | null>;
}

const OPEN = ["created", "gates_running", "gates_failed", "awaiting_approval"];

/** One promotion: its gates and scores, the checklist, approval, and deploy → rollback. */
export function PromotionScreen({
  promotion,
  root,
  deployed,
  onTick,
  onUntick,
  onApprove,
  onDeploy,
  onRollback,
  onWaive,
  onRepromote,
  onExport,
  activity,
  rollout,
}: Props) {
  const [confirm, setConfirm] = useState<string | null>(null);
  const [canaryPct, setCanaryPct] = useState(10);
  const [note, setNote] = useState("");
  const [exported, setExported] = useState<string | null>(null);
  // The promotion whose screen the criteria were changed on: its gates judged the old files.
  const [changedOn, setChangedOn] = useState<string | null>(null);
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
  const quality = promotion.gates.find((g) => g.gate === "quality")?.quality ?? null;
  const mayApprove = promotion.approvers === null || promotion.approvers.includes(promotion.acting_as);
  const awaiting = promotion.state === "awaiting_approval";
  const later = ["deployed", "monitoring", "paused", "stable", "rolled_back"].includes(promotion.state);
  const exportAs = async (format: "html" | "markdown") => setExported(await onExport(format));
  return (
    <div className="promotion">
      <div className="card promo-head">
        <h2>
          {promotion.chain} {promotion.version} → {env}{" "}
          <span className={`badge badge-${promotion.state}`} data-testid="promotion-state">
            {promotion.state.replace(/_/g, " ")}
          </span>
          {later && deployed[env] && deployed[env] !== promotion.version && (
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
          <span className="export">
            <button data-testid="export-report" onClick={() => void exportAs("html")}>
              Export report
            </button>
            <button data-testid="export-report-md" onClick={() => void exportAs("markdown")}>
              as Markdown
            </button>
          </span>
        </div>
        {exported && (
          <p className="notice" role="status" data-testid="exported-path">
            Report written to <code>{exported}</code> — one file with everything in it, ready to send or print.
          </p>
        )}
      </div>
      {later && rollout}
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
              {g.status === "failed" && [...OPEN, "approved"].includes(promotion.state) && (
                <WaiveControl gate={g.gate} onWaive={(reason) => onWaive(g.gate, reason)} />
              )}
            </li>
          ))}
        </ul>
      </div>
      {quality && <QualityReview root={root} chain={promotion.chain} env={env} version={promotion.version} q={quality} />}
      <div className="card">
        <h3>Quality criteria</h3>
        {promotion.criteria_changes.length > 0 ? (
          <ul className="criteria-changes" data-testid="criteria-changes">
            {promotion.criteria_changes.map((c, i) => (
              <li key={i}>
                <strong>{c.summary}</strong> by {c.by} {when(c.at)}: “{c.reason}”
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">The criteria have not changed since the previous promotion to {env}.</p>
        )}
        {(changedOn === promotion.id || promotion.criteria_changes.some((c) => c.at > promotion.created_at)) && OPEN.includes(promotion.state) && (
          <p className="notice warn-notice" role="status" data-testid="criteria-rerun-hint">
            The criteria changed after these gates ran: they judged the old files.{" "}
            <button className="primary" data-testid="repromote" onClick={onRepromote}>
              Re-run {env}'s gates on the files as they are now
            </button>
          </p>
        )}
        <CriteriaEditor root={root} chain={promotion.chain} onSaved={() => setChangedOn(promotion.id)} />
      </div>
      <div className="card">
        <h3>Checklist</h3>
        <Checklist checklist={promotion.checklist} editable={OPEN.includes(promotion.state)} onTick={onTick} onUntick={onUntick} />
      </div>
      <div className="card approval" data-testid="approval">
        <h3>Approval</h3>
        {promotion.approved_by ? (
          <p data-testid="approved-by">
            Approved by <strong>{promotion.approved_by}</strong>: “{promotion.approval_note}”
          </p>
        ) : (
          <>
            <p className="muted" data-testid="approvers">
              {promotion.approvers
                ? `Who may approve promotions to ${env}: ${promotion.approvers.join(", ")}.`
                : `Anyone may approve promotions to ${env}.`}{" "}
              You are <strong>{promotion.acting_as}</strong>
              {promotion.approvers && !mayApprove ? " — ask one of them to approve." : "."}
            </p>
            <label className="block-label">
              What you reviewed (required)
              <textarea
                data-testid="approval-note"
                value={note}
                rows={2}
                maxLength={2000}
                placeholder="e.g. read the low-scoring outputs; terse answers are what support asked for"
                onChange={(e) => setNote(e.target.value)}
                disabled={!awaiting}
              />
            </label>
            <button
              className="primary"
              data-testid="approve-button"
              onClick={() => onApprove(note.trim())}
              disabled={!awaiting || note.trim() === ""}
            >
              Approve
            </button>
            {!awaiting && <span className="muted small"> Approval opens once the gates pass (or are waived).</span>}
            {awaiting && note.trim() === "" && <span className="muted small"> Write what you reviewed to approve.</span>}
          </>
        )}
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
