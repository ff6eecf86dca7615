//! `secrets set|list|rm`: values go to the keychain, names and set-at times to SQLite.
//! `list` and `validate` never open the keychain: they read what the database recorded
//! (or, with `CHAINLIFT_SECRETS=env`, whether the process variable exists).

use std::collections::BTreeMap;

use chainlift_model::envfile::is_valid_key;
use chainlift_model::secret::SecretValue;
use chainlift_model::{ChainDef, Project};
use chainlift_secrets::account;
use chainlift_store::secrets as table;
use sha2::Digest as _;

use crate::dto::SecretStatus;
use crate::project::resolve_env;
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result};
use chainlift_model::lint::needed_secrets;

/// The keychain entry (per project, beside its secrets) holding the key of the value hashes.
const HASH_KEY: &str = "CHAINLIFT_HASH_KEY";

/// Per env, the secrets set and the keyed hash of each value: what the linter compares.
pub(crate) struct SecretRecords(BTreeMap<String, BTreeMap<String, Option<String>>>);

impl SecretRecords {
    pub(crate) fn is_set(&self, env: &str, name: &str) -> bool {
        self.0.get(env).is_some_and(|s| s.contains_key(name))
    }

    pub(crate) fn hash(&self, env: &str, name: &str) -> Option<String> {
        self.0.get(env)?.get(name)?.clone()
    }
}

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
        Ok(self
            .secret_records_in(project, env)
            .await?
            .into_keys()
            .collect())
    }

    /// Each secret set in an env with the keyed hash recorded of its value (`None` in env mode,
    /// where values are process variables nobody hashed, or for a secret set before hashes).
    async fn secret_records_in(
        &self,
        project: &str,
        env: &str,
    ) -> Result<BTreeMap<String, Option<String>>> {
        if self.secrets.is_env() {
            return Ok(std::env::vars_os()
                .filter_map(|(k, _)| k.into_string().ok())
                .map(|k| (k, None))
                .collect());
        }
        Ok(table::list(&self.pool, project, env)
            .await?
            .into_iter()
            .map(|r| (r.name, r.value_hash))
            .collect())
    }

    /// What the database recorded of every env's secrets, for the linter.
    pub(crate) async fn secret_records(&self, project: &Project) -> Result<SecretRecords> {
        let mut by_env = BTreeMap::new();
        for env in project.environments() {
            let records = self.secret_records_in(&project.id, &env).await?;
            by_env.insert(env, records);
        }
        Ok(SecretRecords(by_env))
    }

    /// The keyed hash of a secret value: HMAC-SHA256 under the project's hash key, which lives
    /// in the keychain beside the secrets (created on first use). The hash goes to SQLite; the
    /// key never does, so a copied database cannot be used to guess values.
    async fn value_hash(&self, project: &Project, value: &SecretValue) -> Result<String> {
        use hmac::Mac as _;
        let account = account(&project.id, "*", HASH_KEY);
        let key = match self.secrets.get(&account, HASH_KEY).await? {
            Some(k) => k,
            None => {
                // The first key of a project: created under the database's write lock, so two
                // processes of this data folder never make two keys (the keychain has no
                // compare-and-swap), then read back so the stored key is the one used.
                let tx = chainlift_store::begin_write(&self.pool).await?;
                if self.secrets.get(&account, HASH_KEY).await?.is_none() {
                    let k = SecretValue::new(random_hex("hash key")?);
                    self.secrets.set(&account, HASH_KEY, &k).await?;
                }
                tx.commit().await?;
                self.secrets.get(&account, HASH_KEY).await?.ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::Internal,
                        "the keychain did not keep the hash key it was given",
                    )
                })?
            }
        };
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.expose().as_bytes())
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("hash key: {e}")))?;
        mac.update(value.expose().as_bytes());
        // The key's own id, so hashes made under different keys never compare equal by chance
        // and are seen as "not comparable".
        let key_id = hex::encode(&sha2::Sha256::digest(key.expose().as_bytes())[..4]);
        Ok(format!(
            "hmac-sha256:{key_id}:{}",
            hex::encode(mac.finalize().into_bytes())
        ))
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
        let hash = self.value_hash(&project, value).await?;
        let at = self.clock.now().to_rfc3339();
        // The record and its audit row land together or not at all.
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        table::mark_set(&mut *tx, &project.id, &args.env, name, &at, &hash).await?;
        let entry = self.audit_entry(&project, "secret-set", &args.env, name);
        self.commit_audited(tx, &entry, None).await?;
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
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        let in_db = table::remove(&mut *tx, &project.id, &args.env, name).await?;
        if in_keychain || in_db {
            let entry = self.audit_entry(&project, "secret-removed", &args.env, name);
            self.commit_audited(tx, &entry, None).await?;
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

/// 32 random bytes as hex, from the OS.
pub(crate) fn random_hex(what: &str) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("could not draw a random {what}: {e}"),
        )
    })?;
    Ok(hex::encode(bytes))
}
