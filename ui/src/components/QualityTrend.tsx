import { useEffect, useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import * as backend from "../backend";
import type { TrendPoint } from "../bindings/TrendPoint";
import { money } from "../format";

const COLORS = ["#6366f1", "#0ea5e9", "#10b981", "#f59e0b", "#ec4899", "#8b5cf6", "#14b8a6", "#84cc16"];

/** One row per gated version: each criterion's average, the threshold then, the cost per run. */
export function trendRows(points: TrendPoint[]): { criteria: string[]; rows: Record<string, number | string | null>[] } {
  const criteria = [...new Set(points.flatMap((p) => Object.keys(p.criteria)))].sort();
  const rows = points.map((p) => {
    const row: Record<string, number | string | null> = {
      version: p.version,
      threshold: p.min_average,
      cost: p.cost_per_run,
    };
    for (const c of criteria) row[c] = p.criteria[c] ?? null;
    return row;
  });
  return { criteria, rows };
}

/** Per criterion, the average over the chain's gated versions in this env (threshold drawn),
 *  and the cost per run over versions; a version opens its gate run. */
export function QualityTrend({
  root,
  chain,
  env,
  refresh,
  onOpen,
}: {
  root: string;
  chain: string;
  env: string;
  refresh: number;
  onOpen: (version: string) => void;
}) {
  const [points, setPoints] = useState<TrendPoint[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    backend.qualityTrend(root, chain, env).then(
      (p) => live && (setPoints(p), setError(null)),
      (e: unknown) => live && setError(String((e as { message?: string }).message ?? e)),
    );
    return () => {
      live = false;
    };
  }, [root, chain, env, refresh]);
  if (error) return <p className="error-text small">quality trend: {error}</p>;
  if (!points) return null;
  if (points.length < 2) {
    return (
      <section className="card" data-testid="quality-trend">
        <h3>Quality over versions</h3>
        <p className="muted">
          {points.length === 0 ? "No version has been gated in " + env + " yet." : "One version gated in " + env + " so far."} Each
          gated version adds a point per criterion here, so a change for the worse shows at a glance.
        </p>
      </section>
    );
  }
  const { criteria, rows } = trendRows(points);
  const open = (state: unknown) => {
    const label = (state as { activeLabel?: string | number } | null)?.activeLabel;
    if (typeof label === "string") onOpen(label);
  };
  const priced = rows.some((r) => r.cost !== null);
  return (
    <section className="card" data-testid="quality-trend">
      <h3>Quality over versions in {env}</h3>
      <div className="trend-charts">
        <div className="trend-chart" role="img" aria-label={`average score per criterion over ${rows.length} versions, with the threshold`}>
          <ResponsiveContainer width="100%" height={200}>
            <LineChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 0 }} onClick={open} style={{ cursor: "pointer" }}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
              <XAxis dataKey="version" tick={{ fontSize: 11 }} />
              <YAxis domain={[1, 5]} ticks={[1, 2, 3, 4, 5]} tick={{ fontSize: 11 }} width={28} />
              <Tooltip />
              <Legend wrapperStyle={{ fontSize: 11 }} />
              {criteria.map((c, i) => (
                <Line key={c} type="monotone" dataKey={c} stroke={COLORS[i % COLORS.length]} isAnimationActive={false} connectNulls />
              ))}
              <Line type="stepAfter" dataKey="threshold" name="threshold" stroke="var(--bad)" strokeDasharray="5 3" dot={false} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        </div>
        <div className="trend-chart" role="img" aria-label={`cost per run over ${rows.length} versions`}>
          {priced ? (
            <ResponsiveContainer width="100%" height={200}>
              <LineChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 0 }} onClick={open} style={{ cursor: "pointer" }}>
                <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
                <XAxis dataKey="version" tick={{ fontSize: 11 }} />
                <YAxis tick={{ fontSize: 11 }} width={56} tickFormatter={(v: number) => money(v)} />
                <Tooltip formatter={(v) => (typeof v === "number" ? money(v) : String(v))} />
                <Legend wrapperStyle={{ fontSize: 11 }} />
                <Line type="monotone" dataKey="cost" name="cost per run" stroke="var(--accent)" isAnimationActive={false} connectNulls />
              </LineChart>
            </ResponsiveContainer>
          ) : (
            <p className="muted">No priced runs of these versions in {env}.</p>
          )}
        </div>
      </div>
      <div className="trend-versions small">
        Open a version's gate run:{" "}
        {points.map((p) => (
          <button key={p.hash} className="link-button" data-testid={`trend-open-${p.version}`} onClick={() => onOpen(p.version)}>
            {p.version} ({p.overall.toFixed(2)})
          </button>
        ))}
      </div>
    </section>
  );
}
