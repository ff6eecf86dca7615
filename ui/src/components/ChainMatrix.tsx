import type { ChainView } from "../bindings/ChainView";
import type { EnvColumn } from "../bindings/EnvColumn";
import { money, when } from "../format";
import { StatusBadge } from "./StatusBadge";

/** "4/6 gates passed", or what went wrong first: one line a person can scan down a column. */
export function gateLine(col: EnvColumn): { text: string; tone: "good" | "bad" | "warn" | "muted" } {
  if (col.gates.length === 0) return { text: "gates not run", tone: "muted" };
  if (col.gates_of) {
    const line = gateLine({ ...col, gates_of: null });
    return { text: `${line.text} (on ${col.gates_of})`, tone: line.tone };
  }
  const failed = col.gates.filter((g) => g.status === "failed");
  if (failed.length > 0) return { text: `${failed.map((g) => g.gate).join(", ")} failed`, tone: "bad" };
  const ok = col.gates.filter((g) => g.status === "passed").length;
  const waived = col.gates.filter((g) => g.status === "waived").length;
  const text = `${ok}/${col.gates.length} gates passed${waived ? `, ${waived} waived` : ""}`;
  return { text, tone: waived ? "warn" : "good" };
}

/** Pending: a promotion that is neither deployed nor rolled back yet. */
export function pending(col: EnvColumn) {
  const p = col.promotion;
  return p && p.state !== "deployed" && p.state !== "rolled_back" ? p : null;
}

interface Props {
  chains: ChainView[];
  environments: string[];
  selected: string | null;
  onSelect: (chain: string) => void;
  onOpenPromotion: (id: string) => void;
}

/** Every chain of the project against every environment: what runs where, and how it is doing. */
export function ChainMatrix({ chains, environments, selected, onSelect, onOpenPromotion }: Props) {
  return (
    <section className="card matrix-card" data-testid="chain-matrix">
      <h3>Chains × environments</h3>
      <table className="matrix">
        <thead>
          <tr>
            <th>chain</th>
            {environments.map((env) => (
              <th key={env}>{env}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {chains.map((c) => (
            <tr
              key={c.dir}
              className={c.name === selected ? "selected" : c.error ? "broken" : undefined}
              data-testid={`matrix-row-${c.name}`}
              onClick={() => !c.error && onSelect(c.name)}
            >
              <th scope="row">
                <button className="link" disabled={!!c.error} onClick={() => onSelect(c.name)}>
                  {c.name}
                </button>
                {c.error ? (
                  <div className="bad-text small">does not load — see the error above</div>
                ) : (
                  c.description && <div className="muted small">{c.description}</div>
                )}
              </th>
              {environments.map((env) => {
                const col = c.envs.find((e) => e.env === env);
                if (!col) return <td key={env} className="muted">—</td>;
                const gates = gateLine(col);
                const p = pending(col);
                return (
                  <td key={env} data-testid={`matrix-${c.name}-${env}`}>
                    <div>
                      <span className="muted">runs </span>
                      <strong>{col.deployed_version ?? "—"}</strong>
                    </div>
                    <div>
                      {col.last_run ? (
                        <span title={`last run ${when(col.last_run.started_at)}`}>
                          <StatusBadge status={col.last_run.status} /> {money(col.last_run.cost)}
                        </span>
                      ) : (
                        <span className="muted small">no runs yet</span>
                      )}
                    </div>
                    <div className={`small tone-${gates.tone}`}>{gates.text}</div>
                    {p && (
                      <button
                        className="link small"
                        onClick={(e) => {
                          e.stopPropagation();
                          onOpenPromotion(p.id);
                        }}
                      >
                        {p.version} waiting: {p.state.replace(/_/g, " ")}
                      </button>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
