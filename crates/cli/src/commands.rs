//! Each command: parse its arguments, call one use case, hand the result to `render`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use chainlift_api::dto::RunProgress;
use chainlift_api::{ApiError, Chainlift, ErrorCode, ProjectArgs, RunArgs, RunsQuery, SecretArgs};
use chainlift_model::secret::SecretValue;

use crate::args::*;
use crate::render::*;

pub(crate) fn at(
    cli_project: &Option<PathBuf>,
    chain: Option<String>,
) -> chainlift_api::Result<ProjectArgs> {
    let cwd = std::env::current_dir()
        .map_err(|e| ApiError::new(ErrorCode::BadInput, format!("no working folder: {e}")))?;
    Ok(ProjectArgs {
        project: cli_project.clone(),
        chain,
        cwd,
    })
}

pub(crate) fn parse_vars(vars: &[String]) -> chainlift_api::Result<BTreeMap<String, String>> {
    vars.iter()
        .map(|v| {
            v.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::BadInput, format!("--var `{v}` is not K=V"))
                })
        })
        .collect()
}

pub(crate) async fn dispatch(cli: Cli) -> chainlift_api::Result<u8> {
    let json = cli.format == Format::Json;
    // `db` looks at the database before anything opens (and migrates) it.
    if let Command::Db { action } = &cli.command {
        return crate::db::run(action, json).await;
    }
    let app = Chainlift::open(&chainlift_api::default_data_dir()?).await?;
    let is_report = matches!(cli.command, Command::Report { .. });
    if matches!(cli.format, Format::Html | Format::Md) != is_report
        && !(is_report && cli.format == Format::Text)
    {
        return Err(ApiError::new(
            ErrorCode::BadInput,
            if is_report {
                "report is written as html (the default) or md: --format html|md"
            } else {
                "--format html and md are the forms of `report`; other commands take text or json"
            },
        ));
    }
    match cli.command {
        Command::Validate { chain, env } => {
            let report = app
                .validate(&at(&cli.project, chain)?, env.as_deref())
                .await?;
            if json {
                print_json(&report);
            } else {
                print_report(&report);
            }
            Ok(if report.ok { 0 } else { 1 })
        }
        Command::Import { file, into } => {
            let report = app.import(&file, &into).await?;
            if json {
                print_json(&report);
            } else {
                println!(
                    "imported {} ({} dialect) into {}",
                    report.chain, report.dialect, report.dir
                );
                for f in &report.files {
                    println!("  wrote {f}");
                }
                if !report.notes.is_empty() {
                    println!("\nnot expressible in Chainlift, or changed on the way:");
                    for n in &report.notes {
                        println!("  - {n}");
                    }
                }
                println!();
                print_report(&report.validation);
            }
            Ok(if report.validation.ok { 0 } else { 1 })
        }
        Command::Diff {
            chain,
            env_a,
            env_b,
        } => {
            let diff = app
                .diff(&at(&cli.project, Some(chain))?, &env_a, &env_b)
                .await?;
            if json {
                print_json(&diff);
            } else {
                print_diff(&diff);
            }
            Ok(0)
        }
        Command::Run {
            chain,
            env,
            input,
            vars,
            version,
            working,
            record,
        } => {
            // Ctrl-C cancels the run: it ends as `cancelled`, children killed, nothing half-written.
            let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("cancelling…");
                    let _ = cancel_tx.send(true);
                }
            });
            let args = RunArgs {
                at: at(&cli.project, chain)?,
                env,
                input,
                vars: parse_vars(&vars)?,
                record,
                version,
                working,
                cancel: Some(cancel_rx),
                ..RunArgs::default()
            };
            let display = ProgressDisplay::new(!json);
            let progress = |p: RunProgress| display.update(&p);
            let run = app.run(&args, &progress).await;
            display.finish();
            let run = run?;
            if json {
                print_json(&run);
            } else {
                print_run(&run);
            }
            Ok(
                if run.status == chainlift_model::lifecycle::RunStatus::Completed {
                    0
                } else {
                    1
                },
            )
        }
        Command::ValidateOutput { file, schema } => {
            let check = app.validate_output(&file, &schema)?;
            if json {
                print_json(&check);
            } else if check.ok {
                println!("{}: matches {}", file.display(), schema.display());
            } else {
                println!("{}: does not match {}", file.display(), schema.display());
                for e in &check.errors {
                    println!("  {e}");
                }
            }
            Ok(if check.ok { 0 } else { 1 })
        }
        Command::Runs {
            which,
            chain,
            filter,
        } => {
            let query_of =
                |chain: Option<String>, f: RunsFilter| -> chainlift_api::Result<RunsQuery> {
                    Ok(RunsQuery {
                        at: Some(at(&cli.project, chain)?),
                        env: f.env,
                        version: f.version,
                        status: f.status,
                        trigger: f.trigger.map(Into::into),
                        limit: Some(f.limit),
                    })
                };
            match which {
                Some(RunsCommand::Last { chain, filter }) => {
                    let query = query_of(chain, filter)?;
                    match app.runs_last(&query).await? {
                    Some(run) if json => print_json(&run),
                    Some(run) => print_run(&run),
                    None => return Err(ApiError::new(ErrorCode::NotFound, "no runs yet: start one with `chainlift run CHAIN --env dev --input FILE`")),
                }
                    Ok(0)
                }
                Some(RunsCommand::Show { id }) => {
                    let run = app.run_show(&id).await?;
                    if json {
                        print_json(&run);
                    } else {
                        print_run(&run);
                    }
                    Ok(0)
                }
                None => {
                    let query = query_of(chain, filter)?;
                    let runs = app.runs_list(&query).await?;
                    if json {
                        print_json(&runs);
                    } else if runs.is_empty() {
                        println!("no runs yet");
                    } else {
                        println!(
                            "{:<36}  {:<18} {:<11} {:<12} {:<16} {:<9} {:>9}",
                            "ID", "CHAIN", "ENV", "VERSION", "STATUS", "TRIGGER", "COST"
                        );
                        for r in runs {
                            println!(
                                "{:<36}  {:<18} {:<11} {:<12} {:<16} {:<9} {:>9}",
                                r.id,
                                r.chain,
                                r.env,
                                r.version,
                                r.status,
                                r.trigger.as_str(),
                                money(r.cost)
                            );
                        }
                    }
                    Ok(0)
                }
            }
        }
        Command::Secrets { action } => secrets(&app, &cli.project, json, action).await,
        Command::Serve {
            action:
                Some(ServeCommand::Token {
                    action: TokenCommand::Set { env },
                }),
            ..
        } => {
            let args = SecretArgs {
                at: at(&cli.project, None)?,
                env: env.clone(),
            };
            let token = app.serve_token_set(&args).await?;
            if json {
                print_json(&serde_json::json!({"env": env, "token": token.expose()}));
            } else {
                println!("{}", token.expose());
                eprintln!("stored as {} for `{env}`; it is shown only this once: send it as `Authorization: Bearer <token>`", chainlift_api::SERVE_TOKEN);
            }
            Ok(0)
        }
        Command::Serve { action: None, opts } => {
            crate::serving::serve(app, &cli.project, opts).await
        }
        Command::Version { action } => match action {
            VersionCommand::Create { chain, tag, note } => {
                let v = app
                    .version_create(&at(&cli.project, chain)?, tag.as_deref(), note.as_deref())
                    .await?;
                if json {
                    print_json(&v);
                } else if v.existing {
                    println!(
                        "unchanged: {} is version {} (#{}, {})",
                        v.hash, v.version, v.seq, v.created_at
                    );
                } else {
                    println!("created version {} (#{}) {}", v.version, v.seq, v.hash);
                }
                Ok(0)
            }
            VersionCommand::Tag {
                chain,
                version,
                tag,
            } => {
                let v = app
                    .version_tag(&at(&cli.project, Some(chain))?, &version, &tag)
                    .await?;
                if json {
                    print_json(&v);
                } else {
                    println!("{} is version {} (#{})", v.hash, v.version, v.seq);
                }
                Ok(0)
            }
            VersionCommand::Diff { chain, a, b } => {
                let d = app
                    .version_diff(&at(&cli.project, Some(chain))?, &a, &b)
                    .await?;
                if json {
                    print_json(&d);
                } else if d.files.is_empty() {
                    println!("{} and {} have the same files", d.a, d.b);
                } else {
                    for f in &d.files {
                        print!("{}", f.diff);
                        if !f.diff.ends_with('\n') {
                            println!();
                        }
                    }
                }
                Ok(0)
            }
            VersionCommand::Export { chain, version, to } => {
                let r = app
                    .version_export(&at(&cli.project, Some(chain))?, &version, &to)
                    .await?;
                if json {
                    print_json(&r);
                } else {
                    println!(
                        "exported {} ({} files) to {}; hash verified {}",
                        r.version,
                        r.files.len(),
                        r.dir,
                        r.hash
                    );
                }
                Ok(0)
            }
        },
        Command::Gate {
            chain,
            env,
            only,
            version,
            junit,
        } => {
            let args = chainlift_api::GateArgs {
                at: at(&cli.project, chain)?,
                env,
                only,
                version,
            };
            let result = app.gate(&args).await?;
            if let Some(path) = junit {
                let xml = chainlift_gates::junit::render(
                    &format!("{} @ {}", result.chain, result.env),
                    &result.gates,
                );
                std::fs::write(&path, xml).map_err(|e| {
                    ApiError::new(ErrorCode::BadInput, format!("{}: {e}", path.display()))
                })?;
            }
            if json {
                print_json(&result);
            } else {
                println!(
                    "gates for {} {} @ {}",
                    result.chain, result.version, result.env
                );
                for g in &result.gates {
                    let mark = match g.status {
                        chainlift_gates::GateStatus::Passed => "PASS",
                        chainlift_gates::GateStatus::Failed => "FAIL",
                        chainlift_gates::GateStatus::Skipped => "SKIP",
                        chainlift_gates::GateStatus::Waived => "WAIVED",
                    };
                    println!("  {mark:<6} {:<9} {}", g.gate, g.summary);
                }
            }
            Ok(if result.passed { 0 } else { 1 })
        }
        Command::Promote { chain, to, version } => {
            let p = app
                .promote(&at(&cli.project, chain)?, &to, version.as_deref())
                .await?;
            print_promotion(json, &p);
            Ok(
                if p.state == chainlift_model::lifecycle::PromotionState::GatesFailed {
                    1
                } else {
                    0
                },
            )
        }
        Command::Checklist {
            promotion,
            tick,
            untick,
            note,
        } => {
            let here = at(&cli.project, None)?;
            let change = match (tick, untick) {
                (Some(key), _) => Some(app.tick(&here, &promotion, &key, note.as_deref()).await?),
                (None, Some(key)) => {
                    Some(app.untick(&here, &promotion, &key, note.as_deref()).await?)
                }
                (None, None) => None,
            };
            if let Some(c) = change {
                if json {
                    print_json(&c);
                } else {
                    print_checklist(&c);
                }
            } else {
                let p = app.promotion(&here, &promotion).await?;
                if json {
                    print_json(&p.checklist);
                } else {
                    print_checklist(&p.checklist);
                }
            }
            Ok(0)
        }
        Command::Waive {
            promotion,
            gate,
            note,
        } => {
            let p = app
                .waive(&at(&cli.project, None)?, &promotion, &gate, &note)
                .await?;
            print_promotion(json, &p);
            Ok(0)
        }
        Command::Report { promotion, out } => {
            let format = if cli.format == Format::Md {
                chainlift_api::report::ReportFormat::Markdown
            } else {
                chainlift_api::report::ReportFormat::Html
            };
            let text = app
                .report(&at(&cli.project, None)?, &promotion, format)
                .await?;
            match out {
                Some(path) => {
                    let dir = match path.parent() {
                        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                        _ => std::path::PathBuf::from("."),
                    };
                    chainlift_model::confine::write_atomic(&dir, &path, text.as_bytes()).map_err(
                        |e| ApiError::new(ErrorCode::BadInput, format!("{}: {e}", path.display())),
                    )?;
                    eprintln!("report written to {}", path.display());
                }
                None => print!("{text}"),
            }
            Ok(0)
        }
        Command::Approve { promotion, note } => {
            let p = app
                .approve(&at(&cli.project, None)?, &promotion, &note)
                .await?;
            print_promotion(json, &p);
            Ok(0)
        }
        Command::Versions { chain } => {
            let list = app.versions(&at(&cli.project, chain)?).await?;
            if json {
                print_json(&list);
            } else if list.is_empty() {
                println!("no versions yet: `chainlift version create CHAIN --tag v1`");
            } else {
                let mut rows = vec![vec![
                    "#".to_string(),
                    "version".into(),
                    "hash".into(),
                    "deployed to".into(),
                    "author".into(),
                    "created".into(),
                    "note".into(),
                ]];
                for v in &list {
                    rows.push(vec![
                        v.seq.to_string(),
                        v.version.clone(),
                        v.hash.chars().take(12).collect(),
                        v.deployed_to.join(", "),
                        v.author.clone(),
                        v.created_at.chars().take(19).collect(),
                        v.note.clone().unwrap_or_default(),
                    ]);
                }
                print_table(&rows);
            }
            Ok(0)
        }
        Command::Deploy {
            chain,
            version,
            env,
            reason,
            canary,
        } => {
            let d = app
                .deploy_canary(
                    &at(&cli.project, chain)?,
                    &version,
                    &env,
                    reason.as_deref(),
                    canary,
                )
                .await?;
            print_deployment(json, &d);
            Ok(0)
        }
        Command::Rollout {
            chain,
            env,
            weight,
            promote,
            abort,
            pause,
            resume,
        } => {
            use chainlift_api::rollout::RolloutAction as A;
            let action = match (weight, promote, abort, pause, resume) {
                (Some(w), ..) => Some(A::Weight(w)),
                (_, true, ..) => Some(A::Promote),
                (_, _, true, ..) => Some(A::Abort),
                (_, _, _, true, _) => Some(A::Pause),
                (_, _, _, _, true) => Some(A::Resume),
                _ => None,
            };
            let at = at(&cli.project, chain)?;
            let r = match action {
                Some(a) => app.rollout_act(&at, &env, a).await?,
                None => app.rollout(&at, &env).await?,
            };
            if json {
                print_json(&r);
            } else {
                crate::render::print_rollout(&r);
            }
            Ok(0)
        }
        Command::Rollback { chain, env, reason } => {
            let d = app
                .rollback(&at(&cli.project, chain)?, &env, reason.as_deref())
                .await?;
            print_deployment(json, &d);
            Ok(0)
        }
        Command::Flag {
            action: FlagCommand::Set { env, name, value },
        } => {
            let f = app
                .flag_set(&at(&cli.project, None)?, &env, &name, &value)
                .await?;
            if json {
                print_json(&f);
            } else {
                println!(
                    "{} = {} in {} (effective for the next run)",
                    f.name, f.value, f.env
                );
            }
            Ok(0)
        }
        Command::Flags { env } => {
            let list = app.flags(&at(&cli.project, None)?, &env).await?;
            if json {
                print_json(&list);
            } else if list.is_empty() {
                println!("no flags in {env}");
            } else {
                for f in list {
                    println!(
                        "{:<24} {:<12} {} by {}",
                        f.name, f.value, f.updated_at, f.updated_by
                    );
                }
            }
            Ok(0)
        }
        Command::Db { action } => crate::db::run(&action, json).await,
        Command::Audit { verify, limit } => {
            if verify {
                let v = app.audit_verify().await?;
                if json {
                    print_json(&v);
                } else if v.ok {
                    println!("audit log intact: {} rows, hash chain verified", v.rows);
                } else {
                    println!(
                        "audit log TAMPERED: {}",
                        v.problem.clone().unwrap_or_default()
                    );
                }
                return Ok(if v.ok { 0 } else { 1 });
            }
            let project = at(&cli.project, None)?.project().ok();
            let rows = app.audit(project.as_ref(), limit).await?;
            if json {
                print_json(&rows);
            } else {
                for r in rows {
                    let place = [r.chain.clone(), r.env.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" @ ");
                    println!(
                        "{:>5}  {}  {:<8} {:<15} {:<28} {}",
                        r.seq,
                        r.at.chars().take(19).collect::<String>(),
                        r.actor,
                        r.action,
                        place,
                        r.subject.unwrap_or_default()
                    );
                }
            }
            Ok(0)
        }
    }
}

pub(crate) async fn secrets(
    app: &Chainlift,
    project: &Option<PathBuf>,
    json: bool,
    action: SecretsCommand,
) -> chainlift_api::Result<u8> {
    match action {
        SecretsCommand::Set { env, name } => {
            let value = read_secret(&name)?;
            let status = app
                .secret_set(
                    &SecretArgs {
                        at: at(project, None)?,
                        env,
                    },
                    &name,
                    &value,
                )
                .await?;
            if json {
                print_json(&status);
            } else {
                println!(
                    "{} set for env {} (in the OS keychain)",
                    status.name, status.env
                );
            }
        }
        SecretsCommand::List { env } => {
            let list = app
                .secret_list(&SecretArgs {
                    at: at(project, None)?,
                    env,
                })
                .await?;
            if json {
                print_json(&list);
            } else {
                for s in list {
                    let state = if s.set {
                        format!("set {}", s.set_at.unwrap_or_default())
                    } else {
                        "NOT SET".into()
                    };
                    let need = if s.required {
                        ""
                    } else {
                        " (not needed by any chain)"
                    };
                    println!("{:<24} {state}{need}", s.name);
                }
            }
        }
        SecretsCommand::Rm { env, name } => {
            let removed = app
                .secret_remove(
                    &SecretArgs {
                        at: at(project, None)?,
                        env: env.clone(),
                    },
                    &name,
                )
                .await?;
            if json {
                print_json(&serde_json::json!({ "name": name, "env": env, "removed": removed }));
            } else if removed {
                println!("{name} removed from env {env}");
            } else {
                println!("{name} was not set for env {env}");
            }
        }
    }
    Ok(0)
}

/// The value from a hidden prompt on a terminal, else all of stdin (one trailing newline dropped).
pub(crate) fn read_secret(name: &str) -> chainlift_api::Result<SecretValue> {
    let bad = |e: std::io::Error| {
        ApiError::new(
            ErrorCode::BadInput,
            format!("cannot read the value of {name}: {e}"),
        )
    };
    let mut value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("value for {name} (hidden): ")).map_err(bad)?
    } else {
        let mut buf = String::new();
        std::io::stdin().read_to_string(&mut buf).map_err(bad)?;
        buf
    };
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    Ok(SecretValue::new(value))
}
