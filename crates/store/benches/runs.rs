//! `runs` over 100,000 stored runs (`cargo bench -p chainlift-store --bench runs`), target < 20 ms.

use std::time::{Duration, Instant};

use chainlift_store::runs::{self, RunEnd, RunFilter, RunRow, StepRow};

fn time<F: FnMut()>(n: u32, mut f: F) -> Duration {
    f();
    let started = Instant::now();
    for _ in 0..n {
        f();
    }
    started.elapsed() / n
}

/// A hash-like hex string per version, so prefixes tell versions apart as real hashes do.
fn hash(version: usize) -> String {
    format!(
        "{:016x}",
        (version as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
    .repeat(4)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let tmp = tempfile::tempdir()?;
    // CHAINLIFT_DATABASE_URL=postgres://… measures PostgreSQL (an empty database), else SQLite.
    let location = match std::env::var("CHAINLIFT_DATABASE_URL") {
        Ok(url) if !url.is_empty() => chainlift_store::Location::from_url(&url)?,
        _ => chainlift_store::Location::Sqlite(tmp.path().join("chainlift.db")),
    };
    println!("on {}", location.engine().name());
    let pool = rt.block_on(chainlift_store::open_location(&location))?;
    let total = 100_000;
    let started = Instant::now();
    rt.block_on(async {
        for batch in 0..(total / 1000) {
            let mut tx = chainlift_store::begin_write(&pool).await?;
            for i in 0..1000 {
                let n = batch * 1000 + i;
                let status = if n % 10 == 0 { "failed" } else { "completed" };
                sqlx::query(
                    "INSERT INTO runs (id, project, chain, env, version_hash, status, run_dir, started_at, ended_at, duration_ms, cost, tokens_in, tokens_out)
                     VALUES ($1, 'p', $2, $3, $4, $5, '/tmp', $6, $7, 1200, 0.002, 700, 600)",
                )
                .bind(format!("run-{n:08}"))
                .bind(format!("chain-{}", n % 4))
                .bind(["dev", "staging", "production"][n % 3])
                .bind(hash(n % 50))
                .bind(status)
                .bind(format!("2026-01-01T00:00:00.{n:08}Z"))
                .bind(format!("2026-01-01T00:00:01.{n:08}Z"))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
        Ok::<(), chainlift_store::StoreError>(())
    })?;
    println!(
        "inserted {total} runs in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Statistics as a database that has been in use has them (autovacuum would gather them).
    if location.engine() == chainlift_store::Engine::Postgres {
        rt.block_on(sqlx::query("ANALYZE").execute(&pool))?;
    }
    // One finished through the real path, with steps, so `last` reads steps too.
    rt.block_on(async {
        let row = RunRow {
            id: "run-zz".into(),
            project: "p".into(),
            chain: "chain-1".into(),
            env: "staging".into(),
            version_hash: "f".repeat(64),
            version_tag: None,
            deployment_id: None,
            status: "running".into(),
            input_file: None,
            run_dir: "/tmp".into(),
            started_at: "2026-01-02T00:00:00Z".into(),
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
        let step = StepRow {
            seq: 0,
            agent: "a".into(),
            model_requested: "m".into(),
            model_reported: None,
            attempts: 1,
            tokens_in: 1,
            tokens_out: 1,
            cost: None,
            offset_ms: Some(0),
            duration_ms: 1,
            status: "completed".into(),
            error: None,
        };
        let end = RunEnd {
            status: "completed".into(),
            ended_at: "2026-01-02T00:00:01Z".into(),
            duration_ms: 1000,
            cost: Some(0.01),
            tokens_in: 1,
            tokens_out: 1,
            output: None,
            output_text: None,
            error: None,
        };
        runs::finish(&pool, "run-zz", &end, &[step]).await
    })?;

    let cases: [(&str, RunFilter); 5] = [
        ("all, newest 50", RunFilter::default()),
        (
            "chain + env, newest 50",
            RunFilter {
                project: Some("p".into()),
                chain: Some("chain-2".into()),
                env: Some("production".into()),
                ..RunFilter::default()
            },
        ),
        (
            "status failed, newest 50",
            RunFilter {
                status: Some("failed".into()),
                ..RunFilter::default()
            },
        ),
        (
            "version prefix, newest 50",
            RunFilter {
                version: Some(hash(7)[..12].to_string()),
                ..RunFilter::default()
            },
        ),
        (
            "a version with no runs",
            RunFilter {
                version: Some("deadbeefdead".into()),
                ..RunFilter::default()
            },
        ),
    ];
    for (name, filter) in &cases {
        let per = time(20, || {
            let rows = rt.block_on(runs::list(&pool, filter, 50));
            assert!(rows.is_ok());
        });
        println!("runs list, {name}: {:.2} ms", per.as_secs_f64() * 1e3);
    }
    let per = time(50, || {
        let last = rt.block_on(runs::last(
            &pool,
            &RunFilter {
                chain: Some("chain-1".into()),
                env: Some("staging".into()),
                ..RunFilter::default()
            },
        ));
        assert!(last.is_ok_and(|r| r.is_some_and(|r| r.id == "run-zz")));
    });
    println!("runs last (chain + env): {:.2} ms", per.as_secs_f64() * 1e3);
    Ok(())
}
