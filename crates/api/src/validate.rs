//! `validate`: lint a chain against every environment (or one), without opening the keychain.

use std::collections::{BTreeMap, BTreeSet};

use chainlift_model::{ChainDef, Project, ResolvedChain};

use crate::dto::{Finding, Severity, ValidationReport};
use crate::project::resolve_env;
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result};

fn finding(
    code: &str,
    severity: Severity,
    message: String,
    env: Option<&str>,
    at: Option<&chainlift_model::SourceLocation>,
    hint: Option<String>,
) -> Finding {
    Finding {
        code: code.into(),
        severity,
        message,
        env: env.map(String::from),
        file: at.map(|a| a.file.display().to_string()),
        line: at.map(|a| a.line).filter(|l| *l > 0),
        hint,
    }
}

/// Events: a trigger nothing emits, an emit nobody hears, no way in from `chain:start`.
fn lint_events(chain: &ChainDef, out: &mut Vec<Finding>) {
    let emitted: BTreeSet<&str> = chain
        .agents
        .iter()
        .filter_map(|a| a.emits.as_deref())
        .collect();
    let heard: BTreeSet<&str> = chain
        .agents
        .iter()
        .flat_map(|a| a.triggers().iter().map(String::as_str))
        .collect();
    for a in &chain.agents {
        for t in a
            .triggers()
            .iter()
            .filter(|t| *t != "chain:start" && !emitted.contains(t.as_str()))
        {
            let at = chain.locate(t);
            out.push(finding(
                "trigger-never-emitted",
                Severity::Error,
                format!("agent `{}` triggers on `{t}`, which no agent emits", a.name),
                None,
                Some(&at),
                Some(format!(
                    "emit `{t}` from an earlier agent, or fix the event name"
                )),
            ));
        }
        if let Some(e) = a
            .emits
            .as_deref()
            .filter(|e| *e != "chain:complete" && !heard.contains(e))
        {
            let at = chain.locate(&format!("emits: {e}"));
            out.push(finding(
                "emit-unheard",
                Severity::Warning,
                format!("agent `{}` emits `{e}`, which no agent triggers on", a.name),
                None,
                Some(&at),
                Some(format!(
                    "add `{e}` to a later agent's triggers, or emit chain:complete"
                )),
            ));
        }
    }
    if !heard.contains("chain:start") {
        out.push(finding(
            "no-start",
            Severity::Error,
            "no agent triggers on chain:start, so the chain can never begin".into(),
            None,
            Some(&chain.locate("agents:")),
            Some("add `triggers: [chain:start]` to the first agent".into()),
        ));
    }
    if !emitted.contains("chain:complete") {
        out.push(finding(
            "no-complete",
            Severity::Error,
            "no agent emits chain:complete, so the chain can never finish".into(),
            None,
            Some(&chain.locate("agents:")),
            Some("add `emits: chain:complete` to the last agent".into()),
        ));
    }
}

/// The secrets an env needs: the chain's `secrets:` and its models' provider keys.
pub(crate) fn needed_secrets(chain: &ChainDef, resolved: &ResolvedChain) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = chain.secrets.iter().cloned().collect();
    names.extend(resolved.agents.iter().map(|a| a.model_entry.key_secret()));
    names
}

impl Chainlift {
    pub async fn validate(
        &self,
        args: &ProjectArgs,
        env: Option<&str>,
    ) -> Result<ValidationReport> {
        let (project, chain) = args.chain()?;
        let envs = match env {
            Some(e) if project.environments().iter().any(|x| x == e) => vec![e.to_string()],
            Some(e) => {
                return Err(ApiError::new(
                    ErrorCode::BadInput,
                    format!(
                        "unknown env `{e}` (this project has: {})",
                        project.environments().join(", ")
                    ),
                ))
            }
            None => project.environments(),
        };
        let mut findings = Vec::new();
        lint_events(&chain, &mut findings);
        for env in &envs {
            self.lint_env(&project, &chain, env, &mut findings).await?;
        }
        let errors = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count() as u32;
        let warnings = findings.len() as u32 - errors;
        Ok(ValidationReport {
            chain: chain.name.clone(),
            envs,
            ok: errors == 0,
            errors,
            warnings,
            findings,
        })
    }

    async fn lint_env(
        &self,
        project: &Project,
        chain: &ChainDef,
        env: &str,
        out: &mut Vec<Finding>,
    ) -> Result<()> {
        let resolved = match resolve_env(project, chain, env, &BTreeMap::new())? {
            Ok(r) => r,
            Err(issues) => {
                for i in issues {
                    out.push(finding(
                        i.code,
                        Severity::Error,
                        i.message,
                        Some(env),
                        Some(&i.at),
                        Some(i.hint),
                    ));
                }
                return Ok(());
            }
        };
        for name in needed_secrets(chain, &resolved) {
            if !self.secret_is_set(&project.id, env, &name).await? {
                out.push(finding(
                    "secret-unset",
                    Severity::Warning,
                    format!("secret {name} is not set for env `{env}`"),
                    Some(env),
                    None,
                    Some(format!("chainlift secrets set --env {env} {name}")),
                ));
            }
        }
        Ok(())
    }
}
