//! The engine against a real HTTP server on 127.0.0.1 speaking the OpenAI and Anthropic wire
//! formats: fan-out and fan-in, routes, loops, on_error, budgets, every fault mode, the
//! corrective retry, cancel, and command agents.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chainlift_engine::{run_chain, Progress, RunContext, RunOutcome, RunStatus, SecretLookup};
use chainlift_model::resolve::{resolve, ResolveInput};
use chainlift_model::secret::SecretValue;
use chainlift_model::{ChainDef, EnvFile, Project};
use chainlift_testkit::{anthropic_message, openai_completion, Reply, Responder, Seen, TestServer};
use serde_json::{json, Value};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Secrets(BTreeMap<String, String>);

impl SecretLookup for Secrets {
    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<SecretValue>, String>> + Send + 'a>> {
        Box::pin(async move { Ok(self.0.get(name).map(SecretValue::new)) })
    }
}

const POLICY: &str = "models:\n  cheap: {provider: openai, id: cheap-1, input_per_mtok: 1.0, output_per_mtok: 2.0}\n  pricey: {provider: openai, id: pricey-1, input_per_mtok: 10000.0, output_per_mtok: 10000.0}\n  claude: {provider: anthropic, id: claude-sonnet-4-5, input_per_mtok: 3.0, output_per_mtok: 15.0}\n";

/// A project with one chain `c` made of `files` (relative to the chain folder), run in `dev`.
struct Fixture {
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new(files: &[(&str, &str)]) -> std::io::Result<Fixture> {
        let tmp = tempfile::tempdir()?;
        std::fs::write(tmp.path().join("chainlift.yaml"), POLICY)?;
        let dir = tmp.path().join("chains/c");
        for (rel, text) in files {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap_or(&dir))?;
            std::fs::write(path, text)?;
        }
        Ok(Fixture { tmp })
    }

    fn dir(&self) -> std::path::PathBuf {
        self.tmp.path().join("chains/c")
    }

    async fn run(
        &self,
        server: &TestServer,
        input: Value,
        cancel: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> Result<RunOutcome, String> {
        let project = Project::open(self.tmp.path()).map_err(|e| e.to_string())?;
        let chain = ChainDef::load(&self.dir()).map_err(|e| e.to_string())?;
        let env = EnvFile::parse(
            Path::new("config/dev.env"),
            &format!(
                "OPENAI_BASE_URL={0}\nANTHROPIC_BASE_URL={0}\n",
                server.base_url
            ),
        )
        .map_err(|e| e.to_string())?;
        let none = BTreeMap::new();
        let resolved = resolve(&ResolveInput {
            project: &project,
            chain: &chain,
            env: "dev",
            env_file: Some(&env),
            vars: &none,
            flags: &none,
        })
        .map_err(|issues| format!("{issues:?}"))?;
        let secrets = Secrets(BTreeMap::from([
            (
                "OPENAI_API_KEY".to_string(),
                "sk-test-engine-0000000000000000".to_string(),
            ),
            (
                "ANTHROPIC_API_KEY".to_string(),
                "anthropic-test-engine-000000000000".to_string(),
            ),
            ("HOOK".to_string(), "hook-secret-value-7c1d".to_string()),
        ]));
        let progress = |_: Progress| {};
        let now = chrono::Utc::now;
        let ctx = RunContext {
            chain: &resolved,
            input,
            run_dir: self.tmp.path().join("run"),
            secrets: &secrets,
            replay: None,
            record: None,
            http: reqwest::Client::new(),
            process_base_urls: BTreeMap::new(),
            progress: &progress,
            now: &now,
            cancel,
            env_permits: None,
            shared_slots: None,
        };
        Ok(run_chain(&ctx).await)
    }
}

fn agent(name: &str, model: &str, triggers: &str, tail: &str) -> String {
    format!("name: {name}\nmodel: {model}\ntimeout: 5s\nprompt: \"{name} sees {{{{ input.topic }}}}\"\ntriggers: [{triggers}]\n{tail}")
}

fn text(content: &str) -> Reply {
    Reply::json(200, &openai_completion(content, 10, 5))
}

/// Answer each agent by the name its prompt starts with.
fn by_agent(f: impl Fn(&str, &Seen, usize) -> Reply + Send + Sync + 'static) -> Arc<Responder> {
    Arc::new(move |req: &Seen, n| {
        let prompt = req
            .body
            .pointer("/messages/0/content")
            .and_then(Value::as_str)
            .unwrap_or("");
        let name = prompt.split_whitespace().next().unwrap_or("");
        f(name, req, n)
    })
}

#[tokio::test]
async fn fan_out_runs_concurrently_and_fan_in_waits_for_all() -> TestResult {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let (f, m) = (in_flight.clone(), max_seen.clone());
    let server = TestServer::start(by_agent(move |name, _, _| {
        let now = f.fetch_add(1, Ordering::SeqCst) + 1;
        m.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        f.fetch_sub(1, Ordering::SeqCst);
        text(&format!("from {name}"))
    }))?;
    let chain =
        "name: c\nagents: [{name: a}, {name: b}, {name: join}]\nexecution: {concurrency: 2}\n";
    let fx = Fixture::new(&[
        ("chain.yaml", chain),
        ("agents/a.yaml", &agent("a", "cheap", "chain:start", "emits: a:done\n")),
        ("agents/b.yaml", &agent("b", "cheap", "chain:start", "emits: b:done\n")),
        ("agents/join.yaml", "name: join\nmodel: cheap\nprompt: \"join {{ events['a:done'].output }} + {{ events['b:done'].output }}\"\ntriggers: [a:done, b:done]\nwait_for: all\nemits: chain:complete\n"),
    ])?;
    let out = fx.run(&server, json!({"topic": "t"}), None).await?;
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    assert_eq!(
        max_seen.load(Ordering::SeqCst),
        2,
        "a and b ran at the same time"
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 3, "join ran once, after both");
    let join = seen[2]
        .body
        .pointer("/messages/0/content")
        .and_then(Value::as_str)
        .unwrap_or("");
    assert_eq!(join, "join from a + from b");
    assert_eq!(out.steps.iter().filter(|s| s.agent == "join").count(), 1);
    // The steps carry their real starts: a and b overlap, join starts after both ended.
    let at = |name: &str| {
        out.steps
            .iter()
            .find(|s| s.agent == name)
            .map(|s| (s.offset_ms, s.offset_ms + s.duration_ms))
            .unwrap_or_default()
    };
    let (a, b, j) = (at("a"), at("b"), at("join"));
    assert!(a.0 < b.1 && b.0 < a.1, "a {a:?} and b {b:?} overlap");
    assert!(
        j.0 >= a.1.max(b.1).saturating_sub(5),
        "join {j:?} after a {a:?} and b {b:?}"
    );
    Ok(())
}

#[tokio::test]
async fn concurrency_one_runs_one_at_a_time() -> TestResult {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let (f, m) = (in_flight.clone(), max_seen.clone());
    let server = TestServer::start(by_agent(move |_, _, _| {
        let now = f.fetch_add(1, Ordering::SeqCst) + 1;
        m.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
        f.fetch_sub(1, Ordering::SeqCst);
        text("x")
    }))?;
    let fx = Fixture::new(&[
        (
            "chain.yaml",
            "name: c\nagents: [{name: a}, {name: b}, {name: join}]\nexecution: {concurrency: 1}\n",
        ),
        (
            "agents/a.yaml",
            &agent("a", "cheap", "chain:start", "emits: a:done\n"),
        ),
        (
            "agents/b.yaml",
            &agent("b", "cheap", "chain:start", "emits: b:done\n"),
        ),
        (
            "agents/join.yaml",
            &agent(
                "join",
                "cheap",
                "a:done, b:done",
                "wait_for: all\nemits: chain:complete\n",
            ),
        ),
    ])?;
    let out = fx.run(&server, json!({"topic": "t"}), None).await?;
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    assert_eq!(max_seen.load(Ordering::SeqCst), 1);
    Ok(())
}

fn triage(classifier_tail: &str) -> Vec<(&'static str, String)> {
    vec![
        ("chain.yaml", "name: c\nagents: [{name: classify}, {name: urgent}, {name: routine}]\nlimits: {max_rounds: 2}\n".to_string()),
        ("agents/classify.yaml", agent("classify", "cheap", "chain:start", &format!("output: json\n{classifier_tail}"))),
        ("agents/urgent.yaml", agent("urgent", "cheap", "t:urgent", "emits: chain:complete\n")),
        ("agents/routine.yaml", agent("routine", "cheap", "t:routine", "emits: chain:complete\n")),
    ]
}

const ROUTES: &str =
    "routes:\n  - {when: \"output.urgency >= 4\", emit: \"t:urgent\"}\n  - {else: \"t:routine\"}\n";

async fn route_with(
    answer: &'static str,
) -> Result<(RunOutcome, Vec<String>), Box<dyn std::error::Error>> {
    let server = TestServer::start(by_agent(move |name, _, _| {
        if name == "classify" {
            text(answer)
        } else {
            text("done")
        }
    }))?;
    let files = triage(ROUTES);
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let fx = Fixture::new(&files)?;
    let out = fx.run(&server, json!({"topic": "t"}), None).await?;
    let agents = out.steps.iter().map(|s| s.agent.clone()).collect();
    Ok((out, agents))
}

#[tokio::test]
async fn routes_pick_the_first_matching_event_and_a_missing_field_is_false() -> TestResult {
    let (out, agents) = route_with("{\"urgency\": 5}").await?;
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    assert_eq!(agents, ["classify", "urgent"]);

    let (out, agents) = route_with("{\"urgency\": 2}").await?;
    assert_eq!(agents, ["classify", "routine"]);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);

    let (out, agents) = route_with("{\"priority\": 5}").await?;
    assert_eq!(out.status, RunStatus::Completed);
    assert_eq!(
        agents,
        ["classify", "routine"],
        "a missing field takes the else route"
    );
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("output.urgency >= 4")),
        "{:?}",
        out.warnings
    );
    Ok(())
}

#[tokio::test]
async fn a_loop_stops_at_max_rounds() -> TestResult {
    let server = TestServer::start(by_agent(|_, _, _| text("again")))?;
    let fx = Fixture::new(&[
        (
            "chain.yaml",
            "name: c\nagents: [{name: looper}]\nlimits: {max_rounds: 3}\n",
        ),
        (
            "agents/looper.yaml",
            &agent(
                "looper",
                "cheap",
                "chain:start, loop:again",
                "emits: loop:again\n",
            ),
        ),
    ])?;
    let out = fx.run(&server, json!({"topic": "t"}), None).await?;
    assert_eq!(out.status, RunStatus::Failed);
    assert!(
        out.error
            .as_deref()
            .unwrap_or("")
            .contains("max_rounds (3)"),
        "{:?}",
        out.error
    );
    assert_eq!(server.requests().len(), 3);
    Ok(())
}

#[tokio::test]
async fn on_error_hands_over_to_another_agent() -> TestResult {
    let server = TestServer::start(by_agent(|name, _, _| {
        if name == "flaky" {
            Reply::json(400, &json!({"error": {"message": "bad request"}}))
        } else {
            text("handled")
        }
    }))?;
    let fx = Fixture::new(&[
        ("chain.yaml", "name: c\nagents: [{name: flaky}, {name: fallback}]\n"),
        ("agents/flaky.yaml", &agent("flaky", "cheap", "chain:start", "emits: chain:complete\non_error: fallback\n")),
        ("agents/fallback.yaml", "name: fallback\nmodel: cheap\nprompt: \"fallback after {{ events['flaky:error'].output.error }}\"\nemits: chain:complete\n"),
    ])?;
    let out = fx.run(&server, json!({"topic": "t"}), None).await?;
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    assert_eq!(out.steps[0].status, RunStatus::Failed);
    let prompt = server.requests()[1]
        .body
        .pointer("/messages/0/content")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    assert!(
        prompt.contains("HTTP 400") && prompt.contains("bad request"),
        "{prompt}"
    );
    Ok(())
}

#[tokio::test]
async fn over_cost_per_run_is_budget_exceeded() -> TestResult {
    let server = TestServer::start(by_agent(|_, _, _| text("x")))?;
    let fx = Fixture::new(&[
        (
            "chain.yaml",
            "name: c\nagents: [{name: a}, {name: b}]\nlimits: {cost_per_run: 0.01}\n",
        ),
        (
            "agents/a.yaml",
            &agent("a", "pricey", "chain:start", "emits: a:done\n"),
        ),
        (
            "agents/b.yaml",
            &agent("b", "pricey", "a:done", "emits: chain:complete\n"),
        ),
    ])?;
    let out = fx.run(&server, json!({"topic": "t"}), None).await?;
    assert_eq!(out.status, RunStatus::BudgetExceeded);
    assert_eq!(server.requests().len(), 1, "b never ran");
    assert!(out.error.as_deref().unwrap_or("").contains("cost_per_run"));
    Ok(())
}

async fn one_agent_against(
    respond: Arc<Responder>,
    tail: Option<&str>,
) -> Result<(RunOutcome, TestServer), Box<dyn std::error::Error>> {
    let server = TestServer::start(respond)?;
    let fx = Fixture::new(&[
        (
            "chain.yaml",
            "name: c\nagents: [{name: a}]\nexecution: {retries: 2}\n",
        ),
        (
            "agents/a.yaml",
            &agent(
                "a",
                "cheap",
                "chain:start",
                "emits: chain:complete\nretry: {initial_delay: 10ms, max_delay: 50ms}\n",
            )
            .replace("timeout: 5s", tail.unwrap_or("timeout: 5s")),
        ),
    ])?;
    let out = fx.run(&server, json!({"topic": "t"}), None).await?;
    Ok((out, server))
}

#[tokio::test]
async fn fault_modes_end_in_the_right_status() -> TestResult {
    // 429 with Retry-After, then success.
    let (out, server) = one_agent_against(
        Arc::new(|_: &Seen, n| {
            if n == 0 {
                Reply::json(429, &json!({"error": {"message": "slow down"}}))
                    .header("Retry-After", "0")
            } else {
                text("ok")
            }
        }),
        None,
    )
    .await?;
    assert_eq!(
        (out.status, out.steps[0].attempts),
        (RunStatus::Completed, 2)
    );
    assert_eq!(server.requests().len(), 2);

    // 500 always: retries + 1 attempts, then failed with the count.
    let (out, server) = one_agent_against(
        Arc::new(|_: &Seen, _| Reply::json(500, &json!({"error": {"message": "boom"}}))),
        None,
    )
    .await?;
    assert_eq!(out.status, RunStatus::Failed);
    assert_eq!(server.requests().len(), 3);
    assert!(
        out.error
            .as_deref()
            .unwrap_or("")
            .contains("after 3 attempts"),
        "{:?}",
        out.error
    );

    // 401: not retried, and the message says what to fix.
    let (out, server) = one_agent_against(
        Arc::new(|_: &Seen, _| Reply::json(401, &json!({"error": {"message": "invalid key"}}))),
        None,
    )
    .await?;
    assert_eq!(
        (out.status, server.requests().len()),
        (RunStatus::Failed, 1)
    );
    assert!(out
        .error
        .as_deref()
        .unwrap_or("")
        .contains("chainlift secrets set"));

    // Slow past the timeout: timed_out.
    let (out, _) = one_agent_against(
        Arc::new(|_: &Seen, _| text("late").delayed(Duration::from_millis(1500))),
        Some("timeout: 300ms"),
    )
    .await?;
    assert_eq!(out.status, RunStatus::TimedOut, "{:?}", out.error);

    // Malformed JSON, then a truncated body: retried, then failed with a clear message.
    let (out, _) = one_agent_against(
        Arc::new(|_: &Seen, _| Reply::raw(200, "{\"choices\": [")),
        None,
    )
    .await?;
    assert_eq!(out.status, RunStatus::Failed);
    assert!(
        out.error.as_deref().unwrap_or("").contains("not JSON"),
        "{:?}",
        out.error
    );
    let (out, _) = one_agent_against(Arc::new(|_: &Seen, _| text("cut").truncated()), None).await?;
    assert_eq!(out.status, RunStatus::Failed, "{:?}", out.error);
    Ok(())
}

#[tokio::test]
async fn a_schema_violation_gets_one_corrective_retry() -> TestResult {
    let schema = "{\"type\": \"object\", \"required\": [\"title\"], \"properties\": {\"title\": {\"type\": \"string\"}}}";
    let server = TestServer::start(Arc::new(|_: &Seen, n| {
        if n == 0 {
            text("{\"name\": 1}")
        } else {
            text("{\"title\": \"fixed\"}")
        }
    }))?;
    let fx = Fixture::new(&[
        ("chain.yaml", "name: c\nagents: [{name: a}]\n"),
        ("schemas/a.json", schema),
        (
            "agents/a.yaml",
            &agent(
                "a",
                "cheap",
                "chain:start",
                "output: json\nschema: schemas/a.json\nemits: chain:complete\n",
            ),
        ),
    ])?;
    let out = fx.run(&server, json!({"topic": "t"}), None).await?;
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    let second = &server.requests()[1].body;
    assert_eq!(second["messages"].as_array().map(Vec::len), Some(3));
    assert!(second["messages"][2]["content"]
        .as_str()
        .unwrap_or("")
        .contains("does not match its schema"));
    assert_eq!(second["response_format"]["json_schema"]["strict"], false);
    Ok(())
}

#[tokio::test]
async fn anthropic_json_through_a_forced_tool_call_with_exact_cost() -> TestResult {
    let schema = "{\"type\": \"object\", \"required\": [\"title\"], \"properties\": {\"title\": {\"type\": \"string\"}}}";
    let server = TestServer::start(Arc::new(|req: &Seen, _| {
        Reply::json(
            200,
            &anthropic_message(
                "claude-sonnet-4-5-20250929",
                None,
                Some(&json!({"title": "from a tool"})),
                1200,
                300,
            ),
        )
        .header("request-path", &req.path)
    }))?;
    let fx = Fixture::new(&[
        ("chain.yaml", "name: c\nagents: [{name: a}]\n"),
        ("schemas/a.json", schema),
        (
            "agents/a.yaml",
            &agent(
                "a",
                "claude",
                "chain:start",
                "output: json\nschema: schemas/a.json\nmax_tokens: 700\nemits: chain:complete\n",
            ),
        ),
    ])?;
    let out = fx.run(&server, json!({"topic": "t"}), None).await?;
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    let req = &server.requests()[0];
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(
        req.header("x-api-key"),
        Some("anthropic-test-engine-000000000000")
    );
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(req.body["max_tokens"], 700);
    assert_eq!(
        req.body["tool_choice"],
        json!({"type": "tool", "name": "output"})
    );
    assert_eq!(
        req.body["tools"][0]["input_schema"]["required"],
        json!(["title"])
    );
    let step = &out.steps[0];
    assert_eq!((step.tokens_in, step.tokens_out), (1200, 300));
    assert_eq!(
        step.model_reported.as_deref(),
        Some("claude-sonnet-4-5-20250929")
    );
    assert!((step.cost.unwrap_or(-1.0) - (1200.0 * 3.0 + 300.0 * 15.0) / 1e6).abs() < 1e-12);
    let output = std::fs::read_to_string(fx.tmp.path().join("run/outputs/a/output.json"))?;
    assert!(output.contains("from a tool"));
    Ok(())
}

#[tokio::test]
async fn cancel_ends_the_run_as_cancelled() -> TestResult {
    let server = TestServer::start(Arc::new(|_: &Seen, _| {
        text("late").delayed(Duration::from_secs(3))
    }))?;
    let fx = Fixture::new(&[
        ("chain.yaml", "name: c\nagents: [{name: a}]\n"),
        (
            "agents/a.yaml",
            &agent("a", "cheap", "chain:start", "emits: chain:complete\n"),
        ),
    ])?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let run = fx.run(&server, json!({"topic": "t"}), Some(rx));
    let cancel = async {
        while server.requests().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = tx.send(true);
    };
    let (out, ()) = tokio::join!(run, cancel);
    let out = out?;
    assert_eq!(out.status, RunStatus::Cancelled);
    Ok(())
}

#[tokio::test]
async fn command_agents_run_in_a_workspace_with_secrets_in_their_environment_only() -> TestResult {
    let server = TestServer::start(Arc::new(|_: &Seen, _| text("unused")))?;
    let fx = Fixture::new(&[
        ("chain.yaml", "name: c\nsecrets: [HOOK]\nagents: [{name: shout}, {name: leak}]\n"),
        ("agents/shout.yaml", "name: shout\nkind: command\ncommand: \"tr a-z A-Z; pwd > where.txt\"\nworkspace: {type: local, dir: ./work}\nprompt: \"hello {{ input.topic }}\"\ntriggers: [chain:start]\nemits: shouted\n"),
        ("agents/leak.yaml", "name: leak\nkind: command\ncommand: 'printf \"%s\" \"$HOOK\"'\nworkspace: {type: local, dir: ./work}\nprompt: x\ntriggers: [shouted]\nemits: chain:complete\n"),
    ])?;
    let out = fx.run(&server, json!({"topic": "world"}), None).await?;
    assert_eq!(out.status, RunStatus::Completed, "{:?}", out.error);
    let shouted = std::fs::read_to_string(fx.tmp.path().join("run/outputs/shout/output.txt"))?;
    assert_eq!(shouted, "HELLO WORLD");
    assert!(std::fs::read_to_string(fx.dir().join("work/where.txt"))?
        .trim()
        .ends_with("chains/c/work"));
    // The secret reached the child's environment, and every file written redacts it.
    let leaked = std::fs::read_to_string(fx.tmp.path().join("run/outputs/leak/output.txt"))?;
    assert_eq!(leaked, "****");
    assert_eq!(out.cost, None, "a command agent's cost is unknown, never 0");
    assert!(server.requests().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_command_timeout_kills_the_whole_process_group() -> TestResult {
    let server = TestServer::start(Arc::new(|_: &Seen, _| text("unused")))?;
    let fx = Fixture::new(&[
        ("chain.yaml", "name: c\nagents: [{name: slow}]\n"),
        ("agents/slow.yaml", "name: slow\nkind: command\ncommand: \"sleep 30 & echo $! > bg.pid; wait\"\nworkspace: {type: local, dir: ./work}\ntimeout: 500ms\nprompt: x\ntriggers: [chain:start]\nemits: chain:complete\n"),
    ])?;
    let out = fx.run(&server, json!({}), None).await?;
    assert_eq!(out.status, RunStatus::TimedOut, "{:?}", out.error);
    let pid = std::fs::read_to_string(fx.dir().join("work/bg.pid"))?
        .trim()
        .to_string();
    // Give the kernel a moment to deliver SIGKILL; a killed child may linger as a zombie.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let alive = state
        .split_whitespace()
        .nth(2)
        .is_some_and(|s| s != "Z" && s != "X");
    assert!(
        !alive,
        "the background child {pid} outlived the timeout: {state}"
    );
    Ok(())
}
