//! Secrets through the CLI into the real OS keychain (Secret Service / gnome-keyring).

mod support;

use support::{Sandbox, TestResult};

fn secret_tool_finds(account: &str) -> std::io::Result<String> {
    let out = std::process::Command::new("secret-tool")
        .args([
            "search",
            "--all",
            "service",
            "chainlift-dev",
            "username",
            account,
        ])
        .output()?;
    Ok(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

#[test]
fn set_list_rm_in_the_keychain_and_the_value_is_in_no_file() -> TestResult {
    let sb = Sandbox::new()?;
    let value = format!("https://hooks.slack.example/T0/B0/{}", std::process::id());
    let out = sb
        .cli()
        .args(["secrets", "set", "--env", "dev", "SLACK_WEBHOOK"])
        .write_stdin(format!("{value}\n"))
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The keychain has it, under service chainlift-dev and account <project>/<env>/<NAME>.
    let found = secret_tool_finds("acme-content/dev/SLACK_WEBHOOK")?;
    assert!(
        found.contains("acme-content/dev/SLACK_WEBHOOK"),
        "secret-tool found: {found}"
    );

    let slack = sb.secret_status("dev", "SLACK_WEBHOOK")?;
    assert_eq!(slack["set"], true);
    assert!(slack["set_at"].is_string());
    assert!(
        !slack.to_string().contains(&value),
        "list never shows values"
    );

    // A run reads no secret it does not need, and writes none it read.
    let out = sb
        .cli()
        .args(["run", "content-pipeline", "--env", "dev", "--input"])
        .arg(sb.input())
        .output()?;
    assert_eq!(out.status.code(), Some(0));
    assert!(
        sb.files_containing(&value).is_empty(),
        "the value leaked into {:?}",
        sb.files_containing(&value)
    );

    let out = sb
        .cli()
        .args(["secrets", "rm", "--env", "dev", "SLACK_WEBHOOK"])
        .output()?;
    assert_eq!(out.status.code(), Some(0));
    assert!(!secret_tool_finds("acme-content/dev/SLACK_WEBHOOK")?
        .contains("acme-content/dev/SLACK_WEBHOOK"));
    Ok(())
}

fn set_secret(sb: &Sandbox, env: &str, name: &str, value: &str) -> TestResult {
    let out = sb
        .cli()
        .args(["secrets", "set", "--env", env, name])
        .write_stdin(format!("{value}\n"))
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn staging_findings(sb: &Sandbox) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
    let out = sb
        .cli()
        .args([
            "validate",
            "content-pipeline",
            "--env",
            "staging",
            "--format",
            "json",
        ])
        .output()?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok(report["findings"]
        .as_array()
        .cloned()
        .ok_or("validate --json has no findings array")?
        .into_iter()
        .filter(|f| f["code"] == "shares-production-data")
        .collect())
}

/// Issue 12 finding 11: staging's SLACK_WEBHOOK holding production's webhook is the seed's own
/// wrong notification target. `secrets set` records a keyed hash; `validate` compares the
/// hashes across envs without opening the keychain, and the value is in no file.
#[test]
fn a_secret_target_shared_with_production_is_found_by_keyed_hash() -> TestResult {
    let sb = Sandbox::new()?;
    // A project of its own: keychain entries are per project id, and the other test here uses
    // the sample's at the same time.
    let policy = sb.project.join("chainlift.yaml");
    let text = std::fs::read_to_string(&policy)?;
    std::fs::write(
        &policy,
        text.replace("name: acme-content", "name: acme-hashes"),
    )?;
    let prod = format!("https://hooks.slack.example/T0/PROD/{}", std::process::id());
    set_secret(&sb, "production", "SLACK_WEBHOOK", &prod)?;
    set_secret(&sb, "staging", "SLACK_WEBHOOK", &prod)?;
    let found = staging_findings(&sb)?;
    assert_eq!(found.len(), 1, "{found:?}");
    let message = found[0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("notify.slack") && message.contains("SLACK_WEBHOOK"),
        "{message}"
    );
    assert!(
        !found[0].to_string().contains(&prod),
        "no value in findings"
    );

    // Staging gets its own webhook: nothing shared any more.
    let own = format!(
        "https://hooks.slack.example/T0/STAGING/{}",
        std::process::id()
    );
    set_secret(&sb, "staging", "SLACK_WEBHOOK", &own)?;
    assert!(staging_findings(&sb)?.is_empty());

    // Neither value, nor the hash key, is in any file the CLI wrote (SQLite holds only hashes).
    for value in [&prod, &own] {
        assert!(
            sb.files_containing(value).is_empty(),
            "{value} leaked into {:?}",
            sb.files_containing(value)
        );
    }
    for env in ["production", "staging"] {
        sb.cli()
            .args(["secrets", "rm", "--env", env, "SLACK_WEBHOOK"])
            .output()?;
    }
    Ok(())
}
