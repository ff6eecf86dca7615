//! `${VAR}`, `${VAR:-default}` and `${FLAG:then:else}`: environment config, resolved before a run.
//!
//! Run data (`{{ … }}`) is a different layer, rendered by the engine when an agent starts; the
//! two are never mixed, so this module leaves `{{` alone.

/// What a name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Value(String),
    /// A secret: the reference stays as written until a value is really needed.
    Secret,
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubstError {
    /// `${NAME}` has no value and no default.
    Unresolved(String),
    /// `${` without a closing `}` or an empty name.
    Malformed(String),
}

/// One `${…}` reference found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub default: Option<String>,
    pub flag: Option<(String, String)>,
}

/// Every reference in `text`, in order.
pub fn references(text: &str) -> Result<Vec<Reference>, SubstError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| SubstError::Malformed(text.to_string()))?;
        out.push(parse_reference(&after[..end])?);
        rest = &after[end + 1..];
    }
    Ok(out)
}

fn parse_reference(body: &str) -> Result<Reference, SubstError> {
    let malformed = || SubstError::Malformed(format!("${{{body}}}"));
    if let Some((name, default)) = body.split_once(":-") {
        return valid_name(name)
            .then(|| Reference {
                name: name.to_string(),
                default: Some(default.into()),
                flag: None,
            })
            .ok_or_else(malformed);
    }
    let parts: Vec<&str> = body.split(':').collect();
    match parts.as_slice() {
        [name] if valid_name(name) => Ok(Reference {
            name: name.to_string(),
            default: None,
            flag: None,
        }),
        [name, then, other] if valid_name(name) => Ok(Reference {
            name: name.to_string(),
            default: None,
            flag: Some((then.to_string(), other.to_string())),
        }),
        _ => Err(malformed()),
    }
}

fn valid_name(name: &str) -> bool {
    crate::envfile::is_valid_key(name)
}

/// A flag is on when its value is `1|true|yes|on`, any case.
pub fn flag_is_on(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// Substitute every reference in `text`. Secrets stay as `${NAME}`.
pub fn substitute(text: &str, lookup: &dyn Fn(&str) -> Lookup) -> Result<String, SubstError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| SubstError::Malformed(text.to_string()))?;
        let reference = parse_reference(&after[..end])?;
        match (lookup(&reference.name), &reference.flag, &reference.default) {
            (Lookup::Secret, _, _) => {
                out.push_str("${");
                out.push_str(&reference.name);
                out.push('}');
            }
            (Lookup::Value(v), Some((then, other)), _) => {
                out.push_str(if flag_is_on(&v) { then } else { other })
            }
            (Lookup::Missing, Some((_, other)), _) => out.push_str(other),
            (Lookup::Value(v), None, _) => out.push_str(&v),
            (Lookup::Missing, None, Some(default)) => out.push_str(default),
            (Lookup::Missing, None, None) => return Err(SubstError::Unresolved(reference.name)),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Lookup {
        match name {
            "MODEL" => Lookup::Value("gpt".into()),
            "ON" => Lookup::Value("Yes".into()),
            "OFF" => Lookup::Value("0".into()),
            "KEY" => Lookup::Secret,
            _ => Lookup::Missing,
        }
    }

    #[test]
    fn forms() {
        let s = |t: &str| substitute(t, &lookup);
        assert_eq!(s("m=${MODEL}!"), Ok("m=gpt!".into()));
        assert_eq!(s("${NOPE:-60}"), Ok("60".into()));
        assert_eq!(s("${MODEL:-x}"), Ok("gpt".into()));
        assert_eq!(s("${ON:new:old}"), Ok("new".into()));
        assert_eq!(s("${OFF:new:old}"), Ok("old".into()));
        assert_eq!(s("${NOPE:new:old}"), Ok("old".into()));
        assert_eq!(s("Bearer ${KEY}"), Ok("Bearer ${KEY}".into()));
        assert_eq!(s("{{ input.x }}"), Ok("{{ input.x }}".into()));
        assert_eq!(s("${NOPE}"), Err(SubstError::Unresolved("NOPE".into())));
        assert!(matches!(s("${OPEN"), Err(SubstError::Malformed(_))));
        assert!(matches!(s("${a b}"), Err(SubstError::Malformed(_))));
    }

    #[test]
    fn lists_references() -> Result<(), SubstError> {
        let refs = references("${A} and ${B:-1} and ${C:x:y}")?;
        let names: Vec<_> = refs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["A", "B", "C"]);
        Ok(())
    }
}
