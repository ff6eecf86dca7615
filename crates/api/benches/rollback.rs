//! Rollback as a pointer move, in process, with 1,000 versions and 10,000 runs in the database
//! (`cargo bench -p chainlift-api --bench rollback`, target < 50 ms).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chainlift_api::{Chainlift, ProjectArgs, SystemClock};
use chainlift_secrets::SecretSource;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let api = rt.block_on(Chainlift::open_with(
        tmp.path(),
        SecretSource::Env,
        Arc::new(SystemClock),
    ))?;
    let project = chainlift_api::sample::materialize(tmp.path())?;
    let at = ProjectArgs {
        project: Some(project.clone()),
        chain: Some("content-pipeline".into()),
        cwd: project.clone(),
    };
    let writer = project.join("chains/content-pipeline/agents/writer.yaml");

    // 1,000 real versions (each a one-line change), deployed to dev as they come.
    let base = std::fs::read_to_string(&writer)?;
    let started = Instant::now();
    for i in 0..1000 {
        std::fs::write(&writer, format!("{base}# revision {i}\n"))?;
        let v = rt.block_on(api.version_create(&at, None, None))?;
        if i >= 990 {
            rt.block_on(api.deploy(&at, &v.hash[..12], "dev", None))?;
        }
    }
    println!(
        "created 1,000 versions in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 10,000 runs recorded against them.
    rt.block_on(async {
        let mut tx = api.pool().begin().await?;
        for n in 0..10_000 {
            sqlx::query(
                "INSERT INTO runs (id, project, chain, env, version_hash, status, run_dir, started_at, cost, tokens_in, tokens_out)
                 VALUES ($1, 'acme-content', 'content-pipeline', 'dev', $2, 'completed', '/tmp', $3, 0.002, 700, 600)",
            )
            .bind(format!("bench-{n:06}"))
            .bind(format!("{:064x}", n % 1000))
            .bind(format!("2026-01-01T00:00:00.{n:06}Z"))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    })?;

    // Roll back, then redeploy the newest, over and over; time only the rollbacks.
    let newest = rt
        .block_on(api.versions(&at))?
        .first()
        .map(|v| v.hash.clone())
        .ok_or("no versions")?;
    let mut samples: Vec<Duration> = Vec::new();
    for _ in 0..60 {
        let t = Instant::now();
        let d = rt.block_on(api.rollback(&at, "dev", None))?;
        samples.push(t.elapsed());
        assert_eq!(d.action, "rollback");
        rt.block_on(api.deploy(&at, &newest[..12], "dev", None))?;
    }
    samples.sort();
    let n = samples.len();
    println!(
        "rollback (pointer move + audit row, one IMMEDIATE transaction): median {:.2} ms, p95 {:.2} ms, max {:.2} ms over {n}",
        samples[n / 2].as_secs_f64() * 1e3,
        samples[n * 95 / 100].as_secs_f64() * 1e3,
        samples[n - 1].as_secs_f64() * 1e3
    );
    let verified = rt.block_on(api.audit_verify())?;
    assert!(verified.ok, "{:?}", verified.problem);
    println!("audit --verify over {} rows: ok", verified.rows);
    Ok(())
}
