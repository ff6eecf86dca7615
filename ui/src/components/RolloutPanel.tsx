import { useCallback, useEffect, useRef, useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { AnalysisView } from "../bindings/AnalysisView";
import type { Metric } from "../bindings/Metric";
import type { RolloutView } from "../bindings/RolloutView";
import type { Verdict } from "../bindings/Verdict";
import { when } from "../format";
import * as backend from "../backend";

type RolloutRequest = backend.RolloutRequest;

const METRIC_NAMES: Record<Metric, string> = {
  failure_rate: "Failure rate",
  cost_ratio: "Cost per run",
  latency_ratio: "p95 latency",
  quality: "Sampled quality",
  model_drift: "Model drift",
};

const UNITS: Record<Metric, (v: number) => string> = {
  failure_rate: (v) => `${(v * 100).toFixed(0)} %`,
  cost_ratio: (v) => `$${v.toFixed(4)}`,
  latency_ratio: (v) => `${Math.round(v)} ms`,
  quality: (v) => v.toFixed(2),
  model_drift: (v) => String(v),
};

const VERDICT_GLYPH: Record<Verdict, string> = { successful: "✓", failed: "✗", inconclusive: "?" };

/** "4 min 10 s left" from now to an RFC 3339 time. */
export function timeLeft(until: string, now: number): string {
  const ms = Date.parse(until) - now;
  if (!Number.isFinite(ms)) return "";
  if (ms <= 0) return "window over";
  const s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${m} min left`;
  if (m > 0) return `${m} min ${s % 60} s left`;
  return `${s} s left`;
}

/** One chart point per interval, oldest first: the candidate's and the stable's own figure,
 * and the limit the candidate is held to (the ratio's threshold times the stable's figure). */
export function series(analyses: AnalysisView[], metric: Metric) {
  return analyses
    .filter((a) => a.metric === metric)
    .slice()
    .reverse()
    .map((a) => ({
      at: new Date(a.at).toLocaleTimeString(),
      candidate: a.candidate_value,
      stable: a.stable_value,
      limit: metric === "failure_rate" || metric === "quality" ? a.threshold : a.stable_value !== null && a.threshold !== null ? a.stable_value * a.threshold : null,
      verdict: a.verdict,
      runs: a.runs,
    }));
}

function MetricChart({ r, metric }: { r: RolloutView; metric: Metric }) {
  const data = series(r.analyses, metric);
  const latest = r.analyses.find((a) => a.metric === metric);
  const threshold = r.thresholds.find((t) => t.metric === metric)?.threshold ?? latest?.threshold ?? undefined;
  // A rate and a score are shown as they are; the others are ratios to the stable version.
  const plain = metric === "failure_rate" || metric === "quality";
  const unit = UNITS[metric];
  return (
    <figure className="rollout-metric" data-testid={`rollout-metric-${metric}`}>
      <figcaption>
        <strong>{METRIC_NAMES[metric]}</strong>{" "}
        {latest ? (
          <span className={`verdict verdict-${latest.verdict}`}>
            {VERDICT_GLYPH[latest.verdict]} {latest.value === null ? "n/a" : plain ? unit(latest.value) : `${latest.value.toFixed(2)}×`}
            {threshold !== undefined && (
              <span className="muted">
                {" "}
                ({metric === "quality" ? "at least" : "limit"} {plain ? unit(threshold) : `${threshold}×`})
              </span>
            )}
            <span className="muted"> over {latest.runs} runs</span>
          </span>
        ) : (
          <span className="muted">no analysis yet</span>
        )}
      </figcaption>
      {data.every((d) => d.candidate === null && d.stable === null) ? (
        <div className="muted small chart-empty">{data.length === 0 ? "the first analysis comes after one interval" : "no runs counted yet"}</div>
      ) : (
        <ResponsiveContainer width="100%" height={120}>
          <LineChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
            <XAxis dataKey="at" tick={{ fontSize: 10 }} minTickGap={24} />
            <YAxis tick={{ fontSize: 10 }} width={52} tickFormatter={(v: number) => unit(v)} />
            <Tooltip formatter={(v) => (typeof v === "number" ? unit(v) : String(v))} />
            <Legend wrapperStyle={{ fontSize: 11 }} />
            <Line type="monotone" dataKey="candidate" name="candidate" stroke="var(--accent)" dot={false} isAnimationActive={false} connectNulls />
            <Line type="monotone" dataKey="stable" name="stable" stroke="var(--muted)" dot={false} isAnimationActive={false} connectNulls />
            {plain && threshold !== undefined ? (
              <ReferenceLine y={threshold} stroke="var(--bad)" strokeDasharray="4 2" label={{ value: "limit", fontSize: 10, position: "insideTopRight" }} />
            ) : (
              <Line type="stepAfter" dataKey="limit" name="limit" stroke="var(--bad)" strokeDasharray="4 2" dot={false} isAnimationActive={false} connectNulls />
            )}
          </LineChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}

function Confirm({ action, r, onConfirm, onCancel }: { action: RolloutRequest; r: RolloutView; onConfirm: () => void; onCancel: () => void }) {
  const text: Record<RolloutRequest, [string, string]> = {
    promote: [`Promote ${r.candidate ?? "the candidate"} in ${r.env}?`, "It takes every request now and the watch ends: stable, no rollback by the monitor."],
    abort: [`Abort the rollout in ${r.env}?`, `Every request goes back to ${r.stable} at once.`],
    pause: [`Pause the rollout in ${r.env}?`, "The weight holds and nothing advances; a failed analysis still rolls back."],
    resume: [`Resume the rollout in ${r.env}?`, "Steps advance again after their watch."],
  };
  const [title, body] = text[action];
  return (
    <div className="modal" role="dialog" aria-label={`confirm ${action}`}>
      <div className="card">
        <h3>{title}</h3>
        <p>{body}</p>
        <button onClick={onCancel}>Cancel</button>{" "}
        <button className="primary" data-testid="confirm-button" onClick={onConfirm} autoFocus>
          {{ promote: "Promote", abort: "Abort", pause: "Pause", resume: "Resume" }[action]}
        </button>
      </div>
    </div>
  );
}

/** A rollout as it goes (DESIGN.md §10): the candidate's share, time left, each metric for the
 * candidate and the stable against its limit, the analyses as a timeline, and the buttons.
 * Reloaded whenever `refresh` changes (the change feed's history topic). */
export function RolloutPanel({ root, chain, env, refresh }: { root: string; chain: string; env: string; refresh: number }) {
  const [r, setR] = useState<RolloutView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<RolloutRequest | null>(null);
  const [now, setNow] = useState(() => Date.now());
  // Loads overlap when the feed moves fast: only the newest answer is shown.
  const latest = useRef(0);
  const reload = useCallback(() => {
    const mine = ++latest.current;
    backend.rollout(root, chain, env).then(
      (v) => {
        if (mine !== latest.current) return;
        setR(v);
        setError(null);
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String((e as { message?: string }).message ?? e)),
    );
  }, [root, chain, env]);
  useEffect(reload, [reload, refresh]);
  const open = r !== null && (r.state === "monitoring" || r.state === "paused");
  useEffect(() => {
    if (!open) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [open]);
  if (error) return <div className="rollout-panel error-text small" data-testid={`rollout-panel-${env}`}>rollout: {error}</div>;
  if (!r) return null;
  if (!open) {
    return (
      <div className="rollout-panel ended small" data-testid={`rollout-panel-${env}`}>
        <span className={`badge badge-${r.state}`}>{r.state.replace("_", " ")}</span>{" "}
        {r.state === "stable" ? (
          <>
            rollout of <strong>{r.version}</strong> ended stable
          </>
        ) : (
          <>
            rollout of <strong>{r.version}</strong> rolled back: every request on <strong>{r.stable}</strong>
          </>
        )}
        {r.ended_at && <span className="muted"> {when(r.ended_at)}</span>}
        {r.reason && <div className="rollout-reason" data-testid={`rollout-reason-${env}`}>{r.reason}</div>}
      </div>
    );
  }
  const doAct = (a: RolloutRequest) => {
    setConfirm(null);
    backend.rolloutAct(root, chain, env, a).then(setR, (e: unknown) => setError(String((e as { message?: string }).message ?? e)));
  };
  const metrics: Metric[] = ["failure_rate", "cost_ratio", "latency_ratio"];
  if (r.analyses.some((a) => a.metric === "quality")) metrics.push("quality");
  const timeline = r.analyses.filter((a) => a.metric === "failure_rate").slice(0, 12);
  return (
    <div className="rollout-panel card" data-testid={`rollout-panel-${env}`} aria-live="polite">
      {confirm && <Confirm action={confirm} r={r} onCancel={() => setConfirm(null)} onConfirm={() => doAct(confirm)} />}
      <header className="rollout-head">
        <strong>Rollout</strong> <span className={`badge badge-${r.state}`}>{r.state}</span>{" "}
        <span data-testid={`rollout-weight-${env}`} className="rollout-weight">
          {r.candidate} takes {r.weight} %
        </span>
        <span className="muted"> · {r.stable} is stable</span>
      </header>
      <div className="weight-bar" role="meter" aria-label="candidate's share of requests" aria-valuemin={0} aria-valuemax={100} aria-valuenow={r.weight}>
        <div className="weight-fill" style={{ width: `${r.weight}%` }} />
        {r.phase === "canary" &&
          r.steps.map((s) => <span key={s} className="weight-step" style={{ left: `${s}%` }} title={`step ${s} %`} />)}
      </div>
      <div className="muted small">
        {r.phase === "canary"
          ? `canary · next: ${[...r.steps.filter((s) => s > r.weight).map((s) => `${s} %`), "the full switch"].join(" → ")}`
          : "full switch done: watching the window"}
        {r.window_ends_at && ` · ${timeLeft(r.window_ends_at, now)}`} · one analysis every {r.interval_secs} s
      </div>
      {(() => {
        const drift = r.analyses.find((a) => a.metric === "model_drift");
        return drift?.detail ? (
          <div className="warn-text small" data-testid={`rollout-drift-${env}`}>
            model drift (the steps wait): {drift.detail}
          </div>
        ) : null;
      })()}
      <div className="rollout-metrics">
        {metrics.map((m) => (
          <MetricChart key={m} r={r} metric={m} />
        ))}
      </div>
      <ol className="rollout-timeline" aria-label="analyses, newest first">
        {timeline.length === 0 && <li className="muted">The first analysis comes {r.interval_secs} s after the deploy.</li>}
        {timeline.map((a) => {
          const all = r.analyses.filter((x) => x.at === a.at);
          const verdict: Verdict = all.some((x) => x.verdict === "failed") ? "failed" : all.every((x) => x.verdict === "successful") ? "successful" : "inconclusive";
          return (
            <li key={a.at} className={`verdict-${verdict}`}>
              {VERDICT_GLYPH[verdict]} {new Date(a.at).toLocaleTimeString()} — {verdict}, {a.runs} runs
            </li>
          );
        })}
      </ol>
      <div className="rollout-actions">
        <button className="primary" data-testid="rollout-promote-button" onClick={() => setConfirm("promote")}>
          Promote
        </button>
        <button className="danger" data-testid="rollout-abort-button" onClick={() => setConfirm("abort")}>
          Abort
        </button>
        {r.state === "paused" ? (
          <button data-testid="rollout-resume-button" onClick={() => setConfirm("resume")}>
            Resume
          </button>
        ) : (
          <button data-testid="rollout-pause-button" onClick={() => setConfirm("pause")}>
            Pause
          </button>
        )}
      </div>
    </div>
  );
}
