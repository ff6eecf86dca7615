//! `chainlift db`: which history is open, and a laptop's SQLite history copied into PostgreSQL
//! with everything still there (versions, deployments, runs, a verified audit chain).

mod support;

use std::process::Output;

use serde_json::Value;
use support::{sample_responder, scratch_database, OpenAiServer, Sandbox, TestResult};

fn ok(out: Output) -> Output {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(&out.stdout)
}

/// The files as they are become version `tag`, deployed to dev.
fn version_and_deploy(sb: &Sandbox, tag: &str) -> std::io::Result<()> {
    ok(sb
        .cli()
        .args(["version", "create", "content-pipeline", "--tag", tag])
        .output()?);
    ok(sb
        .cli()
        .args([
            "deploy",
            "content-pipeline",
            "--version",
            tag,
            "--env",
            "dev",
        ])
        .output()?);
    Ok(())
}

/// A one-line change to the writer's prompt (a new version's worth).
fn edit_writer(sb: &Sandbox) -> std::io::Result<()> {
    let writer = sb.chain_dir().join("agents/writer.yaml");
    let text = std::fs::read_to_string(&writer)?;
    std::fs::write(
        &writer,
        text.replacen("Write a report on", "Write a short report on", 1),
    )
}

/// A sandbox on SQLite, whatever engine the rest of the suite runs on.
fn on_sqlite() -> std::io::Result<Sandbox> {
    let mut sb = Sandbox::new()?;
    sb.database = None;
    Ok(sb)
}

#[test]
fn status_names_the_open_history_and_a_bad_url_is_refused_without_its_password() -> TestResult {
    let sb = on_sqlite()?;
    let status = json(&ok(sb
        .cli()
        .args(["db", "status", "--format", "json"])
        .output()?))?;
    assert_eq!(status["engine"], "SQLite");
    assert_eq!(status["pending"], Value::Array(vec![]));
    assert_eq!(status["schema"], status["latest"]);
    assert!(sb.home.join("chainlift.db").exists());

    for (var, file) in [
        ("mysql://dana:hunter2-secret@db.example/chainlift", None),
        (
            "",
            Some("database = \"mysql://dana:hunter2-secret@db.example/x\"\n"),
        ),
        ("", Some("databse = \"postgres://x\"\n")),
    ] {
        if let Some(text) = file {
            std::fs::write(sb.home.join("config.toml"), text)?;
        }
        let out = sb
            .cli()
            .env("CHAINLIFT_DATABASE_URL", var)
            .args(["db", "status"])
            .output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(!err.contains("hunter2"), "the password leaked: {err}");
        if file.is_some() {
            assert!(err.contains("config.toml"), "names the file: {err}");
        } else {
            assert!(
                err.contains("CHAINLIFT_DATABASE_URL") && err.contains("postgres://"),
                "{err}"
            );
        }
    }
    Ok(())
}

#[test]
fn a_sqlite_history_copied_to_postgres_keeps_everything_and_its_audit_chain() -> TestResult {
    let Some(target) = scratch_database()? else {
        eprintln!("no CHAINLIFT_TEST_DATABASE_URL: the copy runs in the PostgreSQL pass");
        return Ok(());
    };
    let sb = on_sqlite()?;
    let server = OpenAiServer::start(sample_responder())?;
    version_and_deploy(&sb, "v1")?;
    edit_writer(&sb)?;
    version_and_deploy(&sb, "v2")?;
    ok(sb
        .cli()
        .args(["flag", "set", "dev", "BETA", "on"])
        .output()?);
    ok(sb.run_live(&server, "sk-test-copy-0011223344556677")?);
    let before = |sb: &Sandbox, args: &[&str]| -> Result<Value, Box<dyn std::error::Error>> {
        Ok(json(&ok(sb
            .cli()
            .args(args)
            .args(["--format", "json"])
            .output()?))?)
    };
    let versions = before(&sb, &["versions", "content-pipeline"])?;
    let flags = before(&sb, &["flags", "dev"])?;
    let runs = before(&sb, &["runs"])?;
    let audit = before(&sb, &["audit"])?;

    // Into a database that is not empty: refused, nothing written.
    let copy = || {
        sb.cli()
            .args(["db", "copy", "--to", &target, "--format", "json"])
            .output()
    };
    let copied = json(&ok(copy()?))?;
    assert_eq!(copied["audit"]["ok"], true, "{copied}");
    assert_eq!(copied["tables"]["versions"], 2);
    assert_eq!(copied["tables"]["runs"], 1);
    let again = copy()?;
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty database"));

    // The same CLI on the copy shows the same history, and goes on writing to it.
    let on_pg = |args: &[&str]| -> Result<Value, Box<dyn std::error::Error>> {
        Ok(json(&ok(sb
            .cli()
            .env("CHAINLIFT_DATABASE_URL", &target)
            .args(args)
            .args(["--format", "json"])
            .output()?))?)
    };
    assert_eq!(on_pg(&["db", "status"])?["engine"], "PostgreSQL");
    assert_eq!(on_pg(&["versions", "content-pipeline"])?, versions);
    assert_eq!(on_pg(&["flags", "dev"])?, flags);
    assert_eq!(on_pg(&["runs"])?, runs);
    assert_eq!(on_pg(&["audit"])?, audit);
    assert_eq!(on_pg(&["audit", "--verify"])?["ok"], true);
    let v3 = sb
        .cli()
        .env("CHAINLIFT_DATABASE_URL", &target)
        .args(["rollback", "content-pipeline", "--env", "dev"])
        .output()?;
    ok(v3);
    assert_eq!(on_pg(&["audit", "--verify"])?["ok"], true);
    Ok(())
}

/// The app (the api in process, as the desktop app opens it) and the CLI on one history see each
/// other's deploys, and the app's change feed moves with the CLI's writes (its screens refresh).
/// On PostgreSQL in the PostgreSQL pass, on the SQLite file otherwise.
#[test]
fn the_app_and_the_cli_on_one_history_see_each_others_deploys() -> TestResult {
    use chainlift_api::{Chainlift, ProjectArgs, SystemClock};
    let sb = Sandbox::new()?;
    let location = match &sb.database {
        Some(url) => chainlift_store::Location::from_url(url)?,
        None => chainlift_store::Location::Sqlite(sb.home.join("chainlift.db")),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let app = rt.block_on(Chainlift::open_at(
        &sb.home,
        location.clone(),
        chainlift_secrets::SecretSource::Env,
        std::sync::Arc::new(SystemClock),
    ))?;
    let at = ProjectArgs {
        project: Some(sb.project.clone()),
        chain: Some("content-pipeline".into()),
        cwd: sb.project.clone(),
    };
    let feed = rt.block_on(app.changes())?;

    // The CLI deploys v1; the app sees it, and its feed says history moved.
    version_and_deploy(&sb, "v1")?;
    let seen = rt.block_on(app.deployments(&at, Some("dev")))?;
    assert_eq!(seen.first().map(|d| d.version.as_str()), Some("v1"));
    assert!(rt.block_on(app.changes())?.history > feed.history);
    assert_eq!(
        rt.block_on(app.database())?.engine,
        location.engine().name()
    );

    // The app deploys v2; the CLI's next command sees it.
    edit_writer(&sb)?;
    let v2 = rt.block_on(app.version_create(&at, Some("v2"), None))?;
    rt.block_on(app.deploy(&at, &v2.hash[..12], "dev", None))?;
    let versions = json(&ok(sb
        .cli()
        .args(["versions", "content-pipeline", "--format", "json"])
        .output()?))?;
    let v2_row = versions
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["tag"] == "v2"))
        .ok_or("the CLI does not list v2")?;
    assert!(
        v2_row.to_string().contains("dev"),
        "v2 is deployed to dev: {v2_row}"
    );
    Ok(())
}

/// DESIGN.md §11: a run's files stay where it ran, and the history keeps its output's text: with
/// the files gone from this machine, `runs show` still shows the output, and says so.
#[test]
fn a_runs_output_is_kept_in_the_history_when_its_files_are_elsewhere() -> TestResult {
    let sb = Sandbox::new()?;
    let server = OpenAiServer::start(sample_responder())?;
    let run = json(&ok(sb.run_live(&server, "sk-test-elsewhere-99887766")?))?;
    let id = run["id"].as_str().ok_or("no run id")?.to_string();
    let shown = |sb: &Sandbox| -> Result<Value, Box<dyn std::error::Error>> {
        Ok(json(&ok(sb
            .cli()
            .args(["runs", "show", &id, "--format", "json"])
            .output()?))?)
    };
    let here = shown(&sb)?;
    assert_eq!(here["files_here"], true);
    let preview = here["output_preview"]
        .as_str()
        .ok_or("no preview")?
        .to_string();
    assert!(preview.contains("Refunds"), "{preview}");
    // The run's folder is gone from this machine (as on a teammate's, reading the same history).
    std::fs::remove_dir_all(here["run_dir"].as_str().ok_or("no run dir")?)?;
    let elsewhere = shown(&sb)?;
    assert_eq!(elsewhere["files_here"], false);
    assert_eq!(elsewhere["output_preview"].as_str(), Some(preview.as_str()));
    assert!(!elsewhere.to_string().contains("sk-test-elsewhere"));
    Ok(())
}
