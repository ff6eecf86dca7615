//! Engine benchmarks (`cargo bench -p chainlift-engine --bench engine`):
//! - overhead per agent step with the replay provider (the sample chain from its cassette);
//! - 100 inputs × a 3-agent chain at env concurrency 20 against a local server answering in
//!   50 ms: wall time against the critical-path ideal, CPU time and peak memory.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chainlift_engine::cassette::Cassette;
use chainlift_engine::{run_chain, Progress, RunContext, RunStatus, SecretLookup};
use chainlift_model::resolve::{resolve, ResolveInput};
use chainlift_model::secret::SecretValue;
use chainlift_model::{ChainDef, EnvFile, Project, ResolvedChain};
use chainlift_testkit::{openai_completion, Reply, Seen, TestServer};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::json;
use tokio::sync::Semaphore;

struct NoSecrets;

impl SecretLookup for NoSecrets {
    fn get<'a>(
        &'a self,
        _: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<SecretValue>, String>> + Send + 'a>> {
        Box::pin(async { Ok(None) })
    }
}

fn resolved(root: &Path, chain: &str, env_text: &str) -> ResolvedChain {
    let project = Project::open(root).expect("project");
    let chain = ChainDef::load(&root.join("chains").join(chain)).expect("chain");
    let env = EnvFile::parse(Path::new("config/dev.env"), env_text).expect("env");
    let none = BTreeMap::new();
    resolve(&ResolveInput {
        project: &project,
        chain: &chain,
        env: "dev",
        env_file: Some(&env),
        vars: &none,
        flags: &none,
    })
    .expect("resolves")
}

fn ctx<'a>(
    chain: &'a ResolvedChain,
    run_dir: &Path,
    replay: Option<Cassette>,
    env_permits: Option<Arc<Semaphore>>,
    http: &reqwest::Client,
) -> RunContext<'a> {
    static PROGRESS: fn(Progress) = |_| {};
    static NOW: fn() -> chrono::DateTime<chrono::Utc> = chrono::Utc::now;
    static SECRETS: NoSecrets = NoSecrets;
    RunContext {
        chain,
        input: json!({"topic": "Refund policies for subscription software", "audience": "product managers"}),
        run_dir: run_dir.to_path_buf(),
        secrets: &SECRETS,
        replay,
        record: None,
        http: http.clone(),
        process_base_urls: BTreeMap::new(),
        progress: &PROGRESS,
        now: &NOW,
        cancel: None,
        env_permits,
        shared_slots: None,
    }
}

/// CPU seconds (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let http = reqwest::Client::new();
    let tmp = tempfile::tempdir()?;

    // 1. Replay: what the engine adds around each agent step.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/content-pipeline");
    let env_text = std::fs::read_to_string(sample.join("chains/content-pipeline/config/dev.env"))?;
    let chain = resolved(&sample, "content-pipeline", &env_text);
    let cassette = Cassette::load(&sample.join("chains/content-pipeline/cassettes/dev.jsonl"))?;
    let runs = 300;
    for i in 0..30 {
        let c = ctx(
            &chain,
            &tmp.path().join(format!("warm-{i}")),
            Some(cassette.clone()),
            None,
            &http,
        );
        rt.block_on(run_chain(&c));
    }
    let started = Instant::now();
    for i in 0..runs {
        let c = ctx(
            &chain,
            &tmp.path().join(format!("replay-{i}")),
            Some(cassette.clone()),
            None,
            &http,
        );
        let out = rt.block_on(run_chain(&c));
        assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    }
    let per_step = started.elapsed() / (runs * 2);
    println!("replay: {runs} runs of 2 steps, {:.3} ms per step (events, prompt render, schema check, output files)", per_step.as_secs_f64() * 1e3);

    // 2. 100 inputs × 3 agents at env concurrency 20, the server answering in 50 ms.
    let latency = Duration::from_millis(50);
    let server = TestServer::start(Arc::new(move |_: &Seen, _| {
        Reply::json(200, &openai_completion("ok", 50, 20)).delayed(latency)
    }))?;
    let project = tmp.path().join("bench");
    let dir = project.join("chains/three");
    std::fs::create_dir_all(dir.join("agents"))?;
    std::fs::write(
        project.join("chainlift.yaml"),
        "models:\n  m: {provider: openai, id: m-1, input_per_mtok: 1.0, output_per_mtok: 2.0}\n",
    )?;
    std::fs::write(
        dir.join("chain.yaml"),
        "name: three\nagents: [{name: a}, {name: b}, {name: c}]\nexecution: {concurrency: 20}\n",
    )?;
    for (name, trig, emit) in [
        ("a", "chain:start", "a:done"),
        ("b", "a:done", "b:done"),
        ("c", "b:done", "chain:complete"),
    ] {
        std::fs::write(dir.join(format!("agents/{name}.yaml")), format!("name: {name}\nmodel: m\nprompt: \"{name} {{{{ input.topic }}}}\"\ntriggers: [{trig}]\nemits: {emit}\n"))?;
    }
    let chain = resolved(
        &project,
        "three",
        &format!("OPENAI_BASE_URL={}\n", server.base_url),
    );
    let env_permits = Arc::new(Semaphore::new(20));
    let inputs = 100u32;
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let statuses: Vec<RunStatus> = rt.block_on(async {
        let contexts: Vec<RunContext> = (0..inputs)
            .map(|i| {
                ctx(
                    &chain,
                    &tmp.path().join(format!("load-{i}")),
                    None,
                    Some(env_permits.clone()),
                    &http,
                )
            })
            .collect();
        let mut all: FuturesUnordered<_> = contexts.iter().map(run_chain).collect();
        let mut statuses = Vec::new();
        while let Some(out) = all.next().await {
            statuses.push(out.status);
        }
        statuses
    });
    let wall = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    assert!(
        statuses.iter().all(|s| *s == RunStatus::Completed),
        "every input completes"
    );
    // 300 calls of 50 ms through 20 slots; no input can be faster than its 3 sequential calls.
    let ideal = (latency * (inputs * 3)).div_f64(20.0).max(latency * 3);
    println!(
        "load: {inputs} inputs x 3 agents at concurrency 20, server 50 ms: wall {:.0} ms, ideal {:.0} ms ({:.2}x), cpu {:.2} s (server threads included), peak RSS {:.0} MiB",
        wall.as_secs_f64() * 1e3,
        ideal.as_secs_f64() * 1e3,
        wall.as_secs_f64() / ideal.as_secs_f64(),
        cpu,
        peak_rss_mib()
    );
    assert_eq!(server.requests().len(), (inputs * 3) as usize);
    Ok(())
}
