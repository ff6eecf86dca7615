//! The gates screen's source: the newest gate results for the files as they are, else the
//! newest gated in that env, marked stale.

use std::sync::Arc;

use chainlift_api::{Chainlift, GateArgs, ProjectArgs, SystemClock};
use chainlift_secrets::SecretSource;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn results_of_other_files_are_shown_marked_stale() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let api = Chainlift::open_with(tmp.path(), SecretSource::Env, Arc::new(SystemClock)).await?;
    let project = chainlift_api::sample::materialize(tmp.path())?;
    let at = ProjectArgs {
        project: Some(project.clone()),
        chain: Some("content-pipeline".into()),
        cwd: project.clone(),
    };
    assert!(
        api.gate_latest(&at, "dev").await?.is_none(),
        "nothing gated yet"
    );

    // dev replays the sample's cassette, so its smoke gate runs offline.
    let ran = api
        .gate(&GateArgs {
            at: at.clone(),
            env: "dev".into(),
            only: Some(vec!["smoke".into()]),
            version: None,
        })
        .await?;
    let latest = api.gate_latest(&at, "dev").await?.ok_or("no results")?;
    assert!(!latest.stale);
    assert_eq!(latest.version_hash, ran.version_hash);
    assert_eq!(latest.gates.len(), 1);

    // Edit a prompt: the same results come back, marked as being of other files.
    let writer = project.join("chains/content-pipeline/agents/writer.yaml");
    let text = std::fs::read_to_string(&writer)?;
    std::fs::write(
        &writer,
        text.replace("Write a report", "Write a short report"),
    )?;
    let latest = api.gate_latest(&at, "dev").await?.ok_or("no results")?;
    assert!(latest.stale);
    assert_eq!(latest.version_hash, ran.version_hash);
    // Another env has its own history: nothing there.
    assert!(api.gate_latest(&at, "staging").await?.is_none());

    // Home's env columns say the same: dev's results are of the version gated before the edit.
    let view = api.open_project(&at).await?;
    let envs = &view.chains.first().ok_or("no chain")?.envs;
    let dev = envs.iter().find(|e| e.env == "dev").ok_or("no dev")?;
    assert_eq!(dev.gates.len(), 1);
    assert_eq!(dev.gates_of.as_deref(), Some(&ran.version_hash[..12]));
    let staging = envs
        .iter()
        .find(|e| e.env == "staging")
        .ok_or("no staging")?;
    assert!(staging.gates.is_empty() && staging.gates_of.is_none());
    Ok(())
}
