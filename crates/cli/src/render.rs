//! Printing results: text for people, the app's DTOs as JSON for scripts, progress on stderr.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use chainlift_api::dto::{EnvDiff, Finding, RunProgress, RunView, Severity, ValidationReport};
use chainlift_api::ApiError;
use serde::Serialize;

use crate::args::Format;

pub(crate) fn fail(format: Format, e: &ApiError) -> ExitCode {
    if format == Format::Json {
        print_json(e);
    }
    eprintln!("error: {}", e.message);
    ExitCode::from(e.exit_code() as u8)
}

pub(crate) fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: the answer could not be written as JSON: {e}"),
    }
}

pub(crate) fn money(cost: Option<f64>) -> String {
    cost.map(|c| format!("${c:.4}"))
        .unwrap_or_else(|| "unknown".into())
}

pub(crate) fn print_finding(f: &Finding) {
    let sev = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let env = f
        .env
        .as_deref()
        .map(|e| format!(" [{e}]"))
        .unwrap_or_default();
    println!("{sev}[{}]{env}: {}", f.code, f.message);
    match (&f.file, f.line) {
        (Some(file), Some(line)) => println!("  --> {file}:{line}"),
        (Some(file), None) => println!("  --> {file}"),
        _ => {}
    }
    if let Some(h) = &f.hint {
        println!("  hint: {h}");
    }
}

pub(crate) fn print_report(r: &ValidationReport) {
    for f in &r.findings {
        print_finding(f);
    }
    println!(
        "{}: {} error(s), {} warning(s) across {}",
        r.chain,
        r.errors,
        r.warnings,
        r.envs.join(", ")
    );
}

pub(crate) fn print_run(r: &RunView) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "run {}  {} @ {}  version {}",
        r.id, r.chain, r.env, r.version
    );
    let _ = writeln!(
        out,
        "status {}  cost {}  tokens {} in / {} out  {} ms",
        r.status,
        money(r.cost),
        r.tokens_in,
        r.tokens_out,
        r.duration_ms.unwrap_or(0)
    );
    for s in &r.steps {
        let _ = writeln!(
            out,
            "  {:<14} {:<10} {:<22} x{} {:>6} in {:>6} out {:>10} {:>6} ms",
            s.agent,
            s.status,
            s.model_reported.as_deref().unwrap_or(&s.model_requested),
            s.attempts,
            s.tokens_in,
            s.tokens_out,
            money(s.cost),
            s.duration_ms
        );
        if let Some(e) = &s.error {
            let _ = writeln!(out, "    {e}");
        }
    }
    if let Some(e) = &r.error {
        let _ = writeln!(out, "error: {e}");
    }
    if let Some(o) = &r.output {
        let _ = writeln!(out, "output {o}");
    }
}

/// Columns padded to the widest cell, so the two envs line up side by side.
pub(crate) fn print_table(rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("  {}", line.join("  ").trim_end());
    }
}

pub(crate) fn print_diff(d: &EnvDiff) {
    let (a, b) = (d.env_a.as_str(), d.env_b.as_str());
    println!("{}: {a} → {b}", d.chain);
    println!("\nagents");
    let mut rows = vec![vec![
        "agent".into(),
        format!("model ({a})"),
        format!("model ({b})"),
        "timeout".into(),
        "retries".into(),
        String::new(),
    ]];
    for ag in &d.agents {
        let side = |s: &Option<chainlift_api::dto::AgentSide>,
                    f: &dyn Fn(&chainlift_api::dto::AgentSide) -> String| {
            s.as_ref().map(f).unwrap_or_else(|| "–".into())
        };
        rows.push(vec![
            ag.agent.clone(),
            side(&ag.a, &|s| s.model.clone()),
            side(&ag.b, &|s| s.model.clone()),
            format!(
                "{} → {}",
                side(&ag.a, &|s| format!("{}s", s.timeout_secs)),
                side(&ag.b, &|s| format!("{}s", s.timeout_secs))
            ),
            format!(
                "{} → {}",
                side(&ag.a, &|s| s.retries.to_string()),
                side(&ag.b, &|s| s.retries.to_string())
            ),
            if ag.differs {
                "differs".into()
            } else {
                String::new()
            },
        ]);
    }
    print_table(&rows);
    println!("\nconfig ({} unchanged)", d.unchanged);
    if d.keys.is_empty() {
        println!("  no differences");
    } else {
        let mut rows = vec![vec!["".into(), "key".into(), a.to_string(), b.to_string()]];
        for k in &d.keys {
            let mark = match k.change.as_str() {
                "added" => "+",
                "removed" => "-",
                _ => "~",
            };
            rows.push(vec![
                mark.into(),
                k.key.clone(),
                k.a.clone().unwrap_or_else(|| "–".into()),
                k.b.clone().unwrap_or_else(|| "–".into()),
            ]);
        }
        print_table(&rows);
    }
    println!("\nsecrets (values never shown)");
    let set = |s: bool| if s { "set" } else { "NOT SET" }.to_string();
    let mut rows = vec![vec!["name".into(), a.to_string(), b.to_string()]];
    rows.extend(
        d.secrets
            .iter()
            .map(|s| vec![s.name.clone(), set(s.a_set), set(s.b_set)]),
    );
    print_table(&rows);
    for p in &d.problems {
        println!("\nproblem: {p}");
    }
}

/// The live per-agent display of a run on stderr: an indicatif bar redrawn in place on a
/// terminal, a line per change otherwise (CI logs), nothing with `--format json`.
pub(crate) struct ProgressDisplay {
    enabled: bool,
    bar: Option<indicatif::ProgressBar>,
    agents: std::sync::Mutex<Vec<(String, String)>>,
}

impl ProgressDisplay {
    pub(crate) fn new(enabled: bool) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("[{bar:20}] {pos}/{len}  {msg}")
            {
                bar.set_style(style.progress_chars("█░ "));
            }
            bar
        });
        ProgressDisplay {
            enabled,
            bar,
            agents: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn mark(state: &str) -> &'static str {
        match state {
            "started" => "…",
            "completed" => "✓",
            _ => "✗",
        }
    }

    pub(crate) fn update(&self, p: &RunProgress) {
        if !self.enabled {
            return;
        }
        let Some(bar) = &self.bar else {
            eprintln!(
                "[{}/{}] {} {} {}",
                p.done,
                p.total,
                Self::mark(&p.state),
                p.agent,
                p.state
            );
            return;
        };
        let Ok(mut agents) = self.agents.lock() else {
            return;
        };
        match agents.iter_mut().find(|(a, _)| *a == p.agent) {
            Some(entry) => entry.1 = p.state.clone(),
            None => agents.push((p.agent.clone(), p.state.clone())),
        }
        let list: Vec<String> = agents
            .iter()
            .map(|(a, s)| format!("{a} {}", Self::mark(s)))
            .collect();
        bar.set_length(u64::from(p.total));
        bar.set_position(u64::from(p.done));
        bar.set_message(list.join("  "));
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

pub(crate) fn print_deployment(json: bool, d: &chainlift_api::dto::DeploymentView) {
    if json {
        print_json(d);
        return;
    }
    println!(
        "{} {} → {} @ {} ({}), deployment {}",
        d.action,
        d.chain,
        d.version,
        d.env,
        d.version_hash.chars().take(12).collect::<String>(),
        d.id
    );
    if let Some(diff) = &d.config_diff {
        println!("config changed: {diff}");
    }
}

pub(crate) fn print_rollout(r: &chainlift_api::dto::RolloutView) {
    use chainlift_api::dto::RolloutPhase;
    let traffic = match (&r.candidate, r.phase) {
        (Some(c), RolloutPhase::Canary) => format!(
            "{c} takes {} % of requests, {} the rest",
            r.weight, r.stable
        ),
        (Some(c), RolloutPhase::Window) => format!(
            "{c} takes every request; a rollback returns to {}",
            r.stable
        ),
        _ => format!("{} takes every request", r.stable),
    };
    println!(
        "rollout of {} in {}: {} ({traffic})",
        r.chain, r.env, r.state
    );
    if let Some(ends) = &r.window_ends_at {
        println!("window ends {ends}");
    }
    if let Some(why) = &r.reason {
        println!("why: {why}");
    }
    if r.analyses.is_empty() {
        println!("no analysis yet (one every {} s)", r.interval_secs);
    }
    for a in r.analyses.iter().take(15) {
        let value = a.value.map_or("n/a".to_string(), |v| format!("{v:.3}"));
        let threshold = a
            .threshold
            .map_or(String::new(), |t| format!(" (max {t:.2})"));
        println!(
            "  {}  {:<13} {:<12} {value}{threshold} over {} runs",
            a.at,
            a.metric.as_str(),
            a.verdict.as_str(),
            a.runs
        );
    }
}

pub(crate) fn print_checklist(c: &chainlift_api::dto::ChecklistView) {
    let mut section = String::new();
    for i in &c.items {
        if i.section != section {
            section = i.section.clone();
            println!("  {section}");
        }
        use chainlift_model::lifecycle::ItemState;
        let mark = match i.state {
            ItemState::Passed | ItemState::Ticked => "[x]",
            ItemState::Failed => "[!]",
            ItemState::Waived => "[w]",
            ItemState::NotApplicable => "[-]",
            ItemState::Unticked => "[ ]",
        };
        let verb = if i.state == ItemState::Ticked {
            "ticked"
        } else {
            "unticked"
        };
        let by = match (&i.ticked_by, &i.ticked_at) {
            (Some(b), Some(t)) => format!(" — {verb} by {b} {t}"),
            (Some(b), None) => format!(" — {verb} by {b}"),
            _ => String::new(),
        };
        let by = match &i.note {
            Some(n) => format!("{by}: {n}"),
            None => by,
        };
        let optional = if i.required { "" } else { " (optional)" };
        println!(
            "    {mark} {:<24} {}{optional}{by}",
            i.key,
            i.evidence
                .clone()
                .unwrap_or_default()
                .chars()
                .take(110)
                .collect::<String>()
        );
    }
    if c.blocking.is_empty() {
        println!("  approvable");
    } else {
        println!("  not approvable yet: {}", c.blocking.join("; "));
    }
}

pub(crate) fn print_promotion(json: bool, p: &chainlift_api::dto::PromotionView) {
    if json {
        print_json(p);
        return;
    }
    println!(
        "promotion {} — {} {} → {}: {}",
        p.id, p.chain, p.version, p.to_env, p.state
    );
    for g in &p.gates {
        println!(
            "  {:<7} {:<9} {}",
            g.status.as_str().to_uppercase(),
            g.gate,
            g.summary
        );
    }
    print_checklist(&p.checklist);
    for w in &p.warnings {
        println!("  warning: {w}");
    }
}
