//! The `chainlift` binary end to end: exit codes, JSON fields, offline runs, a run against a
//! local server speaking the OpenAI wire format, and secrets in the real keychain.

mod support;

use std::sync::Arc;

use serde_json::{json, Value};
use support::{sample_responder, OpenAiServer, Sandbox, TestResult};

fn stdout_json(out: &std::process::Output) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(&out.stdout)
}

#[test]
fn validate_staging_passes_without_a_keychain() -> TestResult {
    let sb = Sandbox::new()?;
    let out = sb
        .cli()
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .args([
            "validate",
            "chains/content-pipeline",
            "--env",
            "staging",
            "--format",
            "json",
        ])
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = stdout_json(&out)?;
    assert_eq!(report["ok"], json!(true));
    assert_eq!(report["envs"], json!(["staging"]));
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"secret-unset"),
        "unset secrets are warnings: {codes:?}"
    );
    Ok(())
}

#[test]
fn broken_chain_yaml_exits_2_naming_file_and_line() -> TestResult {
    let sb = Sandbox::new()?;
    let chain = sb.chain_dir().join("chain.yaml");
    let text = std::fs::read_to_string(&chain)?;
    std::fs::write(
        &chain,
        text.replacen("agents:\n", "agents:\n  - name: [broken\n", 1),
    )?;
    let out = sb
        .cli()
        .args(["validate", "content-pipeline", "--env", "staging"])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("chain.yaml:7") || err.contains("chain.yaml:8"),
        "{err}"
    );
    Ok(())
}

#[test]
fn unresolved_variable_is_a_finding_with_exit_1() -> TestResult {
    let sb = Sandbox::new()?;
    let env = sb.chain_dir().join("config/production.env");
    let text = std::fs::read_to_string(&env)?;
    std::fs::write(&env, text.replace("WRITER_MODEL=claude-sonnet\n", ""))?;
    let out = sb
        .cli()
        .args(["validate", "content-pipeline", "--format", "json"])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    let report = stdout_json(&out)?;
    let finding = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["code"] == "unresolved-var")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(finding["env"], "production");
    assert!(finding["message"]
        .as_str()
        .unwrap_or("")
        .contains("WRITER_MODEL"));
    assert!(finding["file"]
        .as_str()
        .unwrap_or("")
        .ends_with("chain.yaml"));
    assert_eq!(finding["line"], 11, "the line holding ${{WRITER_MODEL}}");
    Ok(())
}

#[test]
fn offline_run_then_runs_last_has_the_contract_fields() -> TestResult {
    let sb = Sandbox::new()?;
    let input = sb.input();
    let out = sb
        .cli()
        .args(["run", "content-pipeline", "--env", "dev", "--input"])
        .arg(&input)
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = sb
        .cli()
        .args(["runs", "last", "--format", "json"])
        .output()?;
    assert_eq!(out.status.code(), Some(0));
    let run = stdout_json(&out)?;
    for field in [
        "id",
        "chain",
        "env",
        "version",
        "version_hash",
        "deployment_id",
        "status",
        "cost",
        "tokens_in",
        "tokens_out",
        "duration_ms",
        "started_at",
        "output",
        "steps",
    ] {
        assert!(run.get(field).is_some(), "runs last lacks `{field}`: {run}");
    }
    assert_eq!(run["status"], "completed");
    assert_eq!(run["env"], "dev");
    assert_eq!(run["version"].as_str().map(str::len), Some(12));
    assert_eq!(run["version_hash"].as_str().map(str::len), Some(64));
    let steps = run["steps"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        steps
            .iter()
            .map(|s| s["agent"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["researcher", "writer"]
    );
    assert_eq!(steps[0]["model_reported"], "gpt-5.4-mini-2026-03-17");
    for s in &steps {
        assert!(
            s["started_at"].is_string() && s["offset_ms"].is_u64(),
            "a step's start: {s}"
        );
    }
    let report = std::fs::read_to_string(run["output"].as_str().unwrap_or(""))?;
    assert!(report.starts_with("# Refund policies"), "{report}");
    let events = std::path::Path::new(run["id"].as_str().unwrap_or("")).to_path_buf();
    let run_dir = sb.home.join("runs").join(events).join(".events");
    assert_eq!(
        std::fs::read_dir(run_dir)?.count(),
        3,
        "chain:start, research:done, chain:complete"
    );
    Ok(())
}

#[test]
fn run_against_a_local_openai_server_records_tokens_and_cost_and_leaks_no_key() -> TestResult {
    let sb = Sandbox::new()?;
    let server = OpenAiServer::start(sample_responder())?;
    let key = "sk-test-3b9f0c1e7a5d4c2b9e8f";
    let out = sb.run_live(&server, key)?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let run = stdout_json(&out)?;
    assert_eq!(
        (run["tokens_in"].as_u64(), run["tokens_out"].as_u64()),
        (Some(1200), Some(600))
    );
    // gpt-5.4-mini: $0.25 in, $2.00 out per million tokens.
    let expected = (1200.0 * 0.25 + 600.0 * 2.0) / 1e6;
    assert!(
        (run["cost"].as_f64().unwrap_or(-1.0) - expected).abs() < 1e-12,
        "{}",
        run["cost"]
    );

    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.path == "/v1/chat/completions"));
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    assert_eq!(seen[1].body["response_format"]["type"], "json_schema");
    assert_eq!(
        seen[1].body["response_format"]["json_schema"]["strict"],
        false
    );
    assert_eq!(seen[0].body["max_tokens"], 1500);
    let prompt = seen[1].body["messages"][0]["content"]
        .as_str()
        .unwrap_or("");
    assert!(
        prompt.contains("Brief: refunds are common"),
        "the writer sees the researcher's output"
    );

    assert!(
        sb.files_containing(key).is_empty(),
        "the key leaked into {:?}",
        sb.files_containing(key)
    );
    Ok(())
}

#[test]
fn a_refused_key_fails_the_run_with_exit_1_and_a_fix_without_leaking_it() -> TestResult {
    let sb = Sandbox::new()?;
    let server = OpenAiServer::start(Arc::new(|_: &support::Seen, _| {
        support::Reply::json(
            401,
            &json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}),
        )
    }))?;
    let key = "sk-test-refused-0a1b2c3d4e5f";
    let out = sb.run_live(&server, key)?;
    assert_eq!(out.status.code(), Some(1));
    let run = stdout_json(&out)?;
    assert_eq!(run["status"], "failed");
    let error = run["error"].as_str().unwrap_or("");
    assert!(
        error.contains("401") && error.contains("secrets set"),
        "{error}"
    );
    assert_eq!(server.requests().len(), 1, "a 401 is not retried");
    assert!(sb.files_containing(key).is_empty());
    Ok(())
}

#[test]
fn bad_inputs_exit_2_with_the_file_named() -> TestResult {
    let sb = Sandbox::new()?;
    let out = sb
        .cli()
        .args([
            "run",
            "content-pipeline",
            "--env",
            "dev",
            "--input",
            "nope.json",
        ])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.json"));

    let bad = sb.dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"topic\": \n")?;
    let out = sb
        .cli()
        .args(["run", "content-pipeline", "--env", "dev", "--input"])
        .arg(&bad)
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.json:3"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let env = sb.chain_dir().join("config/dev.env");
    std::fs::write(&env, "RESEARCHER_MODEL=gpt-5.4-mini\nthis line is wrong\n")?;
    let out = sb
        .cli()
        .args(["validate", "content-pipeline", "--env", "dev"])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dev.env:2"));

    let out = sb
        .cli()
        .args(["run", "content-pipeline", "--env", "qa", "--input"])
        .arg(sb.input())
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown env `qa`"));
    assert_eq!(
        std::fs::read_dir(sb.home.join("runs"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "no run was started"
    );
    Ok(())
}

#[test]
fn var_on_a_secret_is_refused() -> TestResult {
    let sb = Sandbox::new()?;
    let out = sb
        .cli()
        .args([
            "run",
            "content-pipeline",
            "--env",
            "dev",
            "--var",
            "SLACK_WEBHOOK=https://x",
            "--input",
        ])
        .arg(sb.input())
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SLACK_WEBHOOK is a secret"));
    Ok(())
}

#[test]
fn no_keychain_is_a_clear_error_not_a_hang() -> TestResult {
    let sb = Sandbox::new()?;
    let out = sb
        .cli()
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env_remove("DISPLAY")
        .args(["secrets", "set", "--env", "dev", "SLACK_WEBHOOK"])
        .write_stdin("https://hooks.example.test/never-stored\n")
        .timeout(std::time::Duration::from_secs(30))
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no keychain available"), "{err}");
    assert!(!err.contains("never-stored"));
    let slack = sb.secret_status("dev", "SLACK_WEBHOOK")?;
    assert_eq!(slack["set"], false, "nothing was recorded as set");
    Ok(())
}

#[test]
fn diff_shows_the_seeds_differences_and_never_a_secret_value() -> TestResult {
    let sb = Sandbox::new()?;
    // A secret pasted into an env file by mistake must still never be printed.
    let leaked = "https://hooks.example.test/services/T0/B0/never-print-me";
    let env = sb.chain_dir().join("config/staging.env");
    std::fs::write(
        &env,
        format!("{}SLACK_WEBHOOK={leaked}\n", std::fs::read_to_string(&env)?),
    )?;

    let out = sb
        .cli()
        .args([
            "diff",
            "content-pipeline",
            "staging",
            "production",
            "--format",
            "json",
        ])
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!text.contains("never-print-me"), "{text}");
    let diff: Value = serde_json::from_str(&text)?;
    let key = |k: &str| {
        diff["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["key"] == k)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(key("AGENT_TIMEOUT")["a"], "120");
    assert_eq!(key("AGENT_TIMEOUT")["b"], "60");
    assert_eq!(key("SLACK_WEBHOOK")["change"], "removed");
    assert_eq!(key("SLACK_WEBHOOK")["a"], "****");
    let writer = diff["agents"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["agent"] == "writer")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        (
            writer["a"]["timeout_secs"].as_f64(),
            writer["b"]["timeout_secs"].as_f64()
        ),
        (Some(120.0), Some(60.0))
    );
    assert_eq!(
        writer["a"]["model"], writer["b"]["model"],
        "staging runs production's models"
    );
    assert!(diff["secrets"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s["name"] == "ANTHROPIC_API_KEY" && s["a_set"] == false));

    let out = sb
        .cli()
        .args(["diff", "content-pipeline", "dev", "production"])
        .output()?;
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("gpt-5.4-mini")
            && text.contains("claude-sonnet")
            && text.contains("300s → 60s"),
        "{text}"
    );

    let out = sb
        .cli()
        .args(["diff", "content-pipeline", "dev", "qa"])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/mentiko")
        .join(name)
}

#[test]
fn mentiko_chains_of_both_dialects_import_into_chains_that_validate() -> TestResult {
    let sb = Sandbox::new()?;
    let into = sb.dir.path().join("imported");
    for (file, chain, dialect, must_note) in [
        (
            "blog-content-pipeline.json",
            "content-pipeline",
            "blog",
            "emits 2 events",
        ),
        (
            "repo-ticket-triage.json",
            "ticket-triage",
            "repo",
            "branch conditions",
        ),
    ] {
        let out = sb
            .cli()
            .args(["import", "--format", "json", "--into"])
            .arg(&into)
            .arg(fixture(file))
            .output()?;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let report = stdout_json(&out)?;
        assert_eq!(report["chain"], chain);
        assert_eq!(report["dialect"], dialect);
        assert_eq!(report["validation"]["errors"], 0, "{report}");
        let notes = report["notes"].to_string();
        assert!(
            notes.contains(must_note),
            "{file}: what was lost is listed: {notes}"
        );
        // The imported chain is a real chain: validate it again through the CLI.
        let out = sb
            .cli()
            .args(["validate", chain, "--project"])
            .arg(&into)
            .output()?;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let dir = into.join("chains/content-pipeline");
    let formatter = std::fs::read_to_string(dir.join("agents/formatter.yaml"))?;
    assert!(
        formatter.contains("${OUTPUT_FORMAT}")
            && formatter.contains("triggers: [\"summary:complete\"]"),
        "{formatter}"
    );
    assert!(
        formatter.contains("emits: \"chain:complete\""),
        "chain-complete maps to chain:complete"
    );
    let researcher = std::fs::read_to_string(dir.join("agents/researcher.yaml"))?;
    assert!(
        researcher.contains("triggers: [\"chain:start\"]"),
        "manual-start maps to chain:start"
    );
    let env = std::fs::read_to_string(dir.join("config/staging.env"))?;
    assert!(
        env.contains("TOPIC=AI agents in production") && env.contains("MODEL=gpt-5.4-mini"),
        "{env}"
    );
    assert!(
        !env.contains("paste-yours-here"),
        "a secret-looking variable's value is not copied"
    );
    let triage = into.join("chains/ticket-triage");
    let classifier = std::fs::read_to_string(triage.join("agents/classifier.yaml"))?;
    assert!(
        classifier.contains("emit: \"ticket:classified:urgent\"")
            && classifier.contains("on_error: \"escalate\""),
        "{classifier}"
    );
    let urgent = std::fs::read_to_string(triage.join("agents/urgent.yaml"))?;
    assert!(
        urgent.contains("page the on-call engineer"),
        "spec: files beside the chain become the prompt"
    );

    // Importing again would overwrite: refused, nothing changed.
    let before = std::fs::read_to_string(dir.join("chain.yaml"))?;
    let out = sb
        .cli()
        .args(["import", "--into"])
        .arg(&into)
        .arg(fixture("blog-content-pipeline.json"))
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(dir.join("chain.yaml"))?, before);

    let bad = sb.dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"name\": \"x\",\n  \"agents\": [\n")?;
    let out = sb
        .cli()
        .args(["import", "--into"])
        .arg(&into)
        .arg(&bad)
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.json:4"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[test]
fn the_sample_runs_in_staging_against_an_anthropic_format_server_with_exact_cost() -> TestResult {
    let sb = Sandbox::new()?;
    let server = OpenAiServer::start(Arc::new(|req: &support::Seen, _| {
        let model = req.body["model"].as_str().unwrap_or("").to_string();
        if req.body.get("tools").is_some() {
            let report = chainlift_testkit::sample_report();
            support::Reply::json(
                200,
                &chainlift_testkit::anthropic_message(&model, None, Some(&report), 1000, 500),
            )
        } else {
            support::Reply::json(
                200,
                &chainlift_testkit::anthropic_message(
                    &model,
                    Some("Brief: refunds."),
                    None,
                    200,
                    100,
                ),
            )
        }
    }))?;
    let key = "anthropic-test-staging-5e6f7a8b9c0d1e2f";
    let out = sb
        .cli()
        .env("CHAINLIFT_SECRETS", "env")
        .env("ANTHROPIC_API_KEY", key)
        .env("ANTHROPIC_BASE_URL", &server.base_url)
        .args([
            "run",
            "content-pipeline",
            "--env",
            "staging",
            "--format",
            "json",
            "--input",
        ])
        .arg(sb.input())
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let run = stdout_json(&out)?;
    // claude-haiku $1/$5 for the researcher, claude-sonnet $3/$15 for the writer, per Mtok.
    let expected = (200.0 * 1.0 + 100.0 * 5.0 + 1000.0 * 3.0 + 500.0 * 15.0) / 1e6;
    assert!(
        (run["cost"].as_f64().unwrap_or(-1.0) - expected).abs() < 1e-12,
        "{}",
        run["cost"]
    );
    let models: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.body["model"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(models, ["claude-haiku-4-5", "claude-sonnet-4-5"]);
    assert!(server
        .requests()
        .iter()
        .all(|r| r.header("x-api-key") == Some(key)));
    assert_eq!(run["steps"][1]["tokens_in"], 1000);
    assert!(sb.files_containing(key).is_empty());
    Ok(())
}

#[test]
fn the_daily_cap_refuses_to_start_and_runs_filter_by_status_and_version() -> TestResult {
    let sb = Sandbox::new()?;
    let run = |extra: &[&str]| -> std::io::Result<std::process::Output> {
        sb.cli()
            .args([
                "run",
                "content-pipeline",
                "--env",
                "dev",
                "--format",
                "json",
                "--input",
            ])
            .arg(sb.input())
            .args(extra)
            .output()
    };
    let first = run(&["--var", "MAX_COST_PER_DAY=0.001"])?;
    assert_eq!(first.status.code(), Some(0));
    let refused = run(&["--var", "MAX_COST_PER_DAY=0.001"])?;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("was not started"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(
        run(&[])?.status.code(),
        Some(0),
        "the sample's own cap still has room"
    );

    let hash = stdout_json(&first)?["version_hash"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let list = |args: &[&str]| -> Result<Value, Box<dyn std::error::Error>> {
        let out = sb
            .cli()
            .args(["runs", "--format", "json"])
            .args(args)
            .output()?;
        Ok(stdout_json(&out)?)
    };
    assert_eq!(
        list(&["--status", "completed"])?.as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        list(&["--status", "failed"])?.as_array().map(Vec::len),
        Some(0)
    );
    assert_eq!(
        list(&["--version", &hash[..7]])?.as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        list(&["--version", "0000000"])?.as_array().map(Vec::len),
        Some(0)
    );
    let bad = sb.cli().args(["runs", "--version", "abc"]).output()?;
    assert_eq!(bad.status.code(), Some(2));
    let last = sb
        .cli()
        .args(["runs", "last", "--status", "completed", "--format", "json"])
        .output()?;
    assert_eq!(stdout_json(&last)?["status"], "completed");
    Ok(())
}

#[test]
fn validate_output_checks_a_file_against_a_schema() -> TestResult {
    let sb = Sandbox::new()?;
    let out = sb
        .cli()
        .args(["run", "content-pipeline", "--env", "dev", "--input"])
        .arg(sb.input())
        .output()?;
    assert_eq!(out.status.code(), Some(0));
    let runs = sb.home.join("runs");
    let run_dir = std::fs::read_dir(&runs)?
        .flatten()
        .next()
        .map(|e| e.path())
        .ok_or("no run folder")?;
    let output = run_dir.join("outputs/writer/output.json");
    let schema = sb.chain_dir().join("schemas/report.schema.json");
    let ok = sb
        .cli()
        .args(["validate-output"])
        .arg(&output)
        .arg("--schema")
        .arg(&schema)
        .output()?;
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let broken = sb.dir.path().join("broken.json");
    std::fs::write(
        &broken,
        r#"{"title": "t", "summary": "s", "sections": [], "sources": [{"title": "x", "url": "http://insecure"}]}"#,
    )?;
    let bad = sb
        .cli()
        .args(["validate-output", "--format", "json"])
        .arg(&broken)
        .arg("--schema")
        .arg(&schema)
        .output()?;
    assert_eq!(bad.status.code(), Some(1));
    let check = stdout_json(&bad)?;
    let errors = check["errors"].to_string();
    assert!(
        errors.contains("/sections") && errors.contains("/sources/0/url"),
        "{errors}"
    );

    let missing = sb
        .cli()
        .args(["validate-output", "nope.json", "--schema"])
        .arg(&schema)
        .output()?;
    assert_eq!(missing.status.code(), Some(2));
    Ok(())
}

#[test]
fn record_writes_a_cassette_that_replays_offline() -> TestResult {
    let sb = Sandbox::new()?;
    let server = OpenAiServer::start(sample_responder())?;
    let cassette = sb.chain_dir().join("cassettes/dev.jsonl");
    std::fs::remove_file(&cassette)?;
    let out = sb
        .cli()
        .env("CHAINLIFT_SECRETS", "env")
        .env("OPENAI_API_KEY", "sk-test-record-11112222333344445555")
        .env("OPENAI_BASE_URL", &server.base_url)
        .args([
            "run",
            "content-pipeline",
            "--env",
            "dev",
            "--record",
            "--format",
            "json",
            "--input",
        ])
        .arg(sb.input())
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live = stdout_json(&out)?;
    assert_eq!(
        std::fs::read_to_string(&cassette)?.lines().count(),
        2,
        "one line per call"
    );
    assert!(!std::fs::read_to_string(&cassette)?.contains("sk-test-record"));

    // Offline now: the server is not asked again and the run is the same.
    let out = sb
        .cli()
        .args([
            "run",
            "content-pipeline",
            "--env",
            "dev",
            "--format",
            "json",
            "--input",
        ])
        .arg(sb.input())
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed = stdout_json(&out)?;
    assert_eq!(server.requests().len(), 2);
    assert_eq!(replayed["tokens_in"], live["tokens_in"]);
    assert_eq!(replayed["cost"], live["cost"]);
    assert_eq!(replayed["output_preview"], live["output_preview"]);
    Ok(())
}

#[test]
fn ctrl_c_cancels_the_run_and_records_it_as_cancelled() -> TestResult {
    let sb = Sandbox::new()?;
    let server = OpenAiServer::start(Arc::new(|_: &support::Seen, _| {
        support::Reply::json(200, &support::completion("late", 1, 1))
            .delayed(std::time::Duration::from_secs(20))
    }))?;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("chainlift"))
        .env("CHAINLIFT_HOME", &sb.home)
        .env("CHAINLIFT_SECRETS", "env")
        .env("OPENAI_API_KEY", "sk-test-cancel-99998888777766665555")
        .env("OPENAI_BASE_URL", &server.base_url)
        .current_dir(&sb.project)
        .args([
            "run",
            "content-pipeline",
            "--env",
            "dev",
            "--var",
            "CHAINLIFT_CASSETTE=",
            "--input",
        ])
        .arg(sb.input())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.requests().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: signalling our own child process by its pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait()?;
    assert_eq!(status.code(), Some(1));
    let last = sb
        .cli()
        .args(["runs", "last", "--format", "json"])
        .output()?;
    let run = stdout_json(&last)?;
    assert_eq!(run["status"], "cancelled");
    assert_eq!(run["steps"][0]["agent"], "researcher");
    Ok(())
}
