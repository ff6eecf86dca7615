import type { EnvColumn } from "../bindings/EnvColumn";
import { money, seconds, when } from "../format";
import { StatusBadge } from "./StatusBadge";

export function EnvColumns({ envs }: { envs: EnvColumn[] }) {
  return (
    <div className="env-columns">
      {envs.map((col) => (
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
