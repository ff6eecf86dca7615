import { useEffect, useState } from "react";
import type { EnvDiff } from "../bindings/EnvDiff";
import type { EnvConfigTable } from "../bindings/EnvConfigTable";
import type { SecretStatus } from "../bindings/SecretStatus";
import { when } from "../format";

interface Props {
  environments: string[];
  loadDiff: (a: string, b: string) => Promise<EnvDiff>;
  loadConfig: () => Promise<EnvConfigTable>;
  loadSecrets: (env: string) => Promise<SecretStatus[]>;
  onSet: (env: string, name: string, value: string) => Promise<void>;
  onClear: (env: string, name: string) => Promise<void>;
}

/** Config per env side by side, and each env's secrets: set or not set, never their values. */
export function EnvironmentsScreen({ environments, loadDiff, loadConfig, loadSecrets, onSet, onClear }: Props) {
  const [config, setConfig] = useState<EnvConfigTable | null>(null);
  useEffect(() => {
    void loadConfig().then(setConfig, () => setConfig(null));
  }, [loadConfig]);
  const [a, setA] = useState(environments[environments.length - 2] ?? environments[0] ?? "");
  const [b, setB] = useState(environments[environments.length - 1] ?? "");
  const [diff, setDiff] = useState<EnvDiff | null>(null);
  const [env, setEnv] = useState(environments[0] ?? "");
  const [list, setList] = useState<SecretStatus[]>([]);
  const [editing, setEditing] = useState<string | null>(null);
  const [value, setValue] = useState("");

  useEffect(() => {
    if (a && b) void loadDiff(a, b).then(setDiff, () => setDiff(null));
  }, [a, b, loadDiff]);
  useEffect(() => {
    if (env) void loadSecrets(env).then(setList, () => setList([]));
  }, [env, loadSecrets]);

  const select = (v: string, set: (s: string) => void, label: string) => (
    <select value={v} aria-label={label} onChange={(e) => set(e.target.value)}>
      {environments.map((e) => (
        <option key={e}>{e}</option>
      ))}
    </select>
  );

  return (
    <div className="environments">
      {config && (
        <section className="card" data-testid="config-table">
          <h3>Config per environment</h3>
          <table className="agents config">
            <thead>
              <tr>
                <th>key</th>
                {config.envs.map((e) => (
                  <th key={e}>{e}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {config.rows.map((r) => (
                <tr key={r.key}>
                  <td>
                    <code>{r.key}</code>
                  </td>
                  {r.values.map((v, i) => (
                    <td
                      key={i}
                      className={`${v === null ? "muted" : "model"}${i > 0 && v !== r.values[i - 1] ? " changed-cell" : ""}`}
                    >
                      {v ?? "not set"}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted small">A highlighted value differs from the env to its left; secret values are shown as ****.</p>
        </section>
      )}
      <section className="card">
        <header className="run-head">
          <h3>
            Compare {select(a, setA, "first env to compare")} with {select(b, setB, "second env to compare")}
          </h3>
        </header>
        {diff && (
          <div data-testid="diff-view">
            <table className="agents">
              <thead>
                <tr>
                  <th>agent</th>
                  <th>model ({diff.env_a})</th>
                  <th>model ({diff.env_b})</th>
                  <th className="num">timeout</th>
                  <th className="num">retries</th>
                </tr>
              </thead>
              <tbody>
                {diff.agents.map((ag) => (
                  <tr key={ag.agent} className={ag.differs ? "differs" : ""}>
                    <td>{ag.agent}</td>
                    <td className="model">{ag.a?.model ?? "–"}</td>
                    <td className="model">{ag.b?.model ?? "–"}</td>
                    <td className="num">
                      {ag.a?.timeout_secs ?? "–"}s → {ag.b?.timeout_secs ?? "–"}s
                    </td>
                    <td className="num">
                      {ag.a?.retries ?? "–"} → {ag.b?.retries ?? "–"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h4 className="subhead">config ({diff.unchanged} unchanged)</h4>
            <table className="agents">
              <tbody>
                {diff.keys.map((k) => (
                  <tr key={k.key}>
                    <td className={`change change-${k.change}`}>{k.change}</td>
                    <td className="model">{k.key}</td>
                    <td className="model">{k.a ?? "–"}</td>
                    <td className="model">{k.b ?? "–"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card">
        <header className="run-head">
          <h3>Secrets in {select(env, setEnv, "env whose secrets are shown")}</h3>
          <span className="muted">values live in the OS keychain and never come back here</span>
        </header>
        <table className="agents">
          <tbody>
            {list.map((s) => (
              <tr key={s.name} data-testid={`secret-row-${s.name}`}>
                <td className="model">{s.name}</td>
                <td>
                  <span className={`badge badge-${s.set ? "passed" : "unticked"}`}>{s.set ? "set" : "not set"}</span>{" "}
                  <span className="muted">{s.set_at ? when(s.set_at) : ""}</span>
                </td>
                <td className="num">
                  {editing === s.name ? (
                    <form
                      onSubmit={(e) => {
                        e.preventDefault();
                        const v = value;
                        setValue("");
                        setEditing(null);
                        void onSet(env, s.name, v).then(() => loadSecrets(env).then(setList));
                      }}
                    >
                      <input
                        type="password"
                        autoComplete="off"
                        data-testid="secret-input"
                        placeholder={`value of ${s.name}`}
                        value={value}
                        onChange={(e) => setValue(e.target.value)}
                      />{" "}
                      <button className="primary" type="submit" disabled={!value}>
                        Save
                      </button>
                    </form>
                  ) : (
                    <>
                      <button onClick={() => setEditing(s.name)}>{s.set ? "Replace" : "Set"}</button>{" "}
                      {s.set && <button onClick={() => void onClear(env, s.name).then(() => loadSecrets(env).then(setList))}>Clear</button>}
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
