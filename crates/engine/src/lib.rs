//! Runs a resolved chain for real: events between agents, provider calls with retries and
//! timeouts, cost from the price table, files under the run's folder.
//!
//! The keychain, the clock and progress reporting come in through small traits so the api can
//! wire the real ones and tests can pin them; nothing here knows about SQLite or Tauri.

pub mod cassette;
pub mod command;
pub mod provider;
pub mod run;

pub use provider::{Completion, CompletionRequest, Message, ProviderError};
pub use run::{
    run_chain, Progress, ProgressState, RunContext, RunOutcome, RunStatus, SecretLookup,
    StepOutcome,
};
