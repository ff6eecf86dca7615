//! Secret values and redaction, shared by everything that may hold or write one.

/// A secret value. Prints as `****` and has no serializer, so it cannot leak through Debug,
/// logs or IPC by accident; read it with [`SecretValue::expose`] where it is really needed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(****)")
    }
}

mod redact;
pub use redact::Redactor;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let v = SecretValue::new("sk-very-secret");
        assert_eq!(format!("{v:?}"), "SecretValue(****)");
    }
}
