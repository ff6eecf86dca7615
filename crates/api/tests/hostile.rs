//! The hostile corpus (`tests/hostile/`): projects, answers and flags made to hurt the person
//! who opens them. Each case runs through the api on a sandbox and must end in a clear error or
//! a safe result, with nothing written outside the project and no secret value anywhere but at
//! its provider. Attacks that need a live provider are the tests at the end.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chainlift_api::dto::NodePosition;
use chainlift_api::editor::ChainEdit;
use chainlift_api::RunArgs;
use chainlift_api::{Chainlift, ProjectArgs, SystemClock};
use chainlift_secrets::SecretSource;
use chainlift_testkit::{openai_completion, Reply, TestServer};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/hostile")
}

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/content-pipeline")
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Every file below `dir` with its bytes (links listed, not followed).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => stack.push(p),
                Ok(m) if m.file_type().is_symlink() => {
                    let to = std::fs::read_link(&p).unwrap_or_default();
                    out.insert(p, to.to_string_lossy().as_bytes().to_vec());
                }
                Ok(_) => {
                    out.insert(p.clone(), std::fs::read(&p).unwrap_or_default());
                }
                Err(_) => {}
            }
        }
    }
    out
}

/// Every file below `dir` whose bytes hold `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    snapshot(dir)
        .into_iter()
        .filter(|(_, b)| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(p, _)| p)
        .collect()
}

/// A sandbox: `project/` (the sample with a case laid over it), `outside/` (watched: a victim
/// file and a copy of the sample's agents), `home/` (the data folder).
struct Sandbox {
    tmp: tempfile::TempDir,
    project: PathBuf,
    outside: PathBuf,
    api: Chainlift,
}

impl Sandbox {
    async fn new() -> Result<Sandbox, Box<dyn std::error::Error>> {
        let tmp = tempfile::tempdir()?;
        let project = tmp.path().join("project");
        copy_dir(&sample(), &project)?;
        let outside = tmp.path().join("outside");
        copy_dir(
            &sample().join("chains/content-pipeline/agents"),
            &outside.join("agents"),
        )?;
        std::fs::write(outside.join("victim.txt"), "the user's own file\n")?;
        let api = Chainlift::open_with(
            &tmp.path().join("home"),
            SecretSource::Env,
            Arc::new(SystemClock),
        )
        .await?;
        Ok(Sandbox {
            tmp,
            project,
            outside,
            api,
        })
    }

    fn at(&self) -> ProjectArgs {
        ProjectArgs {
            project: Some(self.project.clone()),
            chain: Some("content-pipeline".into()),
            cwd: self.project.clone(),
        }
    }

    fn chain_dir(&self) -> PathBuf {
        self.project.join("chains/content-pipeline")
    }

    fn placeholders(&self, text: &str) -> String {
        text.replace("@OUTSIDE@", &self.outside.display().to_string())
    }

    fn run_args(&self, record: bool) -> RunArgs {
        RunArgs {
            at: self.at(),
            env: "dev".into(),
            input: self.chain_dir().join("test-fixtures/sample-input.json"),
            vars: BTreeMap::new(),
            record,
            version: None,
            working: true,
            cancel: None,
            ..RunArgs::default()
        }
    }
}

/// Lay a case over the sandbox: files, removals, links.
fn lay(case: &Path, spec: &Value, sb: &Sandbox) -> TestResult {
    let files = case.join("files");
    if files.is_dir() {
        for (path, bytes) in snapshot(&files) {
            let rel = path.strip_prefix(&files)?;
            let target = sb.project.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let text = String::from_utf8(bytes)?;
            std::fs::write(target, sb.placeholders(&text))?;
        }
    }
    for rel in spec["remove"].as_array().into_iter().flatten() {
        let p = sb.project.join(rel.as_str().unwrap_or(""));
        if p.is_dir() {
            std::fs::remove_dir_all(&p)?;
        } else if p.exists() {
            std::fs::remove_file(&p)?;
        }
    }
    if let Some(links) = spec["links"].as_object() {
        for (from, to) in links {
            let to = sb.tmp.path().join(to.as_str().unwrap_or(""));
            std::os::unix::fs::symlink(to, sb.project.join(from))?;
        }
    }
    Ok(())
}

/// What the action did: Ok(output text, when it was a run) or the error's message.
async fn act(spec: &Value, sb: &Sandbox) -> Result<Option<String>, String> {
    let at = sb.at();
    let action = spec["action"].as_str().unwrap_or("");
    for (name, value) in spec["flags"].as_object().into_iter().flatten() {
        let value = sb.placeholders(value.as_str().unwrap_or(""));
        sb.api
            .flag_set(&at, "dev", name, &value)
            .await
            .map_err(|e| e.message)?;
    }
    match action {
        "run" | "record" => {
            let run = sb
                .api
                .run(&sb.run_args(action == "record"), &|_| {})
                .await
                .map_err(|e| e.message)?;
            if run.status != "completed" {
                return Err(format!(
                    "run {}: {}",
                    run.status,
                    run.error.unwrap_or_default()
                ));
            }
            let out = run.output.map(std::fs::read_to_string).transpose();
            out.map_err(|e| e.to_string())
        }
        "layout" => sb
            .api
            .layout_save(
                &at,
                &[NodePosition {
                    id: "writer".into(),
                    x: 10.0,
                    y: 20.0,
                }],
            )
            .map(|()| None)
            .map_err(|e| e.message),
        "edit-prompt" => {
            let view = sb.api.editor(&at).await.map_err(|e| e.message)?;
            let edit = ChainEdit::SetText {
                agent: "writer".into(),
                field: "prompt".into(),
                value: Some("Write it in one line: {{ input.topic }}\n".into()),
            };
            sb.api
                .editor_save(&at, &view.fingerprint, &[edit])
                .await
                .map(|_| None)
                .map_err(|e| e.message)
        }
        "delete-agent" => {
            let view = sb.api.editor(&at).await.map_err(|e| e.message)?;
            let edit = ChainEdit::DeleteAgent {
                name: spec["agent"].as_str().unwrap_or("").into(),
            };
            sb.api
                .editor_save(&at, &view.fingerprint, &[edit])
                .await
                .map(|_| None)
                .map_err(|e| e.message)
        }
        "smoke-input" => sb
            .api
            .smoke_input(&at)
            .map(|p| Some(p.display().to_string()))
            .map_err(|e| e.message),
        other => Err(format!("unknown action {other}")),
    }
}

#[tokio::test]
async fn every_hostile_project_is_refused_or_harmless() -> TestResult {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 19, "the corpus lost cases: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let spec: Value = serde_json::from_str(&std::fs::read_to_string(case.join("case.json"))?)?;
        for (k, v) in spec["process_env"].as_object().into_iter().flatten() {
            std::env::set_var(k, v.as_str().unwrap_or(""));
        }
        let sb = Sandbox::new().await?;
        lay(case, &spec, &sb)?;
        let before = snapshot(&sb.outside);
        let result = act(&spec, &sb).await;
        let mut problems = Vec::new();
        match (spec["expect"].as_str(), &result) {
            (Some("ok"), Ok(out)) => {
                if let Some(want) = spec["output"].as_str() {
                    let want = sb.placeholders(want);
                    if out.as_deref().map(str::trim) != Some(want.as_str()) {
                        problems.push(format!("output {out:?}, expected {want:?}"));
                    }
                }
            }
            (Some("error"), Err(message)) => {
                let want = spec["contains"].as_str().unwrap_or("");
                if !message.contains(want) {
                    problems.push(format!("error `{message}` does not say `{want}`"));
                }
            }
            (want, got) => problems.push(format!("expected {want:?}, got {got:?}")),
        }
        if snapshot(&sb.outside) != before {
            problems.push("something outside the project was written or removed".into());
        }
        if let Some(code) = spec["lint"].as_str() {
            match sb.api.validate(&sb.at(), Some("dev")).await {
                Ok(report) if report.findings.iter().any(|f| f.code == code) => {}
                other => problems.push(format!("validate did not report {code}: {other:?}")),
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{name}: {}", problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    Ok(())
}

/// Give the sample's model the entry `entry` in chainlift.yaml and stop replaying dev from
/// the cassette, so its calls go to a live provider.
fn point_model(sb: &Sandbox, entry: &str) -> TestResult {
    let policy = std::fs::read_to_string(sb.project.join("chainlift.yaml"))?.replace(
        "  gpt-5.4-mini:  {provider: openai, input_per_mtok: 0.25, output_per_mtok: 2.0, dev_only: true}",
        &format!("  gpt-5.4-mini:  {entry}"),
    );
    std::fs::write(sb.project.join("chainlift.yaml"), policy)?;
    let env = sb.chain_dir().join("config/dev.env");
    let text =
        std::fs::read_to_string(&env)?.replace("CHAINLIFT_CASSETTE=cassettes/dev.jsonl\n", "");
    std::fs::write(env, text)?;
    Ok(())
}

/// A project whose chain sends its model calls to `server`, with the key in `key_var`.
async fn live(
    server: &TestServer,
    key_var: &str,
    key: &str,
) -> Result<Sandbox, Box<dyn std::error::Error>> {
    std::env::set_var(key_var, key);
    let sb = Sandbox::new().await?;
    point_model(
        &sb,
        &format!("{{provider: openai, base_url: \"{}\", api_key_secret: {key_var}, input_per_mtok: 0.25, output_per_mtok: 2.0}}", server.base_url),
    )?;
    Ok(sb)
}

fn report_reply() -> Reply {
    let report = chainlift_testkit::sample_report();
    Reply::json(200, &openai_completion(&report.to_string(), 10, 5))
}

#[tokio::test]
async fn a_redirect_never_carries_the_key_anywhere() -> TestResult {
    let key = "sk-hostile-redirect-0123456789abcdef";
    let elsewhere = TestServer::start(Arc::new(|_, _| report_reply()))?;
    let target = format!("{}/chat/completions", elsewhere.base_url);
    let first = TestServer::start(Arc::new(move |_, _| {
        Reply::raw(307, "").header("Location", &target)
    }))?;
    let sb = live(&first, "HOSTILE_REDIRECT_KEY", key).await?;
    let run = sb.api.run(&sb.run_args(false), &|_| {}).await?;
    assert_eq!(run.status, "failed");
    let error = run.error.unwrap_or_default();
    assert!(error.contains("follows no redirects"), "{error}");
    assert!(elsewhere.requests().is_empty(), "the redirect was followed");
    assert!(files_holding(sb.tmp.path(), key).is_empty());
    Ok(())
}

#[tokio::test]
async fn retry_after_1e300_is_capped_not_a_panic() -> TestResult {
    let server = TestServer::start(Arc::new(|req: &chainlift_testkit::Seen, n| {
        if n == 0 {
            return Reply::json(429, &serde_json::json!({"error": {"message": "slow down"}}))
                .header("Retry-After", "1e300");
        }
        if req.body.get("response_format").is_some() {
            report_reply()
        } else {
            Reply::json(200, &openai_completion("brief", 10, 5))
        }
    }))?;
    let sb = live(
        &server,
        "HOSTILE_RETRY_KEY",
        "sk-hostile-retry-0123456789abcdef",
    )
    .await?;
    // Retry at most once and wait at most 50 ms: the answer's 1e300 s is held to max_delay.
    let agent = sb.chain_dir().join("agents/researcher.yaml");
    let text = std::fs::read_to_string(&agent)?;
    std::fs::write(
        &agent,
        format!("{text}\nretry: {{max_attempts: 2, initial_delay: 10ms, max_delay: 50ms}}\n"),
    )?;
    let run = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        sb.api.run(&sb.run_args(false), &|_| {}),
    )
    .await??;
    assert_eq!(run.status, "completed", "{:?}", run.error);
    Ok(())
}

#[tokio::test]
async fn a_100_mb_answer_is_refused_without_reading_it_all() -> TestResult {
    let huge = "x".repeat(100 * 1024 * 1024);
    let server = TestServer::start(Arc::new(move |_, _| Reply::raw(200, &huge)))?;
    let sb = live(
        &server,
        "HOSTILE_HUGE_KEY",
        "sk-hostile-huge-0123456789abcdef",
    )
    .await?;
    let run = sb.api.run(&sb.run_args(false), &|_| {}).await?;
    assert_eq!(run.status, "failed");
    let error = run.error.unwrap_or_default();
    assert!(error.contains("more than 16 MiB"), "{error}");
    Ok(())
}

#[tokio::test]
async fn a_key_never_goes_over_plain_http_to_another_host() -> TestResult {
    let key = "sk-hostile-plain-0123456789abcdef";
    std::env::set_var("HOSTILE_PLAIN_KEY", key);
    let sb = Sandbox::new().await?;
    // `.invalid` never resolves: the refusal must come before any connection.
    point_model(
        &sb,
        "{provider: openai, base_url: \"http://models.invalid/v1\", api_key_secret: HOSTILE_PLAIN_KEY}",
    )?;
    let run = sb.api.run(&sb.run_args(false), &|_| {}).await?;
    let error = run.error.unwrap_or_default();
    assert!(
        error.contains("refusing to send HOSTILE_PLAIN_KEY"),
        "{error}"
    );
    assert!(files_holding(sb.tmp.path(), key).is_empty());
    Ok(())
}

#[tokio::test]
async fn a_custom_base_url_gets_no_vendor_key() -> TestResult {
    let key = "sk-hostile-vendor-0123456789abcdef";
    // The vendor's key is set (as on a developer's machine); no other test here reads it.
    std::env::set_var("OPENAI_API_KEY", key);
    let server = TestServer::start(Arc::new(|req: &chainlift_testkit::Seen, _| {
        if req.body.get("response_format").is_some() {
            report_reply()
        } else {
            Reply::json(200, &openai_completion("brief", 10, 5))
        }
    }))?;
    let sb = Sandbox::new().await?;
    // The project points a model at its own server and names no key: none may be sent.
    point_model(
        &sb,
        &format!("{{provider: openai, base_url: \"{}\"}}", server.base_url),
    )?;
    let run = sb.api.run(&sb.run_args(false), &|_| {}).await?;
    assert_eq!(run.status, "completed", "{:?}", run.error);
    for seen in server.requests() {
        assert_eq!(seen.header("authorization"), None, "a key was sent");
    }
    Ok(())
}

#[tokio::test]
async fn a_secret_with_quotes_is_redacted_from_every_file_and_cassette() -> TestResult {
    // A key holding `"` and `\` is escaped in JSON; the redactor must still find it.
    let key = r#"sk-"hostile\quote-0123456789"#;
    let server = TestServer::start(Arc::new(move |req: &chainlift_testkit::Seen, _| {
        let auth = req.header("authorization").unwrap_or("").to_string();
        // The provider echoes what it received into its answer, as a hostile one might.
        if req.body.get("response_format").is_some() {
            let mut report = chainlift_testkit::sample_report();
            report["title"] = Value::String(format!("echo {auth}"));
            Reply::json(200, &openai_completion(&report.to_string(), 10, 5))
        } else {
            Reply::json(200, &openai_completion(&format!("brief {auth}"), 10, 5))
        }
    }))?;
    let sb = live(&server, "HOSTILE_QUOTE_KEY", key).await?;
    let run = sb.api.run(&sb.run_args(true), &|_| {}).await?;
    assert_eq!(run.status, "completed", "{:?}", run.error);
    assert!(sb.chain_dir().join("cassettes/dev.jsonl").is_file());
    let escaped = serde_json::to_string(key)?;
    for needle in [key, &escaped[1..escaped.len() - 1]] {
        let hits = files_holding(sb.tmp.path(), needle);
        assert!(hits.is_empty(), "the key is in {hits:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_url_password_stays_out_of_snapshots_diffs_and_the_audit() -> TestResult {
    let sb = Sandbox::new().await?;
    let password = "hunter2-url-password";
    for env in ["dev", "staging"] {
        let path = sb.chain_dir().join(format!("config/{env}.env"));
        let text = std::fs::read_to_string(&path)?;
        let text = text
            .lines()
            .map(|l| match l.split_once('=') {
                Some(("DATABASE_URL", _)) => {
                    format!("DATABASE_URL=postgres://app:{password}@{env}-db:5432/{env}")
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&path, text + "\n")?;
    }
    let at = sb.at();
    sb.api.version_create(&at, Some("v1"), None).await?;
    sb.api.deploy(&at, "v1", "dev", None).await?;
    let diff = sb.api.diff(&at, "dev", "staging").await?;
    assert!(!serde_json::to_string(&diff)?.contains(password));
    // The deployed version still runs with the real value (from the env file, like a secret).
    let mut args = sb.run_args(false);
    args.working = false;
    let run = sb.api.run(&args, &|_| {}).await?;
    assert_eq!(run.status, "completed", "{:?}", run.error);
    let hits = files_holding(sb.tmp.path(), password);
    let project_files: Vec<_> = hits
        .iter()
        .filter(|p| !p.starts_with(sb.project.join("chains/content-pipeline/config")))
        .collect();
    assert!(
        project_files.is_empty(),
        "the password is in {project_files:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_folder_that_names_itself_like_another_project_gets_its_own_id() -> TestResult {
    let sb = Sandbox::new().await?;
    let at = sb.at();
    sb.api.flag_set(&at, "dev", "USE_NEW_WRITER", "on").await?;
    let first = sb.api.open_project(&at).await?;
    assert_eq!(first.id, "acme-content");
    assert_eq!(first.identity_note, None);
    // A stranger's repository that calls itself `acme-content` too, opened on the same machine.
    let squatter = sb.tmp.path().join("squatter");
    copy_dir(&sample(), &squatter)?;
    let theirs = ProjectArgs {
        project: Some(squatter.clone()),
        chain: Some("content-pipeline".into()),
        cwd: squatter,
    };
    let view = sb.api.open_project(&theirs).await?;
    assert_ne!(view.id, "acme-content");
    assert!(
        view.identity_note
            .as_deref()
            .is_some_and(|n| n.contains("already uses the project name `acme-content`")),
        "{:?}",
        view.identity_note
    );
    assert!(
        sb.api.flags(&theirs, "dev").await?.is_empty(),
        "it reads the other project's flags"
    );
    // The first folder keeps its id and its flags.
    assert_eq!(sb.api.open_project(&at).await?.id, "acme-content");
    assert_eq!(sb.api.flags(&at, "dev").await?.len(), 1);
    Ok(())
}
