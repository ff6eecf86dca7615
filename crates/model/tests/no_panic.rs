//! Unbreakable: no input makes the env parser, YAML/JSON loading, `${}` resolution or the
//! linter panic. Inputs are drawn from the format's own alphabet (keys, `${`, `{{`, quotes,
//! brackets, indentation) so most cases get deep into the parsers, not just their first byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chainlift_model::lint::{lint, EnvLint, LintInput};
use chainlift_model::resolve::{resolve, ResolveInput};
use chainlift_model::subst::{self, Lookup};
use chainlift_model::{ChainDef, EnvFile, Project};
use proptest::prelude::*;

const PIECES: &[&str] = &[
    "name: ",
    "agents:\n",
    "  - name: a\n",
    "    model: ",
    "    timeout: ",
    "triggers: [chain:start]\n",
    "emits: chain:complete\n",
    "prompt: |\n  ",
    "{{ input.x }}",
    "{{ events[\"e\"].output }}",
    "{%",
    "%}",
    "${",
    "}",
    "${A:-",
    "${F:x:y}",
    ":-",
    ":",
    "\"",
    "'",
    "#",
    " #",
    "=",
    "\n",
    "  ",
    "- ",
    "[",
    "]",
    "{",
    ",",
    "routes:\n",
    "  - {when: \"output.x > 1\", emit: e}\n",
    "limits: {max_rounds: 3}\n",
    "data: {d: ",
    "notify: {n: ",
    "secrets: [S]\n",
    "output: json\n",
    "schema: s.json\n",
    "retry: {max_attempts: 2}\n",
    "version: 1\n",
    "60s",
    "2m",
    "abc",
    "-1",
    "1e400",
    "\u{feff}",
    "é",
    "\t",
    "\r\n",
    "null",
    "~",
    "&a",
    "*a",
    "!!binary",
    "? ",
    "|",
    ">",
    "export ",
    "A=1",
    "B=\"x",
    "1A=2",
];

fn format_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|p| p.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![format_text(), ".{0,200}"]
}

const HOLES: &[&str] = &[
    "",
    "a",
    "b",
    "chain:start",
    "chain:complete",
    "e",
    "${M}",
    "${M:-gpt-4o}",
    "${T}",
    "${F:x:y}",
    "60s",
    "2m",
    "abc",
    "-1",
    "{{ input.x }}",
    "{{ events['e'].output }}",
    "{{ data.d }}",
    "{{ nope }}",
    "{{",
    "{% if x %}",
    "postgres://prod-db/x",
    "https://u:pw@h/x",
    "Zx81kQv02LmN4pRt7YwB3cDe9uFh",
    "${S}",
    "é",
    "3",
];

fn hole() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(HOLES), 0..3)
        .prop_map(|p| p.concat().replace('"', "'"))
}

/// A chain that parses most of the time, with every value drawn from awkward pieces.
fn chain_like() -> impl Strategy<Value = String> {
    (prop::collection::vec((hole(), hole(), hole(), hole(), hole(), hole()), 1..5), hole(), hole()).prop_map(
        |(agents, rounds, data)| {
            let mut text = String::from("name: c\nsecrets: [S]\nagents:\n");
            for (name, model, timeout, prompt, trigger, emit) in agents {
                text.push_str(&format!(
                    "  - name: \"{name}\"\n    model: \"{model}\"\n    timeout: \"{timeout}\"\n    prompt: \"{prompt}\"\n    triggers: [\"{trigger}\"]\n    emits: \"{emit}\"\n"
                ));
            }
            text.push_str(&format!("limits: {{max_rounds: \"{rounds}\"}}\ndata: {{d: \"{data}\"}}\nnotify: {{n: \"{data}\"}}\n"));
            text
        },
    )
}

/// `CHAINLIFT_FUZZ_CASES=N` runs a longer campaign than CI's default.
fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("CHAINLIFT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn lookup(name: &str) -> Lookup {
    match name.len() % 3 {
        0 => Lookup::Value("1".into()),
        1 => Lookup::Secret,
        _ => Lookup::Missing,
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn env_parser_never_panics(text in any_text()) {
        let _ = EnvFile::parse(Path::new("config/dev.env"), &text);
    }

    #[test]
    fn substitution_never_panics(text in any_text()) {
        let _ = subst::substitute(&text, &lookup);
        let _ = subst::references(&text);
    }

    #[test]
    fn chain_loading_never_panics(text in any_text(), json in any::<bool>()) {
        let dir = PathBuf::from("/nonexistent-chainlift-chain");
        let file = dir.join(if json { "chain.json" } else { "chain.yaml" });
        let _ = ChainDef::from_source(&dir, file, text);
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// Whatever a chain and its env file say, resolving and linting them returns findings.
    #[test]
    fn resolve_and_lint_never_panic(chain_text in prop_oneof![chain_like(), format_text()], env_text in any_text()) {
        let tmp = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let dir = tmp.path().join("chains/c");
        std::fs::create_dir_all(dir.join("config")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        std::fs::write(dir.join("config/dev.env"), &env_text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let Ok(project) = Project::open(tmp.path()) else { return Ok(()) };
        let chain = ChainDef::from_source(&dir, dir.join("chain.yaml"), chain_text.clone());
        if chain_text.starts_with("name: c\nsecrets") {
            prop_assert!(chain.is_ok(), "the structured chains always parse: {chain:?}");
        }
        let Ok(chain) = chain else { return Ok(()) };
        let file = EnvFile::parse(&dir.join("config/dev.env"), &env_text).ok();
        let none = BTreeMap::new();
        let input = ResolveInput { project: &project, chain: &chain, env: "dev", env_file: file.as_ref(), vars: &none, flags: &none };
        let resolved = resolve(&input);
        let envs = [EnvLint { name: "dev".into(), file, resolved, report: true }];
        let set = |_: &str, _: &str| false;
        let _ = lint(&LintInput { project: &project, chain: &chain, envs: &envs, secret_is_set: &set, secret_hash: &|_, _| None });
    }
}

proptest! {
    #![proptest_config(config(2000))]

    /// The editor's YAML edits never panic, and whenever one succeeds the result parses to the
    /// old document with only that key changed (the edit's own check, proven from outside).
    #[test]
    fn yaml_edits_never_panic_and_change_only_their_key(
        text in prop_oneof![chain_like(), format_text()],
        key in prop_oneof![Just("prompt"), Just("model"), Just("triggers"), Just("emits"), Just("name"), Just("routes")],
        value in any_text(),
        shape in 0u8..3,
        remove in any::<bool>(),
    ) {
        use chainlift_model::yamledit::{self, NewValue};
        let new = match shape {
            0 => NewValue::List(vec![value.clone(), "e".into()]),
            1 => NewValue::Maps(vec![
                vec![("when".into(), value.clone()), ("emit".into(), "x:y".into())],
                vec![("else".into(), value.clone())],
            ]),
            _ => NewValue::Text(value.clone()),
        };
        let new = if remove { None } else { Some(&new) };
        if let Ok(out) = yamledit::set_key(&text, yamledit::top_level(&text), "", key, new) {
            let before: Option<serde_json::Value> = serde_yaml_ng::from_str(&text).ok();
            let after: Option<serde_json::Value> = serde_yaml_ng::from_str(&out).ok();
            let (Some(mut before), Some(mut after)) = (before, after) else {
                return Err(TestCaseError::fail(format!("an accepted edit must parse: {out:?}")));
            };
            if let (Some(b), Some(a)) = (before.as_object_mut(), after.as_object_mut()) {
                b.remove(key);
                a.remove(key);
            }
            prop_assert_eq!(before, after, "only `{}` changed", key);
        }
        // Replacing a text wherever it is written changes that text only.
        if let Ok(out) = yamledit::replace_scalar(&text, &format!("/{key}"), &value) {
            let before: Option<serde_json::Value> = serde_yaml_ng::from_str(&text).ok();
            let after: Option<serde_json::Value> = serde_yaml_ng::from_str(&out).ok();
            let (Some(mut before), Some(after)) = (before, after) else {
                return Err(TestCaseError::fail(format!("an accepted replace must parse: {out:?}")));
            };
            if let Some(slot) = before.pointer_mut(&format!("/{key}")) {
                *slot = serde_json::Value::String(value.clone());
            }
            prop_assert_eq!(before, after, "only `{}` changed", key);
        }
        for name in ["a", "b", "x y"] {
            let _ = yamledit::append_item(&text, "agents", name);
            let _ = yamledit::remove_item(&text, "agents", name);
            if let Some((idx, block)) = yamledit::find_item(&text, "agents", name) {
                let _ = yamledit::set_key(&text, block, &format!("/agents/{idx}"), key, new);
            }
        }
    }
}

/// Numbers of any size and shape (`99999999999999999999`, `1e300`, `-0`, `NaN`, `5e-400ms`).
fn number_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|f| f.to_string()),
        any::<u128>().prop_map(|n| n.to_string()),
        "-?[0-9]{1,40}(\\.[0-9]{0,12})?(e[+-]?[0-9]{1,4})?(ms|s|m|h)?",
        Just("NaN".to_string()),
        Just("inf".to_string()),
    ]
}

proptest! {
    #![proptest_config(config(3000))]

    /// Every typed value a chain takes from an env file or writes itself: an error, never a
    /// panic (a huge AGENT_TIMEOUT once panicked in Duration::from_secs_f64).
    #[test]
    fn typed_values_of_any_size_never_panic(v in number_like(), w in number_like()) {
        let tmp = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let dir = tmp.path().join("chains/c");
        std::fs::create_dir_all(dir.join("config")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let env_text = format!("V={v}\nW={w}\n");
        let chain_text = format!(
            "name: c\nagents:\n  - name: a\n    model: m\n    timeout: ${{V}}\n    max_tokens: ${{W}}\n    temperature: ${{V}}\n    retry: {{max_attempts: \"{w}\", initial_delay: \"{v}\", max_delay: \"{w}\"}}\n    triggers: [chain:start]\n    emits: chain:complete\nexecution: {{retries: \"${{V}}\", concurrency: \"${{W}}\"}}\nlimits: {{cost_per_run: \"${{V}}\", cost_per_day: \"${{W}}\", max_rounds: \"${{V}}\", output_bytes: \"${{W}}\"}}\n"
        );
        let Ok(project) = Project::open(tmp.path()) else { return Ok(()) };
        let chain = ChainDef::from_source(&dir, dir.join("chain.yaml"), chain_text)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let file = EnvFile::parse(&dir.join("config/dev.env"), &env_text).ok();
        let none = BTreeMap::new();
        let input = ResolveInput { project: &project, chain: &chain, env: "dev", env_file: file.as_ref(), vars: &none, flags: &none };
        if let Ok(r) = resolve(&input) {
            for a in &r.agents {
                prop_assert!(a.timeout <= chainlift_model::resolve::MAX_TIMEOUT);
            }
        }
    }
}
