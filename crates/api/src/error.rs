//! Errors as they cross the CLI and IPC boundary: a closed code a caller may branch on, and a
//! message for people. The UI never matches English text.

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "../../../ui/src/bindings/")]
pub enum ErrorCode {
    /// Bad usage or unreadable input: a missing file, a syntax error, an unknown name.
    BadInput,
    NotFound,
    KeychainUnavailable,
    /// The run or check ran and failed.
    Failed,
    /// Refused by policy or state: a deploy that needs approval, nothing to roll back to.
    Refused,
    BudgetExceeded,
    /// The files changed on disk since they were read; nothing was written.
    Conflict,
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export_to = "../../../ui/src/bindings/")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// The CLI's exit code for this error (DESIGN.md §8).
    pub fn exit_code(&self) -> i32 {
        match self.code {
            ErrorCode::Failed
            | ErrorCode::BudgetExceeded
            | ErrorCode::Refused
            | ErrorCode::Conflict => 1,
            _ => 2,
        }
    }
}

impl From<chainlift_model::ModelError> for ApiError {
    fn from(e: chainlift_model::ModelError) -> Self {
        let code = match e {
            chainlift_model::ModelError::NotFound(_) => ErrorCode::NotFound,
            _ => ErrorCode::BadInput,
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<chainlift_store::StoreError> for ApiError {
    fn from(e: chainlift_store::StoreError) -> Self {
        ApiError::new(ErrorCode::Internal, e.to_string())
    }
}

impl From<chainlift_secrets::SecretsError> for ApiError {
    fn from(e: chainlift_secrets::SecretsError) -> Self {
        use chainlift_secrets::SecretsError as E;
        let code = match e {
            E::KeychainUnavailable(_) | E::Timeout(_) => ErrorCode::KeychainUnavailable,
            E::ReadOnly(_) => ErrorCode::BadInput,
            E::Other(_) => ErrorCode::Internal,
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<chainlift_model::confine::ConfineError> for ApiError {
    fn from(e: chainlift_model::confine::ConfineError) -> Self {
        use chainlift_model::confine::ConfineError as E;
        let code = match e {
            E::Escapes { .. } | E::Link { .. } => ErrorCode::BadInput,
            E::Io { .. } => ErrorCode::Internal,
        };
        ApiError::new(code, e.to_string())
    }
}
