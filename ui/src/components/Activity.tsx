import { useCallback, useEffect, useState } from "react";
import * as backend from "../backend";
import { toApiError } from "../backend";
import type { ApiError } from "../bindings/ApiError";
import type { AuditView } from "../bindings/AuditView";
import type { DeploymentView } from "../bindings/DeploymentView";
import type { FlagView } from "../bindings/FlagView";
import { when } from "../format";

interface Props {
  root: string;
  chain: string;
  environments: string[];
  /** Changes whenever something was deployed or rolled back, to reload. */
  refreshKey: number;
}

/** The deployment timeline, flags per env with a toggle, and the newest audit entries. */
export function Activity({ root, chain, environments, refreshKey }: Props) {
  const [deploys, setDeploys] = useState<DeploymentView[]>([]);
  const [audit, setAudit] = useState<AuditView[]>([]);
  const [flags, setFlags] = useState<Record<string, FlagView[]>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [newFlag, setNewFlag] = useState({ env: environments[0] ?? "dev", name: "", value: "true" });

  const load = useCallback(async () => {
    try {
      setDeploys(await backend.deployments(root, chain, null));
      setAudit(await backend.audit(root));
      const all: Record<string, FlagView[]> = {};
      for (const env of environments) all[env] = await backend.flags(root, chain, env);
      setFlags(all);
      setError(null);
    } catch (e) {
      setError(toApiError(e));
    }
  }, [root, chain, environments]);

  useEffect(() => {
    void load();
  }, [load, refreshKey]);

  const setFlag = async (env: string, name: string, value: string) => {
    try {
      await backend.flagSet(root, chain, env, name, value);
      await load();
    } catch (e) {
      setError(toApiError(e));
    }
  };

  return (
    <div className="activity">
      {error && (
        <div className="error-box" role="alert">
          <strong>{error.code}</strong> {error.message}
        </div>
      )}
      <section className="card" data-testid="deployment-timeline">
        <h3>Deployments</h3>
        {deploys.length === 0 ? (
          <p className="muted">Nothing deployed yet. Approve a promotion, then Deploy.</p>
        ) : (
          <ol className="deploy-timeline">
            {deploys.map((d) => (
              <li key={d.id} className={`tl-${d.action}`}>
                <span className="tl-dot" />
                <span className="badge">{d.env}</span> <strong>{d.version}</strong> {d.action} by {d.actor}{" "}
                <span className="muted">{when(d.created_at)}</span>
                {d.reason && <span className="muted"> — {d.reason}</span>}
              </li>
            ))}
          </ol>
        )}
      </section>
      <section className="card" data-testid="flags">
        <h3>Flags</h3>
        {environments.every((env) => (flags[env] ?? []).length === 0) && (
          <p className="muted" data-testid="flags-empty">
            No flags yet. A flag is a value per env that a chain reads as <code>{"${NAME:then:else}"}</code> — switch a
            prompt, a model or an entry point without a new version. Set one below; it is audited.
          </p>
        )}
        <table className="flags-table" hidden={environments.every((env) => (flags[env] ?? []).length === 0)}>
          <thead>
            <tr>
              <th>env</th>
              <th>flag</th>
              <th>value</th>
              <th>changed</th>
            </tr>
          </thead>
          <tbody>
            {environments.flatMap((env) =>
              (flags[env] ?? []).map((f) => {
                const boolean = f.value === "true" || f.value === "false";
                return (
                  <tr key={`${env}/${f.name}`} data-testid={`flag-${env}-${f.name}`}>
                    <td>{env}</td>
                    <td>
                      <code>{f.name}</code>
                    </td>
                    <td>
                      {boolean ? (
                        <label className="switch">
                          <input
                            type="checkbox"
                            aria-label={`${f.name} in ${env}`}
                            checked={f.value === "true"}
                            data-testid={`flag-toggle-${env}-${f.name}`}
                            onChange={(e) => void setFlag(env, f.name, e.target.checked ? "true" : "false")}
                          />
                          {f.value === "true" ? "on" : "off"}
                        </label>
                      ) : (
                        <code>{f.value}</code>
                      )}
                    </td>
                    <td className="muted">
                      {f.updated_by} {when(f.updated_at)}
                    </td>
                  </tr>
                );
              }),
            )}
          </tbody>
        </table>
        <form
          className="flag-form"
          onSubmit={(e) => {
            e.preventDefault();
            void setFlag(newFlag.env, newFlag.name.trim(), newFlag.value).then(() => setNewFlag({ ...newFlag, name: "" }));
          }}
        >
          <select aria-label="env of the new flag" value={newFlag.env} onChange={(e) => setNewFlag({ ...newFlag, env: e.target.value })}>
            {environments.map((e) => (
              <option key={e}>{e}</option>
            ))}
          </select>
          <input
            aria-label="flag name"
            placeholder="FLAG_NAME"
            value={newFlag.name}
            onChange={(e) => setNewFlag({ ...newFlag, name: e.target.value })}
          />
          <input aria-label="flag value" value={newFlag.value} onChange={(e) => setNewFlag({ ...newFlag, value: e.target.value })} />
          <button type="submit" disabled={!newFlag.name.trim()}>
            Set flag
          </button>
        </form>
      </section>
      <section className="card" data-testid="audit">
        <h3>Audit log</h3>
        {audit.length === 0 ? (
          <p className="muted">No entries yet: versions, deployments, flags and approvals are recorded here.</p>
        ) : (
          <table className="audit-table">
            <tbody>
              {audit.slice(0, 25).map((a) => (
                <tr key={a.seq}>
                  <td className="muted">{when(a.at)}</td>
                  <td>
                    {a.sentence}
                    {a.detail && (
                      <details className="audit-detail">
                        <summary className="muted small">details</summary>
                        <code className="small">
                          #{a.seq} {a.action} {a.subject} {a.detail}
                        </code>
                      </details>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
