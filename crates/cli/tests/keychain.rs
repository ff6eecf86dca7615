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
