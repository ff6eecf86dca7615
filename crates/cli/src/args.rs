//! The command line's arguments: every command, its flags and their help text (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "chainlift",
    version,
    about = "Take LLM agent chains from dev to staging to production"
)]
pub(crate) struct Cli {
    /// Output format (`html` and `md` are the forms of `report`)
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// The project folder (else found from CHAIN or the working folder)
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) project: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
    Html,
    Md,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
    /// A promotion's checklist; `--tick KEY` ticks a manual item, `--untick KEY` takes a tick
    /// back (each with who, when and `--note`, audited)
    Checklist {
        promotion: String,
        #[arg(long, conflicts_with = "untick")]
        tick: Option<String>,
        #[arg(long)]
        untick: Option<String>,
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
    /// Approve a promotion (when nothing required failed and every required manual item is
    /// ticked), as one of the env's `approvers:` when it names them
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
        /// Deploy as a canary for this percent of requests (1-99); the current version stays
        /// stable, the steps of the env's `monitor:` follow, then the full switch
        #[arg(long, value_name = "PERCENT")]
        canary: Option<u8>,
    },
    /// A promotion's report to share: one self-contained HTML file (the default) or Markdown
    /// for a pull request, with gates, scores and rationale, outputs, checklist, approvals,
    /// the config diff, costs and audit entries
    Report {
        promotion: String,
        /// Write here (else to stdout)
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// The newest rollout of a chain in an env (canary, window, analyses), or act on the open one
    Rollout {
        chain: Option<String>,
        #[arg(long)]
        env: String,
        /// Set the candidate's share of requests (100: the full switch)
        #[arg(long, value_name = "PERCENT", conflicts_with_all = ["promote", "abort", "pause", "resume"])]
        weight: Option<u8>,
        /// End it `stable` now: the full switch, no further watch
        #[arg(long, conflicts_with_all = ["abort", "pause", "resume"])]
        promote: bool,
        /// Roll back (`rolled_back`)
        #[arg(long, conflicts_with_all = ["pause", "resume"])]
        abort: bool,
        /// Hold the weight; a failed analysis still rolls back
        #[arg(long, conflicts_with = "resume")]
        pause: bool,
        #[arg(long)]
        resume: bool,
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
    /// The history's database: which one is open (`status`), its schema (`migrate`), and
    /// `copy --to postgres://…` to move it into a team's PostgreSQL
    Db {
        #[command(subcommand)]
        action: DbCommand,
    },
    /// Secrets per environment, kept in the OS keychain
    Secrets {
        #[command(subcommand)]
        action: SecretsCommand,
    },
    /// Run the deployed chains of some envs on requests over HTTP (`serve token set` makes a
    /// token)
    #[command(args_conflicts_with_subcommands = true)]
    Serve {
        #[command(subcommand)]
        action: Option<ServeCommand>,
        #[command(flatten)]
        opts: ServeOpts,
    },
}

#[derive(clap::Args, Clone)]
pub(crate) struct ServeOpts {
    /// An env to serve (repeat for several; default: the last env)
    #[arg(long = "env", value_name = "ENV")]
    pub(crate) envs: Vec<String>,
    /// Where to listen (a non-loopback address needs a token for every served env)
    #[arg(long, default_value = chainlift_serve::DEFAULT_LISTEN)]
    pub(crate) listen: std::net::SocketAddr,
    /// How long in-flight runs get after SIGTERM or Ctrl-C before they are cancelled
    #[arg(long, default_value = "30s")]
    pub(crate) drain: String,
    /// The largest request body, in bytes
    #[arg(long, default_value_t = chainlift_serve::DEFAULT_MAX_BODY)]
    pub(crate) max_body: usize,
    /// Runs waiting per env before requests get 429
    #[arg(long, default_value_t = chainlift_serve::DEFAULT_QUEUE)]
    pub(crate) queue: usize,
    /// Log lines as text or JSON (filter with CHAINLIFT_LOG, RUST_LOG syntax)
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub(crate) enum DbCommand {
    /// Which history is open (CHAINLIFT_DATABASE_URL, config.toml or the SQLite file) and its
    /// schema
    Status,
    /// Bring the history's schema up to this build's (opening it does the same)
    Migrate,
    /// Copy the whole history into an empty PostgreSQL database, then verify its audit chain
    Copy {
        /// The destination, postgres://user@host:port/db
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum ServeCommand {
    /// The serve token of an env
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
}

#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// Generate a token, print it once, store it as the env's CHAINLIFT_SERVE_TOKEN secret
    Set {
        #[arg(long)]
        env: String,
    },
}

#[derive(clap::Args, Clone, Default)]
pub(crate) struct RunsFilter {
    #[arg(long)]
    pub(crate) env: Option<String>,
    /// A tag or a hash prefix (7+ hex): what that version produced
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// queued, running, completed, failed, timed_out, budget_exceeded, cancelled or interrupted
    #[arg(long)]
    pub(crate) status: Option<String>,
    /// What started the run
    #[arg(long, value_enum)]
    pub(crate) trigger: Option<TriggerArg>,
    /// How many runs to list, newest first
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) limit: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TriggerArg {
    Manual,
    Api,
    Schedule,
    Gate,
}

impl From<TriggerArg> for chainlift_api::dto::Trigger {
    fn from(t: TriggerArg) -> Self {
        match t {
            TriggerArg::Manual => chainlift_api::dto::Trigger::Manual,
            TriggerArg::Api => chainlift_api::dto::Trigger::Api,
            TriggerArg::Schedule => chainlift_api::dto::Trigger::Schedule,
            TriggerArg::Gate => chainlift_api::dto::Trigger::Gate,
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum RunsCommand {
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
pub(crate) enum VersionCommand {
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
pub(crate) enum FlagCommand {
    Set {
        env: String,
        name: String,
        value: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum SecretsCommand {
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
