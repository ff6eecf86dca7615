//! The desktop app: a thin Tauri adapter. Each command is a few lines that call
//! `chainlift-api`; state is built whole in `setup()` and errors cross IPC as `{code, message}`.

use std::path::PathBuf;

use chainlift_api::dto::{
    ChecklistView, DeploymentView, EnvDiff, ProjectView, PromotionView, RunProgress, RunView,
    SecretStatus, VersionView,
};
use chainlift_api::{ApiError, Chainlift, ProjectArgs, RunArgs, RunsQuery, SecretArgs};
use tauri::ipc::Channel;
use tauri::{Manager, State};

/// The UI build this binary embeds (see build.rs); part of the startup log line.
const UI_FINGERPRINT: &str = env!("CHAINLIFT_UI_FINGERPRINT");

/// What every command needs, built once before the window opens.
struct AppState {
    api: Chainlift,
    /// The project shown first: the command line's folder, `CHAINLIFT_PROJECT`, else the sample.
    default_project: PathBuf,
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
    state.api.open_project(&project_args(&root, None)).await
}

#[tauri::command]
async fn run_chain(
    state: State<'_, AppState>,
    project: String,
    chain: String,
    env: String,
    on_progress: Channel<RunProgress>,
) -> Result<RunView, ApiError> {
    let at = project_args(&project, Some(chain));
    let input = state.api.smoke_input(&at)?;
    let args = RunArgs {
        at,
        env,
        input,
        ..RunArgs::default()
    };
    let progress = move |p: RunProgress| {
        // A closed channel only means the window went away; the run still completes.
        let _ = on_progress.send(p);
    };
    state.api.run(&args, &progress).await
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
) -> Result<DeploymentView, ApiError> {
    state
        .api
        .deploy(
            &project_args(&project, Some(chain)),
            &version,
            &env,
            Some("from the app"),
        )
        .await
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
) -> Result<Vec<RunView>, ApiError> {
    let query = RunsQuery {
        at: Some(project_args(&project, Some(chain))),
        env,
        status,
        limit: Some(100),
        ..RunsQuery::default()
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

pub fn run() {
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
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
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            open_project,
            run_chain,
            last_run,
            versions,
            promote,
            promotion,
            tick,
            approve,
            deploy,
            rollback,
            diff_envs,
            secrets,
            secret_set,
            secret_clear,
            runs
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("chainlift-app: {e}");
        std::process::exit(1);
    }
}
