//! `chainlift gate` on the sample against a local OpenAI-format server: each gate passing and
//! failing for a reason a PM can read.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use support::{completion, OpenAiServer, Reply, Sandbox, Seen, TestResult};

const KEY: &str = "sk-test-gates-0f1e2d3c4b5a6978";

/// Researcher, writer and reviewer answers; `degraded` makes the reviewer score low and
/// `drift` makes the writer break the expected output.
fn server(degraded: Arc<AtomicBool>, drift: Arc<AtomicBool>) -> std::io::Result<OpenAiServer> {
    OpenAiServer::start(Arc::new(move |req: &Seen, _| {
        let schema = &req.body["response_format"]["json_schema"]["schema"];
        if schema["properties"].get("completeness").is_some() {
            let s = if degraded.load(Ordering::SeqCst) {
                2
            } else {
                5
            };
            let why = if s == 2 {
                "sections are thin and sources missing"
            } else {
                "complete and sourced"
            };
            let review = json!({
                "completeness": {"score": s, "rationale": why}, "accuracy": {"score": s, "rationale": why},
                "formatting": {"score": 4, "rationale": "clean"}, "relevance": {"score": s, "rationale": why}
            });
            Reply::json(200, &completion(&review.to_string(), 800, 120))
        } else if !schema.is_null() {
            let mut report = chainlift_testkit::sample_report();
            report["summary"] = json!("A short refund window keeps trust.");
            if drift.load(Ordering::SeqCst) {
                report["sources"][0]["url"] = json!("https://docs.stripe.com/billing");
                report["summary"] = json!("Windows keep trust.");
            }
            Reply::json(200, &completion(&report.to_string(), 1000, 500))
        } else {
            Reply::json(
                200,
                &completion("Brief: refunds are common within 14 days.", 200, 100),
            )
        }
    }))
}

fn live_dev(sb: &Sandbox) -> std::io::Result<()> {
    let env = sb.chain_dir().join("config/dev.env");
    let text = std::fs::read_to_string(&env)?;
    std::fs::write(
        &env,
        text.replace("CHAINLIFT_CASSETTE=cassettes/dev.jsonl", ""),
    )
}

fn gate(
    sb: &Sandbox,
    server: &OpenAiServer,
    args: &[&str],
) -> Result<(i32, Value), Box<dyn std::error::Error>> {
    let out = sb
        .cli()
        .env("CHAINLIFT_SECRETS", "env")
        .env("OPENAI_API_KEY", KEY)
        .env("SLACK_WEBHOOK", "https://hooks.example.test/T/B/gates")
        .env("OPENAI_BASE_URL", &server.base_url)
        .args(["gate", "content-pipeline", "--format", "json"])
        .args(args)
        .output()?;
    let value: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok((out.status.code().unwrap_or(-1), value))
}

fn report<'a>(result: &'a Value, gate: &str) -> &'a Value {
    result["gates"]
        .as_array()
        .and_then(|g| g.iter().find(|r| r["gate"] == gate))
        .unwrap_or(&Value::Null)
}

#[test]
fn quality_passes_on_good_scores_and_fails_on_a_degraded_output() -> TestResult {
    let sb = Sandbox::new()?;
    live_dev(&sb)?;
    let degraded = Arc::new(AtomicBool::new(false));
    let server = server(degraded.clone(), Arc::new(AtomicBool::new(false)))?;
    let (code, result) = gate(&sb, &server, &["--env", "dev", "--only", "quality"])?;
    let quality = report(&result, "quality");
    assert_eq!(
        (code, quality["status"].as_str()),
        (0, Some("passed")),
        "{quality}"
    );
    assert!(
        quality["summary"]
            .as_str()
            .unwrap_or("")
            .starts_with("average 4.75"),
        "{}",
        quality["summary"]
    );
    let evidence = quality["evidence"].to_string();
    assert!(
        evidence.contains("model gpt-5.4-mini, temperature 0"),
        "the reviewer is recorded"
    );
    // The reviewer was asked at temperature 0 with a JSON schema, and never for a verdict.
    let review_req = server
        .requests()
        .into_iter()
        .find(|r| {
            r.body["response_format"]["json_schema"]["schema"]["properties"]
                .get("accuracy")
                .is_some()
        })
        .ok_or("no review")?;
    assert_eq!(review_req.body["temperature"], 0.0);
    assert!(!review_req.body["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .to_lowercase()
        .contains("pass or fail"));

    degraded.store(true, Ordering::SeqCst);
    let (code, result) = gate(&sb, &server, &["--env", "dev", "--only", "quality"])?;
    let quality = report(&result, "quality");
    assert_eq!((code, quality["status"].as_str()), (1, Some("failed")));
    let summary = quality["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("average 2.50 is below 4.0") && summary.contains("lowest: accuracy 2.0"),
        "{summary}"
    );
    assert!(
        quality["evidence"]
            .to_string()
            .contains("sections are thin"),
        "the rationale reaches the report"
    );
    assert!(sb.files_containing(KEY).is_empty());
    Ok(())
}

#[test]
fn smoke_catches_a_schema_drift_and_config_a_missing_secret_and_a_shared_database() -> TestResult {
    let sb = Sandbox::new()?;
    live_dev(&sb)?;
    let drift = Arc::new(AtomicBool::new(false));
    let server = server(Arc::new(AtomicBool::new(false)), drift.clone())?;
    let (code, result) = gate(
        &sb,
        &server,
        &["--env", "dev", "--only", "smoke,cost,config"],
    )?;
    assert_eq!(code, 0, "{result}");
    assert_eq!(report(&result, "smoke")["status"], "passed");
    assert!(report(&result, "cost")["summary"]
        .as_str()
        .unwrap_or("")
        .contains("no baseline"));

    drift.store(true, Ordering::SeqCst);
    let (code, result) = gate(&sb, &server, &["--env", "dev", "--only", "smoke"])?;
    assert_eq!(code, 1);
    let smoke = report(&result, "smoke")["summary"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        smoke.contains("`summary` does not contain \"refund\""),
        "{smoke}"
    );

    // Staging: its Anthropic key is not set, and it points at production's database.
    let staging = sb.chain_dir().join("config/staging.env");
    let text = std::fs::read_to_string(&staging)?;
    std::fs::write(
        &staging,
        text.replace(
            "postgres://staging-db:5432/staging",
            "postgres://prod-db:5432/prod",
        ),
    )?;
    let (code, result) = gate(&sb, &server, &["--env", "staging", "--only", "config"])?;
    assert_eq!(code, 1);
    let config = report(&result, "config");
    let summary = config["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("ANTHROPIC_API_KEY is not set")
            && summary.contains("data.customers_db in `staging` is the same as in `production`"),
        "{summary}"
    );
    let items: Vec<&str> = config["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["ok"] == false)
        .filter_map(|e| e["item"].as_str())
        .collect();
    assert!(
        items.contains(&"secrets-set") && items.contains(&"data-sources"),
        "{items:?}"
    );
    Ok(())
}

#[test]
fn junit_and_rollback_readiness() -> TestResult {
    let sb = Sandbox::new()?;
    let server = server(
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    )?;
    let junit = sb.dir.path().join("gates.xml");
    let out = sb
        .cli()
        .args([
            "gate",
            "content-pipeline",
            "--env",
            "dev",
            "--only",
            "rollback,smoke",
            "--junit",
        ])
        .arg(&junit)
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let xml = std::fs::read_to_string(&junit)?;
    assert!(
        xml.contains("<testsuite name=\"content-pipeline @ dev\" tests=\"2\" failures=\"0\"")
            && xml.contains("name=\"rollback\""),
        "{xml}"
    );

    let ok = |o: std::process::Output| {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        )
    };
    ok(sb
        .cli()
        .args(["version", "create", "content-pipeline", "--tag", "v1"])
        .output()?);
    ok(sb
        .cli()
        .args([
            "deploy",
            "content-pipeline",
            "--version",
            "v1",
            "--env",
            "dev",
        ])
        .output()?);
    let (code, result) = gate(&sb, &server, &["--env", "dev", "--only", "rollback"])?;
    assert_eq!(code, 0);
    let evidence = report(&result, "rollback")["evidence"].to_string();
    // Issue 12 finding 10: the drill takes the real path, and says what it checked.
    assert!(
        evidence.contains("file(s) rebuilt from the history, hash verified")
            && evidence.contains("the rollback code moved a scratch pointer back to v1")
            && evidence.contains(
                "v1 completed its smoke input from cassettes/dev.jsonl with today's config/dev.env"
            ),
        "{evidence}"
    );
    // The drill leaves no scratch pointer behind.
    let scratch = std::process::Command::new("sqlite3")
        .arg(sb.home.join("chainlift.db"))
        .arg("SELECT COUNT(*) FROM deployments WHERE env LIKE '__rollback_drill__%';")
        .output()?;
    assert_eq!(String::from_utf8_lossy(&scratch.stdout).trim(), "0");
    // Without a cassette the replay is reported as not run (never a provider call), and why.
    let dev_env = sb.chain_dir().join("config/dev.env");
    let text = std::fs::read_to_string(&dev_env)?;
    std::fs::write(
        &dev_env,
        text.replace("CHAINLIFT_CASSETTE=cassettes/dev.jsonl", ""),
    )?;
    std::fs::remove_file(sb.chain_dir().join("cassettes/dev.jsonl"))?;
    let (code, result) = gate(&sb, &server, &["--env", "dev", "--only", "rollback"])?;
    let evidence = report(&result, "rollback")["evidence"].to_string();
    assert_eq!(code, 0, "{evidence}");
    assert!(
        evidence.contains("not run: v1 has no cassette for `dev`"),
        "{evidence}"
    );
    // A damaged history fails the gate: the deployed version can no longer be restored.
    let db = sb.home.join("chainlift.db");
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("UPDATE versions SET files = x'00';")
        .status()?;
    assert!(status.success());
    std::fs::remove_dir_all(sb.home.join("versions"))?;
    let (code, result) = gate(&sb, &server, &["--env", "dev", "--only", "rollback"])?;
    assert_eq!(code, 1);
    let summary = report(&result, "rollback")["summary"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(summary.contains("corrupt"), "{summary}");
    let bad = sb
        .cli()
        .args(["gate", "content-pipeline", "--env", "dev", "--only", "smok"])
        .output()?;
    assert_eq!(bad.status.code(), Some(2));
    Ok(())
}

/// The reviewer runs at the chain's concurrency in the env: with two inputs and room for four
/// calls, the two reviews are asked side by side (a review answered in 400 ms; the second
/// arriving less than 400 ms after the first can only mean it did not wait for it).
#[test]
fn quality_reviews_run_side_by_side_at_the_envs_concurrency() -> TestResult {
    let sb = Sandbox::new()?;
    live_dev(&sb)?;
    let env = sb.chain_dir().join("config/dev.env");
    let text = std::fs::read_to_string(&env)?;
    std::fs::write(&env, text.replace("CONCURRENCY=1", "CONCURRENCY=4"))?;
    const REVIEW: std::time::Duration = std::time::Duration::from_millis(400);
    let arrivals = Arc::new(std::sync::Mutex::new(Vec::<std::time::Instant>::new()));
    let seen = arrivals.clone();
    let server = OpenAiServer::start(Arc::new(move |req: &Seen, _| {
        let schema = &req.body["response_format"]["json_schema"]["schema"];
        if schema["properties"].get("completeness").is_some() {
            if let Ok(mut a) = seen.lock() {
                a.push(std::time::Instant::now());
            }
            let review = json!({
                "completeness": {"score": 5, "rationale": "ok"}, "accuracy": {"score": 5, "rationale": "ok"},
                "formatting": {"score": 5, "rationale": "ok"}, "relevance": {"score": 5, "rationale": "ok"}
            });
            Reply::json(200, &completion(&review.to_string(), 800, 120)).delayed(REVIEW)
        } else if !schema.is_null() {
            Reply::json(
                200,
                &completion(&chainlift_testkit::sample_report().to_string(), 1000, 500),
            )
        } else {
            Reply::json(200, &completion("Brief: refunds.", 200, 100))
        }
    }))?;
    let (code, result) = gate(&sb, &server, &["--env", "dev", "--only", "quality"])?;
    assert_eq!(code, 0, "{result}");
    let mut at = arrivals.lock().map_err(|_| "poisoned")?.clone();
    at.sort();
    assert_eq!(at.len(), 2, "one review per input");
    let gap = at[1] - at[0];
    assert!(
        gap < REVIEW,
        "the second review came {gap:?} after the first: reviews waited for each other"
    );
    Ok(())
}
