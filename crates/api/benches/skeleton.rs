//! A bench binary (`cargo bench -p chainlift-api`): what Chainlift itself adds around a run.
//!
//! - `validate`: parse the sample chain and resolve it for all three envs, plus the secrets
//!   lookups in SQLite (what `chainlift validate` does after start-up).
//! - `run (replay)`: a whole recorded run of the sample through the api — resolve, hash the
//!   definition, insert the run, two agent steps, events and outputs on disk, finish the run in
//!   one transaction — i.e. the engine's own overhead with a provider that answers instantly.
//! - `runs last`: read the newest run with its steps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chainlift_api::{Chainlift, ProjectArgs, RunArgs, RunsQuery, SystemClock};
use chainlift_secrets::SecretSource;

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let n = samples.len();
    let mean = samples.iter().sum::<Duration>() / n as u32;
    let pct = |p: f64| samples[((n as f64 * p) as usize).min(n - 1)];
    println!(
        "{name:<14} n={n:<5} mean {:>8.3} ms  median {:>8.3} ms  p95 {:>8.3} ms",
        mean.as_secs_f64() * 1e3,
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.95).as_secs_f64() * 1e3
    );
}

fn time<F: FnMut()>(iterations: usize, mut f: F) -> Vec<Duration> {
    for _ in 0..iterations / 10 {
        f(); // warm up
    }
    (0..iterations)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

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
        cwd: project,
    };
    let input = api.smoke_input(&at)?;
    let run = RunArgs {
        at: at.clone(),
        env: "dev".into(),
        input,
        ..RunArgs::default()
    };
    let quiet = |_| {};

    report(
        "validate",
        time(300, || {
            let r = rt.block_on(api.validate(&at, None));
            assert!(r.is_ok_and(|r| r.ok), "the sample validates");
        }),
    );
    report(
        "run (replay)",
        time(200, || {
            let r = rt.block_on(api.run(&run, &quiet));
            assert!(r.is_ok_and(|r| r.status == "completed"), "the sample runs");
        }),
    );
    // Memory stays flat over many runs: nothing accumulates per run in the process.
    let mut rss = Vec::new();
    for i in 1..=1000 {
        let r = rt.block_on(api.run(&run, &quiet));
        assert!(r.is_ok_and(|r| r.status == "completed"));
        if i == 100 || i == 1000 {
            rss.push(rss_mib());
        }
    }
    println!(
        "memory over 1,000 more runs: RSS {:.1} MiB after 100, {:.1} MiB after 1,000",
        rss[0], rss[1]
    );
    let query = RunsQuery {
        at: Some(at.clone()),
        env: Some("dev".into()),
        ..RunsQuery::default()
    };
    report(
        "runs last",
        time(500, || {
            let r = rt.block_on(api.runs_last(&query));
            assert!(r.is_ok_and(|r| r.is_some()));
        }),
    );
    Ok(())
}
