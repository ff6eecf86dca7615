//! The PM's review on the real store against a local server speaking Anthropic's wire format:
//! one quality input beside the deployed version's answer, the trend over gated versions, and
//! the criteria adjusted in chain.yaml with a reason that the next promotion shows.

use std::path::PathBuf;
use std::sync::Arc;

use chainlift_api::dto::{CriterionEdit, QualityCriteria};
use chainlift_api::{Chainlift, ErrorCode, GateArgs, ProjectArgs, SystemClock};
use chainlift_gates::GateStatus;
use chainlift_model::lifecycle::PromotionState;
use chainlift_secrets::SecretSource;
use chainlift_testkit::TestServer;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const KEY: &str = "anthropic-test-review-5e4d3c2b1a";

struct World {
    api: Chainlift,
    at: ProjectArgs,
    chain_dir: PathBuf,
    server: TestServer,
    _tmp: tempfile::TempDir,
}

async fn world() -> Result<World, Box<dyn std::error::Error>> {
    let server = TestServer::start(chainlift_testkit::reviewing_providers(
        std::time::Duration::ZERO,
    ))?;
    // This binary's only test process: the env is the secret source, as in `serve`.
    std::env::set_var("ANTHROPIC_API_KEY", KEY);
    std::env::set_var("OPENAI_API_KEY", "sk-test-review-unused");
    std::env::set_var("ANTHROPIC_BASE_URL", &server.base_url);
    std::env::set_var("OPENAI_BASE_URL", &server.base_url);
    std::env::set_var("SLACK_WEBHOOK", format!("{}/hooks/x", server.base_url));
    std::env::set_var("USER", "dana");
    let tmp = tempfile::tempdir()?;
    let api = Chainlift::open_with(tmp.path(), SecretSource::Env, Arc::new(SystemClock)).await?;
    let project = chainlift_api::sample::materialize(tmp.path())?;
    let at = ProjectArgs {
        project: Some(project.clone()),
        chain: Some("content-pipeline".into()),
        cwd: project.clone(),
    };
    Ok(World {
        api,
        at,
        chain_dir: project.join("chains/content-pipeline"),
        server,
        _tmp: tmp,
    })
}

impl World {
    async fn quality(&self) -> Result<(), Box<dyn std::error::Error>> {
        self.api
            .gate(&GateArgs {
                at: self.at.clone(),
                env: "staging".into(),
                only: Some(vec!["quality".into()]),
                version: None,
            })
            .await?;
        Ok(())
    }

    fn edit(&self, rel: &str, from: &str, to: &str) -> std::io::Result<()> {
        let path = self.chain_dir.join(rel);
        let text = std::fs::read_to_string(&path)?;
        assert!(text.contains(from), "{rel} lacks {from}");
        std::fs::write(path, text.replacen(from, to, 1))
    }
}

#[tokio::test]
async fn review_trend_and_criteria_adjusted_with_a_reason() -> TestResult {
    let w = world().await?;
    // v1 passes staging and is deployed there: it is the baseline of what follows.
    w.api.version_create(&w.at, Some("v1"), None).await?;
    w.api.deploy(&w.at, "v1", "dev", None).await?;
    let p1 = w.api.promote(&w.at, "staging", Some("v1")).await?;
    assert_eq!(p1.state, "approved", "{:?}", p1.gates);
    w.api.deploy(&w.at, "v1", "staging", None).await?;

    // v2 writes tersely; the reviewer scores it low.
    w.edit(
        "agents/writer.yaml",
        "Write a report on",
        "Write tersely a report on",
    )?;
    w.api.version_create(&w.at, Some("v2"), None).await?;
    w.quality().await?;

    let r = w
        .api
        .review_input(&w.at, "staging", "v2", "onboarding.json")
        .await?;
    assert_eq!(r.candidate.version, "v2");
    let out = r.candidate.output.clone().unwrap_or_default();
    assert!(out.contains("TERSE"), "the candidate's own output: {out}");
    let completeness = |s: &chainlift_api::dto::ReviewSide| {
        s.scores
            .iter()
            .find(|c| c.criterion == "completeness")
            .map(|c| (c.score, c.rationale.clone()))
    };
    assert_eq!(
        completeness(&r.candidate),
        Some((2, "too terse to be complete".to_string()))
    );
    let base = r.baseline.as_ref().ok_or("the deployed version's answer")?;
    assert_eq!(base.version, "v1");
    assert!(base
        .output
        .as_deref()
        .is_some_and(|o| o.contains("A short refund window")));
    assert_eq!(completeness(base), Some((5, "complete".to_string())));
    assert!(
        r.input_text.as_deref().is_some_and(|t| t.contains('{')),
        "the input, as pretty JSON: {:?}",
        r.input_text
    );
    let missing = w
        .api
        .review_input(&w.at, "staging", "v2", "nope.json")
        .await;
    assert_eq!(missing.map_err(|e| e.code).err(), Some(ErrorCode::NotFound));

    // The trend: v1 then v2 in staging, with the threshold of the time and a cost per run.
    let trend = w.api.quality_trend(&w.at, "staging").await?;
    let versions: Vec<&str> = trend.iter().map(|t| t.version.as_str()).collect();
    assert_eq!(versions, ["v1", "v2"]);
    assert!(trend[0].overall > trend[1].overall);
    assert_eq!(trend[1].criteria.get("completeness"), Some(&2.0));
    assert!(trend
        .iter()
        .all(|t| t.min_average == 4.0 && t.cost_per_run.is_some()));

    // Adjust the criteria: refused without a reason or out of range, then written in place.
    let before = std::fs::read_to_string(w.chain_dir.join("chain.yaml"))?;
    let mut edit = w.api.quality_criteria(&w.at).await?;
    assert_eq!(edit.min_average, 4.0);
    edit.min_average = 3.0;
    edit.criteria[1] = CriterionEdit {
        name: "accuracy".into(),
        guidance: Some("figures match the sources".into()),
    };
    let no_reason = w.api.set_quality_criteria(&w.at, &edit, " ").await;
    assert_eq!(
        no_reason.map_err(|e| e.code).err(),
        Some(ErrorCode::BadInput)
    );
    let wild = QualityCriteria {
        min_average: 7.0,
        ..edit.clone()
    };
    let out_of_range = w.api.set_quality_criteria(&w.at, &wild, "why not").await;
    assert!(out_of_range.is_err_and(|e| e.message.contains("outside 1-5")));
    assert_eq!(
        std::fs::read_to_string(w.chain_dir.join("chain.yaml"))?,
        before,
        "a refused change writes nothing"
    );
    let change = w
        .api
        .set_quality_criteria(&w.at, &edit, "terse answers are what support wants now")
        .await?;
    assert_eq!(
        change.summary,
        "threshold 4.0 → 3.0; guidance of accuracy reworded"
    );
    assert_eq!(change.by, "dana");
    let after = std::fs::read_to_string(w.chain_dir.join("chain.yaml"))?;
    assert!(after.contains("min_average: 3.0"), "{after}");
    assert!(
        after.contains(r#"{name: "accuracy", guidance: "figures match the sources"}"#),
        "{after}"
    );
    let comments = |t: &str| t.lines().filter(|l| l.contains('#')).count();
    assert_eq!(comments(&after), comments(&before), "comments kept");
    assert_eq!(w.api.quality_criteria(&w.at).await?, edit);

    // The next promotion shows who changed what and why; the reviewer was told the guidance.
    let p2 = w.api.promote(&w.at, "staging", None).await?;
    let shown: Vec<String> = p2
        .criteria_changes
        .iter()
        .map(|c| format!("{} by {}: {}", c.summary, c.by, c.reason))
        .collect();
    assert_eq!(
        shown,
        ["threshold 4.0 → 3.0; guidance of accuracy reworded by dana: terse answers are what support wants now"]
    );
    assert!(w
        .server
        .requests()
        .iter()
        .any(|r| r.body.to_string().contains("figures match the sources")));

    // Still below 3.0: waived with a reason, and Home reads it as waived, not as a failure.
    assert_eq!(p2.state, PromotionState::GatesFailed, "{:?}", p2.gates);
    w.api
        .waive(&w.at, &p2.id, "quality", "terse is fine for now")
        .await?;
    let home = w.api.open_project(&w.at).await?;
    let staging = home.chains[0]
        .envs
        .iter()
        .find(|e| e.env == "staging")
        .ok_or("a staging column")?;
    let quality = staging
        .gates
        .iter()
        .find(|g| g.gate == "quality")
        .ok_or("quality on Home")?;
    assert_eq!(quality.status, GateStatus::Waived);
    assert!(
        quality
            .summary
            .contains("waived by dana: terse is fine for now"),
        "{}",
        quality.summary
    );
    let audit = w.api.audit(None, 50).await?;
    assert!(audit
        .iter()
        .any(|a| a.action == "criteria" && a.sentence.contains("changed the quality criteria")));
    for a in &audit {
        assert!(!a.sentence.contains(KEY) && !a.detail.clone().unwrap_or_default().contains(KEY));
    }
    Ok(())
}
