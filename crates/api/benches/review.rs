//! What the PM's review costs once the gates have run (`cargo bench -p chainlift-api --bench
//! review`): a promotion with 100 quality inputs × 4 criteria opened, one input's review (both
//! outputs read back), the quality trend, and the report in both forms. None of these calls a
//! model, so the ideal is 0 ms; the bar for opening the promotion is 200 ms (with the
//! webview's render, measured by `ui/src/components/PromotionScreen.bench.tsx`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chainlift_api::report::ReportFormat;
use chainlift_api::{Chainlift, ProjectArgs, SystemClock};
use chainlift_secrets::SecretSource;
use chainlift_testkit::{openai_completion, Reply, Seen, TestServer};
use serde_json::json;

fn median(mut xs: Vec<Duration>) -> f64 {
    xs.sort();
    xs[xs.len() / 2].as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TestServer::start(Arc::new(|req: &Seen, _| {
        let schema = &req.body["response_format"]["json_schema"]["schema"];
        let text = if schema["properties"].get("completeness").is_some() {
            json!({"completeness": {"score": 5, "rationale": "every part of the brief is covered"},
                   "accuracy": {"score": 4, "rationale": "one figure is unsourced"},
                   "formatting": {"score": 5, "rationale": "clean headings"},
                   "relevance": {"score": 4, "rationale": "mostly on topic"}})
            .to_string()
        } else if !schema.is_null() {
            chainlift_testkit::sample_report().to_string()
        } else {
            "Brief: refunds.".to_string()
        };
        Reply::json(200, &openai_completion(&text, 300, 200))
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
    // dev → staging, staging gated on quality alone, both on the OpenAI-format server.
    std::fs::write(
        project.join("chainlift.yaml"),
        "name: bench\nenvironments:\n  - {name: dev}\n  - {name: staging, gates: [quality]}\n",
    )?;
    let chain = project.join("chains/content-pipeline");
    let env = std::fs::read_to_string(chain.join("config/dev.env"))?
        .replace("CHAINLIFT_CASSETTE=cassettes/dev.jsonl", "")
        .replace("CONCURRENCY=1 ", "CONCURRENCY=20 ")
        .replace("CONCURRENCY=1\n", "CONCURRENCY=20\n")
        .replace("MAX_COST_PER_DAY=5.00", "MAX_COST_PER_DAY=1000");
    std::fs::write(chain.join("config/dev.env"), &env)?;
    std::fs::write(
        chain.join("config/staging.env"),
        env.replace("localhost:5432/dev", "staging-db:5432/staging"),
    )?;
    std::fs::remove_file(chain.join("config/production.env"))?;
    let inputs = chain.join("test-fixtures/quality");
    for f in std::fs::read_dir(&inputs)? {
        std::fs::remove_file(f?.path())?;
    }
    for i in 0..100 {
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
    rt.block_on(api.version_create(&at, Some("v1"), None))?;
    rt.block_on(api.deploy(&at, "v1", "dev", None))?;
    let p = rt.block_on(api.promote(&at, "staging", Some("v1")))?;
    let q = p
        .gates
        .iter()
        .find_map(|g| g.quality.clone())
        .ok_or("the promotion has quality scores")?;
    assert_eq!(q.inputs.len(), 100);

    let time = |n: usize, f: &mut dyn FnMut() -> Result<(), Box<dyn std::error::Error>>| {
        let mut all = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            f()?;
            all.push(t.elapsed());
        }
        Ok::<f64, Box<dyn std::error::Error>>(median(all))
    };
    let open = time(20, &mut || {
        rt.block_on(api.promotion(&at, &p.id))?;
        Ok(())
    })?;
    let review = time(20, &mut || {
        rt.block_on(api.review_input(&at, "staging", "v1", "input-042.json"))?;
        Ok(())
    })?;
    let trend = time(20, &mut || {
        rt.block_on(api.quality_trend(&at, "staging"))?;
        Ok(())
    })?;
    let mut bytes = 0;
    let html = time(5, &mut || {
        bytes = rt
            .block_on(api.report(&at, &p.id, ReportFormat::Html))?
            .len();
        Ok(())
    })?;
    let md = time(5, &mut || {
        rt.block_on(api.report(&at, &p.id, ReportFormat::Markdown))?;
        Ok(())
    })?;
    println!(
        "review of a promotion with 100 inputs × 4 criteria (ideal 0 ms: no model call): open {open:.1} ms · one input's review {review:.1} ms · trend {trend:.1} ms · report html {html:.0} ms ({} KiB) · md {md:.0} ms",
        bytes / 1024
    );
    Ok(())
}
