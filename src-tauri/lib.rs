//! The desktop app: a thin Tauri adapter. Each command is a few lines that call
//! `chainlift-api`; state is built whole in `setup()` and errors cross IPC as `{code, message}`.

use std::path::PathBuf;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chainlift_api::dto::{
    AuditView, ChangeFeed, ChecklistView, CriteriaChange, DeploymentView, EditorView,
    EnvConfigTable, EnvDiff, EventView, FlagView, GateProgress, GateRunView, NodePosition,
    ProjectView, PromotionView, QualityCriteria, ReviewView, RolloutView, RunProgress, RunView,
    SecretStatus, ServeStatusView, TrendPoint, VersionDiff, VersionView,
};
use chainlift_api::editor::ChainEdit;
use chainlift_api::report::ReportFormat;
use chainlift_api::{
    ApiError, Chainlift, ErrorCode, GateArgs, ProjectArgs, RunArgs, RunsQuery, SecretArgs,
};
use notify::Watcher;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_notification::NotificationExt;

/// The UI build this binary embeds (see build.rs); part of the startup log line.
const UI_FINGERPRINT: &str = env!("CHAINLIFT_UI_FINGERPRINT");

/// What every command needs, built once before the window opens.
struct AppState {
    api: Chainlift,
    /// The project shown first: the command line's folder, `CHAINLIFT_PROJECT`, else the sample.
    default_project: PathBuf,
    /// The watcher on the chain the editor shows (one at a time).
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
    /// The change-feed poller feeding the webview (one at a time: a reload replaces it).
    feed: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    /// Cancel switches of the runs in progress, by the ticket the webview chose.
    cancels: Mutex<HashMap<String, tokio::sync::watch::Sender<bool>>>,
}

/// Gate runs longer than this end with a desktop notification.
const NOTIFY_AFTER: Duration = Duration::from_secs(5);

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, format!("{what}: {e}"))
}

fn project_args(project: &str, chain: Option<String>) -> ProjectArgs {
    let root = PathBuf::from(project);
    ProjectArgs {
        cwd: root.clone(),
        project: Some(root),
        chain,
    }
}

#[tauri::command]
async fn open_project(
    state: State<'_, AppState>,
    path: Option<String>,
) -> Result<ProjectView, ApiError> {
    let root = path
        .map(PathBuf::from)
        .unwrap_or_else(|| state.default_project.clone());
    let root = root.display().to_string();
    let view = state.api.open_project(&project_args(&root, None)).await?;
    state.api.remember_project(&view.root)?;
    Ok(view)
}

#[tauri::command]
async fn database_info(
    state: State<'_, AppState>,
) -> Result<chainlift_api::DatabaseView, ApiError> {
    state.api.database().await
}

#[tauri::command]
fn recent_projects(state: State<'_, AppState>) -> Vec<String> {
    state.api.recent_projects()
}

#[tauri::command]
async fn editor(
    state: State<'_, AppState>,
    project: String,
    chain: String,
) -> Result<EditorView, ApiError> {
    state.api.editor(&project_args(&project, Some(chain))).await
}

#[tauri::command]
async fn editor_save(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    base: String,
    edits: Vec<ChainEdit>,
) -> Result<EditorView, ApiError> {
    state
        .api
        .editor_save(&project_args(&project, Some(chain)), &base, &edits)
        .await
}

#[tauri::command]
fn layout_save(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    positions: Vec<NodePosition>,
) -> Result<(), ApiError> {
    state
        .api
        .layout_save(&project_args(&project, Some(chain)), &positions)
}

/// Watch the chain's folder; each change outside hidden files sends its path. Replaces the
/// previous watch.
#[tauri::command]
async fn watch_chain(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    on_change: Channel<String>,
) -> Result<(), ApiError> {
    // The folder only: a chain whose files do not load is watched too, to see them fixed.
    let (_, dir) = project_args(&project, Some(chain)).chain_dir()?;
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        for path in event.paths {
            let hidden = path
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
            if !hidden {
                let _ = on_change.send(path.display().to_string());
            }
        }
    })
    .map_err(|e| internal("cannot watch the chain folder", e))?;
    watcher
        .watch(&dir, notify::RecursiveMode::Recursive)
        .map_err(|e| internal(&format!("cannot watch {}", dir.display()), e))?;
    if let Ok(mut slot) = state.watcher.lock() {
        *slot = Some(watcher);
    }
    Ok(())
}

#[tauri::command]
async fn gate_run(
    app: AppHandle,
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: String,
    on_progress: Channel<GateProgress>,
) -> Result<GateRunView, ApiError> {
    let started = Instant::now();
    let args = GateArgs {
        at: project_args(&project, Some(chain.clone())),
        env: env.clone(),
        ..GateArgs::default()
    };
    let progress = move |p: GateProgress| {
        let _ = on_progress.send(p);
    };
    let result = state.api.gate_with_progress(&args, &progress).await;
    if started.elapsed() >= NOTIFY_AFTER {
        let body = match &result {
            Ok(r) if r.passed => format!("{chain} passed its gates for {env}"),
            Ok(r) => {
                let failed: Vec<&str> = r
                    .gates
                    .iter()
                    .filter(|g| g.status == chainlift_gates::GateStatus::Failed)
                    .map(|g| g.gate.as_str())
                    .collect();
                format!("{chain} failed {} for {env}", failed.join(", "))
            }
            Err(e) => format!("{chain}: the gates could not run ({})", e.message),
        };
        // No notification daemon is no reason to fail the gates.
        let _ = app
            .notification()
            .builder()
            .title("Chainlift gates")
            .body(body)
            .show();
    }
    result
}

#[tauri::command]
async fn gate_latest(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: String,
    version: Option<String>,
) -> Result<Option<GateRunView>, ApiError> {
    let at = project_args(&project, Some(chain));
    match version {
        Some(v) => state.api.gate_of(&at, &env, &v).await,
        None => state.api.gate_latest(&at, &env).await,
    }
}

#[tauri::command]
async fn review_input(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: String,
    version: String,
    input: String,
) -> Result<ReviewView, ApiError> {
    state
        .api
        .review_input(&project_args(&project, Some(chain)), &env, &version, &input)
        .await
}

#[tauri::command]
async fn quality_trend(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: String,
) -> Result<Vec<TrendPoint>, ApiError> {
    state
        .api
        .quality_trend(&project_args(&project, Some(chain)), &env)
        .await
}

#[tauri::command]
async fn quality_criteria(
    state: State<'_, AppState>,
    project: String,
    chain: String,
) -> Result<QualityCriteria, ApiError> {
    state
        .api
        .quality_criteria(&project_args(&project, Some(chain)))
        .await
}

#[tauri::command]
async fn set_quality_criteria(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    criteria: QualityCriteria,
    reason: String,
) -> Result<CriteriaChange, ApiError> {
    state
        .api
        .set_quality_criteria(&project_args(&project, Some(chain)), &criteria, &reason)
        .await
}

/// Write the promotion's report (html or md) into the data folder; its path.
#[tauri::command]
async fn export_report(
    state: State<'_, AppState>,
    project: String,
    id: String,
    format: ReportFormat,
) -> Result<String, ApiError> {
    state
        .api
        .export_report(&project_args(&project, None), &id, format)
        .await
        .map(|p| p.display().to_string())
}

#[tauri::command]
async fn waive(
    state: State<'_, AppState>,
    project: String,
    id: String,
    gate: String,
    reason: String,
) -> Result<PromotionView, ApiError> {
    state
        .api
        .waive(&project_args(&project, None), &id, &gate, &reason)
        .await
}

#[tauri::command]
async fn flags(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: String,
) -> Result<Vec<FlagView>, ApiError> {
    state
        .api
        .flags(&project_args(&project, Some(chain)), &env)
        .await
}

#[tauri::command]
async fn flag_set(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: String,
    name: String,
    value: String,
) -> Result<FlagView, ApiError> {
    state
        .api
        .flag_set(&project_args(&project, Some(chain)), &env, &name, &value)
        .await
}

#[tauri::command]
async fn deployments(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: Option<String>,
) -> Result<Vec<DeploymentView>, ApiError> {
    state
        .api
        .deployments(&project_args(&project, Some(chain)), env.as_deref())
        .await
}

#[tauri::command]
async fn audit(state: State<'_, AppState>, project: String) -> Result<Vec<AuditView>, ApiError> {
    let p = state.api.project_of(&project_args(&project, None)).await?;
    state.api.audit(Some(&p), 50).await
}

#[tauri::command]
async fn version_tag(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    version: String,
    tag: String,
) -> Result<VersionView, ApiError> {
    state
        .api
        .version_tag(&project_args(&project, Some(chain)), &version, tag.trim())
        .await
}

#[tauri::command]
async fn version_create(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    tag: Option<String>,
    note: Option<String>,
) -> Result<VersionView, ApiError> {
    let tag = tag.filter(|t| !t.trim().is_empty());
    state
        .api
        .version_create(
            &project_args(&project, Some(chain)),
            tag.as_deref(),
            note.as_deref(),
        )
        .await
}

#[tauri::command]
async fn version_diff(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    a: String,
    b: String,
) -> Result<VersionDiff, ApiError> {
    state
        .api
        .version_diff(&project_args(&project, Some(chain)), &a, &b)
        .await
}

#[tauri::command]
async fn env_config(
    state: State<'_, AppState>,
    project: String,
    chain: String,
) -> Result<EnvConfigTable, ApiError> {
    state
        .api
        .env_config(&project_args(&project, Some(chain)))
        .await
}

#[tauri::command]
async fn run_events(state: State<'_, AppState>, id: String) -> Result<Vec<EventView>, ApiError> {
    state.api.run_events(&id).await
}

#[tauri::command]
fn cancel_run(state: State<'_, AppState>, ticket: String) -> bool {
    state
        .cancels
        .lock()
        .ok()
        .and_then(|m| m.get(&ticket).map(|tx| tx.send(true).is_ok()))
        .unwrap_or(false)
}

#[tauri::command]
async fn run_chain(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: String,
    ticket: Option<String>,
    on_progress: Channel<RunProgress>,
) -> Result<RunView, ApiError> {
    let at = project_args(&project, Some(chain));
    let input = state.api.smoke_input(&at)?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    if let (Some(t), Ok(mut m)) = (&ticket, state.cancels.lock()) {
        m.insert(t.clone(), tx);
    }
    let args = RunArgs {
        at,
        env,
        input,
        cancel: Some(rx),
        ..RunArgs::default()
    };
    let progress = move |p: RunProgress| {
        // A closed channel only means the window went away; the run still completes.
        let _ = on_progress.send(p);
    };
    let result = state.api.run(&args, &progress).await;
    if let (Some(t), Ok(mut m)) = (&ticket, state.cancels.lock()) {
        m.remove(t);
    }
    result
}

/// How often the change feed is read: a change any process makes is on screen within a second.
const FEED_POLL: Duration = Duration::from_millis(250);

/// Send the change feed's numbers each time one moves (and once at the start), until the
/// webview goes away. Replaces the previous subscription.
#[tauri::command]
async fn watch_changes(
    app: AppHandle,
    state: State<'_, AppState>,
    on_change: Channel<ChangeFeed>,
) -> Result<(), ApiError> {
    let mut last = state.api.changes().await?;
    let mut heard = state.api.audit_head().await?;
    on_change
        .send(last.clone())
        .map_err(|e| internal("the change feed", e))?;
    let task = tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(FEED_POLL).await;
            let api = &app.state::<AppState>().api;
            let now = match api.changes().await {
                Ok(n) => n,
                Err(_) => continue, // a busy database answers next time
            };
            if now.history != last.history {
                // A rollback by serve's monitor is news for the person at the desk.
                if let Ok(news) = api.monitor_rollbacks_after(heard).await {
                    for r in news {
                        heard = r.seq;
                        let _ = app
                            .notification()
                            .builder()
                            .title("Chainlift rollback")
                            .body(format!(
                                "{} in {} rolled back automatically: {}",
                                r.chain, r.env, r.reason
                            ))
                            .show();
                    }
                }
            }
            if now != last {
                if on_change.send(now.clone()).is_err() {
                    return; // the webview that asked is gone
                }
                last = now;
            }
        }
    });
    if let Ok(mut slot) = state.feed.lock() {
        if let Some(old) = slot.replace(task) {
            old.abort();
        }
    }
    Ok(())
}

/// Per env, the serve process holding it (from its lease), for Home.
#[tauri::command]
async fn serve_status(
    state: State<'_, AppState>,
    project: String,
) -> Result<Vec<ServeStatusView>, ApiError> {
    let project = state.api.project_of(&project_args(&project, None)).await?;
    state.api.serve_status(&project).await
}

#[tauri::command]
async fn last_run(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: String,
) -> Result<Option<RunView>, ApiError> {
    let query = RunsQuery {
        at: Some(project_args(&project, Some(chain))),
        env: Some(env),
        ..RunsQuery::default()
    };
    state.api.runs_last(&query).await
}

#[tauri::command]
async fn versions(
    state: State<'_, AppState>,
    project: String,
    chain: String,
) -> Result<Vec<VersionView>, ApiError> {
    state
        .api
        .versions(&project_args(&project, Some(chain)))
        .await
}

#[tauri::command]
async fn promote(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    to_env: String,
) -> Result<PromotionView, ApiError> {
    state
        .api
        .promote(&project_args(&project, Some(chain)), &to_env, None)
        .await
}

#[tauri::command]
async fn promotion(
    state: State<'_, AppState>,
    project: String,
    id: String,
) -> Result<PromotionView, ApiError> {
    state
        .api
        .promotion(&project_args(&project, None), &id)
        .await
}

#[tauri::command]
async fn tick(
    state: State<'_, AppState>,
    project: String,
    id: String,
    key: String,
    note: Option<String>,
) -> Result<ChecklistView, ApiError> {
    state
        .api
        .tick(&project_args(&project, None), &id, &key, note.as_deref())
        .await
}

#[tauri::command]
async fn untick(
    state: State<'_, AppState>,
    project: String,
    id: String,
    key: String,
    note: Option<String>,
) -> Result<ChecklistView, ApiError> {
    state
        .api
        .untick(&project_args(&project, None), &id, &key, note.as_deref())
        .await
}

#[tauri::command]
async fn approve(
    state: State<'_, AppState>,
    project: String,
    id: String,
    note: String,
) -> Result<PromotionView, ApiError> {
    state
        .api
        .approve(&project_args(&project, None), &id, &note)
        .await
}

#[tauri::command]
async fn deploy(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    version: String,
    env: String,
    canary: Option<u8>,
) -> Result<DeploymentView, ApiError> {
    state
        .api
        .deploy_canary(
            &project_args(&project, Some(chain)),
            &version,
            &env,
            Some("from the app"),
            canary,
        )
        .await
}

/// The newest rollout of (chain, env), open or ended; none when there never was one.
#[tauri::command]
async fn rollout(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: String,
) -> Result<Option<RolloutView>, ApiError> {
    let project = state.api.project_of(&project_args(&project, None)).await?;
    state.api.rollout_newest(&project, &chain, &env).await
}

/// Promote, Abort, Pause or Resume the open rollout (the app confirms first).
#[tauri::command]
async fn rollout_act(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: String,
    action: RolloutRequest,
) -> Result<RolloutView, ApiError> {
    use chainlift_api::rollout::RolloutAction as A;
    let action = match action {
        RolloutRequest::Promote => A::Promote,
        RolloutRequest::Abort => A::Abort,
        RolloutRequest::Pause => A::Pause,
        RolloutRequest::Resume => A::Resume,
    };
    state
        .api
        .rollout_act(&project_args(&project, Some(chain)), &env, action)
        .await
}

/// What the rollout panel's buttons ask.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum RolloutRequest {
    Promote,
    Abort,
    Pause,
    Resume,
}

#[tauri::command]
async fn rollback(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: String,
) -> Result<DeploymentView, ApiError> {
    state
        .api
        .rollback(
            &project_args(&project, Some(chain)),
            &env,
            Some("from the app"),
        )
        .await
}

#[tauri::command]
async fn diff_envs(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env_a: String,
    env_b: String,
) -> Result<EnvDiff, ApiError> {
    state
        .api
        .diff(&project_args(&project, Some(chain)), &env_a, &env_b)
        .await
}

#[tauri::command]
async fn secrets(
    state: State<'_, AppState>,
    project: String,
    env: String,
) -> Result<Vec<SecretStatus>, ApiError> {
    state
        .api
        .secret_list(&SecretArgs {
            at: project_args(&project, None),
            env,
        })
        .await
}

/// The value goes from the masked input straight to the keychain; only "set, when" comes back.
#[tauri::command]
async fn secret_set(
    state: State<'_, AppState>,
    project: String,
    env: String,
    name: String,
    value: String,
) -> Result<SecretStatus, ApiError> {
    let value = chainlift_model::secret::SecretValue::new(value);
    state
        .api
        .secret_set(
            &SecretArgs {
                at: project_args(&project, None),
                env,
            },
            &name,
            &value,
        )
        .await
}

#[tauri::command]
async fn secret_clear(
    state: State<'_, AppState>,
    project: String,
    env: String,
    name: String,
) -> Result<bool, ApiError> {
    state
        .api
        .secret_remove(
            &SecretArgs {
                at: project_args(&project, None),
                env,
            },
            &name,
        )
        .await
}

#[tauri::command]
async fn runs(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: Option<String>,
    status: Option<String>,
    version: Option<String>,
    trigger: Option<chainlift_api::dto::Trigger>,
) -> Result<Vec<RunView>, ApiError> {
    let query = RunsQuery {
        at: Some(project_args(&project, Some(chain))),
        env,
        status,
        version,
        trigger,
        limit: Some(100),
    };
    state.api.runs_list(&query).await
}

fn default_project(data_dir: &std::path::Path) -> Result<PathBuf, ApiError> {
    let from_args = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let from_env = std::env::var("CHAINLIFT_PROJECT")
        .ok()
        .filter(|p| !p.is_empty());
    match from_args.or(from_env) {
        Some(p) => Ok(PathBuf::from(p)),
        None => chainlift_api::sample::materialize(data_dir),
    }
}

/// On Linux without a GPU render node (a VM, a CI runner under Xvfb), WebKitGTK's accelerated
/// compositing runs on software OpenGL and every frame of a pan or drag costs ~100 ms on a large
/// graph; its non-composited path paints the same frame in ~13 ms (see docs/DECISIONS.md).
/// A value the user set wins.
pub fn software_rendering_fallback() {
    const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if cfg!(target_os = "linux")
        && std::env::var_os(VAR).is_none()
        && !std::path::Path::new("/dev/dri").exists()
    {
        std::env::set_var(VAR, "1");
    }
}

pub fn run() {
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let data_dir = chainlift_api::default_data_dir()?;
            eprintln!(
                "chainlift-app: data folder {}, ui build {UI_FINGERPRINT}",
                data_dir.display()
            );
            let api = tauri::async_runtime::block_on(Chainlift::open(&data_dir))?;
            let default_project = default_project(&data_dir)?;
            app.manage(AppState {
                api,
                default_project,
                watcher: Mutex::new(None),
                feed: Mutex::new(None),
                cancels: Mutex::new(HashMap::new()),
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            open_project,
            database_info,
            run_chain,
            last_run,
            versions,
            promote,
            promotion,
            tick,
            untick,
            review_input,
            quality_trend,
            quality_criteria,
            set_quality_criteria,
            export_report,
            approve,
            deploy,
            rollback,
            diff_envs,
            secrets,
            secret_set,
            secret_clear,
            runs,
            recent_projects,
            editor,
            editor_save,
            layout_save,
            watch_chain,
            gate_run,
            gate_latest,
            waive,
            flags,
            flag_set,
            deployments,
            audit,
            version_create,
            version_tag,
            version_diff,
            env_config,
            cancel_run,
            run_events,
            watch_changes,
            serve_status,
            rollout,
            rollout_act
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("chainlift-app: {e}");
        std::process::exit(1);
    }
}
