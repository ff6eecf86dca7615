//! Adjusting the quality criteria from the app (the seed's "adjust the quality criteria"): the
//! criteria, their guidance and `min_average` written into chain.yaml with the
//! comment-preserving editor, with a required reason, audited as `criteria`.

use chainlift_gates::quality::QualityPolicy;
use chainlift_model::yamledit::{self, NewValue};

use crate::dto::{CriteriaChange, CriterionEdit, QualityCriteria};
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result};

const MAX_CRITERIA: usize = 12;

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadInput, message)
}

fn criteria_of(policy: &QualityPolicy) -> Vec<CriterionEdit> {
    policy
        .criteria
        .iter()
        .map(|name| CriterionEdit {
            name: name.clone(),
            guidance: policy.guidance.get(name).cloned(),
        })
        .collect()
}

fn check(edit: &QualityCriteria, reason: &str) -> Result<()> {
    if reason.trim().is_empty() || reason.chars().count() > 2000 {
        return Err(bad(
            "say why the criteria change (1-2000 characters): it is shown on the promotion and kept in the audit log",
        ));
    }
    if !(1.0..=5.0).contains(&edit.min_average) || !edit.min_average.is_finite() {
        return Err(bad(format!(
            "min_average {} is outside 1-5 (scores are 1 to 5)",
            edit.min_average
        )));
    }
    if edit.criteria.is_empty() || edit.criteria.len() > MAX_CRITERIA {
        return Err(bad(format!(
            "give 1-{MAX_CRITERIA} criteria (there are {})",
            edit.criteria.len()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for c in &edit.criteria {
        let plain = !c.name.is_empty()
            && c.name.len() <= 40
            && c.name
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-');
        if !plain {
            return Err(bad(format!(
                "criterion `{}`: use 1-40 lowercase letters, digits, `_` or `-` (e.g. tone_of_voice)",
                c.name.chars().take(40).collect::<String>()
            )));
        }
        if !seen.insert(c.name.as_str()) {
            return Err(bad(format!("criterion `{}` appears twice", c.name)));
        }
        if c.guidance.as_ref().is_some_and(|g| g.chars().count() > 500) {
            return Err(bad(format!(
                "criterion `{}`: guidance is at most 500 characters",
                c.name
            )));
        }
    }
    Ok(())
}

/// One sentence per difference: "min_average 4.0 → 3.8", "criteria + tone", …
pub(crate) fn describe(before: &QualityCriteria, after: &QualityCriteria) -> Vec<String> {
    let mut out = Vec::new();
    if (before.min_average - after.min_average).abs() > f64::EPSILON {
        out.push(format!(
            "threshold {:.1} → {:.1}",
            before.min_average, after.min_average
        ));
    }
    let names = |q: &QualityCriteria| {
        q.criteria
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    let (old, new) = (names(before), names(after));
    let added: Vec<_> = new.iter().filter(|n| !old.contains(n)).cloned().collect();
    let removed: Vec<_> = old.iter().filter(|n| !new.contains(n)).cloned().collect();
    if !added.is_empty() {
        out.push(format!("criteria + {}", added.join(", ")));
    }
    if !removed.is_empty() {
        out.push(format!("criteria − {}", removed.join(", ")));
    }
    for c in &after.criteria {
        let was = before
            .criteria
            .iter()
            .find(|b| b.name == c.name)
            .map(|b| b.guidance.clone());
        if was.is_some_and(|w| w != c.guidance) {
            out.push(format!("guidance of {} reworded", c.name));
        }
    }
    out
}

impl Chainlift {
    /// The chain's quality criteria, guidance and threshold as chain.yaml has them.
    pub async fn quality_criteria(&self, at: &ProjectArgs) -> Result<QualityCriteria> {
        let (_, chain) = self.chain_of(at).await?;
        let policy = QualityPolicy::from_gates(&chain.gates.clone().unwrap_or_default());
        Ok(QualityCriteria {
            criteria: criteria_of(&policy),
            min_average: policy.min_average,
        })
    }

    /// Write new criteria, guidance and threshold into chain.yaml (comments and the rest of
    /// the file kept), audited with the person's reason. The files change, so the next gate
    /// run judges a new version.
    pub async fn set_quality_criteria(
        &self,
        at: &ProjectArgs,
        edit: &QualityCriteria,
        reason: &str,
    ) -> Result<CriteriaChange> {
        check(edit, reason)?;
        let (project, chain) = self.chain_of(at).await?;
        let before = self.quality_criteria(at).await?;
        let changes = describe(&before, edit);
        if changes.is_empty() {
            return Err(ApiError::new(
                ErrorCode::Refused,
                "nothing changed: the criteria and threshold are already these",
            ));
        }
        let file = &chain.file;
        if file.extension().is_some_and(|e| e == "json") {
            return Err(bad(format!(
                "{}: the app edits YAML chain files only; edit this JSON file by hand",
                file.display()
            )));
        }
        let text = std::fs::read_to_string(file)
            .map_err(|e| bad(format!("{}: cannot read: {e}", file.display())))?;
        let block = yamledit::block_at(&text, &["gates", "quality"]).ok_or_else(|| {
            bad(format!(
                "{}: `gates:` → `quality:` is not written as a block (one key per line), so it cannot be edited here: write it so, or edit it by hand",
                file.display()
            ))
        })?;
        let edit_err = |e: yamledit::EditError| bad(format!("{}: {e}", file.display()));
        let threshold = NewValue::Text(format!("{:.1}", edit.min_average));
        let text = yamledit::set_key(
            &text,
            block,
            "/gates/quality",
            "min_average",
            Some(&threshold),
        )
        .map_err(edit_err)?;
        let block = yamledit::block_at(&text, &["gates", "quality"]).ok_or_else(|| {
            bad(format!(
                "{}: gates.quality moved while editing",
                file.display()
            ))
        })?;
        let criteria = if edit.criteria.iter().all(|c| c.guidance.is_none()) {
            NewValue::List(edit.criteria.iter().map(|c| c.name.clone()).collect())
        } else {
            NewValue::Maps(
                edit.criteria
                    .iter()
                    .map(|c| {
                        let mut pairs = vec![("name".to_string(), c.name.clone())];
                        if let Some(g) = c.guidance.as_ref().filter(|g| !g.trim().is_empty()) {
                            pairs.push(("guidance".to_string(), g.trim().to_string()));
                        }
                        pairs
                    })
                    .collect(),
            )
        };
        let text = yamledit::set_key(&text, block, "/gates/quality", "criteria", Some(&criteria))
            .map_err(edit_err)?;
        chainlift_model::confine::write_atomic(&chain.dir, file, text.as_bytes())?;
        let summary = changes.join("; ");
        let tx = chainlift_store::begin_write(&self.pool).await?;
        let entry = self.entry(
            &project,
            "criteria",
            Some(&chain.name),
            None,
            Some(summary.clone()),
            Some(
                serde_json::json!({
                    "reason": reason.trim(),
                    "before": before,
                    "after": edit,
                })
                .to_string(),
            ),
        );
        self.commit_audited(tx, &entry, None).await?;
        Ok(CriteriaChange {
            summary,
            by: entry.actor,
            at: entry.at,
            reason: reason.trim().to_string(),
        })
    }

    /// The criteria changes of a chain since `since` (oldest first), as people wrote them.
    pub(crate) async fn criteria_changes(
        &self,
        project: &str,
        chain: &str,
        since: &str,
    ) -> Result<Vec<CriteriaChange>> {
        let rows =
            chainlift_store::audit::of_chain_since(&self.pool, project, chain, since, 200).await?;
        Ok(rows
            .into_iter()
            .filter(|r| r.action == "criteria")
            .map(|r| CriteriaChange {
                summary: r.subject.clone().unwrap_or_default(),
                by: r.actor,
                at: r.at,
                reason: r
                    .detail
                    .as_deref()
                    .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                    .and_then(|v| v["reason"].as_str().map(String::from))
                    .unwrap_or_default(),
            })
            .collect())
    }
}
