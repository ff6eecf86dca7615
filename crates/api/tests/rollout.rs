//! Rollouts (DESIGN.md §10) on the real store and the sample's cassette, with a clock the test
//! moves: a failing canary rolled back by the monitor, a clean one walking its steps to
//! `stable`, too little traffic held, and a person's abort.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chainlift_api::dto::RolloutPhase;
use chainlift_api::rollout::RolloutAction;
use chainlift_api::{Chainlift, ManualClock, ProjectArgs, RunArgs};
use chainlift_model::lifecycle::{Metric, RolloutState, Verdict};
use chainlift_secrets::SecretSource;
use chrono::{DateTime, Duration, Utc};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct World {
    api: Chainlift,
    clock: Arc<ManualClock>,
    at: ProjectArgs,
    chain_dir: PathBuf,
    home: PathBuf,
    t0: DateTime<Utc>,
    _tmp: tempfile::TempDir,
}

/// The sample with `dev` watched: 2 s intervals, a 6 s window, steps 10 → 50. Version 1 is
/// deployed (a first deploy: nothing to watch) and version 2 made by `change`.
async fn world(
    monitor: &str,
    change: impl Fn(&Path) -> std::io::Result<()>,
) -> Result<World, Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let t0 = Utc::now();
    let clock = Arc::new(ManualClock::new(t0));
    let api = Chainlift::open_with(tmp.path(), SecretSource::Env, clock.clone()).await?;
    let project = chainlift_api::sample::materialize(tmp.path())?;
    let policy = project.join("chainlift.yaml");
    let text = std::fs::read_to_string(&policy)?;
    std::fs::write(
        &policy,
        text.replace(
            "  - {name: dev}",
            &format!("  - name: dev\n    monitor: {monitor}"),
        ),
    )?;
    let at = ProjectArgs {
        project: Some(project.clone()),
        chain: Some("content-pipeline".into()),
        cwd: project.clone(),
    };
    let chain_dir = project.join("chains/content-pipeline");
    api.version_create(&at, Some("v1"), None).await?;
    let first = api.deploy(&at, "v1", "dev", None).await?;
    assert_eq!(first.action, "deploy");
    assert!(
        api.rollout(&at, "dev").await.is_err(),
        "a first deploy has nothing to roll back to: no rollout"
    );
    change(&chain_dir)?;
    api.version_create(&at, Some("v2"), None).await?;
    Ok(World {
        api,
        clock,
        at,
        chain_dir,
        home: tmp.path().to_path_buf(),
        t0,
        _tmp: tmp,
    })
}

impl World {
    /// `n` runs keyed `k-<i>`, ending at `t0 + secs`; the versions they ran.
    async fn traffic(
        &self,
        secs: f64,
        n: usize,
        tag: &str,
    ) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        self.clock
            .set(self.t0 + Duration::milliseconds((secs * 1000.0) as i64));
        let input = self.api.smoke_input(&self.at)?;
        let mut versions = Vec::new();
        for i in 0..n {
            let run = self
                .api
                .run(
                    &RunArgs {
                        at: self.at.clone(),
                        env: "dev".into(),
                        input: input.clone(),
                        route_key: Some(format!("{tag}-{i}")),
                        ..RunArgs::default()
                    },
                    &|_| {},
                )
                .await?;
            versions.push(run.version);
        }
        Ok(versions)
    }

    /// Another process's view of the same data folder (and the same clock).
    async fn second_process(&self) -> Result<Chainlift, Box<dyn std::error::Error>> {
        Ok(Chainlift::open_with(&self.home, SecretSource::Env, self.clock.clone()).await?)
    }

    fn project(&self) -> Result<chainlift_model::Project, Box<dyn std::error::Error>> {
        Ok(chainlift_model::Project::open(
            self.at.project.as_ref().ok_or("no project")?,
        )?)
    }

    async fn monitor_at(
        &self,
        secs: f64,
    ) -> Result<Vec<chainlift_api::rollout::MonitorOutcome>, Box<dyn std::error::Error>> {
        self.clock
            .set(self.t0 + Duration::milliseconds((secs * 1000.0) as i64));
        let project =
            chainlift_model::Project::open(self.at.project.as_ref().ok_or("no project")?)?;
        Ok(self.api.monitor(&project, "dev").await?)
    }
}

fn same_file_other_hash(dir: &Path) -> std::io::Result<()> {
    // A comment: version 2 differs in hash, not in what it sends (the cassette still answers).
    let path = dir.join("chain.yaml");
    let text = std::fs::read_to_string(&path)?;
    std::fs::write(&path, format!("{text}\n# v2: same prompts, new hash\n"))
}

fn broken_prompt(dir: &Path) -> std::io::Result<()> {
    // A changed prompt: the cassette has no answer for it, so version 2's runs fail.
    let path = dir.join("agents/writer.yaml");
    let text = std::fs::read_to_string(&path)?;
    std::fs::write(
        &path,
        text.replace("Write a report", "Write a broken report"),
    )
}

const WATCH: &str = "{window: 6s, interval: 2s, min_runs: 3, steps: [10, 50], step_for: 2s, max_latency_ratio: 1000}";

#[tokio::test]
async fn a_failing_canary_is_rolled_back_by_the_monitor() -> TestResult {
    let w = world(WATCH, broken_prompt).await?;
    let d = w
        .api
        .deploy_canary(&w.at, "v2", "dev", Some("try v2"), Some(50))
        .await?;
    assert_eq!(d.action, "canary");
    let r = w.api.rollout(&w.at, "dev").await?;
    assert_eq!(
        (r.state, r.phase, r.weight),
        (RolloutState::Monitoring, RolloutPhase::Canary, 50)
    );
    assert_eq!(
        (r.stable.as_str(), r.candidate.as_deref()),
        ("v1", Some("v2"))
    );

    // The promotion that led here (dev takes none, so link one by hand): it follows the rollout.
    let pool = chainlift_store::open(&w.home.join("chainlift.db")).await?;
    let project_id = w.project()?.id;
    let (v2,): (i64,) = sqlx::query_as("SELECT id FROM versions WHERE tag = 'v2'")
        .fetch_one(&pool)
        .await?;
    let promotion = chainlift_store::promotions::PromotionRow {
        id: "0199promotion-rollout-test".into(),
        project: project_id,
        chain: "content-pipeline".into(),
        to_env: "dev".into(),
        version_id: v2,
        state: "monitoring".into(),
        created_by: "dana".into(),
        created_at: w.t0.to_rfc3339(),
        updated_at: w.t0.to_rfc3339(),
        approved_by: None,
        approved_at: None,
        approval_note: None,
        reason: None,
    };
    chainlift_store::promotions::insert(&pool, &promotion).await?;
    sqlx::query("UPDATE rollouts SET promotion_id = $1")
        .bind(&promotion.id)
        .execute(&pool)
        .await?;
    // A state outside the lifecycle is refused by the database itself.
    let bad = sqlx::query("UPDATE promotions SET state = 'shipped' WHERE id = $1")
        .bind(&promotion.id)
        .execute(&pool)
        .await;
    assert!(bad.is_err_and(|e| e.to_string().contains("CHECK constraint failed")));

    let ran = w.traffic(1.0, 30, "k").await?;
    let to_v2 = ran.iter().filter(|v| *v == "v2").count();
    assert!(
        (5..=25).contains(&to_v2),
        "about half to the canary: {to_v2} of 30"
    );
    // Before the interval ends nothing is judged.
    let early = w.monitor_at(1.5).await?;
    assert_eq!(early.first().map(|o| o.intervals), Some(0));

    let done = w.monitor_at(2.1).await?;
    let o = done.first().ok_or("no outcome")?;
    assert!(o.rolled_back, "{o:?}");
    assert_eq!(o.failed_metric, Some(Metric::FailureRate));
    let r = w.api.rollout(&w.at, "dev").await?;
    assert_eq!(
        (r.state, r.phase, r.weight),
        (RolloutState::RolledBack, RolloutPhase::Ended, 0)
    );
    assert_eq!(r.candidate, None);
    let why = r.reason.clone().unwrap_or_default();
    assert!(why.starts_with("failure rate 1.00 > 0.10 over "), "{why}");
    assert!(why.contains("runs of v2 between"), "{why}");
    let failure = r
        .analyses
        .iter()
        .find(|a| a.metric == Metric::FailureRate)
        .ok_or("no failure-rate analysis")?;
    assert_eq!(failure.verdict, Verdict::Failed);
    assert_eq!(failure.runs as usize, to_v2);

    // The promotion reads the same, in words.
    let p = w.api.promotion(&w.at, &promotion.id).await?;
    assert_eq!(
        p.state,
        chainlift_model::lifecycle::PromotionState::RolledBack
    );
    assert_eq!(p.reason.as_deref(), Some(why.as_str()));

    // The next requests all go to the stable version, whatever their key.
    let after = w.traffic(2.5, 10, "k").await?;
    assert!(after.iter().all(|v| v == "v1"), "{after:?}");
    // The audit says who: the monitor.
    let audit = w.api.audit(None, 20).await?;
    assert!(
        audit
            .iter()
            .any(|e| e.actor == "chainlift-monitor" && e.action == "rollout-rollback"),
        "{:?}",
        audit
            .iter()
            .map(|e| (&e.actor, &e.action))
            .collect::<Vec<_>>()
    );
    // A second pass changes nothing: it is over.
    let again = w.monitor_at(10.0).await?;
    assert!(again.is_empty(), "{again:?}");
    Ok(())
}

#[tokio::test]
async fn a_clean_canary_walks_its_steps_to_stable() -> TestResult {
    let w = world(WATCH, same_file_other_hash).await?;
    w.api
        .deploy_canary(&w.at, "v2", "dev", None, Some(10))
        .await?;
    let mut seen = Vec::new();
    // Interval by interval: enough traffic for both sides, then the monitor.
    for step in 1..=6 {
        let end = 2.0 * f64::from(step);
        w.traffic(end - 1.0, 60, &format!("s{step}")).await?;
        w.monitor_at(end + 0.05).await?;
        let r = w.api.rollout(&w.at, "dev").await?;
        seen.push((r.state, r.phase, r.weight));
        if r.state == RolloutState::Stable {
            break;
        }
    }
    use RolloutPhase::*;
    use RolloutState::*;
    assert_eq!(
        seen,
        vec![
            (Monitoring, Canary, 50),
            (Monitoring, Window, 100),
            (Monitoring, Window, 100),
            (Monitoring, Window, 100),
            (Monitoring, Window, 100),
            (Stable, Ended, 0),
        ]
    );
    let r = w.api.rollout(&w.at, "dev").await?;
    assert_eq!(r.stable, "v2");
    assert!(
        r.analyses.iter().all(|a| a.verdict == Verdict::Successful),
        "{:?}",
        r.analyses
    );
    // The pointer is v2's: every request, any key.
    let after = w.traffic(13.0, 5, "z").await?;
    assert!(after.iter().all(|v| v == "v2"), "{after:?}");
    let _ = &w.chain_dir;
    Ok(())
}

#[tokio::test]
async fn too_little_traffic_is_held_then_a_person_promotes() -> TestResult {
    let w = world(
        "{window: 6s, interval: 2s, min_runs: 3, steps: [10], step_for: 2s}",
        same_file_other_hash,
    )
    .await?;
    w.api
        .deploy_canary(&w.at, "v2", "dev", None, Some(10))
        .await?;
    // No traffic: every interval inconclusive; after a window's worth of holding, paused.
    let out = w.monitor_at(6.1).await?;
    assert_eq!(out.first().map(|o| o.intervals), Some(3));
    let r = w.api.rollout(&w.at, "dev").await?;
    assert_eq!(r.state, RolloutState::Paused, "{r:?}");
    assert!(r
        .analyses
        .iter()
        .all(|a| a.verdict == Verdict::Inconclusive));
    assert!(r.reason.unwrap_or_default().contains("too few runs"));
    // Held: the weight stays, nothing advances.
    w.monitor_at(12.0).await?;
    assert_eq!(w.api.rollout(&w.at, "dev").await?.weight, 10);
    let r = w
        .api
        .rollout_act(&w.at, "dev", RolloutAction::Promote)
        .await?;
    assert_eq!((r.state, r.stable.as_str()), (RolloutState::Stable, "v2"));
    let after = w.traffic(13.0, 3, "p").await?;
    assert!(after.iter().all(|v| v == "v2"));
    Ok(())
}

#[tokio::test]
async fn refusals_say_what_to_do() -> TestResult {
    let w = world(WATCH, same_file_other_hash).await?;
    let same = w
        .api
        .deploy_canary(&w.at, "v1", "dev", None, Some(10))
        .await;
    assert!(same.is_err_and(|e| e.message.contains("already")));
    let zero = w.api.deploy_canary(&w.at, "v2", "dev", None, Some(0)).await;
    assert!(zero.is_err_and(|e| e.message.contains("1 to 99")));
    let none = w.api.rollout_act(&w.at, "dev", RolloutAction::Pause).await;
    assert!(none.is_err_and(|e| e.message.contains("no open rollout")));
    // staging has no watch: a canary there is refused, naming the fix.
    let unwatched = w
        .api
        .deploy_canary(&w.at, "v2", "staging", None, Some(10))
        .await;
    assert!(unwatched.is_err());

    // A person's abort and a rollback during a canary: the stable version keeps the pointer.
    w.api
        .deploy_canary(&w.at, "v2", "dev", None, Some(50))
        .await?;
    let paused = w
        .api
        .rollout_act(&w.at, "dev", RolloutAction::Pause)
        .await?;
    assert_eq!(paused.state, RolloutState::Paused);
    let again = w.api.rollout_act(&w.at, "dev", RolloutAction::Pause).await;
    assert!(again.is_err_and(|e| e.message.contains("not possible")));
    let d = w.api.rollback(&w.at, "dev", Some("not today")).await?;
    assert_eq!(d.version, "v1");
    let r = w.api.rollout(&w.at, "dev").await?;
    assert_eq!(r.state, RolloutState::RolledBack);
    assert_eq!(r.reason.as_deref(), Some("not today"));
    Ok(())
}

/// Two processes' monitors on one database (a lease lost mid-pass, replicas): the interval is
/// analyzed once and the rollback happens once.
#[tokio::test]
async fn two_monitors_at_once_act_once() -> TestResult {
    let w = world(WATCH, broken_prompt).await?;
    w.api
        .deploy_canary(&w.at, "v2", "dev", None, Some(50))
        .await?;
    w.traffic(1.0, 30, "k").await?;
    let other = w.second_process().await?;
    let project = w.project()?;
    w.clock.set(w.t0 + Duration::milliseconds(2100));
    let (a, b) = tokio::join!(
        w.api.monitor(&project, "dev"),
        other.monitor(&project, "dev")
    );
    let outcomes: Vec<_> = a?.into_iter().chain(b?).collect();
    assert_eq!(
        outcomes.iter().filter(|o| o.rolled_back).count(),
        1,
        "{outcomes:?}"
    );
    let r = w.api.rollout(&w.at, "dev").await?;
    assert_eq!(r.state, RolloutState::RolledBack);
    assert_eq!(
        r.analyses.len(),
        3,
        "one interval, three metrics: {:?}",
        r.analyses
    );
    let rollbacks = w
        .api
        .audit(None, 50)
        .await?
        .into_iter()
        .filter(|e| e.action == "rollout-rollback")
        .count();
    assert_eq!(rollbacks, 1);
    // What the app's desktop notification reads.
    let news = w.api.monitor_rollbacks_after(0).await?;
    assert_eq!(news.len(), 1);
    assert!(news[0].reason.starts_with("failure rate"), "{news:?}");
    assert!(w.api.monitor_rollbacks_after(news[0].seq).await?.is_empty());
    Ok(())
}

/// A monitor that stops mid-window (serve killed) and another that starts later resume from
/// the stored analyses: no interval twice, none lost, and the window ends as it would have.
#[tokio::test]
async fn a_restarted_monitor_resumes_the_window() -> TestResult {
    let w = world(WATCH, same_file_other_hash).await?;
    w.api
        .deploy_canary(&w.at, "v2", "dev", None, Some(10))
        .await?;
    w.traffic(1.0, 60, "a").await?;
    w.monitor_at(2.05).await?;
    w.traffic(3.0, 60, "b").await?;
    w.monitor_at(4.05).await?;
    assert_eq!(
        w.api.rollout(&w.at, "dev").await?.phase,
        RolloutPhase::Window
    );
    // The first process is gone; traffic goes on; a new one starts two intervals later.
    w.traffic(5.0, 40, "c").await?;
    w.traffic(7.0, 40, "d").await?;
    let restarted = w.second_process().await?;
    let project = w.project()?;
    w.clock.set(w.t0 + Duration::milliseconds(8050));
    let caught_up = restarted.monitor(&project, "dev").await?;
    assert_eq!(
        caught_up.first().map(|o| o.intervals),
        Some(2),
        "{caught_up:?}"
    );
    w.traffic(9.0, 40, "e").await?;
    w.traffic(11.0, 40, "f").await?;
    w.clock.set(w.t0 + Duration::milliseconds(12050));
    restarted.monitor(&project, "dev").await?;
    let r = w.api.rollout(&w.at, "dev").await?;
    assert_eq!(r.state, RolloutState::Stable, "{r:?}");
    let mut ends: Vec<&str> = r.analyses.iter().map(|a| a.at.as_str()).collect();
    let all = ends.len();
    ends.dedup();
    assert_eq!(
        all,
        ends.len() * 3,
        "each interval once, with its three metrics"
    );
    assert_eq!(ends.len(), 6, "intervals 0-2 s … 10-12 s: {ends:?}");
    Ok(())
}

/// A provider answering with another model than the gates saw is flagged, and holds the step.
#[tokio::test]
async fn model_drift_is_flagged_and_holds_the_step() -> TestResult {
    let w = world(WATCH, same_file_other_hash).await?;
    // The gates of v2 in dev, then as if the provider had answered them with another model.
    w.api
        .gate(&chainlift_api::GateArgs {
            at: w.at.clone(),
            env: "dev".into(),
            only: Some(vec!["smoke".into()]),
            version: Some("v2".into()),
        })
        .await?;
    let pool = chainlift_store::open(&w.home.join("chainlift.db")).await?;
    let changed = sqlx::query(
        "UPDATE run_steps SET model_reported = 'gpt-5.4-mini-2026-01-01'
          WHERE run_id IN (SELECT id FROM runs WHERE triggered_by = 'gate')",
    )
    .execute(&pool)
    .await?
    .rows_affected();
    assert!(changed > 0, "the smoke gate ran the chain");
    w.api
        .deploy_canary(&w.at, "v2", "dev", None, Some(10))
        .await?;
    w.traffic(1.0, 60, "m").await?;
    w.monitor_at(2.05).await?;
    let r = w.api.rollout(&w.at, "dev").await?;
    let drift = r
        .analyses
        .iter()
        .find(|a| a.metric == Metric::ModelDrift)
        .ok_or("no model-drift analysis")?;
    assert_eq!(drift.verdict, Verdict::Inconclusive);
    let detail = drift.detail.clone().unwrap_or_default();
    assert!(
        detail.contains("(the gates saw gpt-5.4-mini-2026-01-01)"),
        "{detail}"
    );
    assert_eq!((r.state, r.weight), (RolloutState::Monitoring, 10), "held");
    Ok(())
}

/// A candidate costing three times the stable per run is rolled back on cost, and says so.
#[tokio::test]
async fn a_costly_canary_is_rolled_back_on_cost() -> TestResult {
    let w = world(WATCH, same_file_other_hash).await?;
    w.api
        .deploy_canary(&w.at, "v2", "dev", None, Some(50))
        .await?;
    w.traffic(1.0, 30, "c").await?;
    // Its prompts grew: every run of the candidate cost three times what it did.
    let pool = chainlift_store::open(&w.home.join("chainlift.db")).await?;
    let tripled = sqlx::query(
        "UPDATE runs SET cost = cost * 3
          WHERE deployment_id = (SELECT canary_id FROM rollouts WHERE state = 'monitoring')",
    )
    .execute(&pool)
    .await?
    .rows_affected();
    assert!(tripled >= 3, "{tripled} runs reached the canary");
    let out = w.monitor_at(2.1).await?;
    assert_eq!(
        out.first().and_then(|o| o.failed_metric),
        Some(Metric::CostRatio),
        "{out:?}"
    );
    let r = w.api.rollout(&w.at, "dev").await?;
    assert_eq!(r.state, RolloutState::RolledBack);
    let why = r.reason.unwrap_or_default();
    assert!(
        why.starts_with("cost per run (candidate / stable) 3.00 > 1.50 over "),
        "{why}"
    );
    Ok(())
}

/// Scheduled runs stay on the stable version during a canary; a deploy while a rollout is open
/// ends it first (a canary `rolled_back`, saying why) and opens its own (a full switch: the
/// window, watched the same way).
#[tokio::test]
async fn schedules_skip_the_canary_and_a_deploy_ends_an_open_rollout() -> TestResult {
    let w = world(WATCH, same_file_other_hash).await?;
    w.api
        .deploy_canary(&w.at, "v2", "dev", None, Some(99))
        .await?;
    let input = w.api.smoke_input(&w.at)?;
    for i in 0..10 {
        let run = w
            .api
            .run(
                &RunArgs {
                    at: w.at.clone(),
                    env: "dev".into(),
                    input: input.clone(),
                    route_key: Some(format!("tick-{i}")),
                    trigger: chainlift_api::dto::Trigger::Schedule,
                    ..RunArgs::default()
                },
                &|_| {},
            )
            .await?;
        assert_eq!(run.version, "v1", "a scheduled run went to the canary");
    }
    let canary = w.api.rollout(&w.at, "dev").await?;
    w.api.deploy(&w.at, "v2", "dev", Some("all in")).await?;
    let window = w.api.rollout(&w.at, "dev").await?;
    assert_ne!(window.id, canary.id);
    assert_eq!((window.phase, window.weight), (RolloutPhase::Window, 100));
    assert_eq!(window.stable, "v1", "a rollback returns to v1");
    let pool = chainlift_store::open(&w.home.join("chainlift.db")).await?;
    let ended = chainlift_store::rollouts::get(&pool, &canary.id)
        .await?
        .ok_or("the canary's rollout is gone")?;
    assert_eq!(ended.state, "rolled_back");
    assert_eq!(ended.reason.as_deref(), Some("a deploy of v2 replaced it"));
    Ok(())
}
