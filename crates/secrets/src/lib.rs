//! Secrets: values live in the OS keychain (or, for CI, in process variables) and nowhere else.
//!
//! keyring's Secret Service calls are blocking D-Bus round trips, so each runs on a blocking
//! thread under a timeout: a missing or locked keychain is a clear error, never a hang, and
//! there is deliberately no in-memory fallback that would "work" and lose the value.

use std::time::Duration;

pub use chainlift_model::secret::{Redactor, SecretValue};

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("no keychain available: {0}. Start a Secret Service (e.g. gnome-keyring) and unlock it, or set CHAINLIFT_SECRETS=env to read secrets from process variables")]
    KeychainUnavailable(String),
    #[error("the keychain did not answer within {0:?}; is it waiting for an unlock prompt?")]
    Timeout(Duration),
    #[error("CHAINLIFT_SECRETS=env reads secrets from process variables: set {0} in the environment instead")]
    ReadOnly(String),
    #[error("keychain error: {0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, SecretsError>;

/// The keychain service name: debug builds keep their secrets apart from release builds.
pub fn service_name() -> &'static str {
    if cfg!(debug_assertions) {
        "chainlift-dev"
    } else {
        "chainlift"
    }
}

/// The keychain account of one secret (DESIGN.md §7).
pub fn account(project: &str, env: &str, name: &str) -> String {
    format!("{project}/{env}/{name}")
}

/// Where secret values come from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    Keychain {
        service: String,
        timeout: Duration,
    },
    /// CI: each secret is the process variable of the same name; the keychain is never touched.
    Env,
}

const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(10);

impl SecretSource {
    /// `CHAINLIFT_SECRETS=env` selects process variables, anything else the OS keychain.
    pub fn from_process() -> Self {
        match std::env::var("CHAINLIFT_SECRETS").as_deref() {
            Ok("env") => SecretSource::Env,
            _ => SecretSource::keychain(service_name()),
        }
    }

    pub fn keychain(service: &str) -> Self {
        SecretSource::Keychain {
            service: service.to_string(),
            timeout: KEYCHAIN_TIMEOUT,
        }
    }

    pub fn is_env(&self) -> bool {
        matches!(self, SecretSource::Env)
    }

    pub async fn set(&self, account: &str, name: &str, value: &SecretValue) -> Result<()> {
        match self {
            SecretSource::Env => Err(SecretsError::ReadOnly(name.to_string())),
            SecretSource::Keychain { service, timeout } => {
                let value = value.clone();
                with_entry(service, account, *timeout, move |e| {
                    e.set_password(value.expose())
                })
                .await
            }
        }
    }

    pub async fn get(&self, account: &str, name: &str) -> Result<Option<SecretValue>> {
        match self {
            SecretSource::Env => Ok(std::env::var(name).ok().map(SecretValue::new)),
            SecretSource::Keychain { service, timeout } => {
                match with_entry(service, account, *timeout, |e| e.get_password()).await {
                    Ok(v) => Ok(Some(SecretValue::new(v))),
                    Err(SecretsError::Other(m)) if m == NO_ENTRY => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Remove a secret; `Ok(false)` when there was none.
    pub async fn delete(&self, account: &str, name: &str) -> Result<bool> {
        match self {
            SecretSource::Env => Err(SecretsError::ReadOnly(name.to_string())),
            SecretSource::Keychain { service, timeout } => {
                match with_entry(service, account, *timeout, |e| e.delete_credential()).await {
                    Ok(()) => Ok(true),
                    Err(SecretsError::Other(m)) if m == NO_ENTRY => Ok(false),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

const NO_ENTRY: &str = "no entry";

async fn with_entry<T: Send + 'static>(
    service: &str,
    account: &str,
    timeout: Duration,
    op: impl FnOnce(&keyring::Entry) -> keyring::Result<T> + Send + 'static,
) -> Result<T> {
    let service = service.to_string();
    let account = account.to_string();
    let task = tokio::task::spawn_blocking(move || {
        let entry = keyring::Entry::new(&service, &account).map_err(map_error)?;
        op(&entry).map_err(map_error)
    });
    match tokio::time::timeout(timeout, task).await {
        Err(_) => Err(SecretsError::Timeout(timeout)),
        Ok(Err(join)) => Err(SecretsError::Other(format!("keychain call failed: {join}"))),
        Ok(Ok(result)) => result,
    }
}

fn map_error(err: keyring::Error) -> SecretsError {
    match err {
        keyring::Error::NoEntry => SecretsError::Other(NO_ENTRY.into()),
        keyring::Error::PlatformFailure(e) | keyring::Error::NoStorageAccess(e) => {
            SecretsError::KeychainUnavailable(e.to_string())
        }
        other => SecretsError::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn env_source_reads_process_variables_and_refuses_writes() {
        // PATH is always set; the env source must return it and refuse to store anything.
        let src = SecretSource::Env;
        let got = src.get("p/dev/PATH", "PATH").await;
        assert!(matches!(got, Ok(Some(_))));
        let set = src.set("p/dev/X", "X", &SecretValue::new("v")).await;
        assert!(matches!(set, Err(SecretsError::ReadOnly(_))));
    }
}
