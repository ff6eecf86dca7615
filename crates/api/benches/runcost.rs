//! The fixed cost of one run (`cargo bench -p chainlift-api --bench runcost`): the sample chain
//! deployed to dev, answered from its cassette (no provider time at all), run one after another.
//! Everything measured is Chainlift's own work: resolving the deployed version, the SQLite rows,
//! the run folder and its files, the engine. Reported per run: prepare (resolve + `queued` row),
//! execute (engine + files + the finished row), wall and CPU. Target: under 0.5 ms per run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chainlift_api::dto::Trigger;
use chainlift_api::{Chainlift, ProjectArgs, RunArgs, SystemClock};
use chainlift_secrets::SecretSource;

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::var("RUNCOST_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let tmp = match std::env::var_os("RUNCOST_DIR") {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let api = Chainlift::open_with(
            &tmp.path().join("home"),
            SecretSource::Env,
            Arc::new(SystemClock),
        )
        .await?;
        let project = chainlift_api::sample::materialize(tmp.path())?;
        let at = ProjectArgs {
            project: Some(project.clone()),
            chain: Some("content-pipeline".into()),
            cwd: project.clone(),
        };
        api.version_create(&at, Some("v1"), None).await?;
        api.deploy(&at, "v1", "dev", None).await?;
        let input: serde_json::Value = serde_json::from_slice(&std::fs::read(
            project.join("chains/content-pipeline/test-fixtures/sample-input.json"),
        )?)?;
        let args = RunArgs {
            at: at.clone(),
            env: "dev".into(),
            input: "unused.json".into(),
            vars: Default::default(),
            record: false,
            version: None,
            working: false,
            cancel: None,
            trigger: Trigger::Api,
            input_value: Some(input),
            run_id: None,
            route_key: None,
        };
        let quiet = |_| {};
        for _ in 0..5 {
            api.run(&args, &quiet).await?; // warm: the version's copy, the pool
        }
        let (mut prepare, mut execute) = (Duration::ZERO, Duration::ZERO);
        let cpu0 = cpu_seconds();
        let started = Instant::now();
        for _ in 0..n {
            let t = Instant::now();
            let prepared = api.prepare_run(&args).await?;
            prepare += t.elapsed();
            let t = Instant::now();
            let run = api.execute(prepared, &quiet).await?;
            execute += t.elapsed();
            if run.status != "completed" {
                return Err(format!("run {} ended {}: {:?}", run.id, run.status, run.error).into());
            }
        }
        let wall = started.elapsed();
        let cpu = cpu_seconds() - cpu0;
        let ms = |d: Duration| d.as_secs_f64() * 1e3 / f64::from(n);
        println!("run fixed cost: {n} runs of the sample chain (2 agents) from its cassette, one after another");
        println!(
            "  per run: {:.2} ms wall (prepare {:.2} ms, execute {:.2} ms), {:.2} ms CPU  (target < 0.5 ms)",
            ms(wall),
            ms(prepare),
            ms(execute),
            cpu * 1e3 / f64::from(n)
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
