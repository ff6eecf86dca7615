//! The quality gate on 100 inputs × (a 2-agent chain + the reviewer) against a local server
//! answering every call in 50 ms, at env concurrency 20
//! (`cargo bench -p chainlift-api --bench quality`). Ideal: 300 calls × 50 ms / 20 slots.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chainlift_api::{Chainlift, GateArgs, ProjectArgs, SystemClock};
use chainlift_secrets::SecretSource;
use chainlift_testkit::{openai_completion, Reply, Seen, TestServer};
use serde_json::json;

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let latency = Duration::from_millis(
        std::env::var("BENCH_LATENCY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(50),
    );
    let server = TestServer::start(Arc::new(move |req: &Seen, _| {
        let schema = &req.body["response_format"]["json_schema"]["schema"];
        let text = if schema["properties"].get("completeness").is_some() {
            json!({"completeness": {"score": 5, "rationale": "ok"}, "accuracy": {"score": 4, "rationale": "ok"},
                   "formatting": {"score": 5, "rationale": "ok"}, "relevance": {"score": 4, "rationale": "ok"}}).to_string()
        } else if !schema.is_null() {
            chainlift_testkit::sample_report().to_string()
        } else {
            "Brief: refunds.".to_string()
        };
        Reply::json(200, &openai_completion(&text, 300, 200)).delayed(latency)
    }))?;
    std::env::set_var("OPENAI_BASE_URL", &server.base_url);
    std::env::set_var("OPENAI_API_KEY", "sk-bench-0000000000000000");

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
    let chain = project.join("chains/content-pipeline");
    let env = std::fs::read_to_string(chain.join("config/dev.env"))?
        .replace("CHAINLIFT_CASSETTE=cassettes/dev.jsonl", "")
        .replace("CONCURRENCY=1 ", "CONCURRENCY=20 ")
        .replace("CONCURRENCY=1\n", "CONCURRENCY=20\n")
        .replace("MAX_COST_PER_DAY=5.00", "MAX_COST_PER_DAY=1000");
    std::fs::write(chain.join("config/dev.env"), env)?;
    let inputs = chain.join("test-fixtures/quality");
    for f in std::fs::read_dir(&inputs)? {
        std::fs::remove_file(f?.path())?;
    }
    let n = 100;
    for i in 0..n {
        std::fs::write(
            inputs.join(format!("input-{i:03}.json")),
            json!({"topic": format!("topic {i}"), "audience": "PMs"}).to_string(),
        )?;
    }
    let at = ProjectArgs {
        project: Some(project.clone()),
        chain: Some("content-pipeline".into()),
        cwd: project,
    };
    let args = GateArgs {
        at,
        env: "dev".into(),
        only: Some(vec!["quality".into()]),
        version: None,
    };

    let cpu = cpu_seconds();
    let started = Instant::now();
    let result = rt.block_on(api.gate(&args))?;
    let wall = started.elapsed();
    let cpu = cpu_seconds() - cpu;
    let quality = &result.gates[0];
    assert!(result.passed, "{}", quality.summary);
    let calls = server.requests().len();
    let ideal = latency.mul_f64(calls as f64 / 20.0).max(latency * 3);
    println!(
        "quality gate: {n} inputs, {calls} model calls at concurrency 20, server 50 ms: wall {:.0} ms, ideal {:.0} ms ({:.2}x), cpu {:.2} s (server threads included), peak RSS {:.0} MiB — {}",
        wall.as_secs_f64() * 1e3,
        ideal.as_secs_f64() * 1e3,
        wall.as_secs_f64() / ideal.as_secs_f64(),
        cpu,
        peak_rss_mib(),
        quality.summary
    );
    Ok(())
}
