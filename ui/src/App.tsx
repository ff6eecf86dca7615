import { useCallback, useEffect, useState } from "react";
import { lastRun, openProject, pickFolder, runChain, toApiError } from "./backend";
import type { ApiError } from "./bindings/ApiError";
import type { ProjectView } from "./bindings/ProjectView";
import { ChainGraphView } from "./components/ChainGraphView";
import { EnvColumns } from "./components/EnvColumns";
import { RunPanel, type RunState } from "./components/RunPanel";

const RUN_ENV = "dev";
const idle: RunState = { running: false, progress: null, run: null, error: null };

export default function App() {
  const [project, setProject] = useState<ProjectView | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [runState, setRunState] = useState<RunState>(idle);

  const load = useCallback(async (path?: string) => {
    try {
      const view = await openProject(path);
      setProject(view);
      setLoadError(null);
      const chain = view.chains.find((c) => !c.error);
      const env = view.environments[0] ?? RUN_ENV;
      const last = chain ? await lastRun(view.root, chain.name, env) : null;
      setRunState({ ...idle, run: last });
    } catch (e) {
      setLoadError(toApiError(e));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const chooseFolder = async () => {
    const folder = await pickFolder();
    if (folder) await load(folder);
  };

  const chain = project?.chains.find((c) => !c.error) ?? null;
  const runEnv = project?.environments[0] ?? RUN_ENV;

  const run = async () => {
    if (!project || !chain) return;
    setRunState({ ...idle, running: true });
    try {
      const result = await runChain(project.root, chain.name, runEnv, (progress) =>
        setRunState((s) => ({ ...s, progress })),
      );
      setRunState({ ...idle, run: result });
      setProject(await openProject(project.root));
    } catch (e) {
      setRunState({ ...idle, error: toApiError(e) });
    }
  };

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden>
            ▲
          </span>
          Chainlift
        </div>
        {project && (
          <div className="project" title={project.root}>
            <strong>{project.id}</strong>
            <span className="muted path">{project.root}</span>
          </div>
        )}
        <button onClick={() => void chooseFolder()}>Open folder…</button>
      </header>

      <main className="content">
        {loadError && (
          <div className="error-box" role="alert">
            <strong>{loadError.code}</strong> {loadError.message}
          </div>
        )}
        {!project && !loadError && <p className="muted empty">Opening the project…</p>}
        {project && project.chains.length === 0 && (
          <div className="empty card">
            <h2>No chains here yet</h2>
            <p>
              A chain lives in <code>chains/&lt;name&gt;/chain.yaml</code> with its agents in{" "}
              <code>agents/</code> and one <code>config/&lt;env&gt;.env</code> per environment. Open another
              folder, or import one with <code>chainlift import</code>.
            </p>
          </div>
        )}
        {project?.chains
          .filter((c) => c.error)
          .map((c) => (
            <div className="error-box" role="alert" key={c.dir}>
              <strong>{c.name}</strong> does not load: {c.error}
            </div>
          ))}
        {chain && (
          <>
            <div className="chain-head">
              <div>
                <h1>{chain.name}</h1>
                {chain.description && <p className="muted">{chain.description}</p>}
              </div>
            </div>
            <div className="main-row">
              <section className="card graph-card">
                <ChainGraphView graph={chain.graph} />
              </section>
              <RunPanel env={runEnv} state={runState} onRun={() => void run()} />
            </div>
            <EnvColumns envs={chain.envs} />
          </>
        )}
      </main>
    </div>
  );
}
