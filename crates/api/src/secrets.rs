//! `secrets set|list|rm`: values go to the keychain, names and set-at times to SQLite.
//! `list` and `validate` never open the keychain: they read what the database recorded
//! (or, with `CHAINLIFT_SECRETS=env`, whether the process variable exists).

use std::collections::BTreeMap;

use chainlift_model::envfile::is_valid_key;
use chainlift_model::secret::SecretValue;
use chainlift_model::ChainDef;
use chainlift_secrets::account;
use chainlift_store::secrets as table;

use crate::dto::SecretStatus;
use crate::project::resolve_env;
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result};
use chainlift_model::lint::needed_secrets;

#[derive(Debug, Clone, Default)]
pub struct SecretArgs {
    pub at: ProjectArgs,
    pub env: String,
}

fn check_name(name: &str) -> Result<()> {
    if is_valid_key(name) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::BadInput,
            format!("`{name}` is not a valid secret name (letters, digits, _)"),
        ))
    }
}

impl Chainlift {
    /// The names of the secrets set in an env: recorded in the database, or (with
    /// `CHAINLIFT_SECRETS=env`) present in the process environment. Never opens the keychain.
    pub(crate) async fn secrets_set_in(
        &self,
        project: &str,
        env: &str,
    ) -> Result<std::collections::BTreeSet<String>> {
        if self.secrets.is_env() {
            return Ok(std::env::vars_os()
                .filter_map(|(k, _)| k.into_string().ok())
                .collect());
        }
        Ok(table::list(&self.pool, project, env)
            .await?
            .into_iter()
            .map(|r| r.name)
            .collect())
    }

    pub async fn secret_set(
        &self,
        args: &SecretArgs,
        name: &str,
        value: &SecretValue,
    ) -> Result<SecretStatus> {
        let project = self.project_of(&args.at).await?;
        crate::check_env(&project, &args.env)?;
        check_name(name)?;
        if value.expose().is_empty() {
            return Err(ApiError::new(
                ErrorCode::BadInput,
                format!("the value for {name} is empty: nothing was stored"),
            ));
        }
        self.secrets
            .set(&account(&project.id, &args.env, name), name, value)
            .await?;
        let at = self.clock.now().to_rfc3339();
        table::mark_set(&self.pool, &project.id, &args.env, name, &at).await?;
        let entry = self.audit_entry(&project, "secret-set", &args.env, name);
        self.audit_append(entry).await?;
        Ok(SecretStatus {
            name: name.into(),
            env: args.env.clone(),
            set: true,
            set_at: Some(at),
            required: true,
        })
    }

    pub async fn secret_remove(&self, args: &SecretArgs, name: &str) -> Result<bool> {
        let project = self.project_of(&args.at).await?;
        crate::check_env(&project, &args.env)?;
        check_name(name)?;
        let in_keychain = self
            .secrets
            .delete(&account(&project.id, &args.env, name), name)
            .await?;
        let in_db = table::remove(&self.pool, &project.id, &args.env, name).await?;
        if in_keychain || in_db {
            let entry = self.audit_entry(&project, "secret-removed", &args.env, name);
            self.audit_append(entry).await?;
        }
        Ok(in_keychain || in_db)
    }

    /// Every secret a chain of the project needs in this env, plus any recorded as set.
    pub async fn secret_list(&self, args: &SecretArgs) -> Result<Vec<SecretStatus>> {
        let project = self.project_of(&args.at).await?;
        crate::check_env(&project, &args.env)?;
        let mut required = std::collections::BTreeSet::new();
        for dir in project.chain_dirs() {
            let Ok(chain) = ChainDef::load(&dir) else {
                continue;
            };
            required.extend(chain.secrets.iter().cloned());
            if let Ok(Ok(resolved)) = resolve_env(&project, &chain, &args.env, &BTreeMap::new()) {
                required.extend(needed_secrets(&chain, &resolved));
            }
        }
        let recorded = table::list(&self.pool, &project.id, &args.env).await?;
        let mut names: std::collections::BTreeSet<String> = required.clone();
        names.extend(recorded.iter().map(|r| r.name.clone()));
        let mut out = Vec::new();
        for name in names {
            let row = recorded.iter().find(|r| r.name == name);
            let set = if self.secrets.is_env() {
                std::env::var_os(&name).is_some()
            } else {
                row.is_some()
            };
            out.push(SecretStatus {
                required: required.contains(&name),
                set,
                set_at: row.map(|r| r.set_at.clone()),
                env: args.env.clone(),
                name,
            });
        }
        Ok(out)
    }
}
