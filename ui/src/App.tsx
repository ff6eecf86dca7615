import { Suspense, useCallback, useEffect, useRef, useState } from "react";
import * as backend from "./backend";
import { lastRun, openProject, pickFolder, runChain, toApiError } from "./backend";
import type { PromotionView } from "./bindings/PromotionView";
import type { VersionView } from "./bindings/VersionView";
import { Activity } from "./components/Activity";
import type { ApiError } from "./bindings/ApiError";
import type { ProjectView } from "./bindings/ProjectView";
import type { Trigger } from "./bindings/Trigger";
import type { ChangeFeed } from "./bindings/ChangeFeed";
import type { ServeStatusView } from "./bindings/ServeStatusView";
import { ChainGraphView } from "./components/ChainGraphView";
import { ChainMatrix, pending } from "./components/ChainMatrix";
import { EnvColumns } from "./components/EnvColumns";
import { HistoryBadge } from "./components/HistoryBadge";
import { RunPanel, type RunState } from "./components/RunPanel";
import {
  EditorScreen,
  EnvironmentsScreen,
  GatesScreen,
  PromotionScreen,
  RolloutPanel,
  RunsScreen,
  VersionsScreen,
  preloadScreens,
} from "./screens";

const RUN_ENV = "dev";
type Screen = "home" | "editor" | "environments" | "runs" | "gates" | "promotion" | "versions";
const idle: RunState = { running: false, progress: null, run: null, error: null, agents: {} };

export default function App() {
  const [project, setProject] = useState<ProjectView | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [runState, setRunState] = useState<RunState>(idle);
  const [screen, setScreen] = useState<Screen>("home");
  // Each screen opens at its top, not at the scroll position the last one was left at.
  const content = useRef<HTMLElement>(null);
  useEffect(() => {
    content.current?.scrollTo({ top: 0 });
  }, [screen]);
  const [promotion, setPromotion] = useState<PromotionView | null>(null);
  const [versionList, setVersionList] = useState<VersionView[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const [saveRequest, setSaveRequest] = useState(0);
  const [activityKey, setActivityKey] = useState(0);
  const [recent, setRecent] = useState<string[]>([]);
  const [editorDirty, setEditorDirty] = useState(false);

  // The project the user asked for last: a refresh of another one that answers late (a reload
  // started before switching projects) must not bring that one back.
  const wanted = useRef<string | null>(null);
  // The view on screen as JSON: a refresh that finds nothing new hands React nothing new (the
  // change feed refreshes often, and new objects would re-lay the graph for nothing).
  const shown = useRef<string>("");
  const adopt = useCallback((view: ProjectView) => {
    if (wanted.current !== null && view.root !== wanted.current) return;
    const json = JSON.stringify(view);
    if (json === shown.current) return;
    shown.current = json;
    setProject(view);
  }, []);

  const load = useCallback(async (path?: string) => {
    const asked = path ?? null;
    wanted.current = asked;
    try {
      const view = await openProject(path);
      if (performance.getEntriesByName("chainlift:project").length === 0) performance.mark("chainlift:project");
      if (wanted.current !== asked) return; // another project was asked for meanwhile
      wanted.current = view.root;
      shown.current = JSON.stringify(view);
      setProject(view);
      setLoadError(null);
      setRecent(await backend.recentProjects());
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

  // Once the project is open, the other screens' code loads in the background.
  const opened = project !== null;
  useEffect(() => {
    if (opened) void preloadScreens();
  }, [opened]);

  // Ctrl+S saves the editor; Ctrl+Enter runs the chain in the first env.
  const runRef = useRef<() => void>(() => undefined);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey)) return;
      if (e.key === "s") {
        e.preventDefault();
        setSaveRequest((n) => n + 1);
      } else if (e.key === "Enter") {
        e.preventDefault();
        runRef.current();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const chooseFolder = async () => {
    const folder = await pickFolder();
    if (folder) await load(folder);
  };

  // The chain every screen shows: the one chosen, else the first that loads.
  const [chosenChain, setChosenChain] = useState<string | null>(null);
  const loaded = project?.chains.filter((c) => !c.error) ?? [];
  const chain = loaded.find((c) => c.name === chosenChain) ?? loaded[0] ?? null;
  const [chosenEnv, setChosenEnv] = useState<string | null>(null);
  const runEnv = chosenEnv ?? project?.environments[0] ?? RUN_ENV;
  const ticket = useRef<string | null>(null);
  const [runsKey, setRunsKey] = useState(0);

  const run = async () => {
    if (!project || !chain) return;
    setRunState({ ...idle, running: true });
    ticket.current = `run-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    try {
      const result = await runChain(
        project.root,
        chain.name,
        runEnv,
        (progress) => setRunState((s) => ({ ...s, progress, agents: { ...s.agents, [progress.agent]: progress.state } })),
        ticket.current,
      );
      setRunState({ ...idle, run: result });
      adopt(await openProject(project.root));
    } catch (e) {
      setRunState({ ...idle, error: toApiError(e) });
    } finally {
      ticket.current = null;
      setRunsKey((k) => k + 1);
    }
  };
  const cancel = () => {
    if (ticket.current) void backend.cancelRun(ticket.current);
  };
  const runPanel = (compact: boolean) => (
    <RunPanel
      compact={compact}
      env={runEnv}
      envs={project?.environments ?? [RUN_ENV]}
      state={runState}
      onEnv={setChosenEnv}
      onRun={() => void run()}
      onCancel={cancel}
    />
  );

  runRef.current = () => {
    if (!runState.running) void run();
  };

  /** Run an action, refresh the project, and show its error (code and message) if it fails. */
  const act = async (label: string, work: () => Promise<void>) => {
    if (!project) return;
    setBusy(label);
    setActionError(null);
    try {
      await work();
      adopt(await openProject(project.root));
    } catch (e) {
      setActionError(toApiError(e));
    } finally {
      setBusy(null);
    }
  };
  const root = project?.root ?? "";
  const chainName = chain?.name ?? "";
  // Another chain: its last run in the run panel, its versions, no promotion left open.
  const shownChain = useRef(chainName);
  useEffect(() => {
    if (shownChain.current === chainName || !root || !chainName) return;
    shownChain.current = chainName;
    setPromotion(null);
    setRunState(idle);
    lastRun(root, chainName, runEnv).then(
      (last) => setRunState((s) => (s.running ? s : { ...idle, run: last })),
      (e) => setActionError(toApiError(e)),
    );
    if (screen === "versions") {
      backend.versions(root, chainName).then(setVersionList, (e) => setActionError(toApiError(e)));
    }
  }, [chainName, root, runEnv, screen]);
  const chooseChain = (name: string) => leave(() => setChosenChain(name));
  const reloadProject = useCallback(() => {
    if (!root) return;
    openProject(root).then(
      (view) => {
        adopt(view);
        setLoadError(null);
      },
      (e) => setLoadError(toApiError(e)),
    );
  }, [root, adopt]);
  // When no chain loads, nothing else watches the files: watch the first broken one, so fixing
  // it in an editor brings the app back without a click.
  const brokenName = project?.chains.find((c) => c.error)?.name ?? null;
  const nothingLoads = !!project && project.chains.length > 0 && !project.chains.some((c) => !c.error);
  useEffect(() => {
    if (!nothingLoads || !brokenName || !root) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    backend
      .watchChain(root, brokenName, () => {
        clearTimeout(timer);
        timer = setTimeout(reloadProject, 250);
      })
      .catch((e) => setActionError(toApiError(e)));
    return () => clearTimeout(timer);
  }, [nothingLoads, brokenName, root, reloadProject]);
  // The change feed: what any process changes (a serve's runs, a deploy from the CLI) is on
  // screen within a second, without a reload.
  const [feed, setFeed] = useState<ChangeFeed | null>(null);
  // The open promotion follows what any process does to it (serve's monitor rolling back).
  const promotionId = promotion?.id;
  const refreshPromotion = useCallback(() => {
    if (!root || !promotionId) return;
    // Only onto the promotion it was asked for: one opened meanwhile (Promote finished) wins.
    backend.promotion(root, promotionId).then(
      (fresh) => setPromotion((current) => (current && current.id === fresh.id ? fresh : current)),
      (e) => setActionError(toApiError(e)),
    );
  }, [root, promotionId]);
  useEffect(() => {
    backend.watchChanges(setFeed).catch((e) => setActionError(toApiError(e)));
  }, []);
  const seen = useRef<ChangeFeed | null>(null);
  // The history topic's sequence: the rollout panels reload when it moves.
  const [historyKey, setHistoryKey] = useState(0);
  const [serving, setServing] = useState<Record<string, ServeStatusView> | undefined>(undefined);
  const loadServing = useCallback(() => {
    if (!root) return;
    backend.serveStatus(root).then(
      (list) => setServing(Object.fromEntries(list.map((s) => [s.env, s]))),
      () => setServing(undefined),
    );
  }, [root]);
  useEffect(loadServing, [loadServing]);
  // Changes that come in a burst (a serve finishing many runs) reload the project once.
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const reloadSoon = useCallback(() => {
    if (reloadTimer.current) return;
    reloadTimer.current = setTimeout(() => {
      reloadTimer.current = null;
      reloadProject();
    }, 300);
  }, [reloadProject]);
  useEffect(() => {
    if (!feed) return;
    const before = seen.current;
    seen.current = feed;
    if (!before) return;
    if (feed.runs !== before.runs) setRunsKey((k) => k + 1);
    if (feed.history !== before.history || feed.runs !== before.runs) reloadSoon();
    if (feed.history !== before.history) {
      setActivityKey((k) => k + 1);
      setHistoryKey(feed.history);
      refreshPromotion();
    }
    if (feed.serve !== before.serve) loadServing();
  }, [feed, reloadSoon, loadServing, refreshPromotion]);
  // "since", "in flight" and a lease that stopped being renewed change with time alone.
  useEffect(() => {
    const timer = setInterval(loadServing, 5000);
    return () => clearInterval(timer);
  }, [loadServing]);
  const loadDiff = useCallback((a: string, b: string) => backend.diffEnvs(root, chainName, a, b), [root, chainName]);
  const loadRuns = useCallback(
    (env: string | null, status: string | null, version: string | null, trigger: Trigger | null) =>
      backend.runs(root, chainName, env, status, version, trigger),
    [root, chainName],
  );
  const loadConfig = useCallback(() => backend.envConfig(root, chainName), [root, chainName]);
  const loadSecrets = useCallback((env: string) => backend.secrets(root, env), [root]);
  const deployedByEnv: Record<string, string | null> = Object.fromEntries(
    (chain?.envs ?? []).map((e) => [e.env, e.deployed_version]),
  );
  const openPromotion = (id: string) =>
    void act("open", async () => {
      if (!project) return;
      setPromotion(await backend.promotion(project.root, id));
      setScreen("promotion");
    });
  const showVersions = () =>
    void act("versions", async () => {
      if (!project || !chain) return;
      setVersionList(await backend.versions(project.root, chain.name));
      setScreen("versions");
    });
  const leave = (go: () => void) => {
    if (screen === "editor" && editorDirty && !window.confirm("Leave the editor and drop your unsaved edits?")) return;
    setEditorDirty(false);
    go();
  };
  // Home shows the project as it is now: chains added or changed on disk appear.
  const showHome = () => {
    setScreen("home");
    reloadProject();
  };
  const nav = (id: Screen, label: string, onClick?: () => void) => (
    <button
      className={screen === id ? "nav active" : "nav"}
      data-testid={`nav-${id}`}
      onClick={() => leave(onClick ?? (() => setScreen(id)))}
    >
      {label}
    </button>
  );

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
        {recent.length > 1 && (
          <select
            // A fresh element per project: WebKit sends no change event when the pick is at the
            // index of the last pick, even after the value was reset to the placeholder.
            key={project?.root ?? "none"}
            aria-label="recent projects"
            data-testid="recent-projects"
            value=""
            onChange={(e) => e.target.value && leave(() => void load(e.target.value))}
          >
            <option value="">Recent projects…</option>
            {recent
              .filter((r) => r !== project?.root)
              .map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
          </select>
        )}
        <HistoryBadge />
        <button onClick={() => leave(() => void chooseFolder())}>Open folder…</button>
      </header>
      <nav className="tabs">
        {nav("home", "Home", showHome)}
        {nav("editor", "Pipeline")}
        {nav("environments", "Environments")}
        {nav("runs", "Runs")}
        {nav("gates", "Gates")}
        {nav("promotion", "Promotion")}
        {nav("versions", "Versions", showVersions)}
        {loaded.length > 1 && chain && (
          <label className="chain-pick">
            <span className="muted">chain</span>
            <select data-testid="chain-select" value={chain.name} onChange={(e) => chooseChain(e.target.value)}>
              {loaded.map((c) => (
                <option key={c.name} value={c.name}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {busy && busy !== "open" && (
          <div className="progress inline" aria-label="working">
            <div className="progress-bar indeterminate" />
            <div className="progress-text">{busy === "versions" ? "loading…" : `${busy}…`}</div>
          </div>
        )}
      </nav>

      <main className="content" ref={content}>
        <Suspense fallback={<p className="muted">Loading…</p>}>
        {loadError && (
          <div className="error-box" role="alert">
            <strong>{loadError.code}</strong> {loadError.message}
          </div>
        )}
        {!project && !loadError && <p className="muted empty">Opening the project…</p>}
        {project?.identity_note && (
          <div className="notice warn-notice" role="status" data-testid="identity-note">
            <strong>This folder is project {project.id}.</strong> {project.identity_note}
          </div>
        )}
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
            <div className="error-box" role="alert" key={c.dir} data-testid={`chain-error-${c.name}`}>
              <div>
                <strong>{c.name}</strong> does not load: {c.error}
              </div>
              <div className="hint">
                Fix the file in your editor; {nothingLoads ? "the app reloads it as soon as it is saved" : "then"}{" "}
                <button className="small-button" data-testid="reload-project" onClick={reloadProject}>
                  Reload
                </button>
              </div>
            </div>
          ))}
        {actionError && (
          <div className="error-box" role="alert" data-testid="action-error">
            <strong>{actionError.code}</strong> {actionError.message}
          </div>
        )}
        {chain && screen === "promotion" && project && (
          <PromotionScreen
            promotion={promotion}
            root={project.root}
            deployed={deployedByEnv}
            activity={
              <Activity root={project.root} chain={chain.name} environments={project.environments} refreshKey={activityKey} />
            }
            rollout={
              promotion && (
                // Its own boundary: the panel's first load must not swap the whole screen out.
                <Suspense fallback={null}>
                  <RolloutPanel root={project.root} chain={chain.name} env={promotion.to_env} refresh={historyKey} />
                </Suspense>
              )
            }
            onTick={(key, note) =>
              void act("ticking", async () => {
                if (!promotion) return;
                const checklist = await backend.tick(project.root, promotion.id, key, note ?? undefined);
                setPromotion({ ...promotion, checklist });
                setActivityKey((k) => k + 1);
              })
            }
            onUntick={(key, note) =>
              void act("unticking", async () => {
                if (!promotion) return;
                const checklist = await backend.untick(project.root, promotion.id, key, note ?? undefined);
                setPromotion({ ...promotion, checklist });
                setActivityKey((k) => k + 1);
              })
            }
            onRepromote={() =>
              void act("re-running the gates", async () => {
                if (!promotion) return;
                setPromotion(await backend.promote(project.root, promotion.chain, promotion.to_env));
                setActivityKey((k) => k + 1);
              })
            }
            onExport={(format) =>
              backend.exportReport(project.root, promotion?.id ?? "", format).then(
                (path) => path,
                (e) => {
                  setActionError(toApiError(e));
                  return null;
                },
              )
            }
            onWaive={(gate, reason) =>
              backend.waive(project.root, promotion?.id ?? "", gate, reason).then(
                (p) => setPromotion(p),
                (e) => setActionError(toApiError(e)),
              )
            }
            onApprove={(note) =>
              void act("approving", async () => {
                if (!promotion) return;
                setPromotion(await backend.approve(project.root, promotion.id, note));
                setActivityKey((k) => k + 1);
              })
            }
            onDeploy={(canary) =>
              void act("deploying", async () => {
                if (!promotion) return;
                await backend.deploy(project.root, promotion.chain, promotion.version, promotion.to_env, canary);
                setActivityKey((k) => k + 1);
                setPromotion(await backend.promotion(project.root, promotion.id));
              })
            }
            onRollback={(env) =>
              void act("rolling back", async () => {
                await backend.rollback(project.root, chain.name, env);
                setActivityKey((k) => k + 1);
                if (promotion) setPromotion(await backend.promotion(project.root, promotion.id));
              })
            }
          />
        )}
        {chain && screen === "gates" && project && (
          <GatesScreen
            root={project.root}
            chain={chain.name}
            environments={project.environments}
            onRan={() => void openProject(project.root).then(adopt, (e) => setActionError(toApiError(e)))}
            promotionOf={(env) => {
              const col = chain.envs.find((e) => e.env === env);
              return (col && pending(col)?.id) ?? null;
            }}
            onWaive={(id, gate, reason) =>
              backend.waive(project.root, id, gate, reason).then(
                (p) => {
                  setPromotion(p);
                  void openProject(project.root).then(setProject);
                },
                (e) => setActionError(toApiError(e)),
              )
            }
          />
        )}
        {chain && screen === "versions" && project && (
          <VersionsScreen
            versions={versionList}
            onCreate={async (tag, note) => {
              try {
                const v = await backend.versionCreate(project.root, chain.name, tag, note);
                setVersionList(await backend.versions(project.root, chain.name));
                return v;
              } catch (e) {
                setActionError(toApiError(e));
                return null;
              }
            }}
            onTag={async (hash, tag) => {
              try {
                await backend.versionTag(project.root, chain.name, hash, tag);
                setVersionList(await backend.versions(project.root, chain.name));
                setActionError(null);
                return true;
              } catch (e) {
                setActionError(toApiError(e));
                return false;
              }
            }}
            loadDiff={(a, b) => backend.versionDiff(project.root, chain.name, a, b)}
          />
        )}
        {chain && screen === "runs" && project && (
          <RunsScreen
            key={chain.name}
            environments={project.environments}
            load={loadRuns}
            runner={runPanel(true)}
            refreshKey={runsKey}
            loadEvents={backend.runEvents}
          />
        )}
        {chain && screen === "environments" && project && (
          <EnvironmentsScreen
            environments={project.environments}
            loadDiff={loadDiff}
            loadConfig={loadConfig}
            loadSecrets={loadSecrets}
            onSet={(env, name, value) => backend.setSecret(project.root, env, name, value).then(() => undefined, (e) => setActionError(toApiError(e)))}
            onClear={(env, name) => backend.clearSecret(project.root, env, name).then(() => undefined, (e) => setActionError(toApiError(e)))}
          />
        )}
        {chain && screen === "editor" && project && (
          <EditorScreen
            key={chain.name}
            root={project.root}
            chain={chain.name}
            envs={chain.envs}
            saveRequest={saveRequest}
            onDirty={setEditorDirty}
            onSaved={() => void openProject(project.root).then(setProject, (e) => setActionError(toApiError(e)))}
          />
        )}
        {chain && screen === "home" && (
          <>
            {project && project.chains.length > 1 && (
              <ChainMatrix
                chains={project.chains}
                environments={project.environments}
                selected={chain.name}
                onSelect={chooseChain}
                onOpenPromotion={openPromotion}
              />
            )}
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
              {runPanel(false)}
            </div>
            <EnvColumns
              envs={chain.envs}
              busy={busy}
              serving={serving}
              rollouts={project ? { root: project.root, chain: chain.name, refresh: historyKey } : undefined}
              onOpenPromotion={openPromotion}
              onRollback={(env) =>
                void act("rolling back", async () => {
                  if (!project) return;
                  await backend.rollback(project.root, chain.name, env);
                  setActivityKey((k) => k + 1);
                })
              }
              onPromote={(env) =>
                void act(env, async () => {
                  if (!project) return;
                  setPromotion(await backend.promote(project.root, chain.name, env));
                  setScreen("promotion");
                })
              }
            />
          </>
        )}
        </Suspense>
      </main>
    </div>
  );
}
