//! `validate`: lint a chain against every environment (or one), without opening the keychain.

use std::collections::BTreeMap;

use chainlift_model::lint::{self, EnvLint, LintInput};

use crate::dto::{Finding, Severity, ValidationReport};
use crate::project::resolve_env_with_file;
use crate::{Chainlift, ProjectArgs, Result};

impl Chainlift {
    pub async fn validate(
        &self,
        args: &ProjectArgs,
        env: Option<&str>,
    ) -> Result<ValidationReport> {
        let (project, chain) = self.chain_of(args).await?;
        let all = project.environments();
        if let Some(e) = env {
            crate::check_env(&project, e)?;
        }
        // Every env is resolved (comparisons need the previous env and production); only the
        // asked-for ones are reported.
        let mut envs = Vec::with_capacity(all.len());
        let records = self.secret_records(&project).await?;
        for name in &all {
            let (file, resolved) = resolve_env_with_file(&project, &chain, name, &BTreeMap::new())?;
            envs.push(EnvLint {
                name: name.clone(),
                file,
                resolved,
                report: env.is_none_or(|e| e == name),
            });
        }
        let lints = lint::lint(&LintInput {
            project: &project,
            chain: &chain,
            envs: &envs,
            secret_is_set: &|e, n| records.is_set(e, n),
            secret_hash: &|e, n| records.hash(e, n),
        });
        let findings: Vec<Finding> = lints
            .into_iter()
            .map(|l| Finding {
                code: l.code.into(),
                severity: match l.severity {
                    lint::Severity::Error => Severity::Error,
                    lint::Severity::Warning => Severity::Warning,
                },
                message: l.message,
                env: l.env,
                file: l.at.as_ref().map(|a| a.file.display().to_string()),
                line: l.at.as_ref().map(|a| a.line).filter(|l| *l > 0),
                hint: Some(l.hint),
            })
            .collect();
        let errors = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count() as u32;
        let warnings = findings.len() as u32 - errors;
        let envs = envs
            .into_iter()
            .filter(|e| e.report)
            .map(|e| e.name)
            .collect();
        Ok(ValidationReport {
            chain: chain.name.clone(),
            envs,
            ok: errors == 0,
            errors,
            warnings,
            findings,
        })
    }
}
