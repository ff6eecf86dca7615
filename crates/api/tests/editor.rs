//! The pipeline editor's saves, on a copy of the sample project: edits land in the YAML files
//! with comments and key order intact, and nothing is written over a change made on disk.

use std::path::PathBuf;
use std::sync::Arc;

use chainlift_api::editor::ChainEdit;
use chainlift_api::{Chainlift, ErrorCode, ProjectArgs, SystemClock};
use chainlift_secrets::SecretSource;

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Fixture {
    _tmp: tempfile::TempDir,
    api: Chainlift,
    at: ProjectArgs,
    chain_dir: PathBuf,
}

async fn fixture() -> Result<Fixture, Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let api = Chainlift::open_with(tmp.path(), SecretSource::Env, Arc::new(SystemClock)).await?;
    let project = chainlift_api::sample::materialize(tmp.path())?;
    let chain_dir = project.join("chains/content-pipeline");
    let at = ProjectArgs {
        project: Some(project.clone()),
        chain: Some("content-pipeline".into()),
        cwd: project,
    };
    Ok(Fixture {
        _tmp: tmp,
        api,
        at,
        chain_dir,
    })
}

fn set_text(agent: &str, field: &str, value: Option<&str>) -> ChainEdit {
    ChainEdit::SetText {
        agent: agent.into(),
        field: field.into(),
        value: value.map(String::from),
    }
}

#[tokio::test]
async fn a_prompt_edit_keeps_comments_and_every_other_line() -> TestResult {
    let f = fixture().await?;
    let file = f.chain_dir.join("agents/writer.yaml");
    // The sample's agent files carry comments: a header and one after a value.
    let before = std::fs::read_to_string(&file)?;
    assert!(before.starts_with("# The writer turns"));
    let view = f.api.editor(&f.at).await?;
    assert!(view.agents.iter().any(|a| a.name == "writer"));

    let prompt = "Write a short report on {{ input.topic }}.\n\nUse the brief:\n{{ events[\"research:done\"].output }}\n";
    let after = f
        .api
        .editor_save(
            &f.at,
            &view.fingerprint,
            &[set_text("writer", "prompt", Some(prompt))],
        )
        .await?;
    let text = std::fs::read_to_string(&file)?;
    let header = "# The writer turns the researcher's brief into the report.\n# Its answer must match schemas/report.schema.json; the template renders it as markdown.\n";
    assert!(
        text.starts_with(&format!(
            "{header}name: writer\nprompt: |\n  Write a short report"
        )),
        "{text}"
    );
    assert!(
        text.contains("output: json  # validated against the schema below\n"),
        "{text}"
    );
    let writer = after.agents.iter().find(|a| a.name == "writer");
    assert_eq!(writer.and_then(|w| w.prompt.as_deref()), Some(prompt));
    // Lines after the prompt are untouched, in order.
    let tail_before: Vec<&str> = before
        .lines()
        .skip_while(|l| !l.starts_with("triggers"))
        .collect();
    let tail_after: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("triggers"))
        .collect();
    assert_eq!(tail_before, tail_after);
    Ok(())
}

#[tokio::test]
async fn connect_add_and_delete_agents() -> TestResult {
    let f = fixture().await?;
    let view = f.api.editor(&f.at).await?;
    let view = f
        .api
        .editor_save(
            &f.at,
            &view.fingerprint,
            &[
                ChainEdit::AddAgent {
                    name: "editor".into(),
                },
                ChainEdit::SetList {
                    agent: "editor".into(),
                    field: "triggers".into(),
                    values: vec!["research:done".into()],
                },
                set_text("editor", "emits", Some("edit:done")),
            ],
        )
        .await?;
    let chain = std::fs::read_to_string(f.chain_dir.join("chain.yaml"))?;
    assert!(
        chain.contains("    timeout: ${AGENT_TIMEOUT}\n  - name: editor\noutput:"),
        "{chain}"
    );
    let file = std::fs::read_to_string(f.chain_dir.join("agents/editor.yaml"))?;
    assert!(
        file.contains("triggers: [research:done]\nemits: edit:done\n"),
        "{file}"
    );
    // The new agent's emit reaches no one: the linter says so on that agent.
    assert!(
        view.findings
            .iter()
            .any(|x| x.agents.contains(&"editor".to_string()) && x.finding.code == "emit-unheard"),
        "{:?}",
        view.findings
    );

    let view = f
        .api
        .editor_save(
            &f.at,
            &view.fingerprint,
            &[ChainEdit::DeleteAgent {
                name: "editor".into(),
            }],
        )
        .await?;
    assert!(!f.chain_dir.join("agents/editor.yaml").exists());
    assert_eq!(view.agents.len(), 2);
    let chain_after = std::fs::read_to_string(f.chain_dir.join("chain.yaml"))?;
    assert!(!chain_after.contains("editor"));
    Ok(())
}

#[tokio::test]
async fn a_change_on_disk_is_a_conflict_and_nothing_is_written() -> TestResult {
    let f = fixture().await?;
    let view = f.api.editor(&f.at).await?;
    let file = f.chain_dir.join("agents/researcher.yaml");
    let outside = std::fs::read_to_string(&file)?.replace("temperature: 0.3", "temperature: 0.2");
    std::fs::write(&file, &outside)?;
    let err = f
        .api
        .editor_save(
            &f.at,
            &view.fingerprint,
            &[set_text("researcher", "temperature", Some("0.9"))],
        )
        .await
        .err()
        .ok_or("a stale save went through")?;
    assert_eq!(err.code, ErrorCode::Conflict);
    assert_eq!(std::fs::read_to_string(&file)?, outside);
    Ok(())
}

#[tokio::test]
async fn bad_edits_are_refused_whole() -> TestResult {
    let f = fixture().await?;
    let view = f.api.editor(&f.at).await?;
    let chain_before = std::fs::read_to_string(f.chain_dir.join("chain.yaml"))?;
    for edit in [
        ChainEdit::AddAgent {
            name: "../escape".into(),
        },
        set_text("researcher", "name", Some("x")),
        set_text("nobody", "prompt", Some("x")),
    ] {
        let err = f
            .api
            .editor_save(
                &f.at,
                &view.fingerprint,
                &[set_text("writer", "temperature", Some("0.1")), edit.clone()],
            )
            .await
            .err()
            .ok_or(format!("{edit:?} went through"))?;
        assert!(
            matches!(err.code, ErrorCode::BadInput | ErrorCode::NotFound),
            "{err:?}"
        );
    }
    // The good edit before each bad one was not written either.
    assert_eq!(
        std::fs::read_to_string(f.chain_dir.join("chain.yaml"))?,
        chain_before
    );
    let writer = std::fs::read_to_string(f.chain_dir.join("agents/writer.yaml"))?;
    assert!(writer.contains("temperature: 0.4"));
    Ok(())
}

#[tokio::test]
async fn positions_live_in_a_sidecar_outside_the_version() -> TestResult {
    let f = fixture().await?;
    let hash = chainlift_model::hash::definition_hash(&f.chain_dir)?;
    let positions = vec![chainlift_api::dto::NodePosition {
        id: "writer".into(),
        x: 320.4,
        y: 80.0,
    }];
    f.api.layout_save(&f.at, &positions)?;
    let view = f.api.editor(&f.at).await?;
    assert_eq!(view.layout[0].x, 320.0);
    assert_eq!(chainlift_model::hash::definition_hash(&f.chain_dir)?, hash);
    assert_eq!(view.fingerprint, hash);
    Ok(())
}

#[tokio::test]
async fn renaming_an_agent_moves_its_file_and_every_reference() -> TestResult {
    let f = fixture().await?;
    let view = f.api.editor(&f.at).await?;
    f.api.layout_save(
        &f.at,
        &[chainlift_api::dto::NodePosition {
            id: "writer".into(),
            x: 400.0,
            y: 80.0,
        }],
    )?;
    // The researcher hands its errors to the writer, so the rename must follow it there too.
    let view = f
        .api
        .editor_save(
            &f.at,
            &view.fingerprint,
            &[set_text("researcher", "on_error", Some("writer"))],
        )
        .await?;
    let view = f
        .api
        .editor_save(
            &f.at,
            &view.fingerprint,
            &[ChainEdit::RenameAgent {
                from: "writer".into(),
                to: "author".into(),
            }],
        )
        .await?;
    let names: Vec<&str> = view.agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["researcher", "author"]);
    assert!(!f.chain_dir.join("agents/writer.yaml").exists());
    let file = std::fs::read_to_string(f.chain_dir.join("agents/author.yaml"))?;
    assert!(
        file.starts_with("# The writer turns the researcher's brief into the report.\n# Its answer must match schemas/report.schema.json; the template renders it as markdown.\nname: author\nprompt: |\n"),
        "{file}"
    );
    let chain = std::fs::read_to_string(f.chain_dir.join("chain.yaml"))?;
    assert!(
        chain.contains("  - name: author\n    model: ${WRITER_MODEL}\n"),
        "{chain}"
    );
    assert!(
        chain.contains("output: {from: author, schema: schemas/report.schema.json"),
        "{chain}"
    );
    let researcher = std::fs::read_to_string(f.chain_dir.join("agents/researcher.yaml"))?;
    assert!(researcher.contains("on_error: author\n"), "{researcher}");
    let layout = std::fs::read_to_string(f.chain_dir.join(".chainlift-layout.json"))?;
    assert!(
        layout.contains("\"author\"") && !layout.contains("\"writer\""),
        "{layout}"
    );
    // The renamed chain still lints clean and runs the same graph.
    assert!(
        view.findings
            .iter()
            .all(|x| x.finding.severity != chainlift_api::dto::Severity::Error),
        "{:?}",
        view.findings
    );

    // Renaming onto a taken name, or to a name files cannot carry, writes nothing.
    for to in ["researcher", "Bad Name"] {
        let err = f
            .api
            .editor_save(
                &f.at,
                &view.fingerprint,
                &[ChainEdit::RenameAgent {
                    from: "author".into(),
                    to: to.into(),
                }],
            )
            .await
            .err()
            .ok_or("rename accepted")?;
        assert_eq!(err.code, ErrorCode::BadInput, "{}", err.message);
    }
    assert_eq!(
        std::fs::read_to_string(f.chain_dir.join("chain.yaml"))?,
        chain
    );
    Ok(())
}

#[tokio::test]
async fn routes_are_written_as_rows_and_read_back() -> TestResult {
    use chainlift_api::dto::RouteDraft;
    let f = fixture().await?;
    let view = f.api.editor(&f.at).await?;
    let routes = vec![
        RouteDraft {
            when: Some("output | length > 2000".into()),
            emit: "research:long".into(),
        },
        RouteDraft {
            when: None,
            emit: "research:done".into(),
        },
    ];
    let view = f
        .api
        .editor_save(
            &f.at,
            &view.fingerprint,
            &[
                set_text("researcher", "emits", None),
                ChainEdit::SetRoutes {
                    agent: "researcher".into(),
                    routes: routes.clone(),
                },
            ],
        )
        .await?;
    let researcher = view
        .agents
        .iter()
        .find(|a| a.name == "researcher")
        .ok_or("no researcher")?;
    assert_eq!(researcher.routes, routes);
    assert_eq!(researcher.emits, None);
    assert!(researcher.emitted.contains(&"research:long".to_string()));
    let file = std::fs::read_to_string(f.chain_dir.join("agents/researcher.yaml"))?;
    assert!(
        file.contains("routes:\n  - {when: \"output | length > 2000\", emit: \"research:long\"}\n  - {else: \"research:done\"}\n"),
        "{file}"
    );

    // An else before the last route is refused, and nothing is written.
    let err = f
        .api
        .editor_save(
            &f.at,
            &view.fingerprint,
            &[ChainEdit::SetRoutes {
                agent: "researcher".into(),
                routes: routes.iter().rev().cloned().collect(),
            }],
        )
        .await
        .err()
        .ok_or("bad routes accepted")?;
    assert!(
        err.message.contains("else route must be the last"),
        "{}",
        err.message
    );
    assert_eq!(
        std::fs::read_to_string(f.chain_dir.join("agents/researcher.yaml"))?,
        file
    );

    // Removing the routes takes the key away.
    f.api
        .editor_save(
            &f.at,
            &view.fingerprint,
            &[
                ChainEdit::SetRoutes {
                    agent: "researcher".into(),
                    routes: vec![],
                },
                set_text("researcher", "emits", Some("research:done")),
            ],
        )
        .await?;
    let file = std::fs::read_to_string(f.chain_dir.join("agents/researcher.yaml"))?;
    assert!(!file.contains("routes"), "{file}");
    Ok(())
}

#[tokio::test]
async fn two_agents_swap_names_in_one_save() -> TestResult {
    let f = fixture().await?;
    let view = f.api.editor(&f.at).await?;
    let rename = |from: &str, to: &str| ChainEdit::RenameAgent {
        from: from.into(),
        to: to.into(),
    };
    // The editor sends a swap through a temporary name.
    let view = f
        .api
        .editor_save(
            &f.at,
            &view.fingerprint,
            &[
                rename("researcher", "researcher-renaming"),
                rename("writer", "researcher"),
                rename("researcher-renaming", "writer"),
            ],
        )
        .await?;
    let writer = std::fs::read_to_string(f.chain_dir.join("agents/writer.yaml"))?;
    let researcher = std::fs::read_to_string(f.chain_dir.join("agents/researcher.yaml"))?;
    assert!(writer.contains("You are a research assistant"), "{writer}");
    assert!(researcher.starts_with("# The writer turns"), "{researcher}");
    assert!(!f.chain_dir.join("agents/researcher-renaming.yaml").exists());
    let chain = std::fs::read_to_string(f.chain_dir.join("chain.yaml"))?;
    assert!(chain.contains("output: {from: researcher,"), "{chain}");
    assert_eq!(
        view.agents
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["writer", "researcher"]
    );
    Ok(())
}

#[tokio::test]
async fn an_agent_written_in_chain_yaml_is_renamed_and_routed_there() -> TestResult {
    use chainlift_api::dto::RouteDraft;
    let f = fixture().await?;
    let chain_file = f.chain_dir.join("chain.yaml");
    let text = std::fs::read_to_string(&chain_file)?;
    let inline = "  - name: critic  # reads the brief\n    prompt: \"Critique {{ input.topic }}\"\n    triggers: [research:done]\n    emits: critique:done\noutput:";
    std::fs::write(&chain_file, text.replacen("output:", inline, 1))?;
    let view = f.api.editor(&f.at).await?;
    f.api
        .editor_save(
            &f.at,
            &view.fingerprint,
            &[
                ChainEdit::RenameAgent {
                    from: "critic".into(),
                    to: "reviewer".into(),
                },
                set_text("reviewer", "emits", None),
                ChainEdit::SetRoutes {
                    agent: "reviewer".into(),
                    routes: vec![
                        RouteDraft {
                            when: Some("output.ok".into()),
                            emit: "critique:ok".into(),
                        },
                        RouteDraft {
                            when: None,
                            emit: "critique:redo".into(),
                        },
                    ],
                },
            ],
        )
        .await?;
    let after = std::fs::read_to_string(&chain_file)?;
    assert!(
        after.contains("  - name: reviewer  # reads the brief\n    prompt: \"Critique {{ input.topic }}\"\n    triggers: [research:done]\n    routes:\n      - {when: \"output.ok\", emit: \"critique:ok\"}\n      - {else: \"critique:redo\"}\noutput:"),
        "{after}"
    );
    assert!(!f.chain_dir.join("agents/reviewer.yaml").exists());
    Ok(())
}
