//! Test harness: a sample project copied to a scratch folder, a scratch data folder, and a
//! small HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions wire format.

#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use serde_json::Value;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub fn sample_src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/content-pipeline")
}

pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
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

/// A scratch copy of the sample project and a scratch data folder.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub project: PathBuf,
    pub home: PathBuf,
    /// The sandbox's own PostgreSQL database when the tests run on PostgreSQL
    /// (`CHAINLIFT_TEST_DATABASE_URL`, see scripts/with-postgres.sh), else None: SQLite.
    pub database: Option<String>,
}

/// A fresh database on the test server of `CHAINLIFT_TEST_DATABASE_URL`, if one is set.
pub fn scratch_database() -> std::io::Result<Option<String>> {
    let Ok(admin) = std::env::var("CHAINLIFT_TEST_DATABASE_URL") else {
        return Ok(None);
    };
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "cli_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let out = std::process::Command::new("psql")
        .args([
            admin.as_str(),
            "-q",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Ok(Some(format!("{base}/{name}")))
}

impl Sandbox {
    pub fn new() -> std::io::Result<Sandbox> {
        let dir = tempfile::tempdir()?;
        let project = dir.path().join("acme");
        copy_dir(&sample_src(), &project)?;
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home)?;
        let database = scratch_database()?;
        Ok(Sandbox {
            dir,
            project,
            home,
            database,
        })
    }

    pub fn chain_dir(&self) -> PathBuf {
        self.project.join("chains/content-pipeline")
    }

    pub fn input(&self) -> PathBuf {
        self.chain_dir().join("test-fixtures/sample-input.json")
    }

    /// `chainlift` with this sandbox's data folder, run from the project folder.
    pub fn cli(&self) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("chainlift"));
        cmd.env("CHAINLIFT_HOME", &self.home);
        match &self.database {
            Some(url) => cmd.env("CHAINLIFT_DATABASE_URL", url),
            None => cmd.env_remove("CHAINLIFT_DATABASE_URL"),
        };
        cmd.env_remove("CHAINLIFT_SECRETS")
            .env_remove("OPENAI_BASE_URL")
            .env_remove("OPENAI_API_KEY")
            .current_dir(&self.project);
        cmd
    }

    /// `chainlift run` of the sample in dev against `server`, key from the process env.
    pub fn run_live(
        &self,
        server: &OpenAiServer,
        key: &str,
    ) -> std::io::Result<std::process::Output> {
        self.cli()
            .env("CHAINLIFT_SECRETS", "env")
            .env("OPENAI_API_KEY", key)
            .env("OPENAI_BASE_URL", &server.base_url)
            .args([
                "run",
                "content-pipeline",
                "--env",
                "dev",
                "--var",
                "CHAINLIFT_CASSETTE=",
            ])
            .args(["--format", "json", "--input"])
            .arg(self.input())
            .output()
    }

    /// `secrets list --env ENV --format json`, the entry for `name` (Null when absent).
    pub fn secret_status(
        &self,
        env: &str,
        name: &str,
    ) -> Result<Value, Box<dyn std::error::Error>> {
        let out = self
            .cli()
            .args(["secrets", "list", "--env", env, "--format", "json"])
            .output()?;
        let list: Value = serde_json::from_slice(&out.stdout)?;
        Ok(list
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// Every file under the data folder and the project whose bytes contain `needle`.
    pub fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        let mut hits = Vec::new();
        walk(self.dir.path(), &mut |p| {
            if std::fs::read(p)
                .map(|b| contains(&b, needle.as_bytes()))
                .unwrap_or(false)
            {
                hits.push(p.to_path_buf());
            }
        });
        hits
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, f);
        } else {
            f(&p);
        }
    }
}

pub use chainlift_testkit::{
    openai_completion as completion, Reply, Responder, Seen, TestServer as OpenAiServer,
};

/// The sample chain's two agents: a text brief for the researcher, a JSON report for the writer.
pub fn sample_responder() -> Arc<Responder> {
    Arc::new(|req: &chainlift_testkit::Seen, _| {
        if req.body.get("response_format").is_some() {
            let report = chainlift_testkit::sample_report();
            Reply::json(200, &completion(&report.to_string(), 1000, 500))
        } else {
            Reply::json(
                200,
                &completion("Brief: refunds are common within 14 days.", 200, 100),
            )
        }
    })
}
