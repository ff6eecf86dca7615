//! A promotion's report to share (DESIGN.md §8): one self-contained HTML file (no remote
//! resources, the chart as inline SVG, made to print) or Markdown that pastes into a pull
//! request. Rendered with minijinja; the HTML template escapes every value.

use chainlift_gates::QualityScores;
use minijinja::{context, Environment, Value};
use serde::Serialize;

use crate::dto::{EnvDiff, PromotionView};
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result};

const HTML: &str = include_str!("report/promotion.html");
const MARKDOWN: &str = include_str!("report/promotion.md");
/// Most characters of an output the report quotes.
const QUOTED: usize = 4000;

/// The forms a report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Html,
    Markdown,
}

#[derive(Serialize)]
struct Row {
    input: String,
    error: Option<String>,
    input_text: Option<String>,
    scores: Vec<ScoreRow>,
    output: Option<String>,
    output_missing: Option<String>,
    baseline_version: Option<String>,
    baseline_output: Option<String>,
}

#[derive(Serialize)]
struct ScoreRow {
    criterion: String,
    score: i64,
    rationale: String,
    baseline: Option<i64>,
    baseline_rationale: Option<String>,
}

#[derive(Serialize)]
struct Audit {
    at: String,
    sentence: String,
}

#[derive(Serialize)]
struct Costs {
    per_run_here: Option<f64>,
    per_run_before: Option<f64>,
    before_env: Option<String>,
}

fn quote(text: Option<String>) -> Option<String> {
    text.map(|t| {
        if t.chars().count() > QUOTED {
            format!(
                "{}\n… (cut at {QUOTED} characters)",
                t.chars().take(QUOTED).collect::<String>()
            )
        } else {
            t
        }
    })
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Each criterion's average as a bar against the threshold (and the baseline), inline SVG.
fn quality_svg(q: &QualityScores) -> String {
    let (width, row, left) = (520.0, 28.0, 130.0);
    let height = q.criteria.len() as f64 * row + 26.0;
    let x = |v: f64| left + (width - left - 40.0) * v / 5.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="quality per criterion">"#
    );
    for t in 1..=5 {
        let tx = x(f64::from(t));
        svg.push_str(&format!(
            r##"<line x1="{tx}" x2="{tx}" y1="0" y2="{}" stroke="#ddd"/><text x="{tx}" y="{}" font-size="11" text-anchor="middle" fill="#555">{t}</text>"##,
            height - 18.0,
            height - 4.0
        ));
    }
    for (i, c) in q.criteria.iter().enumerate() {
        let y = i as f64 * row;
        let colour = if c.average >= q.min_average {
            "#16a34a"
        } else {
            "#dc2626"
        };
        svg.push_str(&format!(
            r##"<text x="{}" y="{}" font-size="12" text-anchor="end" fill="#222">{}</text><rect x="{left}" y="{}" width="{}" height="16" rx="3" fill="{colour}"/><text x="{}" y="{}" font-size="11" fill="#222">{:.2}</text>"##,
            left - 8.0,
            y + 17.0,
            esc(&c.name),
            y + 5.0,
            (x(c.average) - left).max(0.0),
            x(c.average) + 4.0,
            y + 17.0,
            c.average
        ));
        if let Some(b) = c.baseline {
            svg.push_str(&format!(
                r##"<line x1="{bx}" x2="{bx}" y1="{}" y2="{}" stroke="#111" stroke-width="2" stroke-dasharray="3 2"/>"##,
                y + 1.0,
                y + 25.0,
                bx = x(b)
            ));
        }
    }
    let t = x(q.min_average);
    svg.push_str(&format!(
        r##"<line x1="{t}" x2="{t}" y1="0" y2="{}" stroke="#d97706" stroke-width="2"/></svg>"##,
        height - 18.0
    ));
    svg
}

impl Chainlift {
    /// The promotion's report: gates, every score with its rationale, the outputs beside the
    /// deployed version's, the checklist, approvals, the config diff against the previous env,
    /// costs and the promotion's audit entries.
    pub async fn report(&self, at: &ProjectArgs, id: &str, format: ReportFormat) -> Result<String> {
        let p = self.find_promotion(id).await?;
        let view: PromotionView = self.promotion(at, id).await?;
        let at = ProjectArgs {
            chain: Some(p.chain.clone()),
            project: chainlift_store::projects::root_of(
                &self.pool,
                &self.project_host(),
                &p.project,
            )
            .await?
            .map(std::path::PathBuf::from)
            .or_else(|| at.project.clone()),
            ..at.clone()
        };
        let (project, _) = self.chain_of(&at).await?;
        let envs = project.environments();
        let before_env = envs
            .iter()
            .position(|e| *e == p.to_env)
            .and_then(|i| i.checked_sub(1))
            .map(|i| envs[i].clone());

        let quality = view.gates.iter().find_map(|g| g.quality.clone());
        let mut rows = Vec::new();
        if let Some(q) = &quality {
            // The reports are read once; each input then reads its own two outputs.
            let reports = self
                .review_reports(&at, &p.to_env, &view.version)
                .await
                .ok();
            for input in &q.inputs {
                let review = match &reports {
                    Some(r) => self.review_one(r, &input.input).await.ok(),
                    None => None,
                };
                let baseline = review.as_ref().and_then(|r| r.baseline.as_ref());
                rows.push(Row {
                    input: input.input.clone(),
                    error: input.error.clone(),
                    input_text: quote(review.as_ref().and_then(|r| r.input_text.clone())),
                    scores: input
                        .scores
                        .iter()
                        .map(|s| {
                            let theirs = baseline
                                .and_then(|b| b.scores.iter().find(|x| x.criterion == s.criterion));
                            ScoreRow {
                                criterion: s.criterion.clone(),
                                score: s.score,
                                rationale: s.rationale.clone(),
                                baseline: theirs.map(|t| t.score),
                                baseline_rationale: theirs.map(|t| t.rationale.clone()),
                            }
                        })
                        .collect(),
                    output: quote(review.as_ref().and_then(|r| r.candidate.output.clone())),
                    output_missing: review.as_ref().and_then(|r| r.candidate.missing.clone()),
                    baseline_version: baseline.map(|b| b.version.clone()),
                    baseline_output: quote(baseline.and_then(|b| b.output.clone())),
                });
            }
        }
        let diff: Option<EnvDiff> = match &before_env {
            Some(b) => self.diff(&at, b, &p.to_env).await.ok(),
            None => None,
        };
        let v = chainlift_store::versions::get(&self.pool, p.version_id).await?;
        let hash = v.as_ref().map(|v| v.hash.clone()).unwrap_or_default();
        let cost_in = |env: String| {
            let (pool, project, chain, hash) = (&self.pool, &p.project, &p.chain, &hash);
            async move { chainlift_store::runs::average_cost(pool, project, chain, &env, hash).await }
        };
        let costs = Costs {
            per_run_here: cost_in(p.to_env.clone()).await?,
            per_run_before: match &before_env {
                Some(b) => cost_in(b.clone()).await?,
                None => None,
            },
            before_env: before_env.clone(),
        };
        let audit: Vec<Audit> = chainlift_store::audit::of_chain_since(
            &self.pool,
            &p.project,
            &p.chain,
            &p.created_at,
            500,
        )
        .await?
        .into_iter()
        .filter(|r| {
            r.subject.as_deref().is_some_and(|s| s.starts_with(&p.id)) || r.action == "criteria"
        })
        .map(|r| Audit {
            at: r.at.clone(),
            sentence: crate::history::audit_sentence(&r),
        })
        .collect();

        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        env.add_filter("cell", |s: String| s.replace('|', "\\|").replace('\n', " "));
        // RFC 3339 instants as a person reads them: "2026-12-03 06:11 UTC".
        env.add_filter("when", |s: String| {
            chrono::DateTime::parse_from_rfc3339(&s)
                .map(|t| {
                    t.with_timezone(&chrono::Utc)
                        .format("%Y-%m-%d %H:%M UTC")
                        .to_string()
                })
                .unwrap_or(s)
        });
        let fail = |e: minijinja::Error| {
            ApiError::new(ErrorCode::Internal, format!("the report template: {e}"))
        };
        let (name, source) = match format {
            ReportFormat::Html => ("promotion.html", HTML),
            ReportFormat::Markdown => ("promotion.md", MARKDOWN),
        };
        env.add_template(name, source).map_err(fail)?;
        let svg = quality.as_ref().map(quality_svg);
        env.get_template(name)
            .map_err(fail)?
            .render(context! {
                p => view,
                generated_at => self.clock.now().to_rfc3339(),
                hash => hash,
                quality => quality,
                chart => svg.map(Value::from_safe_string),
                rows => rows,
                diff => diff,
                before_env => before_env,
                costs => costs,
                audit => audit,
            })
            .map_err(fail)
    }
}

impl Chainlift {
    /// Write the promotion's report into the data folder (`reports/`) and say where: the app's
    /// "Export report" (the file is then the person's to send).
    pub async fn export_report(
        &self,
        at: &ProjectArgs,
        id: &str,
        format: ReportFormat,
    ) -> Result<std::path::PathBuf> {
        let text = self.report(at, id, format).await?;
        let p = self.find_promotion(id).await?;
        let plain = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .take(60)
                .collect()
        };
        let ext = match format {
            ReportFormat::Html => "html",
            ReportFormat::Markdown => "md",
        };
        let dir = self.data_dir.join("reports");
        let path = dir.join(format!(
            "{}-{}-{}.{ext}",
            plain(&p.chain),
            plain(&p.to_env),
            p.id.chars().take(8).collect::<String>()
        ));
        chainlift_model::confine::write_atomic(&self.data_dir, &path, text.as_bytes())?;
        Ok(path)
    }
}
