//! `diff`: what changes between two envs — config keys, secrets (set / not set, never values)
//! and each agent's resolved model, timeout and retries side by side.

use std::collections::{BTreeMap, BTreeSet};

use chainlift_model::lint::{needed_secrets, secret_kind};

use crate::dto::{AgentDiff, AgentSide, ConfigRow, EnvConfigTable, EnvDiff, KeyDiff, SecretDiff};
use crate::project::{issue_text, resolve_env_with_file};
use crate::{Chainlift, ProjectArgs, Result};

const HIDDEN: &str = "****";

/// A config value as shown: **** for secrets and for anything that looks like one.
fn shown(secret_names: &BTreeSet<String>, key: &str, value: &str) -> String {
    if secret_names.contains(key) || secret_kind(value).is_some() {
        HIDDEN.into()
    } else {
        chainlift_model::secret::mask_url_password(value)
    }
}

impl Chainlift {
    pub async fn diff(&self, args: &ProjectArgs, env_a: &str, env_b: &str) -> Result<EnvDiff> {
        let (project, chain) = self.chain_of(args).await?;
        for e in [env_a, env_b] {
            crate::check_env(&project, e)?;
        }
        let none = BTreeMap::new();
        let (file_a, res_a) = resolve_env_with_file(&project, &chain, env_a, &none)?;
        let (file_b, res_b) = resolve_env_with_file(&project, &chain, env_b, &none)?;

        let mut secret_names: BTreeSet<String> = chain.secrets.iter().cloned().collect();
        for r in [&res_a, &res_b].into_iter().flatten() {
            secret_names.extend(needed_secrets(&chain, r));
            secret_names.extend(
                r.secrets
                    .iter()
                    .filter(|s| chain.secrets.contains(s))
                    .cloned(),
            );
        }
        let show = |key: &str, value: &str| shown(&secret_names, key, value);
        let values = |f: &Option<chainlift_model::EnvFile>| -> BTreeMap<String, String> {
            f.as_ref()
                .map(|f| {
                    f.entries
                        .iter()
                        .map(|(k, e)| (k.clone(), e.value.clone()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (va, vb) = (values(&file_a), values(&file_b));
        let mut keys = Vec::new();
        let mut unchanged = 0;
        for key in va.keys().chain(vb.keys()).collect::<BTreeSet<_>>() {
            let (a, b) = (va.get(key), vb.get(key));
            let change = match (a, b) {
                (Some(x), Some(y)) if x == y => {
                    unchanged += 1;
                    continue;
                }
                (Some(_), Some(_)) => "changed",
                (Some(_), None) => "removed",
                _ => "added",
            };
            keys.push(KeyDiff {
                key: key.clone(),
                change: change.into(),
                a: a.map(|v| show(key, v)),
                b: b.map(|v| show(key, v)),
            });
        }

        let set_a = self.secrets_set_in(&project.id, env_a).await?;
        let set_b = self.secrets_set_in(&project.id, env_b).await?;
        let secrets = secret_names
            .iter()
            .filter(|n| {
                chain.secrets.contains(n)
                    || [&res_a, &res_b]
                        .into_iter()
                        .flatten()
                        .any(|r| needed_secrets(&chain, r).contains(*n))
            })
            .map(|n| SecretDiff {
                name: n.clone(),
                a_set: set_a.contains(n),
                b_set: set_b.contains(n),
            })
            .collect();

        let side = |r: &crate::project::Resolution, agent: &str| -> Option<AgentSide> {
            let r = r.as_ref().ok()?;
            let a = r.agents.iter().find(|a| a.name == agent)?;
            let attempts = if a.max_attempts > 0 {
                a.max_attempts
            } else {
                r.retries + 1
            };
            Some(AgentSide {
                model: a.model.clone(),
                timeout_secs: a.timeout.as_secs_f64(),
                retries: attempts.saturating_sub(1),
            })
        };
        let agents = chain
            .agents
            .iter()
            .map(|spec| {
                let (a, b) = (side(&res_a, &spec.name), side(&res_b, &spec.name));
                AgentDiff {
                    agent: spec.name.clone(),
                    differs: a != b,
                    a,
                    b,
                }
            })
            .collect();

        let mut problems = Vec::new();
        for (env, r) in [(env_a, &res_a), (env_b, &res_b)] {
            if let Err(issues) = r {
                problems.extend(issues.iter().map(|i| format!("{env}: {}", issue_text(i))));
            }
        }
        Ok(EnvDiff {
            chain: chain.name.clone(),
            env_a: env_a.into(),
            env_b: env_b.into(),
            keys,
            unchanged,
            secrets,
            agents,
            problems,
        })
    }

    /// Every env's config as one table: a row per key, a column per env; values that are
    /// secrets (or look like one) shown as ****.
    pub async fn env_config(&self, args: &ProjectArgs) -> Result<EnvConfigTable> {
        let (project, chain) = self.chain_of(args).await?;
        let envs = project.environments();
        let none = BTreeMap::new();
        let mut secret_names: BTreeSet<String> = chain.secrets.iter().cloned().collect();
        let mut files = Vec::new();
        for env in &envs {
            let (file, res) = resolve_env_with_file(&project, &chain, env, &none)?;
            if let Ok(r) = &res {
                secret_names.extend(needed_secrets(&chain, r));
            }
            files.push(file);
        }
        let mut rows: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
        for (i, file) in files.iter().enumerate() {
            for (key, entry) in file.iter().flat_map(|f| f.entries.iter()) {
                rows.entry(key.clone())
                    .or_insert_with(|| vec![None; envs.len()])[i] =
                    Some(shown(&secret_names, key, &entry.value));
            }
        }
        Ok(EnvConfigTable {
            chain: chain.name.clone(),
            rows: rows
                .into_iter()
                .map(|(key, values)| ConfigRow { key, values })
                .collect(),
            envs,
        })
    }
}
