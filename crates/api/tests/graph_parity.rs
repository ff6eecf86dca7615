//! One graph: the domain crate builds a chain's graph (Home draws it); the editor redraws the
//! chain it is editing with `ui/src/draft.ts`'s `graphOf` at every keystroke. This test writes,
//! for a few chains, the editor's drafts beside the domain's graph into
//! `ui/src/graph-fixtures.json`, and `ui/src/draft.test.ts` checks `graphOf` gives the same
//! graph. It fails when the file is stale; `UPDATE_BINDINGS=1` rewrites it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chainlift_api::{Chainlift, ProjectArgs, SystemClock};
use chainlift_secrets::SecretSource;
use serde_json::{json, Value};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn write(dir: &Path, files: &[(&str, &str)]) -> std::io::Result<()> {
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

/// Routes with an else, an on_error hand-over to an agent and one to an event, a fan-out to
/// two agents and a fan-in.
const WIRED: &[(&str, &str)] = &[
    ("chain.yaml", "name: wired\nagents: [{name: triage}, {name: pager}, {name: split}, {name: left}, {name: right}, {name: join}]\nlimits: {max_rounds: 2}\n"),
    ("agents/triage.yaml", "name: triage\nmodel: m\nprompt: p\ntriggers: [chain:start]\noutput: json\nroutes:\n  - {when: \"output.urgency >= 4\", emit: \"triage:urgent\"}\n  - {else: \"triage:later\"}\non_error: pager\n"),
    ("agents/pager.yaml", "name: pager\nmodel: m\nprompt: p\ntriggers: [triage:urgent, triage:error]\nemits: chain:complete\non_error: pager:failed\n"),
    ("agents/split.yaml", "name: split\nmodel: m\nprompt: p\ntriggers: [triage:later]\nemits: split:done\n"),
    ("agents/left.yaml", "name: left\nmodel: m\nprompt: p\ntriggers: [split:done]\nemits: left:done\n"),
    ("agents/right.yaml", "name: right\nmodel: m\nprompt: p\ntriggers: [split:done]\nemits: right:done\n"),
    ("agents/join.yaml", "name: join\nmodel: m\nprompt: p\ntriggers: [left:done, right:done]\nwait_for: all\nemits: chain:complete\n"),
];

#[tokio::test]
async fn the_editor_draws_the_graph_the_domain_builds() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let api = Chainlift::open_with(tmp.path(), SecretSource::Env, Arc::new(SystemClock)).await?;
    let project = chainlift_api::sample::materialize(tmp.path())?;
    write(&project.join("chains/wired"), WIRED)?;
    for env in ["dev", "staging", "production"] {
        write(
            &project.join("chains/wired/config"),
            &[(&format!("{env}.env"), "X=1\n")],
        )?;
    }
    let mut cases = Vec::new();
    for chain in ["content-pipeline", "wired"] {
        let at = ProjectArgs {
            project: Some(project.clone()),
            chain: Some(chain.into()),
            cwd: project.clone(),
        };
        let editor = api.editor(&at).await?;
        let view = api.open_project(&at).await?;
        let graph = view
            .chains
            .iter()
            .find(|c| c.name == chain)
            .map(|c| c.graph.clone())
            .ok_or("the chain is on Home")?;
        cases.push(json!({"chain": chain, "agents": editor.agents, "graph": graph}));
    }
    let wired = &cases[1]["graph"]["edges"];
    let ids: Vec<&str> = wired
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["id"].as_str())
        .collect();
    for id in [
        "triage-triage:urgent->pager",
        "triage-triage:later->split",
        "triage-triage:error->pager",
        "split-split:done->left",
        "split-split:done->right",
        "join->chain:complete",
    ] {
        assert!(ids.contains(&id), "the domain's graph lacks {id}: {ids:?}");
    }
    let text = serde_json::to_string_pretty(&Value::Array(cases))? + "\n";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/graph-fixtures.json");
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != text {
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &text)?;
        } else {
            return Err(format!(
                "{} is stale: run UPDATE_BINDINGS=1 cargo test -p chainlift-api --test graph_parity",
                path.display()
            )
            .into());
        }
    }
    Ok(())
}
