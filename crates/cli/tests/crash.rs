//! A run whose process is killed (SIGKILL: no chance to record anything) must not stay
//! `running`: the next process that opens the data folder ends it `interrupted` (DESIGN.md §9).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{OpenAiServer, Reply, Sandbox, TestResult};

#[test]
fn a_killed_run_ends_interrupted_when_the_next_command_opens_the_history() -> TestResult {
    let sb = Sandbox::new()?;
    // A provider that answers after a minute: the run is surely still going when killed.
    let server = OpenAiServer::start(Arc::new(|_, _| {
        Reply::json(200, &support::completion("late", 1, 1)).delayed(Duration::from_secs(60))
    }))?;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("chainlift"))
        .env("CHAINLIFT_HOME", &sb.home)
        .env("CHAINLIFT_SECRETS", "env")
        .env("OPENAI_API_KEY", "sk-crash-test-0123456789")
        .env("OPENAI_BASE_URL", &server.base_url)
        .current_dir(&sb.project)
        .args([
            "run",
            "content-pipeline",
            "--env",
            "dev",
            "--var",
            "CHAINLIFT_CASSETTE=",
        ])
        .arg("--input")
        .arg(sb.input())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let runs = |sb: &Sandbox| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let out = sb.cli().args(["runs", "--format", "json"]).output()?;
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = runs(&sb)?;
        if list[0]["status"] == "running" {
            break;
        }
        assert!(Instant::now() < deadline, "the run never started: {list}");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill()?; // SIGKILL
    child.wait()?;
    let list = runs(&sb)?;
    assert_eq!(list[0]["status"], "interrupted", "{list}");
    assert!(
        list[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("is gone")),
        "{list}"
    );
    Ok(())
}
