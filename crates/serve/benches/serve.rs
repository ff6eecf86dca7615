//! A bench binary (`cargo bench -p chainlift-serve`): serve under load, against the ideal.
//!
//! The sample chain (two agent calls per run) deployed to dev, a local provider answering every
//! call in 50 ms on kept-alive connections, env concurrency 50; `N` requests from `C` concurrent
//! clients, each waiting for its run (`?wait=`). Ideal wall time: N × 2 × 50 ms / 50. Reported:
//! wall time and its ratio to the ideal, latency beyond the provider's 100 ms p50 / p99 (with
//! queueing, then with 20 clients so nothing queues: serve's own), peak RSS, CPU seconds, CPU
//! stolen by the hypervisor meanwhile (a noisy neighbour spoils every figure), and the time from
//! a deploy's commit to the first request served by the new version.
//! `SERVE_BENCH_REQUESTS` / `SERVE_BENCH_CLIENTS` override 2000 / 100,
//! `SERVE_BENCH_QUIET_REQUESTS` / `SERVE_BENCH_QUIET_CLIENTS` 400 / 20; `SERVE_BENCH_DIR` picks
//! the scratch folder (e.g. /dev/shm, to tell the disk's cost from Chainlift's);
//! `SERVE_BENCH_CLOSE=1` makes the provider close each connection. `SERVE_BENCH_REPLICAS=3` serves
//! from three serve instances on one history (each with its own api and pool, requests spread
//! round robin): with `CHAINLIFT_DATABASE_URL=postgres://…` the replicas of DESIGN.md §11, whose
//! env concurrency (still 50 in all) is held in the database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chainlift_api::{Chainlift, ProjectArgs, SystemClock};
use chainlift_secrets::SecretSource;
use chainlift_testkit::{openai_completion, sample_report, Reply, TestServer};

const PROVIDER: Duration = Duration::from_millis(50);

fn proc_status(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Seconds the hypervisor gave this machine's CPUs to others (steal, /proc/stat): a noisy
/// neighbour shows here, and makes every figure of the run worse.
fn steal_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    stat.lines()
        .find(|l| l.starts_with("cpu "))
        .and_then(|l| l.split_whitespace().nth(8))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |t| t / 100.0)
}

/// User + system CPU seconds of this process (from /proc/self/stat, in clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), target)?;
        }
    }
    Ok(())
}

/// `requests` requests from `clients` concurrent clients, each waiting for its run: the
/// latencies of the ones answered 200, and how many were not.
async fn load(
    http: &reqwest::Client,
    urls: &[String],
    input: &[u8],
    requests: usize,
    clients: usize,
) -> Result<(Vec<Duration>, usize), Box<dyn std::error::Error>> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, urls, input, next) = (http.clone(), urls.to_vec(), input.to_vec(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0usize;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n >= requests {
                    break;
                }
                let t = Instant::now();
                let r = http
                    .post(&urls[n % urls.len()])
                    .header("content-type", "application/json")
                    .body(input.clone())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed());
                    }
                    _ => failed += 1,
                }
            }
            (latencies, failed)
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (l, f) = t.await?;
        latencies.extend(l);
        failed += f;
    }
    Ok((latencies, failed))
}

fn env_number(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let requests = env_number("SERVE_BENCH_REQUESTS", 2000);
    let replicas = env_number("SERVE_BENCH_REPLICAS", 1).max(1);
    let clients = env_number("SERVE_BENCH_CLIENTS", 100);
    // Kept-alive connections, as a provider's API keeps them (SERVE_BENCH_CLOSE=1: one per call).
    let start = if std::env::var_os("SERVE_BENCH_CLOSE").is_some() {
        TestServer::start
    } else {
        TestServer::start_keep_alive
    };
    let provider = start(Arc::new(|req: &chainlift_testkit::Seen, _| {
        let body = if req.body.get("response_format").is_some() {
            openai_completion(&sample_report().to_string(), 1000, 500)
        } else {
            openai_completion("Brief: refunds are common within 14 days.", 200, 100)
        };
        Reply::json(200, &body).delayed(PROVIDER)
    }))?;
    // The api reads the provider's address and key from the process (CHAINLIFT_SECRETS=env).
    std::env::set_var("OPENAI_BASE_URL", &provider.base_url);
    std::env::set_var("OPENAI_API_KEY", "sk-bench-0000000000");

    // SERVE_BENCH_DIR puts the project and data folder elsewhere (e.g. /dev/shm, to tell the
    // disk's cost from Chainlift's).
    let tmp = match std::env::var_os("SERVE_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let project = tmp.path().join("acme");
    copy_dir(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/content-pipeline"),
        &project,
    )?;
    let dev = project.join("chains/content-pipeline/config/dev.env");
    let text = std::fs::read_to_string(&dev)?
        .replace("CHAINLIFT_CASSETTE=cassettes/dev.jsonl", "")
        .replace("CONCURRENCY=1", "CONCURRENCY=50")
        .replace("MAX_COST_PER_DAY=5.00", "MAX_COST_PER_DAY=100000");
    std::fs::write(&dev, text)?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let api = Arc::new(
            Chainlift::open_with(&tmp.path().join("home"), SecretSource::Env, Arc::new(SystemClock))
                .await?,
        );
        let at = ProjectArgs {
            project: Some(project.clone()),
            chain: Some("content-pipeline".into()),
            cwd: project.clone(),
        };
        api.version_create(&at, Some("v1"), None).await?;
        api.deploy(&at, "v1", "dev", None).await?;
        let (api2, at2) = (api.clone(), at.clone());
        let engine = api2.database().await?.engine;
        let mut urls = Vec::new();
        let mut stops = Vec::new();
        let mut servings = Vec::new();
        for r in 0..replicas {
            let api = if r == 0 {
                api.clone()
            } else {
                Arc::new(
                    // On PostgreSQL each replica has a data folder of its own (its run files), as
                    // on separate machines; on SQLite they share the one with the database.
                    Chainlift::open_with(
                        &tmp.path().join(if engine == "PostgreSQL" { format!("home-{r}") } else { "home".into() }),
                        SecretSource::Env,
                        Arc::new(SystemClock),
                    )
                        .await?,
                )
            };
            let server = chainlift_serve::prepare(
                api,
                chainlift_serve::ServeConfig {
                    at: ProjectArgs { chain: None, ..at.clone() },
                    envs: vec!["dev".into()],
                    listen: "127.0.0.1:0".parse()?,
                    drain: Duration::from_secs(5),
                    max_body: chainlift_serve::DEFAULT_MAX_BODY,
                    queue: requests,
                },
            )
            .await?;
            urls.push(format!("http://{}/v1/chains/content-pipeline/runs?wait=120", server.local));
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            stops.push(stop_tx);
            servings.push(tokio::spawn(server.run(async move {
                let _ = stop_rx.await;
            })));
        }
        let url = urls[0].clone();
        let input = std::fs::read(project.join("chains/content-pipeline/test-fixtures/sample-input.json"))?;
        let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
        // Warm up: the version's copy, the connection pool.
        for _ in 0..3 {
            http.post(&url).header("content-type", "application/json").body(input.clone()).send().await?;
        }
        let cpu0 = cpu_seconds();
        let steal0 = steal_seconds();
        let started = Instant::now();
        let (mut latencies, failed) = load(&http, &urls, &input, requests, clients).await?;
        let wall = started.elapsed();
        let cpu = cpu_seconds() - cpu0;
        let steal = steal_seconds() - steal0;
        latencies.sort();
        // Below the env's concurrency nothing queues: what is left beyond the provider is serve's.
        let (mut unqueued, _) = load(&http, &urls, &input, env_number("SERVE_BENCH_QUIET_REQUESTS", 400), env_number("SERVE_BENCH_QUIET_CLIENTS", 20)).await?;
        unqueued.sort();
        let calls = 2.0;
        let ideal = Duration::from_secs_f64(requests as f64 * calls * PROVIDER.as_secs_f64() / 50.0);
        let added = |latencies: &[Duration], p: f64| {
            let i = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
            latencies
                .get(i)
                .map_or(0.0, |l| (l.as_secs_f64() - calls * PROVIDER.as_secs_f64()) * 1e3)
        };
        println!("serve: {replicas} replica(s) on {engine}, {requests} requests from {clients} clients, env concurrency 50, provider {} ms per call", PROVIDER.as_millis());
        println!("  wall {:.2} s  ideal {:.2} s  ratio {:.2}×  failed {failed}", wall.as_secs_f64(), ideal.as_secs_f64(), wall.as_secs_f64() / ideal.as_secs_f64());
        println!("  latency per request beyond the provider's 100 ms (includes queueing): p50 {:.1} ms  p99 {:.1} ms", added(&latencies, 0.5), added(&latencies, 0.99));
        println!("  serve's added latency with nothing queued: p50 {:.1} ms  p99 {:.1} ms", added(&unqueued, 0.5), added(&unqueued, 0.99));
        println!("  peak RSS {:.1} MiB (whole bench process: serve, provider stub and client)  CPU {cpu:.2} s", proc_status("VmHWM:"));
        println!("  CPU stolen by the hypervisor meanwhile: {steal:.2} s (all CPUs)");
        // A deploy by another process's API (here: this one) applies to the next request: the
        // time from the deploy's commit to the first answer naming the new version.
        let chain_yaml = project.join("chains/content-pipeline/chain.yaml");
        std::fs::write(&chain_yaml, std::fs::read_to_string(&chain_yaml)? + "\n# v2\n")?;
        api2.version_create(&at2, Some("v2"), None).await?;
        let accept_url = url.replace("?wait=120", "");
        api2.deploy(&at2, "v2", "dev", None).await?;
        let committed = Instant::now();
        let delay = loop {
            let r = http.post(&accept_url).header("content-type", "application/json").body(input.clone()).send().await?;
            let body: serde_json::Value = r.json().await?;
            if body["version"] == "v2" {
                break committed.elapsed();
            }
        };
        println!("  deploy commit → first request served by the new version: {:.2} ms", delay.as_secs_f64() * 1e3);
        for stop in stops {
            let _ = stop.send(());
        }
        for serving in servings {
            serving.await??;
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
