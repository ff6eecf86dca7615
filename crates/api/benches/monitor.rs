//! The rollout monitor's cost (`cargo bench -p chainlift-api --bench monitor`, DESIGN.md §10):
//! a full switch in its window with MONITOR_RUNS (100,000) runs of the new version spread over
//! the window and as many of the stable one in the window before it (the baseline every
//! after-switch analysis reads). Reported: one interval's analysis (target < 50 ms), the pass
//! that ends a failing interval and moves the pointer back (target: under 1 s from the end of
//! the interval, of which serve adds at most its 0.5 s poll), and what routing adds to a
//! request (the open-rollout lookup and the key's bucket).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chainlift_api::rollout::RolloutAction;
use chainlift_api::{Chainlift, ManualClock, ProjectArgs};
use chainlift_secrets::SecretSource;
use chrono::Utc;

const WINDOW_SECS: i64 = 24 * 3600;
const INTERVAL_SECS: i64 = 300;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: i64 = std::env::var("MONITOR_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let t0 = Utc::now();
        let clock = Arc::new(ManualClock::new(t0));
        let home = tmp.path().join("home");
        let api = Chainlift::open_with(&home, SecretSource::Env, clock.clone()).await?;
        let project = chainlift_api::sample::materialize(tmp.path())?;
        let policy = project.join("chainlift.yaml");
        let text = std::fs::read_to_string(&policy)?;
        std::fs::write(
            &policy,
            text.replace(
                "  - {name: dev}",
                "  - name: dev\n    monitor: {window: 24h, interval: 5m, min_runs: 20, steps: [10]}",
            ),
        )?;
        let at = ProjectArgs {
            project: Some(project.clone()),
            chain: Some("content-pipeline".into()),
            cwd: project.clone(),
        };
        let chain_dir = project.join("chains/content-pipeline");
        api.version_create(&at, Some("v1"), None).await?;
        api.deploy(&at, "v1", "dev", None).await?;
        let yaml = chain_dir.join("chain.yaml");
        let text = std::fs::read_to_string(&yaml)?;
        std::fs::write(&yaml, format!("{text}\n# v2\n"))?;
        api.version_create(&at, Some("v2"), None).await?;
        api.deploy_canary(&at, "v2", "dev", None, Some(10)).await?;

        // The deployments the runs name, read from the store the api wrote.
        let pool = chainlift_store::open(&home.join("chainlift.db")).await?;
        let (stable, canary): (String, String) = sqlx::query_as(
            "SELECT stable_id, canary_id FROM rollouts WHERE state = 'monitoring'",
        )
        .fetch_one(&pool)
        .await?;
        let p = chainlift_model::Project::open(&project)?;

        // Routing: what a request pays while a canary is open — the pointer read with the open
        // canary joined in, against the plain pointer read every run did before rollouts.
        let reps = 2_000;
        let time = |routed: bool| {
            let pool = pool.clone();
            let id = p.id.clone();
            async move {
                let started = Instant::now();
                for _ in 0..reps {
                    if routed {
                        chainlift_store::deployments::current_routed(&pool, &id, "content-pipeline", "dev").await?;
                    } else {
                        chainlift_store::deployments::current(&pool, &id, "content-pipeline", "dev").await?;
                    }
                }
                Ok::<_, chainlift_store::StoreError>(started.elapsed() / reps)
            }
        };
        let plain = time(false).await?;
        let routed = time(true).await?;
        let plain = plain.min(time(false).await?);
        let routed = routed.min(time(true).await?);
        let started = Instant::now();
        let mut sum = 0u64;
        for i in 0..100_000u32 {
            sum += u64::from(chainlift_model::monitor::bucket(&format!("user-{i}")));
        }
        let hash = started.elapsed() / 100_000;
        std::hint::black_box(sum);

        // The full switch at t0; then the runs.
        api.rollout_act(&at, "dev", RolloutAction::Weight(100)).await?;
        let switch: String =
            sqlx::query_scalar("SELECT switch_id FROM rollouts WHERE state = 'monitoring'")
                .fetch_one(&pool)
                .await?;
        let fill = Instant::now();
        let step = (WINDOW_SECS * 1_000_000) / n.max(1);
        let mut tx = pool.begin().await?;
        for (i, (deployment, base)) in (0..n)
            .map(|i| (&stable, t0 - chrono::Duration::seconds(WINDOW_SECS) + chrono::Duration::microseconds(i * step)))
            .chain((0..n).map(|i| (&switch, t0 + chrono::Duration::microseconds(i * step))))
            .enumerate()
        {
            let at = base.to_rfc3339();
            sqlx::query(
                "INSERT INTO runs (id, project, chain, env, version_hash, deployment_id, status, run_dir,
                                   started_at, ended_at, duration_ms, cost, triggered_by)
                 VALUES ($1, $2, 'content-pipeline', 'dev', 'h', $3, $4, '/nowhere', $5, $6, $7, $8, 'api')",
            )
            .bind(format!("bench-{i}"))
            .bind(&p.id)
            .bind(deployment)
            .bind(if i % 50 == 0 { "failed" } else { "completed" })
            .bind(&at)
            .bind(&at)
            .bind(40 + (i % 20) as i64)
            .bind(0.01)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let fill = fill.elapsed();
        let _ = canary;

        // One interval's analysis, several times over consecutive intervals.
        let mut each = Vec::new();
        for k in 1..=10 {
            clock.set(t0 + chrono::Duration::seconds(INTERVAL_SECS * k) + chrono::Duration::milliseconds(1));
            let started = Instant::now();
            let out = api.monitor(&p, "dev").await?;
            each.push(started.elapsed());
            if out.first().map(|o| o.intervals) != Some(1) {
                return Err(format!("interval {k}: {out:?}").into());
            }
        }
        each.sort();
        let median = each[each.len() / 2];
        let worst = each[each.len() - 1];

        // A failing interval: every run of the next interval fails; the pass that ends it
        // rolls back (the pointer moves) in one transaction.
        let k = 11;
        let from = t0 + chrono::Duration::seconds(INTERVAL_SECS * (k - 1));
        sqlx::query("UPDATE runs SET status = 'failed' WHERE deployment_id = $1 AND ended_at >= $2 AND ended_at < $3")
            .bind(&switch)
            .bind(from.to_rfc3339())
            .bind((from + chrono::Duration::seconds(INTERVAL_SECS)).to_rfc3339())
            .execute(&pool)
            .await?;
        clock.set(from + chrono::Duration::seconds(INTERVAL_SECS) + chrono::Duration::milliseconds(1));
        let started = Instant::now();
        let out = api.monitor(&p, "dev").await?;
        let rollback = started.elapsed();
        if !out.first().is_some_and(|o| o.rolled_back) {
            return Err(format!("the failing interval did not roll back: {out:?}").into());
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!("monitor bench: {n} runs of the new version in the window, {n} of the stable before it (filled in {:.1} s)", fill.as_secs_f64());
        println!("  one interval's analysis: median {:.2} ms, worst {:.2} ms of 10 (target < 50 ms)", ms(median), ms(worst));
        println!(
            "  failing interval → pointer moved back: {:.2} ms after the pass starts; serve polls every 500 ms, so at most {:.0} ms after the interval ends (target < 1 s)",
            ms(rollback),
            500.0 + ms(rollback)
        );
        println!(
            "  routing per request: pointer read {:.1} µs plain, {:.1} µs with the open canary joined (+{:.1} µs), bucket {:.2} µs",
            plain.as_secs_f64() * 1e6,
            routed.as_secs_f64() * 1e6,
            (routed.as_secs_f64() - plain.as_secs_f64()) * 1e6,
            hash.as_secs_f64() * 1e6
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
