//! Versions, deployments, rollback, flags and the audit log, through the CLI on the sample.

mod support;

use std::process::Output;

use serde_json::Value;
use support::{sample_responder, OpenAiServer, Sandbox, TestResult};

fn json(out: &Output) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(&out.stdout)
}

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

fn edit(path: &std::path::Path, from: &str, to: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    assert!(text.contains(from), "{} lacks {from}", path.display());
    std::fs::write(path, text.replacen(from, to, 1))
}

const KEY: &str = "sk-test-history-a1b2c3d4e5f60718";

/// `chainlift run` in dev against the local server (the deployed version unless told otherwise).
fn run_dev(sb: &Sandbox, server: &OpenAiServer) -> std::io::Result<Output> {
    sb.cli()
        .env("CHAINLIFT_SECRETS", "env")
        .env("OPENAI_API_KEY", KEY)
        .env("OPENAI_BASE_URL", &server.base_url)
        .args([
            "run",
            "content-pipeline",
            "--env",
            "dev",
            "--var",
            "CHAINLIFT_CASSETTE=",
            "--format",
            "json",
            "--input",
        ])
        .arg(sb.input())
        .output()
}

fn writer_request(server: &OpenAiServer) -> Value {
    server
        .requests()
        .iter()
        .rev()
        .find(|r| r.body.get("response_format").is_some())
        .map(|r| r.body.clone())
        .unwrap_or(Value::Null)
}

#[test]
fn v1_v2_deploy_rollback_then_the_next_run_uses_v1_with_its_config_snapshot() -> TestResult {
    let sb = Sandbox::new()?;
    let server = OpenAiServer::start(sample_responder())?;
    let writer = sb.chain_dir().join("agents/writer.yaml");
    let dev_env = sb.chain_dir().join("config/dev.env");

    ok(sb
        .cli()
        .args([
            "version",
            "create",
            "content-pipeline",
            "--tag",
            "v1",
            "--note",
            "first",
        ])
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

    // v2: a new prompt, and dev's config moves to another writer model.
    edit(&writer, "Write a report on", "Write a short report on")?;
    edit(
        &dev_env,
        "WRITER_MODEL=gpt-5.4-mini",
        "WRITER_MODEL=gpt-4o-mini",
    )?;
    let v2 = json(&ok(sb
        .cli()
        .args([
            "version",
            "create",
            "content-pipeline",
            "--tag",
            "v2",
            "--format",
            "json",
        ])
        .output()?))?;
    assert_eq!(v2["existing"], false);
    let deployed = json(&ok(sb
        .cli()
        .args([
            "deploy",
            "content-pipeline",
            "--version",
            "v2",
            "--env",
            "dev",
            "--format",
            "json",
        ])
        .output()?))?;
    assert!(
        deployed["config_diff"]
            .as_str()
            .unwrap_or("")
            .contains("WRITER_MODEL"),
        "{deployed}"
    );

    ok(run_dev(&sb, &server)?);
    let body = writer_request(&server);
    assert_eq!(body["model"], "gpt-4o-mini");
    assert!(body["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .contains("Write a short report"));

    let back = json(&ok(sb
        .cli()
        .args([
            "rollback",
            "content-pipeline",
            "--env",
            "dev",
            "--format",
            "json",
        ])
        .output()?))?;
    assert_eq!(
        (back["action"].as_str(), back["version"].as_str()),
        (Some("rollback"), Some("v1"))
    );

    // The very next run: v1's files and v1's config snapshot, whatever dev.env says now.
    let run = json(&ok(run_dev(&sb, &server)?))?;
    let body = writer_request(&server);
    assert_eq!(
        body["model"], "gpt-5.4-mini",
        "v1's snapshot, not today's dev.env"
    );
    assert!(body["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .contains("Write a report on"));
    assert_eq!(run["version"], "v1");
    assert_eq!(run["deployment_id"], back["id"]);

    // What each version produced is identifiable.
    let v1_runs = json(&ok(sb
        .cli()
        .args(["runs", "--version", "v1", "--format", "json"])
        .output()?))?;
    let v2_runs = json(&ok(sb
        .cli()
        .args(["runs", "--version", "v2", "--format", "json"])
        .output()?))?;
    assert_eq!(
        (
            v1_runs.as_array().map(Vec::len),
            v2_runs.as_array().map(Vec::len)
        ),
        (Some(1), Some(1))
    );

    // --working runs the files on disk; --version runs a version with today's env file.
    let working = sb
        .cli()
        .env("CHAINLIFT_SECRETS", "env")
        .env("OPENAI_API_KEY", KEY)
        .env("OPENAI_BASE_URL", &server.base_url)
        .args([
            "run",
            "content-pipeline",
            "--env",
            "dev",
            "--working",
            "--var",
            "CHAINLIFT_CASSETTE=",
        ])
        .args(["--format", "json", "--input"])
        .arg(sb.input())
        .output()?;
    let working = json(&ok(working))?;
    assert_eq!(working["version"], "v2", "the files on disk are v2's");
    assert_eq!(working["deployment_id"], Value::Null);

    let export = sb.dir.path().join("exported-v1");
    ok(sb
        .cli()
        .args(["version", "export", "content-pipeline", "v1", "--to"])
        .arg(&export)
        .output()?);
    assert!(
        std::fs::read_to_string(export.join("agents/writer.yaml"))?.contains("Write a report on")
    );
    let diff = ok(sb
        .cli()
        .args(["version", "diff", "content-pipeline", "v1", "v2"])
        .output()?);
    assert!(String::from_utf8_lossy(&diff.stdout).contains("+  Write a short report on"));

    // The audit log holds every move and verifies; any tampering is caught.
    let audit = json(&ok(sb
        .cli()
        .args(["audit", "--format", "json"])
        .output()?))?;
    let actions: Vec<&str> = audit
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(actions, ["rollback", "deploy", "deploy"]);
    ok(sb.cli().args(["audit", "--verify"]).output()?);
    let db = sb.home.join("chainlift.db");
    let sql = |q: &str| {
        std::process::Command::new("sqlite3")
            .arg(&db)
            .arg(q)
            .output()
    };
    let refused = sql("UPDATE audit SET actor = 'mallory' WHERE seq = 2")?;
    assert!(
        !refused.status.success(),
        "the triggers refuse a plain edit"
    );
    sql("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; UPDATE audit SET actor = 'mallory' WHERE seq = 2;")?;
    let verify = sb
        .cli()
        .args(["audit", "--verify", "--format", "json"])
        .output()?;
    assert_eq!(verify.status.code(), Some(1));
    assert!(json(&verify)?["problem"]
        .as_str()
        .unwrap_or("")
        .contains("row 2 was edited"));
    sql("UPDATE audit SET actor = (SELECT actor FROM audit WHERE seq = 1) WHERE seq = 2; DELETE FROM audit WHERE seq = 3;")?;
    let verify = sb
        .cli()
        .args(["audit", "--verify", "--format", "json"])
        .output()?;
    assert_eq!(
        verify.status.code(),
        Some(1),
        "a deleted last row is caught by the head kept beside the database"
    );

    // Leak test over the whole flow.
    assert!(
        sb.files_containing(KEY).is_empty(),
        "{:?}",
        sb.files_containing(KEY)
    );
    Ok(())
}

#[test]
fn refusals_say_why() -> TestResult {
    let sb = Sandbox::new()?;
    let err = |out: &Output| String::from_utf8_lossy(&out.stderr).to_string();

    let out = sb
        .cli()
        .args(["rollback", "content-pipeline", "--env", "dev"])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("never been deployed"), "{}", err(&out));

    ok(sb
        .cli()
        .args(["version", "create", "content-pipeline", "--tag", "v1"])
        .output()?);
    let out = sb
        .cli()
        .args([
            "deploy",
            "content-pipeline",
            "--version",
            "v9",
            "--env",
            "dev",
        ])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("no version `v9`"));

    std::fs::write(sb.chain_dir().join("agents/extra.yaml"), "name: extra\n")?;
    let out = sb
        .cli()
        .args(["version", "create", "content-pipeline", "--tag", "v1"])
        .output()?;
    assert_eq!(out.status.code(), Some(2), "a tag names one version");
    assert!(err(&out).contains("already names another version"));

    let out = sb
        .cli()
        .args([
            "deploy",
            "content-pipeline",
            "--version",
            "v1",
            "--env",
            "production",
        ])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("has not been promoted to `production`"),
        "{}",
        err(&out)
    );

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
    let out = sb
        .cli()
        .args(["rollback", "content-pipeline", "--env", "dev"])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("no earlier deployment"));
    Ok(())
}

#[test]
fn an_untagged_version_gets_its_tag_once() -> TestResult {
    let sb = Sandbox::new()?;
    let created = json(&ok(sb
        .cli()
        .args(["version", "create", "content-pipeline", "--format", "json"])
        .output()?))?;
    let hash = created["hash"].as_str().unwrap_or("").to_string();
    assert_eq!(created["tag"], Value::Null);
    let tagged = json(&ok(sb
        .cli()
        .args([
            "version",
            "tag",
            "content-pipeline",
            &hash[..10],
            "v1",
            "--format",
            "json",
        ])
        .output()?))?;
    assert_eq!(
        (tagged["tag"].as_str(), tagged["hash"].as_str()),
        (Some("v1"), Some(hash.as_str()))
    );
    // Tagging it the same again is a no-op; another tag, or a tag in use, is refused.
    ok(sb
        .cli()
        .args(["version", "tag", "content-pipeline", &hash, "v1"])
        .output()?);
    for (version, tag, why) in [
        (hash.as_str(), "v2", "tagged already"),
        (hash.as_str(), "has space", "use letters"),
        ("abcdef0123", "v3", "no version"),
    ] {
        let out = sb
            .cli()
            .args(["version", "tag", "content-pipeline", version, tag])
            .output()?;
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{err}");
    }
    let list = json(&ok(sb
        .cli()
        .args(["versions", "content-pipeline", "--format", "json"])
        .output()?))?;
    assert_eq!(list[0]["tag"], "v1");
    Ok(())
}

#[test]
fn a_flag_flip_switches_the_variant_for_the_next_run_without_a_redeploy() -> TestResult {
    let sb = Sandbox::new()?;
    let server = OpenAiServer::start(sample_responder())?;
    // The seed's switch between two variants: `then`/`else` are plain values.
    edit(
        &sb.chain_dir().join("chain.yaml"),
        "    model: ${WRITER_MODEL}",
        "    model: \"${USE_NEW_WRITER:gpt-4o:gpt-5.4-mini}\"",
    )?;
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

    ok(run_dev(&sb, &server)?);
    assert_eq!(writer_request(&server)["model"], "gpt-5.4-mini");
    ok(sb
        .cli()
        .args(["flag", "set", "dev", "USE_NEW_WRITER", "on"])
        .output()?);
    ok(run_dev(&sb, &server)?);
    assert_eq!(writer_request(&server)["model"], "gpt-4o");
    ok(sb
        .cli()
        .args(["flag", "set", "dev", "USE_NEW_WRITER", "off"])
        .output()?);
    ok(run_dev(&sb, &server)?);
    assert_eq!(writer_request(&server)["model"], "gpt-5.4-mini");

    let flags = json(&ok(sb
        .cli()
        .args(["flags", "dev", "--format", "json"])
        .output()?))?;
    assert_eq!(flags[0]["value"], "off");
    let audit = json(&ok(sb
        .cli()
        .args(["audit", "--format", "json"])
        .output()?))?;
    assert_eq!(
        audit
            .as_array()
            .map(|a| a.iter().filter(|r| r["action"] == "flag").count()),
        Some(2)
    );
    let deploys = audit
        .as_array()
        .map(|a| a.iter().filter(|r| r["action"] == "deploy").count());
    assert_eq!(deploys, Some(1), "no redeploy");
    Ok(())
}

fn deployed_version(sb: &Sandbox, env: &str) -> Result<Option<String>, Box<dyn std::error::Error>> {
    let list = json(&ok(sb
        .cli()
        .args(["versions", "content-pipeline", "--format", "json"])
        .output()?))?;
    Ok(list
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| {
            v["deployed_to"]
                .as_array()
                .is_some_and(|e| e.iter().any(|x| x == env))
        })
        .and_then(|v| v["version"].as_str().map(String::from)))
}

#[test]
fn killing_the_process_at_every_step_leaves_the_old_or_the_new_pointer() -> TestResult {
    for (point, command, expect) in [
        ("deploy:before-insert", "deploy", "v1"),
        ("deploy:before-commit", "deploy", "v1"),
        ("deploy:after-commit", "deploy", "v2"),
        ("rollback:before-insert", "rollback", "v2"),
        ("rollback:before-commit", "rollback", "v2"),
        ("rollback:after-commit", "rollback", "v1"),
    ] {
        let sb = Sandbox::new()?;
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
        std::fs::write(sb.chain_dir().join("agents/extra.yaml"), "name: extra\n")?;
        ok(sb
            .cli()
            .args(["version", "create", "content-pipeline", "--tag", "v2"])
            .output()?);
        if command == "rollback" {
            ok(sb
                .cli()
                .args([
                    "deploy",
                    "content-pipeline",
                    "--version",
                    "v2",
                    "--env",
                    "dev",
                ])
                .output()?);
        }
        let args: Vec<&str> = match command {
            "deploy" => vec![
                "deploy",
                "content-pipeline",
                "--version",
                "v2",
                "--env",
                "dev",
            ],
            _ => vec!["rollback", "content-pipeline", "--env", "dev"],
        };
        let killed = sb
            .cli()
            .env("CHAINLIFT_FAILPOINT", point)
            .args(&args)
            .output()?;
        assert_eq!(
            killed.status.code(),
            None,
            "{point}: the process was killed by a signal"
        );
        assert_eq!(
            deployed_version(&sb, "dev")?.as_deref(),
            Some(expect),
            "{point}"
        );
        ok(sb.cli().args(["audit", "--verify"]).output()?);
    }
    Ok(())
}

#[test]
fn two_processes_write_the_same_database_at_once() -> TestResult {
    let sb = Sandbox::new()?;
    let spawn = |prefix: &'static str| -> std::io::Result<std::process::Child> {
        let script = (0..15)
            .map(|i| format!("\"$CL\" flag set dev {prefix}_{i} on || exit 1"))
            .collect::<Vec<_>>()
            .join("\n");
        std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("CL", assert_cmd::cargo::cargo_bin!("chainlift"))
            .env("CHAINLIFT_HOME", &sb.home)
            .current_dir(&sb.project)
            .stdout(std::process::Stdio::null())
            .spawn()
    };
    let (mut a, mut b) = (spawn("A")?, spawn("B")?);
    assert!(
        a.wait()?.success() && b.wait()?.success(),
        "no SQLITE_BUSY failure"
    );
    let flags = json(&ok(sb
        .cli()
        .args(["flags", "dev", "--format", "json"])
        .output()?))?;
    assert_eq!(flags.as_array().map(Vec::len), Some(30));
    let verify = json(&ok(sb
        .cli()
        .args(["audit", "--verify", "--format", "json"])
        .output()?))?;
    assert_eq!(
        (verify["ok"].as_bool(), verify["rows"].as_u64()),
        (Some(true), Some(30))
    );
    Ok(())
}
