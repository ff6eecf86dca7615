use std::path::Path;

/// A fingerprint of the built UI (names, sizes, modification times). Handing it to the crate as
/// an env var makes cargo recompile the app — and so re-embed `ui/dist` — whenever the UI
/// changes, which the asset embedding alone does not guarantee.
fn fingerprint(dir: &Path, out: &mut u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        for b in path.to_string_lossy().bytes() {
            *out = out.wrapping_mul(0x100_0000_01b3) ^ u64::from(b);
        }
        if path.is_dir() {
            fingerprint(&path, out);
        } else if let Ok(meta) = e.metadata() {
            *out = out.wrapping_mul(0x100_0000_01b3) ^ meta.len();
            if let Ok(Ok(t)) = meta
                .modified()
                .map(|m| m.duration_since(std::time::UNIX_EPOCH))
            {
                *out = out.wrapping_mul(0x100_0000_01b3) ^ t.as_nanos() as u64;
            }
        }
    }
}

/// The app's own commands: each gets an `allow-<command>` permission, and only those named in
/// `capabilities/default.json` can be called from the webview.
const COMMANDS: &[&str] = &[
    "open_project",
    "database_info",
    "run_chain",
    "last_run",
    "versions",
    "promote",
    "promotion",
    "tick",
    "untick",
    "review_input",
    "quality_trend",
    "quality_criteria",
    "set_quality_criteria",
    "export_report",
    "approve",
    "deploy",
    "rollback",
    "diff_envs",
    "secrets",
    "secret_set",
    "secret_clear",
    "runs",
    "recent_projects",
    "editor",
    "editor_save",
    "layout_save",
    "watch_chain",
    "gate_run",
    "gate_latest",
    "waive",
    "flags",
    "flag_set",
    "deployments",
    "audit",
    "version_create",
    "version_tag",
    "version_diff",
    "env_config",
    "cancel_run",
    "run_events",
    "watch_changes",
    "serve_status",
    "rollout",
    "rollout_act",
];

fn main() {
    println!("cargo:rerun-if-changed=ui/dist");
    let dist = Path::new("ui/dist");
    if !dist.join("index.html").exists() {
        println!(
            "cargo:warning=ui/dist is missing: build the UI first with `npm --prefix ui ci && npm --prefix ui run build` (or use `make run`)"
        );
    }
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    fingerprint(dist, &mut hash);
    println!("cargo:rustc-env=CHAINLIFT_UI_FINGERPRINT={hash:016x}");
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build failed: {e:#}");
    }
}
