//! The orphan sweep never ends a live run: a heartbeat written by another process after the
//! sweep read its clock is fresh, not "stale" (seen as a run failing under load in CI).

use std::sync::Arc;

use chainlift_api::{Chainlift, Clock};
use chainlift_secrets::SecretSource;
use chainlift_store::runs::{self, Owner, RunRow};

/// A clock a minute behind: every heartbeat written "now" is in its future.
struct Behind;

impl Clock for Behind {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() - chrono::Duration::seconds(60)
    }
}

#[tokio::test]
async fn a_heartbeat_after_the_sweeps_clock_is_fresh() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let pool = chainlift_store::open(&tmp.path().join("chainlift.db")).await?;
    let now = chrono::Utc::now().to_rfc3339();
    let row = RunRow {
        id: "run-live".into(),
        project: "p".into(),
        chain: "c".into(),
        env: "dev".into(),
        version_hash: "abc".into(),
        version_tag: None,
        deployment_id: None,
        status: "queued".into(),
        input_file: None,
        run_dir: tmp.path().display().to_string(),
        started_at: now.clone(),
        ended_at: None,
        duration_ms: None,
        cost: None,
        tokens_in: 0,
        tokens_out: 0,
        output: None,
        error: None,
        triggered_by: "manual".into(),
        owner_host: None,
        output_text: None,
    };
    runs::insert_started(&pool, &row).await?;
    // Owned by a live process of this host that is not the sweeper (pid 1 always exists).
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")?
        .trim()
        .to_string();
    runs::set_owner(&pool, "run-live", &Owner { host, pid: 1 }, &now).await?;
    pool.close().await;
    let api = Chainlift::open_with(tmp.path(), SecretSource::Env, Arc::new(Behind)).await?;
    assert!(api.interrupt_orphans().await?.is_empty());
    assert_eq!(api.run_show("run-live").await?.status, "queued");
    Ok(())
}
