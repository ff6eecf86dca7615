//! The chain format: what a project on disk means, with no IO beyond reading its files.
//!
//! Parsing keeps `${VAR}` references as written; [`resolve`] turns a chain plus one
//! environment's config into typed values, leaving secrets as placeholders so they are read
//! only where a value is really needed (the HTTP call, a child's environment).

pub mod chain;
pub mod checklist;
pub mod confine;
pub mod envfile;
pub mod error;
pub mod expect;
pub mod fields;
pub mod graph;
pub mod hash;
pub mod lifecycle;
pub mod lint;
pub mod mentiko;
pub mod monitor;
pub mod project;
pub mod resolve;
pub mod schedule;
pub mod secret;
pub mod subst;
pub mod yamledit;

pub use chain::{AgentSpec, ChainDef, OutputKind};
pub use envfile::EnvFile;
pub use error::{ModelError, SourceLocation};
pub use project::{ChainRef, ModelEntry, Policy, Project};
pub use resolve::{ResolvedAgent, ResolvedChain};
