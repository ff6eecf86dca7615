//! `chainlift serve` as a process on 127.0.0.1, driven by a real HTTP client (DESIGN.md §9):
//! every status code, idempotency under concurrent duplicates, the queue, drain on SIGTERM, and
//! no token or provider key in anything serve answered or logged.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

use hmac::Mac as _;
use serde_json::{json, Value};
use support::{OpenAiServer, Sandbox, TestResult};

const TOKEN: &str = "clt_serve_test_token_4f1d9a";
const KEY: &str = "sk-serve-test-provider-key-77aa";

/// The sample with an input schema, v1 deployed to dev. With `server`, dev calls it (no
/// cassette).
fn deployed(server: Option<&OpenAiServer>) -> Result<Sandbox, Box<dyn std::error::Error>> {
    deployed_with(server, None)
}

/// [`deployed`], with `schedule:` replaced when given.
fn deployed_with(
    server: Option<&OpenAiServer>,
    schedule: Option<&str>,
) -> Result<Sandbox, Box<dyn std::error::Error>> {
    let sb = Sandbox::new()?;
    let chain = sb.chain_dir();
    std::fs::write(
        chain.join("schemas/input.schema.json"),
        json!({"type": "object", "required": ["topic"], "properties": {"topic": {"type": "string"}}}).to_string(),
    )?;
    let yaml = std::fs::read_to_string(chain.join("chain.yaml"))?;
    let mut yaml = yaml.replace(
        "agents:\n",
        "input: {schema: schemas/input.schema.json}\nagents:\n",
    );
    if let Some(s) = schedule {
        yaml = yaml.replace("schedule: \"0 9 * * 1-5\"", &format!("schedule: {s}"));
    }
    std::fs::write(chain.join("chain.yaml"), yaml)?;
    if server.is_some() {
        let env = std::fs::read_to_string(chain.join("config/dev.env"))?;
        std::fs::write(
            chain.join("config/dev.env"),
            env.replace("CHAINLIFT_CASSETTE=cassettes/dev.jsonl", ""),
        )?;
    }
    for args in [
        vec!["version", "create", "content-pipeline", "--tag", "v1"],
        vec![
            "deploy",
            "content-pipeline",
            "--env",
            "dev",
            "--version",
            "v1",
        ],
    ] {
        let out = sb.cli().args(&args).output()?;
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(sb)
}

/// [`deployed_with`] calling `server`, with dev watched by `monitor` (DESIGN.md §10).
fn watched(server: &OpenAiServer, monitor: &str) -> Result<Sandbox, Box<dyn std::error::Error>> {
    let sb = deployed_with(Some(server), None)?;
    let policy = sb.project.join("chainlift.yaml");
    let text = std::fs::read_to_string(&policy)?;
    std::fs::write(
        &policy,
        text.replace(
            "  - {name: dev}",
            &format!("  - name: dev\n    monitor: {monitor}"),
        ),
    )?;
    Ok(sb)
}

/// The CLI, which must succeed: its JSON answer (null when it printed none).
fn cli_ok(sb: &Sandbox, args: &[&str]) -> Result<Value, Box<dyn std::error::Error>> {
    let out = sb.cli().args(args).output()?;
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

/// The files as they are now become v2; serve starts (with `vars`) and v2 is deployed to dev
/// as a canary for `percent` % of requests.
fn serve_with_canary(
    sb: &Sandbox,
    provider: &OpenAiServer,
    percent: &str,
    vars: &[(&str, &str)],
) -> Result<Serve, Box<dyn std::error::Error>> {
    cli_ok(
        sb,
        &["version", "create", "content-pipeline", "--tag", "v2"],
    )?;
    let serve = Serve::start_with(sb, Some(provider), &["--env", "dev"], false, vars)?;
    cli_ok(
        sb,
        &[
            "deploy",
            "content-pipeline",
            "--env",
            "dev",
            "--version",
            "v2",
            "--canary",
            percent,
        ],
    )?;
    Ok(serve)
}

struct Serve {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Serve {
    fn start(
        sb: &Sandbox,
        server: Option<&OpenAiServer>,
        extra: &[&str],
        token: bool,
    ) -> Result<Serve, Box<dyn std::error::Error>> {
        Self::start_with(sb, server, extra, token, &[])
    }

    fn start_with(
        sb: &Sandbox,
        server: Option<&OpenAiServer>,
        extra: &[&str],
        token: bool,
        vars: &[(&str, &str)],
    ) -> Result<Serve, Box<dyn std::error::Error>> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let log = sb.dir.path().join(format!(
            "serve-{}.log",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("chainlift"));
        cmd.env("CHAINLIFT_HOME", &sb.home)
            .envs(
                sb.database
                    .iter()
                    .map(|url| ("CHAINLIFT_DATABASE_URL", url)),
            )
            .env("CHAINLIFT_SECRETS", "env")
            .env("OPENAI_API_KEY", KEY)
            .env("CHAINLIFT_LOG", "debug")
            .current_dir(&sb.project)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?);
        if token {
            cmd.env("CHAINLIFT_SERVE_TOKEN", TOKEN);
        } else {
            cmd.env_remove("CHAINLIFT_SERVE_TOKEN");
        }
        if let Some(s) = server {
            cmd.env("OPENAI_BASE_URL", &s.base_url);
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let base = line
            .split_whitespace()
            .nth(2)
            .ok_or_else(|| {
                format!(
                    "serve printed {line:?}; log: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })?
            .to_string();
        Ok(Serve { child, base, log })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn term(&mut self) -> std::io::Result<std::process::ExitStatus> {
        // SIGTERM, as a service manager sends it.
        let pid = self.child.id() as i32;
        unsafe { libc::kill(pid, libc::SIGTERM) };
        self.child.wait()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn sign(body: &[u8]) -> String {
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(TOKEN.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn error_of(r: reqwest::Response) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let status = r.status().as_u16();
    Ok((status, r.json().await?))
}

#[test]
fn every_status_code_of_serve_from_a_real_client() -> TestResult {
    let sb = deployed(None)?;
    let serve = Serve::start(&sb, None, &["--env", "dev", "--max-body", "4096"], true)?;
    let input = std::fs::read(sb.input())?;
    let mut seen = String::new();
    runtime()?.block_on(async {
        let http = reqwest::Client::new();
        let runs = serve.url("/v1/chains/content-pipeline/runs");
        let post = |url: &str| http.post(url).header("content-type", "application/json");

        let r = http.get(serve.url("/healthz")).send().await?;
        assert_eq!(r.status(), 200);
        let r = http.get(serve.url("/readyz")).send().await?;
        assert_eq!(r.status(), 200);

        // 401 without the token, and with a wrong one.
        let (s, e) = error_of(post(&runs).body(input.clone()).send().await?).await?;
        assert_eq!(s, 401, "{e}");
        assert_eq!(e["error"]["code"], "refused");
        let r = post(&runs).bearer_auth("clt_wrong").body(input.clone()).send().await?;
        assert_eq!(r.status(), 401);

        // 200 with ?wait: the whole run object, its trigger api.
        let r = post(&format!("{runs}?wait=60")).bearer_auth(TOKEN).body(input.clone()).send().await?;
        assert_eq!(r.status(), 200);
        let run: Value = r.json().await?;
        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["trigger"], "api");
        assert_eq!(run["version"], "v1");
        seen.push_str(&run.to_string());

        // 202 with a signature instead of the bearer; the id reads at once.
        let r = post(&runs).header("x-chainlift-signature-256", sign(&input)).body(input.clone()).send().await?;
        assert_eq!(r.status(), 202);
        let accepted: Value = r.json().await?;
        assert_eq!(accepted["location"], format!("/v1/runs/{}", accepted["id"].as_str().unwrap_or("")));
        seen.push_str(&accepted.to_string());
        let r = http.get(serve.url(accepted["location"].as_str().unwrap_or(""))).bearer_auth(TOKEN).send().await?;
        assert_eq!(r.status(), 200);
        let one: Value = r.json().await?;
        assert_eq!(one["trigger"], "api");
        // A signature of another body is refused.
        let r = post(&runs).header("x-chainlift-signature-256", sign(b"{}")).body(input.clone()).send().await?;
        assert_eq!(r.status(), 401);

        // 400 bad JSON with line and column, 415, 413, 422, 404s.
        let (s, e) = error_of(post(&runs).bearer_auth(TOKEN).body("{\n \"topic\": ").send().await?).await?;
        assert_eq!(s, 400);
        assert!(e["error"]["message"].as_str().is_some_and(|m| m.contains("line 2 column")), "{e}");
        let (s, _) = error_of(http.post(&runs).bearer_auth(TOKEN).body(input.clone()).send().await?).await?;
        assert_eq!(s, 415);
        let big = json!({"topic": "x".repeat(5000)}).to_string();
        let (s, e) = error_of(post(&runs).bearer_auth(TOKEN).body(big).send().await?).await?;
        assert_eq!(s, 413, "{e}");
        let (s, e) = error_of(post(&runs).bearer_auth(TOKEN).body("{\"topic\": 7}").send().await?).await?;
        assert_eq!(s, 422);
        assert!(e["error"]["errors"][0].as_str().is_some_and(|m| m.contains("/topic")), "{e}");
        let (s, _) = error_of(post(&serve.url("/v1/chains/nope/runs")).bearer_auth(TOKEN).body(input.clone()).send().await?).await?;
        assert_eq!(s, 404);
        let (s, _) = error_of(post(&format!("{runs}?env=production")).bearer_auth(TOKEN).body(input.clone()).send().await?).await?;
        assert_eq!(s, 404);
        let (s, _) = error_of(http.get(serve.url("/v1/runs/01a2-nope")).bearer_auth(TOKEN).send().await?).await?;
        assert_eq!(s, 404);
        let (s, _) = error_of(http.get(serve.url("/v2/anything")).send().await?).await?;
        assert_eq!(s, 404);

        // Idempotency: 50 concurrent duplicates, one run, every answer names it.
        let mut all = Vec::new();
        for _ in 0..50 {
            let req = post(&runs).bearer_auth(TOKEN).header("idempotency-key", "order-42").body(input.clone());
            all.push(tokio::spawn(async move { req.send().await }));
        }
        let mut ids = std::collections::BTreeSet::new();
        for h in all {
            let r = h.await??;
            assert!(r.status() == 202 || r.status() == 200, "{}", r.status());
            let v: Value = r.json().await?;
            ids.insert(v["id"].as_str().unwrap_or("").to_string());
        }
        assert_eq!(ids.len(), 1, "{ids:?}");

        let chains: Value = http.get(serve.url("/v1/chains")).bearer_auth(TOKEN).send().await?.json().await?;
        assert_eq!(chains["chains"][0]["envs"]["dev"]["stable"], "v1", "{chains}");
        let metrics = http.get(serve.url("/metrics")).send().await?.text().await?;
        assert!(metrics.contains("chainlift_runs_total{chain=\"content-pipeline\",env=\"dev\",version=\"v1\",status=\"completed\",trigger=\"api\"}"), "{metrics}");
        assert!(metrics.contains("chainlift_queue_depth"));
        seen.push_str(&metrics);
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    // One run for the 50 duplicates: the CLI lists api runs by trigger.
    let out = sb
        .cli()
        .args(["runs", "--trigger", "api", "--format", "json"])
        .output()?;
    let listed: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");
    // Neither the token nor the provider key is in any answer, log line or file.
    seen.push_str(&serve.log());
    for secret in [TOKEN, KEY] {
        assert!(!seen.contains(secret), "{secret} leaked");
        assert!(
            sb.files_containing(secret).is_empty(),
            "{secret} in {:?}",
            sb.files_containing(secret)
        );
    }
    Ok(())
}

#[test]
fn without_a_token_serve_stays_on_loopback() -> TestResult {
    let sb = deployed(None)?;
    let out = sb
        .cli()
        .env("CHAINLIFT_SECRETS", "env")
        .env_remove("CHAINLIFT_SERVE_TOKEN")
        .args(["serve", "--env", "dev", "--listen", "0.0.0.0:0"])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("serve token set --env dev"));
    Ok(())
}

/// A provider answering after `delay`: runs stay in flight long enough to queue and drain.
fn slow(delay: Duration) -> std::io::Result<OpenAiServer> {
    let inner = support::sample_responder();
    OpenAiServer::start(Arc::new(move |req, n| inner(req, n).delayed(delay)))
}

#[test]
fn a_full_queue_is_429_and_sigterm_drains_then_cancels() -> TestResult {
    let provider = slow(Duration::from_millis(1500))?;
    let sb = deployed(Some(&provider))?;
    // dev: CONCURRENCY=1. One runs, one waits, the third is refused.
    let mut serve = Serve::start(
        &sb,
        Some(&provider),
        &["--env", "dev", "--queue", "1", "--drain", "1s"],
        false,
    )?;
    let input = std::fs::read(sb.input())?;
    let (codes, ids) = runtime()?.block_on(async {
        let http = reqwest::Client::new();
        let runs = serve.url("/v1/chains/content-pipeline/runs");
        let mut codes = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..3 {
            let r = http
                .post(&runs)
                .header("content-type", "application/json")
                .body(input.clone())
                .send()
                .await?;
            codes.push(r.status().as_u16());
            if r.status() == 429 {
                assert!(r.headers().get("retry-after").is_some());
            } else {
                let v: Value = r.json().await?;
                ids.push(v["id"].as_str().unwrap_or("").to_string());
            }
        }
        Ok::<_, Box<dyn std::error::Error>>((codes, ids))
    })?;
    assert_eq!(codes, [202, 202, 429]);
    // SIGTERM: no new work (503), the running one gets 1 s, then what is left is cancelled.
    let pid = serve.child.id() as i32;
    unsafe { libc::kill(pid, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(200));
    let during = runtime()?.block_on(async {
        let r = reqwest::Client::new()
            .post(serve.url("/v1/chains/content-pipeline/runs"))
            .header("content-type", "application/json")
            .body(input.clone())
            .send()
            .await?;
        Ok::<_, Box<dyn std::error::Error>>(r.status().as_u16())
    })?;
    assert_eq!(during, 503);
    let status = serve.term()?;
    assert!(status.success(), "{status:?}: {}", serve.log());
    // None lost: each accepted run ended, the queued one cancelled before it started.
    let mut ended = Vec::new();
    for id in &ids {
        let out = sb
            .cli()
            .args(["runs", "show", id, "--format", "json"])
            .output()?;
        let run: Value = serde_json::from_slice(&out.stdout)?;
        ended.push(run["status"].as_str().unwrap_or("").to_string());
    }
    assert!(
        ended.iter().all(|s| s == "completed" || s == "cancelled"),
        "{ended:?}"
    );
    assert!(ended.contains(&"cancelled".to_string()), "{ended:?}");
    Ok(())
}

/// A 6-field cron firing every 2 s, two serve processes on one data folder: one holds the
/// lease and fires, the other fires nothing; ticks while the previous run is slow are skipped
/// and counted; scheduled runs never overlap.
#[test]
fn a_schedule_fires_from_one_process_and_never_overlaps() -> TestResult {
    let provider = slow(Duration::from_millis(1600))?;
    let sb = deployed_with(
        Some(&provider),
        Some("{cron: \"*/2 * * * * *\", input: test-fixtures/sample-input.json}"),
    )?;
    let args = ["--env", "dev", "--drain", "20s"];
    let mut a = Serve::start(&sb, Some(&provider), &args, false)?;
    let mut b = Serve::start(&sb, Some(&provider), &args, false)?;
    std::thread::sleep(Duration::from_secs(9));
    let (ma, mb) = runtime()?.block_on(async {
        let http = reqwest::Client::new();
        let ma = http.get(a.url("/metrics")).send().await?.text().await?;
        let mb = http.get(b.url("/metrics")).send().await?.text().await?;
        Ok::<_, Box<dyn std::error::Error>>((ma, mb))
    })?;
    assert!(a.term()?.success(), "{}", a.log());
    assert!(b.term()?.success(), "{}", b.log());
    let logs = format!("{}\n---\n{}", a.log(), b.log());
    let fired = |m: &str| {
        m.contains("trigger=\"schedule\"") || m.contains("chainlift_schedule_skipped_total{")
    };
    assert!(
        fired(&ma) != fired(&mb),
        "exactly one process schedules:\n{ma}\n---\n{mb}\n{logs}"
    );
    let skipped = if fired(&ma) { &ma } else { &mb };
    assert!(
        skipped
            .contains("chainlift_schedule_skipped_total{chain=\"content-pipeline\",env=\"dev\"}"),
        "a tick came while the previous run (two 1.6 s calls) still ran: {skipped}"
    );
    let out = sb
        .cli()
        .args(["runs", "--trigger", "schedule", "--format", "json"])
        .output()?;
    let runs: Value = serde_json::from_slice(&out.stdout)?;
    let runs = runs.as_array().cloned().unwrap_or_default();
    assert!(
        (2..=4).contains(&runs.len()),
        "{} scheduled runs: {runs:?}",
        runs.len()
    );
    // No overlap: each run started after the previous one ended.
    let mut spans: Vec<(String, String)> = runs
        .iter()
        .map(|r| {
            (
                r["started_at"].as_str().unwrap_or("").to_string(),
                r["ended_at"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[1].0 >= w[0].1, "overlap: {w:?}");
    }
    assert!(runs.iter().all(|r| r["status"] == "completed"), "{runs:?}");
    Ok(())
}

/// DESIGN.md §9: each request reads the pointer. A deploy and a rollback by the CLI apply to the
/// very next request of a running serve, with no restart.
#[test]
fn deploy_and_rollback_while_serving_apply_to_the_next_request() -> TestResult {
    let sb = deployed(None)?;
    // v2: another version of the same chain (a comment is enough to make it one).
    let yaml = sb.chain_dir().join("chain.yaml");
    let text = std::fs::read_to_string(&yaml)?;
    std::fs::write(&yaml, format!("{text}# v2\n"))?;
    let ok = |args: &[&str]| -> TestResult {
        let out = sb.cli().args(args).output()?;
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    ok(&["version", "create", "content-pipeline", "--tag", "v2"])?;
    let serve = Serve::start(&sb, None, &["--env", "dev"], false)?;
    let input = std::fs::read(sb.input())?;
    let rt = runtime()?;
    let version_served = || -> Result<String, Box<dyn std::error::Error>> {
        rt.block_on(async {
            let r = reqwest::Client::new()
                .post(serve.url("/v1/chains/content-pipeline/runs?wait=60"))
                .header("content-type", "application/json")
                .body(input.clone())
                .send()
                .await?;
            let run: Value = r.json().await?;
            Ok(run["version"].as_str().unwrap_or("").to_string())
        })
    };
    assert_eq!(version_served()?, "v1");
    ok(&[
        "deploy",
        "content-pipeline",
        "--env",
        "dev",
        "--version",
        "v2",
    ])?;
    assert_eq!(
        version_served()?,
        "v2",
        "the deploy applies to the next request"
    );
    ok(&["rollback", "content-pipeline", "--env", "dev"])?;
    assert_eq!(
        version_served()?,
        "v1",
        "the rollback applies to the next request"
    );
    Ok(())
}

/// `POST /v1/entrypoints/{name}/runs`: the env's flag picks the chain at each request, so a
/// flag flip by the CLI switches the whole chain for the next request (the seed's flag switch).
#[test]
fn an_entry_point_follows_its_flag_at_each_request() -> TestResult {
    let sb = deployed(None)?;
    let v2 = sb.project.join("chains/content-pipeline-v2");
    support::copy_dir(&sb.chain_dir(), &v2)?;
    let yaml = std::fs::read_to_string(v2.join("chain.yaml"))?;
    std::fs::write(
        v2.join("chain.yaml"),
        yaml.replace("name: content-pipeline", "name: content-pipeline-v2"),
    )?;
    let policy = sb.project.join("chainlift.yaml");
    let text = std::fs::read_to_string(&policy)?;
    std::fs::write(
        &policy,
        format!("{text}entrypoints:\n  content: \"${{USE_NEW_PIPELINE:content-pipeline-v2:content-pipeline}}\"\n"),
    )?;
    let ok = |args: &[&str]| -> TestResult {
        let out = sb.cli().args(args).output()?;
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    ok(&["version", "create", "content-pipeline-v2", "--tag", "v1"])?;
    ok(&[
        "deploy",
        "content-pipeline-v2",
        "--env",
        "dev",
        "--version",
        "v1",
    ])?;
    let serve = Serve::start(&sb, None, &["--env", "dev"], false)?;
    let input = std::fs::read(sb.input())?;
    let rt = runtime()?;
    let post = |path: &str| -> Result<(u16, Value), Box<dyn std::error::Error>> {
        rt.block_on(async {
            let r = reqwest::Client::new()
                .post(serve.url(path))
                .header("content-type", "application/json")
                .body(input.clone())
                .send()
                .await?;
            let status = r.status().as_u16();
            Ok((status, r.json().await?))
        })
    };
    let (status, run) = post("/v1/entrypoints/content/runs?wait=60")?;
    assert_eq!(
        (status, run["chain"].as_str()),
        (200, Some("content-pipeline")),
        "{run}"
    );
    assert_eq!(run["status"], "completed", "{run}");
    ok(&["flag", "set", "dev", "USE_NEW_PIPELINE", "true"])?;
    let (status, run) = post("/v1/entrypoints/content/runs?wait=60")?;
    assert_eq!(
        (status, run["chain"].as_str()),
        (200, Some("content-pipeline-v2")),
        "the flag flip applies to the next request: {run}"
    );
    ok(&["flag", "set", "dev", "USE_NEW_PIPELINE", "off"])?;
    let (_, run) = post("/v1/entrypoints/content/runs?wait=60")?;
    assert_eq!(run["chain"], "content-pipeline", "{run}");
    let (status, err) = post("/v1/entrypoints/nope/runs")?;
    assert_eq!(status, 404, "{err}");
    let message = err["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("entry points: content"), "{message}");
    let (status, err) = post("/v1/entrypoints/..%2Fx/runs")?;
    assert_eq!(status, 404, "{err}");
    Ok(())
}

/// `kill -9` mid-run: the next serve (or any command) ends the run `interrupted`, nothing else
/// changes, and the new serve takes the scheduler lease over once the old one's lapses.
#[test]
fn a_killed_serve_leaves_its_run_interrupted_and_the_next_one_takes_over() -> TestResult {
    let provider = slow(Duration::from_secs(30))?;
    let sb = deployed(Some(&provider))?;
    let mut first = Serve::start(&sb, Some(&provider), &["--env", "dev"], false)?;
    let input = std::fs::read(sb.input())?;
    let id = runtime()?.block_on(async {
        let r = reqwest::Client::new()
            .post(first.url("/v1/chains/content-pipeline/runs"))
            .header("content-type", "application/json")
            .body(input.clone())
            .send()
            .await?;
        let v: Value = r.json().await?;
        Ok::<_, Box<dyn std::error::Error>>(v["id"].as_str().unwrap_or("").to_string())
    })?;
    let status = |sb: &Sandbox| -> Result<String, Box<dyn std::error::Error>> {
        let out = sb
            .cli()
            .args(["runs", "show", &id, "--format", "json"])
            .output()?;
        let run: Value = serde_json::from_slice(&out.stdout)?;
        Ok(run["status"].as_str().unwrap_or("").to_string())
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while status(&sb)? != "running" {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    first.child.kill()?; // SIGKILL
    first.child.wait()?;
    let second = Serve::start(&sb, Some(&provider), &["--env", "dev"], false)?;
    assert_eq!(status(&sb)?, "interrupted");
    // The deployment is untouched, and the new process serves it.
    let out = sb
        .cli()
        .args(["runs", "--status", "running", "--format", "json"])
        .output()?;
    let running: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(running.as_array().map(Vec::len), Some(0), "{running}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if second.log().contains("scheduling=true") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lease was never taken over: {}",
            second.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// DESIGN.md §9: a failed run posts to the env's notify target; with `on: [failure,
/// completion]` a completed one does too, with its output's start. The webhook is a secret: it
/// is in no answer or log.
#[test]
fn failures_and_completions_are_posted_to_the_notify_target() -> TestResult {
    let inner = support::sample_responder();
    let provider = OpenAiServer::start(Arc::new(move |req, n| {
        if req.body.to_string().contains("Topic: FAIL") {
            support::Reply::json(400, &json!({"error": {"message": "bad topic"}}))
        } else {
            inner(req, n)
        }
    }))?;
    let slack = OpenAiServer::start(Arc::new(|_, _| support::Reply::raw(200, "ok")))?;
    let sb = deployed_with(Some(&provider), None)?;
    let yaml = sb.chain_dir().join("chain.yaml");
    let text = std::fs::read_to_string(&yaml)?;
    std::fs::write(
        &yaml,
        text.replace(
            "notify: {slack: \"${SLACK_WEBHOOK}\"}",
            "notify: {slack: \"${SLACK_WEBHOOK}\", on: [failure, completion]}",
        ),
    )?;
    let out = sb
        .cli()
        .args(["version", "create", "content-pipeline", "--tag", "v2"])
        .output()?;
    assert!(out.status.success());
    let out = sb
        .cli()
        .args([
            "deploy",
            "content-pipeline",
            "--env",
            "dev",
            "--version",
            "v2",
        ])
        .output()?;
    assert!(out.status.success());
    let hook = format!("{}/hooks/T000/B000/serve-notify", slack.base_url);
    let serve = Serve::start_with(
        &sb,
        Some(&provider),
        &["--env", "dev"],
        false,
        &[("SLACK_WEBHOOK", &hook)],
    )?;
    let good = std::fs::read(sb.input())?;
    let answers = runtime()?.block_on(async {
        let http = reqwest::Client::new();
        let mut answers = String::new();
        for body in [
            good.clone(),
            br#"{"topic": "FAIL", "audience": "ops"}"#.to_vec(),
        ] {
            let r = http
                .post(serve.url("/v1/chains/content-pipeline/runs?wait=60"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await?;
            answers.push_str(&r.text().await?);
        }
        Ok::<_, Box<dyn std::error::Error>>(answers)
    })?;
    // The posts go out after the run is recorded: give them a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while slack.requests().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let posts: Vec<String> = slack
        .requests()
        .iter()
        .map(|r| r.body["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(
        posts
            .iter()
            .any(|p| p.contains("completed") && p.contains("Refunds")),
        "{posts:?}"
    );
    assert!(posts.iter().any(|p| p.contains("failed")), "{posts:?}");
    assert!(
        !answers.contains(&hook) && !serve.log().contains("hooks/T000"),
        "the webhook is a secret"
    );
    Ok(())
}

/// SIGTERM with ten runs in flight (one running, nine queued): each ends, drained or cancelled;
/// none stays queued or running, none is lost.
#[test]
fn sigterm_with_ten_runs_in_flight_loses_none() -> TestResult {
    let provider = slow(Duration::from_millis(800))?;
    let sb = deployed(Some(&provider))?;
    let mut serve = Serve::start(
        &sb,
        Some(&provider),
        &["--env", "dev", "--queue", "20", "--drain", "2s"],
        false,
    )?;
    let input = std::fs::read(sb.input())?;
    let ids = runtime()?.block_on(async {
        let http = reqwest::Client::new();
        let mut ids = Vec::new();
        for _ in 0..10 {
            let r = http
                .post(serve.url("/v1/chains/content-pipeline/runs"))
                .header("content-type", "application/json")
                .body(input.clone())
                .send()
                .await?;
            assert_eq!(r.status(), 202);
            let v: Value = r.json().await?;
            ids.push(v["id"].as_str().unwrap_or("").to_string());
        }
        Ok::<_, Box<dyn std::error::Error>>(ids)
    })?;
    let status = serve.term()?;
    assert!(status.success(), "{status:?}: {}", serve.log());
    let out = sb
        .cli()
        .args(["runs", "--trigger", "api", "--format", "json"])
        .output()?;
    let runs: Value = serde_json::from_slice(&out.stdout)?;
    let runs = runs.as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 10);
    for id in &ids {
        let run = runs.iter().find(|r| r["id"] == id.as_str());
        let s = run.and_then(|r| r["status"].as_str()).unwrap_or("missing");
        assert!(s == "completed" || s == "cancelled", "{id}: {s}");
    }
    let completed = runs.iter().filter(|r| r["status"] == "completed").count();
    assert!(
        (1..10).contains(&completed),
        "drained {completed}, cancelled the rest"
    );
    Ok(())
}

/// DESIGN.md §10 on a running serve: a canary whose calls fail is rolled back by serve's
/// monitor within an interval of the failing one, the notify target hears why, `/metrics`
/// counts it, and the next requests all go to the stable version.
#[test]
fn a_failing_canary_is_rolled_back_by_serve_within_an_interval() -> TestResult {
    let inner = support::sample_responder();
    let provider = OpenAiServer::start(Arc::new(move |req, n| {
        if req.body.to_string().contains("Write a broken report") {
            support::Reply::json(400, &json!({"error": {"message": "the model refused"}}))
        } else {
            inner(req, n)
        }
    }))?;
    let slack = OpenAiServer::start(Arc::new(|_, _| support::Reply::raw(200, "ok")))?;
    let sb = watched(
        &provider,
        "{window: 20s, interval: 2s, min_runs: 3, steps: [50], max_latency_ratio: 1000}",
    )?;
    let writer = sb.chain_dir().join("agents/writer.yaml");
    let text = std::fs::read_to_string(&writer)?;
    std::fs::write(
        &writer,
        text.replace("Write a report", "Write a broken report"),
    )?;
    let cli = |args: &[&str]| cli_ok(&sb, args);
    let hook = format!("{}/hooks/T000/B000/rollout", slack.base_url);
    let serve = serve_with_canary(&sb, &provider, "20", &[("SLACK_WEBHOOK", &hook)])?;
    let rollout = cli(&[
        "rollout",
        "content-pipeline",
        "--env",
        "dev",
        "--format",
        "json",
    ])?;
    assert_eq!(rollout["state"], "monitoring");
    assert_eq!(rollout["weight"], 20);
    assert_eq!(rollout["candidate"], "v2");
    let input = std::fs::read(sb.input())?;
    let rt = runtime()?;
    let http = reqwest::Client::new();
    let send = |key: String| {
        let (http, url, body) = (
            http.clone(),
            serve.url("/v1/chains/content-pipeline/runs?wait=60"),
            input.clone(),
        );
        async move {
            let r = http
                .post(url)
                .header("content-type", "application/json")
                .header("x-chainlift-key", key)
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            r.json::<Value>().await.map_err(|e| e.to_string())
        }
    };
    // Side by side, as concurrent clients.
    async fn all<F>(futures: Vec<F>) -> Vec<Result<Value, String>>
    where
        F: std::future::Future<Output = Result<Value, String>> + Send + 'static,
    {
        let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.map_err(|e| e.to_string()).and_then(|r| r));
        }
        out
    }
    // Traffic until the monitor acts (at most 15 s).
    let mut first_failure: Option<std::time::Instant> = None;
    let mut rolled_back_at = None;
    let start = std::time::Instant::now();
    let mut i = 0;
    while start.elapsed() < Duration::from_secs(15) {
        let runs = rt.block_on(async {
            let batch: Vec<_> = (0..10)
                .map(|k| send(format!("user-{}", i * 10 + k)))
                .collect();
            all(batch).await
        });
        i += 1;
        for run in runs {
            let run = run?;
            if run["version"] == "v2" && run["status"] == "failed" && first_failure.is_none() {
                first_failure = Some(std::time::Instant::now());
            }
        }
        let r = cli(&[
            "rollout",
            "content-pipeline",
            "--env",
            "dev",
            "--format",
            "json",
        ])?;
        if r["state"] == "rolled_back" {
            rolled_back_at = Some((std::time::Instant::now(), r));
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let first_failure = first_failure.ok_or("no run reached the canary")?;
    let (when, r) = rolled_back_at.ok_or("the monitor did not roll back within 15 s")?;
    // The failing interval ends at most one interval after the first failure; the pass that
    // judges it comes within the scheduler's poll (0.5 s) after that.
    let took = when.duration_since(first_failure);
    assert!(
        took < Duration::from_millis(4_800),
        "rolled back {took:?} after the first failure"
    );
    let why = r["reason"].as_str().unwrap_or("");
    assert!(why.starts_with("failure rate 1.00 > 0.10 over "), "{why}");
    assert_eq!(r["candidate"], Value::Null);
    assert_eq!(r["weight"], 0);
    let failed = r["analyses"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["verdict"] == "failed"))
        .ok_or("no failed analysis")?;
    assert_eq!(failed["metric"], "failure_rate");

    // Every key goes to the stable version now.
    let after =
        rt.block_on(async { all((0..10).map(|k| send(format!("user-{k}"))).collect()).await });
    for run in after {
        assert_eq!(run?["version"], "v1");
    }
    // The notify target heard it, with the reason.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let said = || {
        slack
            .requests()
            .iter()
            .filter_map(|r| r.body["text"].as_str().map(String::from))
            .find(|t| t.contains("rolled back automatically"))
    };
    while said().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = said().ok_or("the notify target heard nothing of the rollback")?;
    assert!(
        text.contains("failure rate") && text.contains("v2"),
        "{text}"
    );
    let metrics =
        rt.block_on(async { http.get(serve.url("/metrics")).send().await?.text().await })?;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("chainlift_rollbacks_total{")
                && l.contains("reason=\"failure_rate\"")
                && l.ends_with(" 1")),
        "{metrics}"
    );
    Ok(())
}

/// DESIGN.md §10: serve killed with `kill -9` in a rollout's window and started again resumes
/// the window from the stored analyses: every interval analyzed once, none lost, no rollback,
/// and the window ends `stable`.
#[test]
fn a_killed_serve_resumes_the_rollout_window() -> TestResult {
    let provider = OpenAiServer::start(support::sample_responder())?;
    let sb = watched(
        &provider,
        "{window: 8s, interval: 2s, min_runs: 3, step_for: 2s, max_latency_ratio: 1000}",
    )?;
    let yaml = sb.chain_dir().join("chain.yaml");
    let text = std::fs::read_to_string(&yaml)?;
    std::fs::write(&yaml, format!("{text}# v2\n"))?;
    let cli = |args: &[&str]| cli_ok(&sb, args);
    let rollout = || {
        cli(&[
            "rollout",
            "content-pipeline",
            "--env",
            "dev",
            "--format",
            "json",
        ])
    };
    let mut first = serve_with_canary(&sb, &provider, "50", &[])?;
    let input = std::fs::read(sb.input())?;
    let rt = runtime()?;
    let http = reqwest::Client::new();
    // A batch of requests, all answered before it returns: nothing is in flight between
    // batches (a run killed mid-flight would count as a failure of the candidate).
    let batch = |base: &str, n: usize| -> TestResult {
        rt.block_on(async {
            for k in 0..n {
                let r = http
                    .post(format!("{base}/v1/chains/content-pipeline/runs?wait=60"))
                    .header("content-type", "application/json")
                    .header("x-chainlift-key", format!("user-{k}"))
                    .body(input.clone())
                    .send()
                    .await?;
                assert_eq!(r.status().as_u16(), 200);
            }
            Ok(())
        })
    };
    // Into the window: the first passing interval takes the canary to the full switch.
    let start = std::time::Instant::now();
    while rollout()?["phase"] != "window" {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no full switch: {}",
            rollout()?
        );
        batch(&first.base, 4)?;
    }
    first.child.kill()?; // SIGKILL, with nothing in flight
    first.child.wait()?;
    let second = Serve::start(&sb, Some(&provider), &["--env", "dev"], false)?;
    // The new process serves at once; its monitor waits for the dead one's lease to expire,
    // then catches up on the intervals it missed.
    let start = std::time::Instant::now();
    let r = loop {
        let r = rollout()?;
        if r["state"] != "monitoring" {
            break r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "the window never ended: {r}\n{}",
            second.log()
        );
        batch(&second.base, 4)?;
    };
    assert_eq!(r["state"], "stable", "{r}");
    assert_eq!(r["stable"], "v2");
    let analyses = r["analyses"].as_array().cloned().unwrap_or_default();
    let mut intervals: Vec<(String, String)> = analyses
        .iter()
        .filter(|a| a["metric"] == "failure_rate")
        .map(|a| {
            (
                a["interval_start"].as_str().unwrap_or("").to_string(),
                a["at"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    intervals.reverse();
    assert_eq!(
        analyses.len(),
        intervals.len() * 3,
        "every interval once, with its three metrics"
    );
    for pair in intervals.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "no interval lost: {intervals:?}");
    }
    assert!(
        analyses.iter().all(|a| a["verdict"] == "successful"),
        "{analyses:?}"
    );
    let audit = cli(&["audit", "--limit", "200"])?;
    assert!(
        !audit.to_string().contains("rollout-rollback"),
        "no rollback: {audit}"
    );
    Ok(())
}

/// DESIGN.md §10's sampled quality: a canary whose outputs the gate's reviewer scores 2/5 is
/// rolled back on quality, and says so.
#[test]
fn a_canary_the_reviewer_scores_low_is_rolled_back_on_quality() -> TestResult {
    let inner = support::sample_responder();
    let provider = OpenAiServer::start(Arc::new(move |req, n| {
        let schema = &req.body["response_format"]["json_schema"]["schema"]["properties"];
        if schema.get("completeness").is_some() {
            let mut scores = serde_json::Map::new();
            for c in ["completeness", "accuracy", "formatting", "relevance"] {
                scores.insert(
                    c.into(),
                    json!({"score": 2, "rationale": format!("{c}: thin")}),
                );
            }
            let text = Value::Object(scores).to_string();
            support::Reply::json(200, &support::completion(&text, 400, 100))
        } else {
            inner(req, n)
        }
    }))?;
    let sb = watched(
        &provider,
        "{window: 20s, interval: 2s, min_runs: 3, steps: [50], quality_sample: 1.0, max_latency_ratio: 1000}",
    )?;
    let yaml = sb.chain_dir().join("chain.yaml");
    let text = std::fs::read_to_string(&yaml)?;
    std::fs::write(&yaml, format!("{text}# v2\n"))?;
    let cli = |args: &[&str]| cli_ok(&sb, args);
    let serve = serve_with_canary(&sb, &provider, "50", &[])?;
    let input = std::fs::read(sb.input())?;
    let rt = runtime()?;
    let http = reqwest::Client::new();
    let start = std::time::Instant::now();
    let mut i = 0;
    let r = loop {
        let r = cli(&[
            "rollout",
            "content-pipeline",
            "--env",
            "dev",
            "--format",
            "json",
        ])?;
        if r["state"] != "monitoring" {
            break r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not rolled back: {r}\n{}",
            serve.log()
        );
        rt.block_on(async {
            for _ in 0..4 {
                i += 1;
                http.post(serve.url("/v1/chains/content-pipeline/runs?wait=60"))
                    .header("content-type", "application/json")
                    .header("x-chainlift-key", format!("user-{i}"))
                    .body(input.clone())
                    .send()
                    .await?;
            }
            Ok::<_, reqwest::Error>(())
        })?;
    };
    assert_eq!(r["state"], "rolled_back", "{r}");
    let why = r["reason"].as_str().unwrap_or("");
    assert!(
        why.starts_with("sampled quality 2.00 < 4.00 over "),
        "{why}"
    );
    Ok(())
}

/// DESIGN.md §11: three serve processes on one history (PostgreSQL in the PostgreSQL pass, one
/// SQLite file otherwise). 1,000 requests spread over the three become 1,000 runs, none run
/// twice (the provider sees each run's calls once), and an Idempotency-Key sent again to
/// another replica returns the first run.
#[test]
fn three_replicas_run_a_thousand_requests_once_each() -> TestResult {
    let provider = OpenAiServer::start(support::sample_responder())?;
    let sb = deployed(Some(&provider))?;
    // Eight agent calls at once in dev (across the replicas on PostgreSQL), not the sample's one.
    let dev = sb.chain_dir().join("config/dev.env");
    std::fs::write(
        &dev,
        std::fs::read_to_string(&dev)?.replace("CONCURRENCY=1", "CONCURRENCY=8"),
    )?;
    cli_ok(
        &sb,
        &[
            "deploy",
            "content-pipeline",
            "--env",
            "dev",
            "--version",
            "v1",
        ],
    )?;
    let args = ["--env", "dev", "--queue", "1000"];
    let replicas = [
        Serve::start(&sb, Some(&provider), &args, false)?,
        Serve::start(&sb, Some(&provider), &args, false)?,
        Serve::start(&sb, Some(&provider), &args, false)?,
    ];
    let bases: Vec<String> = replicas.iter().map(|r| r.url("")).collect();
    let input = std::fs::read(sb.input())?;
    let calls_before = provider.requests().len();
    const N: usize = 1000;
    let ids = runtime()?.block_on(async {
        let http = reqwest::Client::new();
        let post = |i: usize, replica: usize| {
            let http = http.clone();
            let url = format!(
                "{}/v1/chains/content-pipeline/runs?wait=120",
                bases[replica]
            );
            let body = input.clone();
            async move {
                let r = http
                    .post(url)
                    .header("content-type", "application/json")
                    .header("idempotency-key", format!("order-{i}"))
                    .body(body)
                    .send()
                    .await?;
                let status = r.status().as_u16();
                let v: Value = r.json().await?;
                Ok::<_, Box<dyn std::error::Error>>((i, status, v))
            }
        };
        // 24 at a time, round robin over the replicas.
        let mut all = Vec::new();
        let mut pending = futures_util::stream::FuturesUnordered::new();
        for i in 0..N {
            pending.push(post(i, i % 3));
            if pending.len() >= 24 {
                if let Some(done) = futures_util::StreamExt::next(&mut pending).await {
                    all.push(done?);
                }
            }
        }
        while let Some(done) = futures_util::StreamExt::next(&mut pending).await {
            all.push(done?);
        }
        // The first 100 keys again, each to another replica than the first time.
        let mut again = Vec::new();
        for i in 0..100 {
            again.push(post(i, (i + 1) % 3).await?);
        }
        Ok::<_, Box<dyn std::error::Error>>((all, again))
    })?;
    let (all, again) = ids;
    let mut first: std::collections::HashMap<usize, String> = std::collections::HashMap::new();
    for (i, status, v) in &all {
        assert_eq!(*status, 200, "request {i}: {v}");
        assert_eq!(v["status"], "completed", "request {i}: {v}");
        first.insert(*i, v["id"].as_str().unwrap_or("").to_string());
    }
    let distinct: std::collections::HashSet<&String> = first.values().collect();
    assert_eq!(distinct.len(), N, "every request its own run");
    for (i, _, v) in &again {
        assert_eq!(
            v["id"].as_str(),
            first.get(i).map(String::as_str),
            "key order-{i} on another replica returns the first run"
        );
    }
    // Each run called the provider once per agent (two), the repeats not at all.
    assert_eq!(provider.requests().len() - calls_before, 2 * N);
    let out = sb
        .cli()
        .args([
            "runs",
            "--trigger",
            "api",
            "--limit",
            "5000",
            "--format",
            "json",
        ])
        .output()?;
    let runs: Value = serde_json::from_slice(&out.stdout)?;
    let runs = runs.as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), N);
    assert!(runs.iter().all(|r| r["status"] == "completed"));
    // All three served.
    let served: Vec<bool> = replicas
        .iter()
        .map(|r| r.log().contains("/v1/chains/content-pipeline/runs"))
        .collect();
    assert_eq!(served, [true, true, true], "{served:?}");
    Ok(())
}

/// DESIGN.md §9, §11: three replicas and a 2 s schedule. Each tick fires once, from the lease
/// holder; `kill -9` of the holder hands the lease to another replica within the lease time
/// (10 s) and the ticks go on.
#[test]
fn a_schedule_on_three_replicas_fires_once_per_tick_and_survives_its_holder() -> TestResult {
    let provider = OpenAiServer::start(support::sample_responder())?;
    let sb = deployed_with(
        Some(&provider),
        Some("{cron: \"*/2 * * * * *\", input: test-fixtures/sample-input.json}"),
    )?;
    let args = ["--env", "dev"];
    let mut replicas = vec![
        Serve::start(&sb, Some(&provider), &args, false)?,
        Serve::start(&sb, Some(&provider), &args, false)?,
        Serve::start(&sb, Some(&provider), &args, false)?,
    ];
    let holder = |replicas: &[Serve]| {
        replicas
            .iter()
            .position(|r| r.log().contains("scheduling=true"))
    };
    let wait_for_holder = |replicas: &[Serve], within: Duration| {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(h) = holder(replicas) {
                return Ok::<usize, String>(h);
            }
            if std::time::Instant::now() > deadline {
                return Err("no replica took the lease".to_string());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let first = wait_for_holder(&replicas, Duration::from_secs(10))?;
    std::thread::sleep(Duration::from_secs(24));
    let newest_start = |sb: &Sandbox| -> Result<String, Box<dyn std::error::Error>> {
        let out = sb
            .cli()
            .args([
                "runs",
                "--trigger",
                "schedule",
                "--limit",
                "1",
                "--format",
                "json",
            ])
            .output()?;
        let runs: Value = serde_json::from_slice(&out.stdout)?;
        Ok(runs[0]["started_at"].as_str().unwrap_or("").to_string())
    };
    let mut killed = replicas.remove(first);
    killed.child.kill()?; // SIGKILL: no release of the lease
    killed.child.wait()?;
    let gone = std::time::Instant::now();
    let before_kill = newest_start(&sb)?;
    assert!(!before_kill.is_empty(), "the first holder fired no tick");
    let next = wait_for_holder(&replicas, Duration::from_secs(15))?;
    let took = gone.elapsed();
    assert!(
        took < Duration::from_secs(12),
        "the lease moved {took:?} after its holder died (lease 10 s, poll 0.5 s)"
    );
    std::thread::sleep(Duration::from_secs(24));
    for r in &mut replicas {
        assert!(r.term()?.success(), "{}", r.log());
    }
    let out = sb
        .cli()
        .args([
            "runs",
            "--trigger",
            "schedule",
            "--limit",
            "1000",
            "--format",
            "json",
        ])
        .output()?;
    let runs: Value = serde_json::from_slice(&out.stdout)?;
    let runs = runs.as_array().cloned().unwrap_or_default();
    // Ticks: one run each, whole even seconds, never two runs for one tick.
    let mut ticks: Vec<String> = runs
        .iter()
        .map(|r| {
            r["started_at"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(19)
                .collect()
        })
        .collect();
    ticks.sort();
    let n = ticks.len();
    let summary: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["started_at"]
                    .as_str()
                    .unwrap_or("?")
                    .get(11..23)
                    .unwrap_or("?"),
                r["status"].as_str().unwrap_or("?")
            )
        })
        .collect();
    ticks.dedup();
    assert_eq!(ticks.len(), n, "a tick fired twice: {summary:?}");
    // ~48 s of ticks every 2 s, less the takeover: at least 15 before and after it together,
    // and some after it (the new holder fires).
    assert!(n >= 15, "{n} scheduled runs: {summary:?}");
    // Every run completed, but for the one the killed holder may have had in flight: that one
    // ends `interrupted` (its process is gone), and it started before the kill.
    let unfinished: Vec<&Value> = runs.iter().filter(|r| r["status"] != "completed").collect();
    assert!(
        unfinished.len() <= 1
            && unfinished.iter().all(|r| r["status"] == "interrupted"
                && r["started_at"]
                    .as_str()
                    .is_some_and(|t| t <= before_kill.as_str())),
        "{summary:?}"
    );
    let after = runs
        .iter()
        .filter(|r| {
            r["started_at"]
                .as_str()
                .is_some_and(|t| t > before_kill.as_str())
        })
        .count();
    assert!(after >= 6, "{after} ticks after the takeover: {summary:?}");
    assert!(
        replicas[next].log().contains("schedule tick"),
        "the new holder fired: {}",
        replicas[next].log()
    );
    Ok(())
}

/// DESIGN.md §9, §11: an env's `concurrency` (dev: 1) holds across replicas on one PostgreSQL
/// history: two replicas with three requests each never run two agent calls at once.
#[test]
fn replicas_on_postgres_share_an_envs_concurrency() -> TestResult {
    let provider = slow(Duration::from_millis(300))?;
    let sb = deployed(Some(&provider))?;
    if sb.database.is_none() {
        eprintln!("on SQLite each process holds its own limit: this runs in the PostgreSQL pass");
        return Ok(());
    }
    let args = ["--env", "dev"];
    let replicas = [
        Serve::start(&sb, Some(&provider), &args, false)?,
        Serve::start(&sb, Some(&provider), &args, false)?,
    ];
    let input = std::fs::read(sb.input())?;
    let runs = runtime()?.block_on(async {
        let http = reqwest::Client::new();
        let posts = (0..6).map(|i| {
            let url = replicas[i % 2].url("/v1/chains/content-pipeline/runs?wait=60");
            let req = http
                .post(url)
                .header("content-type", "application/json")
                .body(input.clone());
            async move {
                let v: Value = req.send().await?.json().await?;
                Ok::<_, reqwest::Error>(v)
            }
        });
        futures_util::future::try_join_all(posts).await
    })?;
    // Every step's span, in ms of the day, from the runs' own records.
    let ms = |t: &str| -> Option<f64> {
        let clock = t.get(11..)?;
        let (h, rest) = clock.split_once(':')?;
        let (m, rest) = rest.split_once(':')?;
        let s: f64 = rest
            .get(..rest.find('+').unwrap_or(rest.len()))?
            .parse()
            .ok()?;
        Some((h.parse::<f64>().ok()? * 60.0 + m.parse::<f64>().ok()?) * 60_000.0 + s * 1000.0)
    };
    let mut spans = Vec::new();
    for r in &runs {
        assert_eq!(r["status"], "completed", "{r}");
        for step in r["steps"].as_array().into_iter().flatten() {
            let start = step["started_at"]
                .as_str()
                .and_then(ms)
                .ok_or("a step without a start")?;
            let took = step["duration_ms"]
                .as_f64()
                .ok_or("a step without a duration")?;
            spans.push((start, start + took));
        }
    }
    assert_eq!(spans.len(), 12);
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in spans.windows(2) {
        // 2 ms of slack: the end is the start plus the rounded duration.
        assert!(
            w[1].0 + 2.0 >= w[0].1,
            "two agent calls at once across replicas: {w:?}"
        );
    }
    Ok(())
}
