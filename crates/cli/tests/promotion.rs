//! The seed's promotion workflow end to end on the sample, against local servers speaking the
//! OpenAI and Anthropic wire formats and a Slack-compatible webhook receiver.

mod support;

use std::sync::Arc;

use serde_json::{json, Value};
use support::{OpenAiServer, Reply, Sandbox, Seen, TestResult};

const OPENAI: &str = "sk-test-promo-openai-1a2b3c4d5e6f";
const ANTHROPIC: &str = "anthropic-test-promo-9f8e7d6c5b4a";

/// One server for both wire formats: the chain's agents and the quality reviewer.
fn providers() -> std::io::Result<OpenAiServer> {
    providers_answering_after(std::time::Duration::ZERO)
}

/// [`providers`], each answer held back by `delay` (a kill then lands mid-gates).
fn providers_answering_after(delay: std::time::Duration) -> std::io::Result<OpenAiServer> {
    OpenAiServer::start(chainlift_testkit::reviewing_providers(delay))
}

struct Flow {
    sb: Sandbox,
    server: OpenAiServer,
    slack: OpenAiServer,
}

impl Flow {
    /// A sandbox of the sample, the providers' server and a Slack-compatible receiver.
    fn new() -> std::io::Result<Flow> {
        Ok(Flow {
            sb: Sandbox::new()?,
            server: providers()?,
            slack: OpenAiServer::start(Arc::new(|_: &Seen, _| Reply::raw(200, "ok")))?,
        })
    }

    fn cli(&self, args: &[&str]) -> std::io::Result<std::process::Output> {
        self.sb
            .cli()
            .env("CHAINLIFT_SECRETS", "env")
            .env("OPENAI_API_KEY", OPENAI)
            .env("ANTHROPIC_API_KEY", ANTHROPIC)
            .env(
                "SLACK_WEBHOOK",
                format!("{}/hooks/T000/B000/promo", self.slack.base_url),
            )
            .env("OPENAI_BASE_URL", &self.server.base_url)
            .env("ANTHROPIC_BASE_URL", &self.server.base_url)
            .env("USER", "dana")
            .args(args)
            .output()
    }

    fn json(&self, args: &[&str], code: i32) -> Result<Value, Box<dyn std::error::Error>> {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let out = self.cli(&all)?;
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    fn edit(&self, rel: &str, from: &str, to: &str) -> std::io::Result<()> {
        let path = self.sb.chain_dir().join(rel);
        let text = std::fs::read_to_string(&path)?;
        assert!(text.contains(from), "{rel} lacks {from}");
        std::fs::write(path, text.replacen(from, to, 1))
    }
}

/// The entry of a JSON list whose `field` is `name` (null when none is).
fn entry<'a>(list: &'a Value, field: &str, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|x| x[field] == name))
        .unwrap_or(&Value::Null)
}

fn gate<'a>(p: &'a Value, name: &str) -> &'a Value {
    entry(&p["gates"], "gate", name)
}

#[test]
fn the_seeds_promotion_flow_end_to_end() -> TestResult {
    let flow = Flow::new()?;
    // dev calls the local server (no cassette); production's database is a reachable local port.
    flow.edit(
        "config/dev.env",
        "CHAINLIFT_CASSETTE=cassettes/dev.jsonl",
        "",
    )?;
    let port = flow
        .server
        .base_url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/v1")
        .to_string();
    flow.edit(
        "config/production.env",
        "postgres://prod-db:5432/prod",
        &format!("postgres://127.0.0.1:{port}/prod"),
    )?;
    let input = flow.sb.input().display().to_string();

    // Work in dev: a run there is the cost gate's baseline later.
    flow.json(
        &["run", "content-pipeline", "--env", "dev", "--input", &input],
        0,
    )?;

    // Promote to staging → the gates pass → deploy.
    let p = flow.json(&["promote", "content-pipeline", "--to", "staging"], 0)?;
    for field in [
        "id",
        "chain",
        "to_env",
        "version",
        "state",
        "gates",
        "checklist",
    ] {
        assert!(p.get(field).is_some(), "promote lacks `{field}`");
    }
    assert_eq!(p["state"], "approved", "staging needs no approval: {p}");
    // A promotion id names its project: `checklist ID` works from outside the project folder.
    let id = p["id"].as_str().unwrap_or_default();
    let elsewhere = flow
        .cli(&["checklist", id, "--format", "json"])
        .map(|_| ())
        .and_then(|()| {
            flow.sb
                .cli()
                .current_dir(flow.sb.dir.path())
                .args(["checklist", id, "--format", "json"])
                .output()
        })?;
    assert_eq!(
        elsewhere.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&elsewhere.stderr)
    );
    let staged = p["version"].as_str().unwrap_or("").to_string();
    assert_eq!(
        gate(&p, "quality")["status"],
        "passed",
        "{}",
        gate(&p, "quality")
    );
    assert!(
        gate(&p, "cost")["summary"]
            .as_str()
            .unwrap_or("")
            .contains("dev"),
        "the baseline is the dev run: {}",
        gate(&p, "cost")
    );
    let items = p["checklist"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 20);
    let state = |items: &[Value], k: &str| {
        items
            .iter()
            .find(|i| i["key"] == k)
            .and_then(|i| i["state"].as_str())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(state(&items, "output-quality"), "passed");
    assert_eq!(
        state(&items, "network-access"),
        "not_applicable",
        "staging does not require the infra gate"
    );
    flow.json(
        &[
            "deploy",
            "content-pipeline",
            "--version",
            &staged,
            "--env",
            "staging",
        ],
        0,
    )?;

    // Change a prompt → production is refused until staging has the change.
    flow.edit(
        "agents/writer.yaml",
        "Write a report on",
        "Write tersely a report on",
    )?;
    let out = flow.cli(&["promote", "content-pipeline", "--to", "production"])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has not been deployed to `staging`"));
    // In staging the quality gate fails, with a reason a PM can read.
    let failed = flow.json(&["promote", "content-pipeline", "--to", "staging"], 1)?;
    assert_eq!(failed["state"], "gates_failed");
    let why = gate(&failed, "quality")["summary"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        why.contains("below 4.0") && why.contains("regressions: accuracy fell from 5.0 to 2.0"),
        "{why}"
    );
    let evidence = failed["gates"].to_string();
    let full = flow.json(&["checklist", failed["id"].as_str().unwrap_or("")], 0)?;
    assert!(
        full.to_string().contains("too terse to be complete") || evidence.contains("below"),
        "the rationale reaches the checklist evidence"
    );
    assert!(
        flow.slack
            .requests()
            .iter()
            .any(|r| r.body["text"].as_str().unwrap_or("").contains("blocked")),
        "the failure was posted"
    );
    // Deploying it is refused.
    let bad = failed["version"].as_str().unwrap_or("").to_string();
    let out = flow.cli(&[
        "deploy",
        "content-pipeline",
        "--version",
        &bad,
        "--env",
        "staging",
    ])?;
    assert_eq!(out.status.code(), Some(1));

    // Fix → pass → deploy to staging → promote to production.
    flow.edit(
        "agents/writer.yaml",
        "Write tersely a report on",
        "Write a clear report on",
    )?;
    let fixed = flow.json(&["promote", "content-pipeline", "--to", "staging"], 0)?;
    let v = fixed["version"].as_str().unwrap_or("").to_string();
    flow.json(
        &[
            "deploy",
            "content-pipeline",
            "--version",
            &v,
            "--env",
            "staging",
        ],
        0,
    )?;
    let prod = flow.json(
        &[
            "promote",
            "content-pipeline",
            "--to",
            "production",
            "--version",
            &v,
        ],
        0,
    )?;
    assert_eq!(prod["state"], "awaiting_approval", "{prod}");
    assert_eq!(prod["gates"].as_array().map(Vec::len), Some(6));
    let id = prod["id"].as_str().unwrap_or("").to_string();
    let blocking = prod["checklist"]["blocking"].to_string();
    assert!(
        blocking.contains("rollback-documented is not ticked"),
        "{blocking}"
    );

    // Approval waits for the manual item; deploy waits for approval.
    let out = flow.cli(&["approve", &id, "--note", "ship it"])?;
    assert_eq!(out.status.code(), Some(1));
    let out = flow.cli(&[
        "deploy",
        "content-pipeline",
        "--version",
        &v,
        "--env",
        "production",
    ])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("requires an approved promotion"));
    let ticked = flow.json(
        &[
            "checklist",
            &id,
            "--tick",
            "rollback-documented",
            "--note",
            "runbook in the wiki",
        ],
        0,
    )?;
    let item = ticked["items"]
        .as_array()
        .and_then(|i| i.iter().find(|x| x["key"] == "rollback-documented"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        (
            item["state"].as_str(),
            item["ticked_by"].as_str(),
            item["note"].as_str()
        ),
        (Some("ticked"), Some("dana"), Some("runbook in the wiki"))
    );
    let approved = flow.json(&["approve", &id, "--note", "ship it"], 0)?;
    assert_eq!(
        (approved["state"].as_str(), approved["approved_by"].as_str()),
        (Some("approved"), Some("dana"))
    );
    let deployed = flow.json(
        &[
            "deploy",
            "content-pipeline",
            "--version",
            &v,
            "--env",
            "production",
        ],
        0,
    )?;
    assert!(
        deployed["version"].as_str().unwrap_or("").starts_with('v'),
        "production tags an untagged version: {deployed}"
    );
    assert_eq!(flow.json(&["checklist", &id], 0)?["blocking"], json!([]));
    assert!(flow.slack.requests().iter().any(|r| r.body["text"]
        .as_str()
        .unwrap_or("")
        .contains("deployed to production")));

    // Rollback: production has no earlier deployment; staging does.
    let out = flow.cli(&["rollback", "content-pipeline", "--env", "production"])?;
    assert_eq!(out.status.code(), Some(1));
    let back = flow.json(&["rollback", "content-pipeline", "--env", "staging"], 0)?;
    assert_eq!(back["version"], staged);

    // Every step is in the audit log, and the log verifies.
    let audit = flow.json(&["audit", "--limit", "200"], 0)?;
    let actions: Vec<&str> = audit
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["action"].as_str())
        .collect();
    // The staging promotion whose version was rolled back ends `rolled_back` (DESIGN §6).
    let rollback = audit
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["action"] == "rollback" && r["env"] == "staging")
        .map(|r| r.to_string())
        .unwrap_or_default();
    let staging_promotion = fixed["id"].as_str().unwrap_or("?");
    assert!(
        rollback.contains("promotions_rolled_back") && rollback.contains(staging_promotion),
        "{rollback}"
    );
    for a in [
        "promote",
        "gates",
        "tick",
        "approve",
        "deploy",
        "promotion-deployed",
        "rollback",
    ] {
        assert!(actions.contains(&a), "audit lacks {a}: {actions:?}");
    }
    flow.json(&["audit", "--verify"], 0)?;

    // The seed's steps 9–10 on the sample's production (`monitor:` in chainlift.yaml): the next
    // change is promoted, approved and deployed as a canary; the rollout carries the promotion;
    // `--abort` rolls it back and production still runs the stable version.
    flow.edit(
        "agents/writer.yaml",
        "Write a clear report on",
        "Write a clear, sourced report on",
    )?;
    let next = flow.json(&["promote", "content-pipeline", "--to", "staging"], 0)?;
    let nv = next["version"].as_str().unwrap_or("").to_string();
    flow.json(
        &[
            "deploy",
            "content-pipeline",
            "--version",
            &nv,
            "--env",
            "staging",
        ],
        0,
    )?;
    let prod2 = flow.json(
        &[
            "promote",
            "content-pipeline",
            "--to",
            "production",
            "--version",
            &nv,
        ],
        0,
    )?;
    let pid = prod2["id"].as_str().unwrap_or("").to_string();
    flow.json(
        &[
            "checklist",
            &pid,
            "--tick",
            "rollback-documented",
            "--note",
            "same runbook",
        ],
        0,
    )?;
    flow.json(&["approve", &pid, "--note", "canary first"], 0)?;
    let stable = deployed["version"].as_str().unwrap_or("").to_string();
    flow.json(
        &[
            "deploy",
            "content-pipeline",
            "--version",
            &nv,
            "--env",
            "production",
            "--canary",
            "10",
        ],
        0,
    )?;
    let r = flow.json(&["rollout", "content-pipeline", "--env", "production"], 0)?;
    assert_eq!(
        (
            r["state"].as_str(),
            r["phase"].as_str(),
            r["weight"].as_u64()
        ),
        (Some("monitoring"), Some("canary"), Some(10)),
        "{r}"
    );
    assert_eq!(r["promotion_id"], json!(pid));
    assert_eq!(r["stable"], json!(stable));
    assert_eq!(
        r["steps"],
        json!([]),
        "the sample's production walks no steps"
    );
    let aborted = flow.json(
        &[
            "rollout",
            "content-pipeline",
            "--env",
            "production",
            "--abort",
        ],
        0,
    )?;
    assert_eq!(aborted["state"], "rolled_back", "{aborted}");
    assert_eq!(aborted["reason"], "aborted by dana");
    let runs_now = flow.json(
        &[
            "run",
            "content-pipeline",
            "--env",
            "production",
            "--input",
            &input,
        ],
        0,
    )?;
    assert_eq!(
        runs_now["version"],
        json!(stable),
        "production runs the stable version"
    );
    flow.json(&["audit", "--verify"], 0)?;

    // Leak test over the whole flow: no key and no webhook URL in any file written.
    for secret in [OPENAI, ANTHROPIC, "/hooks/T000/B000/promo"] {
        assert!(
            flow.sb.files_containing(secret).is_empty(),
            "{secret} leaked into {:?}",
            flow.sb.files_containing(secret)
        );
    }
    Ok(())
}

/// A checklist item of a checklist object.
fn item<'a>(checklist: &'a Value, key: &str) -> &'a Value {
    entry(&checklist["items"], "key", key)
}

#[test]
fn the_teams_checklist_approvers_and_the_report() -> TestResult {
    let flow = Flow::new()?;
    // staging asks for dana's approval, and the team adds two items of its own.
    let policy = flow.sb.project.join("chainlift.yaml");
    let text = std::fs::read_to_string(&policy)?;
    let text = text.replace(
        "  - {name: staging, gates: [smoke, quality, cost, config]}",
        "  - {name: staging, gates: [smoke, quality, cost, config], approval: required, approvers: [dana]}",
    ) + "checklist:\n  - {key: legal-review, section: team, text: \"Legal read the new prompts\", envs: [staging]}\n  - {key: demo, text: \"Shown in the weekly demo\", required: false}\n";
    std::fs::write(&policy, text)?;

    let p = flow.json(&["promote", "content-pipeline", "--to", "staging"], 0)?;
    assert_eq!(p["state"], "awaiting_approval", "{p}");
    assert_eq!(p["approvers"], json!(["dana"]));
    let id = p["id"].as_str().unwrap_or("").to_string();
    let c = &p["checklist"];
    assert_eq!(
        c["items"].as_array().map(Vec::len),
        Some(22),
        "20 built-in + 2 team items"
    );
    assert_eq!(item(c, "legal-review")["section"], "team");
    assert_eq!(
        item(c, "legal-review")["evidence"],
        "Legal read the new prompts"
    );
    assert_eq!(item(c, "demo")["required"], false);
    let blocking = c["blocking"].to_string();
    assert!(
        blocking.contains("legal-review is not ticked"),
        "{blocking}"
    );
    assert!(
        !blocking.contains("demo"),
        "an optional item never blocks: {blocking}"
    );

    // Tick, untick with a note, and the refusals that say what to do.
    let c = flow.json(
        &[
            "checklist",
            &id,
            "--tick",
            "legal-review",
            "--note",
            "read v1 prompts",
        ],
        0,
    )?;
    assert_eq!(item(&c, "legal-review")["state"], "ticked");
    assert_eq!(item(&c, "legal-review")["ticked_by"], "dana");
    let c = flow.json(
        &[
            "checklist",
            &id,
            "--untick",
            "legal-review",
            "--note",
            "they read the old prompts",
        ],
        0,
    )?;
    assert_eq!(item(&c, "legal-review")["state"], "unticked");
    assert_eq!(
        item(&c, "legal-review")["note"],
        "they read the old prompts"
    );
    let again = flow.cli(&["checklist", &id, "--untick", "legal-review"])?;
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already unticked"));
    let auto = flow.cli(&["checklist", &id, "--untick", "chain-completes"])?;
    assert_eq!(
        auto.status.code(),
        Some(1),
        "auto items are decided by evidence"
    );
    let blocked = flow.cli(&["approve", &id, "--note", "looks good"])?;
    assert_eq!(blocked.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&blocked.stderr).contains("legal-review is not ticked"));
    for key in ["legal-review", "rollback-documented"] {
        flow.json(&["checklist", &id, "--tick", key], 0)?;
    }

    // Only dana may approve, and only with a note of her own.
    let lee = flow
        .sb
        .cli()
        .env("CHAINLIFT_SECRETS", "env")
        .env("USER", "lee")
        .args(["approve", &id, "--note", "fine by me"])
        .output()?;
    assert_eq!(lee.status.code(), Some(1));
    let why = String::from_utf8_lossy(&lee.stderr).to_string();
    assert!(
        why.contains("only dana may approve") && why.contains("`lee`"),
        "{why}"
    );
    let empty = flow.cli(&["approve", &id, "--note", "  "])?;
    assert_eq!(empty.status.code(), Some(2), "an approval needs a note");
    let approved = flow.json(
        &["approve", &id, "--note", "scores and outputs reviewed"],
        0,
    )?;
    assert_eq!(approved["state"], "approved");
    assert_eq!(approved["approved_by"], "dana");
    assert_eq!(approved["approval_note"], "scores and outputs reviewed");
    let late = flow.cli(&["checklist", &id, "--untick", "legal-review"])?;
    assert_eq!(
        late.status.code(),
        Some(1),
        "the approved checklist is a record"
    );

    // The report: Markdown for a pull request, and one self-contained HTML file.
    let md = flow.cli(&["report", &id, "--format", "md"])?;
    assert_eq!(
        md.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&md.stderr)
    );
    let md = String::from_utf8(md.stdout)?;
    for needle in [
        "| quality | passed |",
        "**legal-review** (ticked",
        "Approved by **dana**: “scores and outputs reviewed”",
        "dana unticked legal-review · content-pipeline in staging",
        "“they read the old prompts”",
        "### Configuration: dev → staging",
    ] {
        assert!(
            md.contains(needle),
            "the Markdown report lacks {needle:?}:\n{md}"
        );
    }
    let out = flow.sb.dir.path().join("report.html");
    let html = flow.cli(&["report", &id, "--out", out.to_str().unwrap_or("")])?;
    assert_eq!(
        html.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&html.stderr)
    );
    let html = std::fs::read_to_string(&out)?;
    assert!(
        html.starts_with("<!doctype html>") && html.contains("<svg"),
        "inline chart"
    );
    assert!(
        html.contains("complete") && html.contains("A short refund window"),
        "rationale and outputs"
    );
    for remote in ["src=", "href=", "<script", "@import", "url("] {
        assert!(
            !html.contains(remote),
            "the report loads nothing: found {remote}"
        );
    }
    for secret in [OPENAI, ANTHROPIC] {
        assert!(
            !html.contains(secret) && !md.contains(secret),
            "no secret in a report"
        );
    }
    let bad = flow.cli(&["report", &id, "--format", "json"])?;
    assert_eq!(bad.status.code(), Some(2));
    let verify = flow.cli(&["audit", "--verify"])?;
    assert_eq!(verify.status.code(), Some(0));
    Ok(())
}

#[test]
fn waivers_are_shown_as_waived_and_unblock_approval() -> TestResult {
    let flow = Flow::new()?;
    flow.edit(
        "agents/writer.yaml",
        "Write a report on",
        "Write tersely a report on",
    )?;
    let failed = flow.json(&["promote", "content-pipeline", "--to", "staging"], 1)?;
    let id = failed["id"].as_str().unwrap_or("").to_string();
    let out = flow.cli(&["waive", &id, "quality", "--note", ""])?;
    assert_eq!(out.status.code(), Some(2), "a waiver needs a reason");
    let out = flow.cli(&["waive", &id, "smoke", "--note", "x"])?;
    assert_eq!(out.status.code(), Some(1), "only a failed gate is waived");
    let waived = flow.json(
        &[
            "waive",
            &id,
            "quality",
            "--note",
            "terse is what the PM wants now",
        ],
        0,
    )?;
    assert_eq!(gate(&waived, "quality")["status"], "waived");
    assert_eq!(
        gate(&waived, "quality")["waiver_note"],
        "terse is what the PM wants now"
    );
    assert_eq!(
        waived["state"], "approved",
        "staging needs no approval once nothing is failed"
    );
    let items = waived["checklist"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(items
        .iter()
        .any(|i| i["key"] == "output-quality" && i["state"] == "waived"));
    let out = flow.cli(&["checklist", &id, "--tick", "chain-completes"])?;
    assert_eq!(
        out.status.code(),
        Some(1),
        "auto items are not ticked by hand"
    );
    let v = waived["version"].as_str().unwrap_or("").to_string();
    flow.json(
        &[
            "deploy",
            "content-pipeline",
            "--version",
            &v,
            "--env",
            "staging",
        ],
        0,
    )?;
    Ok(())
}

#[test]
fn an_interrupted_promotion_is_resumed() -> TestResult {
    let flow = Flow::new()?;
    let killed = flow
        .sb
        .cli()
        .env("CHAINLIFT_FAILPOINT", "promote:gates-running")
        .args(["promote", "content-pipeline", "--to", "staging"])
        .output()?;
    assert_eq!(killed.status.code(), None, "killed during the gates");
    let list = flow.json(&["promote", "content-pipeline", "--to", "staging"], 0)?;
    let audit = flow.json(&["audit"], 0)?;
    let promotes = audit.as_array().map(|a| {
        a.iter()
            .filter(|r| r["action"] == "promote" && r["subject"] == list["id"])
            .count()
    });
    assert_eq!(promotes, Some(2), "the same promotion ran its gates again");
    Ok(())
}

/// Issue 12 findings 8 and 15: five processes (two deploying the same fresh versions, one
/// rolling back, one flipping flags, one running) on one data folder at once all succeed and leave an audit log that verifies; then
/// promotions killed with SIGKILL mid-gates leave no run `running`, and the next promote resumes.
#[test]
fn four_writers_at_once_then_promotions_killed_mid_gates() -> TestResult {
    let flow = Flow {
        sb: Sandbox::new()?,
        server: providers_answering_after(std::time::Duration::from_millis(200))?,
        slack: OpenAiServer::start(Arc::new(|_: &Seen, _| Reply::raw(200, "ok")))?,
    };
    let input = flow.sb.input().display().to_string();
    // A command agent between the researcher and the writer that writes into its workspace
    // (the chain folder): on the old main it wrote into the version cache, which the next
    // process then removed and rebuilt under its readers.
    flow.edit(
        "chain.yaml",
        "  - name: writer\n",
        "  - name: scribe\n    kind: command\n    command: \"echo noted > scribe-was-here.txt; cat\"\n    workspace: {type: local, dir: .}\n  - name: writer\n",
    )?;
    std::fs::write(
        flow.sb.chain_dir().join("agents/scribe.yaml"),
        "name: scribe\nprompt: '{{ events[\"research:done\"].output }}'\ntriggers: [research:done]\nemits: research:noted\n",
    )?;
    flow.edit(
        "agents/writer.yaml",
        "triggers: [research:done]",
        "triggers: [research:noted]",
    )?;
    // Six versions; two deployed for rollback history, four never materialized yet, so the
    // concurrent deploys below each build a fresh version's verified copy at the same moment.
    let fresh = ["v3", "v4", "v5", "v6"];
    for (i, tag) in ["v1", "v2"].iter().chain(fresh.iter()).enumerate() {
        if i > 0 {
            flow.edit("chain.yaml", "\n", &format!("\n# {tag}\n"))?;
        }
        flow.json(&["version", "create", "content-pipeline", "--tag", tag], 0)?;
    }
    // Rollback is an undo stack: enough history that the rollbacks below never run out.
    let rounds = 6;
    for i in 0..=rounds {
        let v = if i % 2 == 0 { "v1" } else { "v2" };
        flow.json(
            &["deploy", "content-pipeline", "--env", "dev", "--version", v],
            0,
        )?;
    }

    let failures = std::sync::Mutex::new(Vec::<String>::new());
    let check = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        match flow.cli(&refs) {
            Ok(out) if out.status.success() => {}
            Ok(out) => failures.lock().map_or((), |mut f| {
                f.push(format!(
                    "{args:?} exited {:?}: {}{}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr),
                    String::from_utf8_lossy(&out.stdout)
                ))
            }),
            Err(e) => failures
                .lock()
                .map_or((), |mut f| f.push(format!("{args:?}: {e}"))),
        }
    };
    let owned = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let deployer = || {
        for v in fresh {
            check(owned(&[
                "deploy",
                "content-pipeline",
                "--env",
                "dev",
                "--version",
                v,
            ]));
        }
    };
    std::thread::scope(|s| {
        s.spawn(deployer);
        s.spawn(deployer);
        s.spawn(|| {
            for _ in 0..rounds {
                check(owned(&["rollback", "content-pipeline", "--env", "dev"]));
            }
        });
        s.spawn(|| {
            for i in 0..rounds {
                check(owned(&["flag", "set", "dev", "stress", &i.to_string()]));
            }
        });
        s.spawn(|| {
            for _ in 0..rounds {
                check(owned(&[
                    "run",
                    "content-pipeline",
                    "--env",
                    "dev",
                    "--input",
                    &input,
                ]));
            }
        });
    });
    let failed = failures.into_inner().map_err(|e| e.to_string())?;
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let verified = flow.cli(&["audit", "--verify"])?;
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );

    // Promotions killed mid-gates, each once one of its runs is under way.
    let running = |flow: &Flow| -> Result<usize, Box<dyn std::error::Error>> {
        let list = flow.json(&["runs", "--status", "running"], 0)?;
        Ok(list.as_array().map_or(0, Vec::len))
    };
    for _ in 0..3 {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("chainlift"))
            .env("CHAINLIFT_HOME", &flow.sb.home)
            .envs(
                flow.sb
                    .database
                    .iter()
                    .map(|url| ("CHAINLIFT_DATABASE_URL", url)),
            )
            .env("CHAINLIFT_SECRETS", "env")
            .env("OPENAI_API_KEY", OPENAI)
            .env("ANTHROPIC_API_KEY", ANTHROPIC)
            .env("OPENAI_BASE_URL", &flow.server.base_url)
            .env("ANTHROPIC_BASE_URL", &flow.server.base_url)
            .current_dir(&flow.sb.project)
            .args([
                "promote",
                "content-pipeline",
                "--to",
                "staging",
                "--version",
                "v2",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while running(&flow)? == 0 {
            assert!(std::time::Instant::now() < deadline, "no gate run started");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.kill()?; // SIGKILL: nothing gets recorded on the way out
        child.wait()?;
    }
    assert_eq!(
        running(&flow)?,
        0,
        "a killed promotion's run stayed running"
    );
    let interrupted = flow.json(&["runs", "--status", "interrupted"], 0)?;
    assert!(
        interrupted.as_array().is_some_and(|a| a.len() >= 3),
        "{interrupted}"
    );
    // The next promote resumes the interrupted promotion and runs its gates to an end (the
    // scribe's notes may fail a gate: what matters is that the promotion is not stuck).
    let out = flow.cli(&[
        "promote",
        "content-pipeline",
        "--to",
        "staging",
        "--version",
        "v2",
        "--format",
        "json",
    ])?;
    let resumed: Value = serde_json::from_slice(&out.stdout)?;
    assert!(
        ["approved", "awaiting_approval", "gates_failed"]
            .contains(&resumed["state"].as_str().unwrap_or("")),
        "{resumed}"
    );
    let promotions = flow.json(&["audit"], 0)?;
    let opened: Vec<&Value> = promotions
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["action"] == "promote")
        .collect();
    assert!(
        opened.iter().all(|r| r["subject"] == resumed["id"]),
        "every try resumed the one promotion: {opened:?}"
    );
    assert_eq!(running(&flow)?, 0);
    let verified = flow.cli(&["audit", "--verify"])?;
    assert!(verified.status.success());
    Ok(())
}
