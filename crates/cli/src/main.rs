//! `chainlift`: the command line over `chainlift-api`. Each command parses its arguments, calls
//! one use case and prints the result as text or as the same JSON the app's DTOs use.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chainlift_api::dto::{EnvDiff, Finding, RunProgress, RunView, Severity, ValidationReport};
use chainlift_api::{ApiError, Chainlift, ErrorCode, ProjectArgs, RunArgs, RunsQuery, SecretArgs};
use chainlift_model::secret::SecretValue;
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "chainlift",
    version,
    about = "Take LLM agent chains from dev to staging to production"
)]
struct Cli {
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The project folder (else found from CHAIN or the working folder)
    #[arg(long, global = true, value_name = "DIR")]
    project: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check a chain against every environment (or one); never opens the keychain
    Validate {
        chain: Option<String>,
        #[arg(long)]
        env: Option<String>,
    },
    /// What differs between two environments: config keys, secrets (set / not set) and each
    /// agent's resolved model, timeout and retries. Exits 0 whether or not they differ
    Diff {
        chain: String,
        env_a: String,
        env_b: String,
    },
    /// Import a Mentiko chain (either dialect) as a chain folder under DIR/chains/
    Import {
        file: PathBuf,
        #[arg(long, value_name = "DIR")]
        into: PathBuf,
    },
    /// Run a chain in an environment with one input
    Run {
        chain: Option<String>,
        #[arg(long)]
        env: String,
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// Override a config value for this run (not a secret)
        #[arg(long = "var", value_name = "K=V")]
        vars: Vec<String>,
        /// Run this version (a tag or 7+ hex of its hash) instead of the deployed one
        #[arg(long, conflicts_with = "working")]
        version: Option<String>,
        /// Run the files on disk even when a version is deployed to the env
        #[arg(long)]
        working: bool,
        /// Call the real providers and write the calls to the env's cassette
        #[arg(long)]
        record: bool,
    },
    /// List runs, or show one: `runs last`, `runs show ID`
    #[command(args_conflicts_with_subcommands = true)]
    Runs {
        #[command(subcommand)]
        which: Option<RunsCommand>,
        chain: Option<String>,
        #[command(flatten)]
        filter: RunsFilter,
    },
    /// Check a JSON output file against a JSON Schema (exit 1 when it does not match)
    ValidateOutput {
        file: PathBuf,
        #[arg(long)]
        schema: PathBuf,
    },
    /// Run an env's gates (or --only some) on the files on disk or a version; exit 1 when one fails
    Gate {
        chain: Option<String>,
        #[arg(long)]
        env: String,
        /// Comma-separated: smoke,quality,cost,config,infra,rollback
        #[arg(long, value_delimiter = ',')]
        only: Option<Vec<String>>,
        #[arg(long)]
        version: Option<String>,
        /// Also write a JUnit XML report here
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Promote a version (the files on disk by default) to the next env: runs its gates and
    /// opens a promotion with the checklist
    Promote {
        chain: Option<String>,
        #[arg(long)]
        to: String,
        #[arg(long)]
        version: Option<String>,
    },
    /// A promotion's checklist; `--tick KEY` ticks a manual item
    Checklist {
        promotion: String,
        #[arg(long)]
        tick: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Accept a failed gate of a promotion, with a reason (audited, shown as waived)
    Waive {
        promotion: String,
        gate: String,
        #[arg(long)]
        note: String,
    },
    /// Approve a promotion (when nothing required failed and every manual item is ticked)
    Approve {
        promotion: String,
        #[arg(long)]
        note: String,
    },
    /// Versions of a chain: create (snapshot the files), diff, export
    Version {
        #[command(subcommand)]
        action: VersionCommand,
    },
    /// List a chain's versions, newest first
    Versions { chain: Option<String> },
    /// Point an environment at a version, with a snapshot of its config
    Deploy {
        chain: Option<String>,
        #[arg(long)]
        version: String,
        #[arg(long)]
        env: String,
        /// Why (kept in the history and the audit log)
        #[arg(long)]
        reason: Option<String>,
    },
    /// Move an environment back to its previous deployment (no gates, audited)
    Rollback {
        chain: Option<String>,
        #[arg(long)]
        env: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Set a per-environment flag: `flag set ENV NAME VALUE`
    Flag {
        #[command(subcommand)]
        action: FlagCommand,
    },
    /// List an environment's flags
    Flags { env: String },
    /// The audit log, newest first; `--verify` checks its hash chain
    Audit {
        #[arg(long)]
        verify: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Secrets per environment, kept in the OS keychain
    Secrets {
        #[command(subcommand)]
        action: SecretsCommand,
    },
}

#[derive(clap::Args, Clone, Default)]
struct RunsFilter {
    #[arg(long)]
    env: Option<String>,
    /// A tag or a hash prefix (7+ hex): what that version produced
    #[arg(long)]
    version: Option<String>,
    /// completed, failed, timed_out, budget_exceeded, cancelled or running
    #[arg(long)]
    status: Option<String>,
}

#[derive(Subcommand)]
enum RunsCommand {
    /// The newest run (narrowed by CHAIN, --env, --version, --status)
    Last {
        chain: Option<String>,
        #[command(flatten)]
        filter: RunsFilter,
    },
    /// One run by id
    Show { id: String },
}

#[derive(Subcommand)]
enum VersionCommand {
    /// Snapshot the chain's files as an immutable version (unchanged files: the existing one)
    Create {
        chain: Option<String>,
        #[arg(long)]
        tag: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// A unified diff of two versions' files
    Diff { chain: String, a: String, b: String },
    /// Tag an untagged version (by its hash prefix)
    Tag {
        chain: String,
        version: String,
        tag: String,
    },
    /// Write a version's files to a new folder (hash verified)
    Export {
        chain: String,
        version: String,
        #[arg(long)]
        to: PathBuf,
    },
}

#[derive(Subcommand)]
enum FlagCommand {
    Set {
        env: String,
        name: String,
        value: String,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Store a secret: the value comes from stdin or a hidden prompt, never from argv
    Set {
        #[arg(long)]
        env: String,
        name: String,
    },
    /// Which secrets each env needs, set or not (never values)
    List {
        #[arg(long)]
        env: String,
    },
    /// Remove a secret from the keychain
    Rm {
        #[arg(long)]
        env: String,
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                cli.format,
                &ApiError::new(ErrorCode::Internal, format!("cannot start: {e}")),
            )
        }
    };
    let format = cli.format;
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(format, &e),
    }
}

fn fail(format: Format, e: &ApiError) -> ExitCode {
    if format == Format::Json {
        print_json(e);
    }
    eprintln!("error: {}", e.message);
    ExitCode::from(e.exit_code() as u8)
}

fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: the answer could not be written as JSON: {e}"),
    }
}

fn at(cli_project: &Option<PathBuf>, chain: Option<String>) -> chainlift_api::Result<ProjectArgs> {
    let cwd = std::env::current_dir()
        .map_err(|e| ApiError::new(ErrorCode::BadInput, format!("no working folder: {e}")))?;
    Ok(ProjectArgs {
        project: cli_project.clone(),
        chain,
        cwd,
    })
}

fn parse_vars(vars: &[String]) -> chainlift_api::Result<BTreeMap<String, String>> {
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

async fn dispatch(cli: Cli) -> chainlift_api::Result<u8> {
    let app = Chainlift::open(&chainlift_api::default_data_dir()?).await?;
    let json = cli.format == Format::Json;
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
            Ok(if run.status == "completed" { 0 } else { 1 })
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
                |chain: Option<String>, f: RunsFilter, limit| -> chainlift_api::Result<RunsQuery> {
                    Ok(RunsQuery {
                        at: Some(at(&cli.project, chain)?),
                        env: f.env,
                        version: f.version,
                        status: f.status,
                        limit,
                    })
                };
            match which {
                Some(RunsCommand::Last { chain, filter }) => {
                    let query = query_of(chain, filter, None)?;
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
                    let query = query_of(chain, filter, Some(50))?;
                    let runs = app.runs_list(&query).await?;
                    if json {
                        print_json(&runs);
                    } else if runs.is_empty() {
                        println!("no runs yet");
                    } else {
                        println!(
                            "{:<36}  {:<18} {:<11} {:<12} {:<16} {:>9}",
                            "ID", "CHAIN", "ENV", "VERSION", "STATUS", "COST"
                        );
                        for r in runs {
                            println!(
                                "{:<36}  {:<18} {:<11} {:<12} {:<16} {:>9}",
                                r.id,
                                r.chain,
                                r.env,
                                r.version,
                                r.status,
                                money(r.cost)
                            );
                        }
                    }
                    Ok(0)
                }
            }
        }
        Command::Secrets { action } => secrets(&app, &cli.project, json, action).await,
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
            Ok(if p.state == "gates_failed" { 1 } else { 0 })
        }
        Command::Checklist {
            promotion,
            tick,
            note,
        } => {
            let here = at(&cli.project, None)?;
            if let Some(key) = tick {
                let c = app.tick(&here, &promotion, &key, note.as_deref()).await?;
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
        } => {
            let d = app
                .deploy(&at(&cli.project, chain)?, &version, &env, reason.as_deref())
                .await?;
            print_deployment(json, &d);
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

async fn secrets(
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
fn read_secret(name: &str) -> chainlift_api::Result<SecretValue> {
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

fn money(cost: Option<f64>) -> String {
    cost.map(|c| format!("${c:.4}"))
        .unwrap_or_else(|| "unknown".into())
}

fn print_finding(f: &Finding) {
    let sev = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let env = f
        .env
        .as_deref()
        .map(|e| format!(" [{e}]"))
        .unwrap_or_default();
    println!("{sev}[{}]{env}: {}", f.code, f.message);
    match (&f.file, f.line) {
        (Some(file), Some(line)) => println!("  --> {file}:{line}"),
        (Some(file), None) => println!("  --> {file}"),
        _ => {}
    }
    if let Some(h) = &f.hint {
        println!("  hint: {h}");
    }
}

fn print_report(r: &ValidationReport) {
    for f in &r.findings {
        print_finding(f);
    }
    println!(
        "{}: {} error(s), {} warning(s) across {}",
        r.chain,
        r.errors,
        r.warnings,
        r.envs.join(", ")
    );
}

fn print_run(r: &RunView) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "run {}  {} @ {}  version {}",
        r.id, r.chain, r.env, r.version
    );
    let _ = writeln!(
        out,
        "status {}  cost {}  tokens {} in / {} out  {} ms",
        r.status,
        money(r.cost),
        r.tokens_in,
        r.tokens_out,
        r.duration_ms.unwrap_or(0)
    );
    for s in &r.steps {
        let _ = writeln!(
            out,
            "  {:<14} {:<10} {:<22} x{} {:>6} in {:>6} out {:>10} {:>6} ms",
            s.agent,
            s.status,
            s.model_reported.as_deref().unwrap_or(&s.model_requested),
            s.attempts,
            s.tokens_in,
            s.tokens_out,
            money(s.cost),
            s.duration_ms
        );
        if let Some(e) = &s.error {
            let _ = writeln!(out, "    {e}");
        }
    }
    if let Some(e) = &r.error {
        let _ = writeln!(out, "error: {e}");
    }
    if let Some(o) = &r.output {
        let _ = writeln!(out, "output {o}");
    }
}

/// Columns padded to the widest cell, so the two envs line up side by side.
fn print_table(rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("  {}", line.join("  ").trim_end());
    }
}

fn print_diff(d: &EnvDiff) {
    let (a, b) = (d.env_a.as_str(), d.env_b.as_str());
    println!("{}: {a} → {b}", d.chain);
    println!("\nagents");
    let mut rows = vec![vec![
        "agent".into(),
        format!("model ({a})"),
        format!("model ({b})"),
        "timeout".into(),
        "retries".into(),
        String::new(),
    ]];
    for ag in &d.agents {
        let side = |s: &Option<chainlift_api::dto::AgentSide>,
                    f: &dyn Fn(&chainlift_api::dto::AgentSide) -> String| {
            s.as_ref().map(f).unwrap_or_else(|| "–".into())
        };
        rows.push(vec![
            ag.agent.clone(),
            side(&ag.a, &|s| s.model.clone()),
            side(&ag.b, &|s| s.model.clone()),
            format!(
                "{} → {}",
                side(&ag.a, &|s| format!("{}s", s.timeout_secs)),
                side(&ag.b, &|s| format!("{}s", s.timeout_secs))
            ),
            format!(
                "{} → {}",
                side(&ag.a, &|s| s.retries.to_string()),
                side(&ag.b, &|s| s.retries.to_string())
            ),
            if ag.differs {
                "differs".into()
            } else {
                String::new()
            },
        ]);
    }
    print_table(&rows);
    println!("\nconfig ({} unchanged)", d.unchanged);
    if d.keys.is_empty() {
        println!("  no differences");
    } else {
        let mut rows = vec![vec!["".into(), "key".into(), a.to_string(), b.to_string()]];
        for k in &d.keys {
            let mark = match k.change.as_str() {
                "added" => "+",
                "removed" => "-",
                _ => "~",
            };
            rows.push(vec![
                mark.into(),
                k.key.clone(),
                k.a.clone().unwrap_or_else(|| "–".into()),
                k.b.clone().unwrap_or_else(|| "–".into()),
            ]);
        }
        print_table(&rows);
    }
    println!("\nsecrets (values never shown)");
    let set = |s: bool| if s { "set" } else { "NOT SET" }.to_string();
    let mut rows = vec![vec!["name".into(), a.to_string(), b.to_string()]];
    rows.extend(
        d.secrets
            .iter()
            .map(|s| vec![s.name.clone(), set(s.a_set), set(s.b_set)]),
    );
    print_table(&rows);
    for p in &d.problems {
        println!("\nproblem: {p}");
    }
}

/// The live per-agent display of a run on stderr: one line redrawn in place on a terminal,
/// a line per change otherwise (CI logs), nothing with `--format json`.
struct ProgressDisplay {
    enabled: bool,
    tty: bool,
    agents: std::sync::Mutex<Vec<(String, String)>>,
}

impl ProgressDisplay {
    fn new(enabled: bool) -> Self {
        ProgressDisplay {
            enabled,
            tty: std::io::stderr().is_terminal(),
            agents: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn mark(state: &str) -> &'static str {
        match state {
            "started" => "…",
            "completed" => "✓",
            _ => "✗",
        }
    }

    fn update(&self, p: &RunProgress) {
        if !self.enabled {
            return;
        }
        if !self.tty {
            eprintln!(
                "[{}/{}] {} {} {}",
                p.done,
                p.total,
                Self::mark(&p.state),
                p.agent,
                p.state
            );
            return;
        }
        let Ok(mut agents) = self.agents.lock() else {
            return;
        };
        match agents.iter_mut().find(|(a, _)| *a == p.agent) {
            Some(entry) => entry.1 = p.state.clone(),
            None => agents.push((p.agent.clone(), p.state.clone())),
        }
        let width = 20usize;
        let filled = if p.total == 0 {
            0
        } else {
            width * p.done as usize / p.total as usize
        };
        let bar = format!(
            "{}{}",
            "█".repeat(filled.min(width)),
            "░".repeat(width - filled.min(width))
        );
        let list: Vec<String> = agents
            .iter()
            .map(|(a, s)| format!("{a} {}", Self::mark(s)))
            .collect();
        eprint!(
            "\r\x1b[2K[{bar}] {}/{}  {}",
            p.done,
            p.total,
            list.join("  ")
        );
    }

    fn finish(&self) {
        if self.enabled && self.tty {
            eprintln!();
        }
    }
}

fn print_deployment(json: bool, d: &chainlift_api::dto::DeploymentView) {
    if json {
        print_json(d);
        return;
    }
    println!(
        "{} {} → {} @ {} ({}), deployment {}",
        d.action,
        d.chain,
        d.version,
        d.env,
        d.version_hash.chars().take(12).collect::<String>(),
        d.id
    );
    if let Some(diff) = &d.config_diff {
        println!("config changed: {diff}");
    }
}

fn print_checklist(c: &chainlift_api::dto::ChecklistView) {
    let mut section = String::new();
    for i in &c.items {
        if i.section != section {
            section = i.section.clone();
            println!("  {section}");
        }
        let mark = match i.state.as_str() {
            "passed" | "ticked" => "[x]",
            "failed" => "[!]",
            "waived" => "[w]",
            "not_applicable" => "[-]",
            _ => "[ ]",
        };
        let by = i
            .ticked_by
            .as_ref()
            .map(|b| format!(" — {b} {}", i.ticked_at.clone().unwrap_or_default()))
            .unwrap_or_default();
        println!(
            "    {mark} {:<24} {}{by}",
            i.key,
            i.evidence
                .clone()
                .unwrap_or_default()
                .chars()
                .take(110)
                .collect::<String>()
        );
    }
    if c.blocking.is_empty() {
        println!("  approvable");
    } else {
        println!("  not approvable yet: {}", c.blocking.join("; "));
    }
}

fn print_promotion(json: bool, p: &chainlift_api::dto::PromotionView) {
    if json {
        print_json(p);
        return;
    }
    println!(
        "promotion {} — {} {} → {}: {}",
        p.id, p.chain, p.version, p.to_env, p.state
    );
    for g in &p.gates {
        println!(
            "  {:<7} {:<9} {}",
            g.status.to_uppercase(),
            g.gate,
            g.summary
        );
    }
    print_checklist(&p.checklist);
    for w in &p.warnings {
        println!("  warning: {w}");
    }
}
