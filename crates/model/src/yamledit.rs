//! Edits to YAML files that keep everything the edit does not touch: comments, key order,
//! quoting and blank lines. Each edit replaces only the lines of one value, and is checked by
//! parsing the result: if anything besides the intended change would differ, the edit is
//! refused and the text is left as it was.
//!
//! Supported shapes are the ones chain files use: a block mapping at the top of a file (an
//! agent file) and block mappings inside a top-level block list (the `agents:` entries of
//! chain.yaml).

use serde_json::Value;

/// Why an edit could not be made without touching more than it should.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError(pub String);

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a block mapping sits: which lines it spans and the column its keys start at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// First line (the `- ` line for a list item).
    pub start: usize,
    /// One past the last line.
    pub end: usize,
    pub indent: usize,
}

/// A value to write.
#[derive(Debug, Clone, PartialEq)]
pub enum NewValue {
    Text(String),
    List(Vec<String>),
    /// A block list of one-line flow mappings with text values, e.g. an agent's `routes:`.
    Maps(Vec<Vec<(String, String)>>),
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// The line with a list item's `- ` (at `block.start`) shown as spaces, so its first key sits
/// at the block's indent like the others.
fn effective(lines: &[&str], block: Block, i: usize) -> String {
    let line = lines[i];
    if i == block.start {
        let dash = indent_of(line);
        if line[dash..].starts_with("- ") {
            return format!("{}  {}", " ".repeat(dash), &line[dash + 2..]);
        }
    }
    line.to_string()
}

/// The whole text as one top-level mapping.
pub fn top_level(text: &str) -> Block {
    Block {
        start: 0,
        end: text.lines().count(),
        indent: 0,
    }
}

/// The block mapping at `path` (keys from the top), when each step is written in block style
/// (`gates:` then `quality:` on lines of their own); `None` for a missing or one-line value.
pub fn block_at(text: &str, path: &[&str]) -> Option<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut block = top_level(text);
    for key in path {
        let (at, end) = find_key(&lines, block, key)?;
        let line = effective(&lines, block, at);
        let inline = strip_comment(line[block.indent + key.len() + 1..].trim());
        if !inline.is_empty() {
            return None;
        }
        let first = (at + 1..end).find(|&i| !is_blank_or_comment(lines[i]))?;
        let indent = indent_of(lines[first]);
        if indent <= block.indent || lines[first][indent..].starts_with("- ") {
            return None;
        }
        block = Block {
            start: at + 1,
            end,
            indent,
        };
    }
    Some(block)
}

/// Where `key: ...` is in `block`, as (key line, one past the value's last line).
fn find_key(lines: &[&str], block: Block, key: &str) -> Option<(usize, usize)> {
    let prefix = format!("{key}:");
    let at = (block.start..block.end).find(|&i| {
        let l = effective(lines, block, i);
        indent_of(&l) == block.indent && {
            let rest = &l[block.indent..];
            rest.starts_with(&prefix)
                && rest[prefix.len()..].chars().next().is_none_or(|c| c == ' ')
        }
    })?;
    let line = effective(lines, block, at);
    let inline = strip_comment(line[block.indent + prefix.len()..].trim());
    let mut end = at + 1;
    let mut last_content = at + 1;
    while end < block.end {
        let l = lines[end];
        let ind = indent_of(l);
        let continues = l.trim().is_empty()
            || ind > block.indent
            || (inline.is_empty() && ind == block.indent && l[ind..].starts_with("- "));
        if !continues {
            break;
        }
        end += 1;
        if !l.trim().is_empty() {
            last_content = end;
        }
    }
    Some((at, last_content))
}

/// A plain or flow value with its ` # comment` removed (quotes respected).
fn strip_comment(value: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in value.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev == ' ' => return value[..i].trim_end(),
            None => {}
        }
        prev = c;
    }
    value
}

/// The trailing ` # comment` of a single-line value, to keep when the value is replaced.
fn trailing_comment(value: &str) -> &str {
    let kept = strip_comment(value);
    value[kept.len()..].trim_end()
}

const RESERVED: [&str; 11] = [
    "true", "false", "null", "~", "yes", "no", "on", "off", "True", "False", "Null",
];

fn plain_ok(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || s != s.trim()
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars().any(|c| c.is_control())
        || RESERVED.contains(&s)
        || (flow && s.chars().any(|c| ",[]{}".contains(c)))
    {
        return false;
    }
    // A number stays a number; anything else that YAML would read as non-text is quoted.
    s.parse::<f64>().is_err() || s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn scalar(s: &str, flow: bool) -> String {
    if plain_ok(s, flow) {
        s.to_string()
    } else {
        // A JSON string is a YAML double-quoted scalar; quoting a str cannot fail.
        serde_json::Value::from(s).to_string()
    }
}

/// The lines that hold `value` after `key:` at `indent` (first element completes the key line).
fn render(value: &NewValue, indent: usize) -> Vec<String> {
    match value {
        NewValue::List(items) => {
            let items: Vec<String> = items.iter().map(|i| scalar(i, true)).collect();
            vec![format!(" [{}]", items.join(", "))]
        }
        NewValue::Text(s) if s.contains('\n') && !s.starts_with(' ') && !s.contains('\t') => {
            let body = s.trim_end_matches('\n');
            let trailing = s.len() - body.len();
            let chomp = match trailing {
                0 => "-",
                1 => "",
                _ => "+",
            };
            let pad = " ".repeat(indent + 2);
            let mut out = vec![format!(" |{chomp}")];
            for l in body.split('\n') {
                if l.is_empty() {
                    out.push(String::new());
                } else {
                    out.push(format!("{pad}{l}"));
                }
            }
            // `|+` keeps the extra newlines as blank lines.
            for _ in 1..trailing {
                out.push(String::new());
            }
            out
        }
        NewValue::Text(s) => vec![format!(" {}", scalar(s, false))],
        NewValue::Maps(items) => {
            let pad = " ".repeat(indent + 2);
            std::iter::once(String::new())
                .chain(items.iter().map(|pairs| {
                    let pairs: Vec<String> = pairs
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", serde_json::Value::from(v.as_str())))
                        .collect();
                    format!("{pad}- {{{}}}", pairs.join(", "))
                }))
                .collect()
        }
    }
}

/// What a rendered value parses back to.
fn parsed_value(value: &NewValue) -> Value {
    match value {
        NewValue::List(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
        NewValue::Maps(items) => Value::Array(
            items
                .iter()
                .map(|pairs| {
                    Value::Object(
                        pairs
                            .iter()
                            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                            .collect(),
                    )
                })
                .collect(),
        ),
        NewValue::Text(s) => {
            let text = scalar(s, false);
            if text != *s {
                return Value::String(s.clone());
            }
            serde_yaml_ng::from_str::<Value>(&text).unwrap_or(Value::String(s.clone()))
        }
    }
}

/// The lines back into text, with the line ending `original` uses (CRLF files stay CRLF).
fn join(lines: Vec<String>, original: &str, trailing_newline: bool) -> String {
    let eol = if original.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut s = lines.join(eol);
    if trailing_newline {
        s.push_str(eol);
    }
    s
}

fn parse(text: &str, what: &str) -> Result<Value, EditError> {
    serde_yaml_ng::from_str::<Option<Value>>(text)
        .map(|v| v.unwrap_or(Value::Null))
        .map_err(|e| EditError(format!("{what} is not valid YAML: {e}")))
}

/// The mapping at `pointer` in `root` (JSON pointer; "" for the top).
fn mapping_at<'a>(
    root: &'a mut Value,
    pointer: &str,
) -> Option<&'a mut serde_json::Map<String, Value>> {
    root.pointer_mut(pointer)?.as_object_mut()
}

/// Set (or with `None`, remove) `key` in the mapping `block` of `text`. `pointer` says where
/// that mapping is in the parsed document, for the check that nothing else changed.
pub fn set_key(
    text: &str,
    block: Block,
    pointer: &str,
    key: &str,
    value: Option<&NewValue>,
) -> Result<String, EditError> {
    let before = parse(text, "the file")?;
    let mut expected = before.clone();
    let map = mapping_at(&mut expected, pointer)
        .ok_or_else(|| EditError(format!("no mapping at {pointer:?} to set {key} in")))?;
    match value {
        Some(v) => {
            map.insert(key.to_string(), parsed_value(v));
        }
        None => {
            map.remove(key);
        }
    }

    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + 4);
    match (find_key(&lines, block, key), value) {
        (Some((at, end)), Some(v)) => {
            let line = lines[at];
            let key_end = line.find(&format!("{key}:")).unwrap_or(0) + key.len() + 1;
            let old_inline = &line[key_end..];
            let rendered = render(v, block.indent);
            let comment = if end == at + 1 && rendered.len() == 1 {
                trailing_comment(old_inline.trim())
            } else {
                ""
            };
            out.extend(lines[..at].iter().map(|s| s.to_string()));
            out.push(format!("{}{}{comment}", &line[..key_end], rendered[0]));
            out.extend(rendered[1..].iter().cloned());
            out.extend(lines[end..].iter().map(|s| s.to_string()));
        }
        (Some((at, end)), None) => {
            if at == block.start && block.start != 0 && lines[at].trim_start().starts_with("- ") {
                return Err(EditError(format!(
                    "{key} opens its list entry and cannot be removed"
                )));
            }
            out.extend(lines[..at].iter().map(|s| s.to_string()));
            out.extend(lines[end..].iter().map(|s| s.to_string()));
        }
        (None, Some(v)) => {
            // After the mapping's last line with content.
            let last = (block.start..block.end)
                .rev()
                .find(|&i| !is_blank_or_comment(lines[i]) || i == block.start)
                .map_or(block.start, |i| i + 1);
            let rendered = render(v, block.indent);
            out.extend(lines[..last].iter().map(|s| s.to_string()));
            out.push(format!("{}{key}:{}", " ".repeat(block.indent), rendered[0]));
            out.extend(rendered[1..].iter().cloned());
            out.extend(lines[last..].iter().map(|s| s.to_string()));
        }
        (None, None) => return Ok(text.to_string()),
    }
    let new = join(out, text, text.ends_with('\n') || text.is_empty());
    check(&new, &expected, key)?;
    Ok(new)
}

fn check(new: &str, expected: &Value, what: &str) -> Result<(), EditError> {
    let after = parse(new, "the edited file")?;
    if after != *expected {
        return Err(EditError(format!(
            "editing {what} here would change more than {what}; edit this file by hand"
        )));
    }
    Ok(())
}

/// Replace the text at `pointer` (a string value, wherever and however it is written: block or
/// flow style) by `new`. Each place the old text appears is tried in turn, and the first whose
/// result parses to the old document with only that value changed is kept.
pub fn replace_scalar(text: &str, pointer: &str, new: &str) -> Result<String, EditError> {
    let before = parse(text, "the file")?;
    let old = before
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| EditError(format!("no text at {pointer:?} to replace")))?
        .to_string();
    let mut expected = before.clone();
    if let Some(slot) = expected.pointer_mut(pointer) {
        *slot = Value::String(new.to_string());
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
    for (at, _) in text.match_indices(old.as_str()) {
        let end = at + old.len();
        if old.is_empty()
            || word(text[..at].chars().next_back())
            || word(text[end..].chars().next())
        {
            continue;
        }
        for written in [scalar(new, true), scalar(new, false)] {
            let candidate = format!("{}{written}{}", &text[..at], &text[end..]);
            if parse(&candidate, "the edited file").is_ok_and(|v| v == expected) {
                return Ok(candidate);
            }
        }
    }
    Err(EditError(format!(
        "cannot find where {pointer} is written to change it; edit this file by hand"
    )))
}

/// The entries of the top-level block list `key:` (e.g. `agents:`), each as a block.
pub fn list_items(text: &str, key: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let Some((at, end)) = find_key(&lines, top_level(text), key) else {
        return vec![];
    };
    let mut items = Vec::new();
    let mut i = at + 1;
    while i < end {
        let l = lines[i];
        let ind = indent_of(l);
        if l[ind..].starts_with("- ") {
            let mut j = i + 1;
            while j < end {
                let m = lines[j];
                let mi = indent_of(m);
                if !m.trim().is_empty()
                    && (mi < ind + 2 || (mi == ind && m[mi..].starts_with("- ")))
                {
                    break;
                }
                j += 1;
            }
            // Trailing blank and comment lines belong to what follows.
            let mut last = j;
            while last > i + 1 && is_blank_or_comment(lines[last - 1]) {
                last -= 1;
            }
            items.push(Block {
                start: i,
                end: last,
                indent: ind + 2,
            });
            i = j;
        } else {
            i += 1;
        }
    }
    items
}

/// The entry of the top-level list `key:` whose `name:` is `name`, and its index.
pub fn find_item(text: &str, key: &str, name: &str) -> Option<(usize, Block)> {
    let parsed = parse(text, "the file").ok()?;
    let idx = parsed
        .get(key)?
        .as_array()?
        .iter()
        .position(|v| v.get("name").and_then(Value::as_str) == Some(name))?;
    list_items(text, key).get(idx).map(|b| (idx, *b))
}

/// Append `- name: <name>` to the top-level block list `key:`.
pub fn append_item(text: &str, key: &str, name: &str) -> Result<String, EditError> {
    let before = parse(text, "the file")?;
    let mut expected = before.clone();
    let entry = serde_json::json!({ "name": name });
    match expected.get_mut(key) {
        Some(Value::Array(a)) => a.push(entry),
        _ => {
            return Err(EditError(format!(
                "`{key}:` is not a list in this file; add the entry by hand"
            )))
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let items = list_items(text, key);
    let (after_line, dash_indent) = match items.last() {
        Some(b) => (b.end, b.indent - 2),
        None => {
            return Err(EditError(format!(
                "`{key}:` has no block entries to follow; add the entry by hand"
            )))
        }
    };
    let mut out: Vec<String> = lines[..after_line].iter().map(|s| s.to_string()).collect();
    out.push(format!(
        "{}- name: {}",
        " ".repeat(dash_indent),
        scalar(name, false)
    ));
    out.extend(lines[after_line..].iter().map(|s| s.to_string()));
    let new = join(out, text, text.ends_with('\n'));
    check(&new, &expected, key)?;
    Ok(new)
}

/// Remove the entry of the top-level list `key:` named `name`.
pub fn remove_item(text: &str, key: &str, name: &str) -> Result<String, EditError> {
    let (idx, block) = find_item(text, key, name)
        .ok_or_else(|| EditError(format!("no `{key}:` entry named {name}")))?;
    let mut expected = parse(text, "the file")?;
    if let Some(Value::Array(a)) = expected.get_mut(key) {
        a.remove(idx);
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = lines[..block.start].iter().map(|s| s.to_string()).collect();
    out.extend(lines[block.end..].iter().map(|s| s.to_string()));
    let new = join(out, text, text.ends_with('\n'));
    check(&new, &expected, key)?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENT: &str = "# The researcher.\nname: researcher\nprompt: |\n  Line one.\n\n  Line two.\ntriggers: [chain:start]  # first\nemits: research:done\n# tuning\ntemperature: 0.3\n";

    #[test]
    fn a_nested_block_is_edited_in_place_with_its_comments() {
        let text = "name: c\ngates:\n  # the reviewer\n  quality:\n    inputs: q   # folder\n    min_average: 4.0  # bar\n    criteria: [a, b]\n  cost: {max_ratio: 2}\n";
        let block = block_at(text, &["gates", "quality"]).expect("block");
        let out = set_key(
            text,
            block,
            "/gates/quality",
            "min_average",
            Some(&NewValue::Text("3.8".into())),
        )
        .expect("edit");
        assert_eq!(out, text.replace("4.0  # bar", "3.8  # bar"));
        assert!(
            block_at(text, &["gates", "cost"]).is_none(),
            "one-line values are not blocks"
        );
        assert!(block_at(text, &["missing"]).is_none());
    }

    fn set(text: &str, key: &str, v: Option<NewValue>) -> String {
        match set_key(text, top_level(text), "", key, v.as_ref()) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn replaces_a_block_scalar_keeping_comments_and_order() {
        let out = set(
            AGENT,
            "prompt",
            Some(NewValue::Text("New.\nSecond line.\n".into())),
        );
        assert_eq!(
            out,
            "# The researcher.\nname: researcher\nprompt: |\n  New.\n  Second line.\ntriggers: [chain:start]  # first\nemits: research:done\n# tuning\ntemperature: 0.3\n"
        );
    }

    #[test]
    fn replaces_a_flow_list_keeping_its_comment() {
        let out = set(
            AGENT,
            "triggers",
            Some(NewValue::List(vec!["chain:start".into(), "a,b".into()])),
        );
        assert!(
            out.contains("triggers: [chain:start, \"a,b\"]  # first\n"),
            "{out}"
        );
    }

    #[test]
    fn adds_and_removes_keys() {
        let out = set(AGENT, "max_tokens", Some(NewValue::Text("100".into())));
        assert!(
            out.ends_with("temperature: 0.3\nmax_tokens: 100\n"),
            "{out}"
        );
        let out = set(&out, "emits", None);
        assert!(!out.contains("emits"), "{out}");
        assert!(out.contains("# tuning"));
    }

    #[test]
    fn keeps_crlf_line_ends() {
        let crlf = AGENT.replace('\n', "\r\n");
        let out = set(&crlf, "emits", Some(NewValue::Text("x:done".into())));
        assert_eq!(out, crlf.replace("emits: research:done", "emits: x:done"));
        let out = set(&crlf, "prompt", Some(NewValue::Text("A\nB\n".into())));
        assert!(
            out.contains("prompt: |\r\n  A\r\n  B\r\ntriggers"),
            "{out:?}"
        );
    }

    #[test]
    fn quotes_what_would_not_read_back_as_text() {
        let out = set(AGENT, "emits", Some(NewValue::Text("yes".into())));
        assert!(out.contains("emits: \"yes\"\n"), "{out}");
        let out = set(AGENT, "emits", Some(NewValue::Text("a: b".into())));
        assert!(out.contains("emits: \"a: b\"\n"), "{out}");
        let out = set(AGENT, "emits", Some(NewValue::Text("${X}".into())));
        assert!(out.contains("emits: ${X}\n"), "{out}");
    }

    const CHAIN: &str = "name: c\nagents:\n  # first agent\n  - name: a\n    model: ${M}  # per env\n\n  - name: b\n    timeout: 30\noutput: {from: b}\n";

    #[test]
    fn edits_entries_of_a_list() -> Result<(), EditError> {
        let (idx, block) = find_item(CHAIN, "agents", "b").ok_or(EditError("no b".into()))?;
        assert_eq!(idx, 1);
        let out = set_key(
            CHAIN,
            block,
            "/agents/1",
            "timeout",
            Some(&NewValue::Text("45".into())),
        )?;
        assert!(
            out.contains("  - name: b\n    timeout: 45\noutput"),
            "{out}"
        );
        let (_, a) = find_item(CHAIN, "agents", "a").ok_or(EditError("no a".into()))?;
        let out = set_key(
            CHAIN,
            a,
            "/agents/0",
            "model",
            Some(&NewValue::Text("gpt".into())),
        )?;
        assert!(out.contains("    model: gpt  # per env\n"), "{out}");
        let out = set_key(
            CHAIN,
            a,
            "/agents/0",
            "timeout",
            Some(&NewValue::Text("9".into())),
        )?;
        assert!(
            out.contains("    model: ${M}  # per env\n    timeout: 9\n\n  - name: b"),
            "{out}"
        );
        Ok(())
    }

    #[test]
    fn appends_and_removes_entries() -> Result<(), EditError> {
        let out = append_item(CHAIN, "agents", "c")?;
        assert!(
            out.contains("    timeout: 30\n  - name: c\noutput"),
            "{out}"
        );
        let out = remove_item(&out, "agents", "a")?;
        assert_eq!(
            out,
            "name: c\nagents:\n  # first agent\n\n  - name: b\n    timeout: 30\n  - name: c\noutput: {from: b}\n"
        );
        Ok(())
    }

    #[test]
    fn writes_routes_as_a_block_list_of_flow_mappings() {
        let routes = NewValue::Maps(vec![
            vec![
                ("when".into(), "output.urgency >= 4".into()),
                ("emit".into(), "ticket:urgent".into()),
            ],
            vec![("else".into(), "ticket:routine".into())],
        ]);
        let out = set(AGENT, "routes", Some(routes));
        assert!(out.ends_with(
            "temperature: 0.3\nroutes:\n  - {when: \"output.urgency >= 4\", emit: \"ticket:urgent\"}\n  - {else: \"ticket:routine\"}\n"
        ), "{out}");
        // Replaced in place the second time, the rest untouched.
        let again = set(
            &out,
            "routes",
            Some(NewValue::Maps(vec![vec![("else".into(), "x".into())]])),
        );
        assert!(
            again.ends_with("temperature: 0.3\nroutes:\n  - {else: \"x\"}\n"),
            "{again}"
        );
        assert!(again.starts_with("# The researcher.\n"));
    }

    #[test]
    fn replaces_a_scalar_inside_a_flow_mapping() -> Result<(), EditError> {
        let text = "output: {from: writer, file: writer.md}  # keep\nwriter: 1\n";
        let out = replace_scalar(text, "/output/from", "author")?;
        assert_eq!(
            out,
            "output: {from: author, file: writer.md}  # keep\nwriter: 1\n"
        );
        // A name that YAML would read as something else is quoted.
        let out = replace_scalar(text, "/output/from", "true")?;
        assert_eq!(
            out,
            "output: {from: \"true\", file: writer.md}  # keep\nwriter: 1\n"
        );
        assert!(replace_scalar(text, "/output/nothing", "x").is_err());
        Ok(())
    }

    #[test]
    fn refuses_edits_it_cannot_make_cleanly() {
        // A flow-style agents list is not a block list.
        let text = "agents: [{name: a}]\n";
        assert!(append_item(text, "agents", "b").is_err());
        assert_eq!(find_item(text, "agents", "a"), None);
    }
}
