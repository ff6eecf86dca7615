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

/// The password of a URL-valued config value (`scheme://user:pw@host…`), if it has one: it
/// counts as a secret (DESIGN.md §2).
pub fn url_password(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = &authority[..authority.rfind('@')?];
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// `value` with a URL password replaced by `****` (unchanged when it has none).
pub fn mask_url_password(value: &str) -> String {
    match url_password(value) {
        Some(pw) => {
            // Replace the one occurrence inside the authority: `user:pw@`.
            let needle = format!(":{pw}@");
            value.replacen(&needle, ":****@", 1)
        }
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_found_and_masked() {
        assert_eq!(url_password("postgres://u:pw@db:5432/x"), Some("pw"));
        assert_eq!(url_password("postgres://u@db/x"), None);
        assert_eq!(url_password("postgres://db:5432/x"), None);
        assert_eq!(url_password("https://a.b/x?u=a:b@c"), None);
        assert_eq!(url_password("not a url"), None);
        assert_eq!(
            mask_url_password("postgres://u:p@ss@db/x"),
            "postgres://u:****@db/x"
        );
        assert_eq!(mask_url_password("x"), "x");
    }

    #[test]
    fn debug_never_shows_the_value() {
        let v = SecretValue::new("sk-very-secret");
        assert_eq!(format!("{v:?}"), "SecretValue(****)");
    }
}
