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
    let writer = sb.chain_dir().join("agents/writer.yaml");
    for tag in ["v1", "v2"] {
        if tag == "v2" {
            let text = std::fs::read_to_string(&writer)?;
            std::fs::write(
                &writer,
                text.replacen("Write a report on", "Write a short report on", 1),
            )?;
        }
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
    }
    ok(sb
        .cli()
        .args(["flag", "set", "dev", "BETA", "on"])
        .output()?);
    ok(sb
        .cli()
        .env("CHAINLIFT_SECRETS", "env")
        .env("OPENAI_API_KEY", "sk-test-copy-0011223344556677")
        .env("OPENAI_BASE_URL", &server.base_url)
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
        .output()?);
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
