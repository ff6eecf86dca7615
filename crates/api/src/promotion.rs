//! Promotion (DESIGN.md §6): a version moves to the next env through its gates, the checklist
//! and, where policy asks, a person's approval. Every transition is an IMMEDIATE transaction
//! with its audit row.

use std::collections::BTreeMap;

use chainlift_gates::checklist::{self, Inputs, Tick};
use chainlift_gates::{GateReport, GateStatus};
use chainlift_model::lifecycle::{ItemKind, ItemState, PromotionEvent, PromotionState};
use chainlift_model::lint::{self, EnvLint, LintInput};
use chainlift_model::{ChainDef, Project};
use chainlift_store::promotions::{self as table, ChecklistRow, PromotionGateRow, PromotionRow};
use chainlift_store::{deployments, versions};

use crate::dto::{ChecklistItemView, ChecklistView, PromotionGateView, PromotionView};
use crate::gates::{required_gates, GateArgs};
use crate::history::actor;
use crate::project::resolve_env_with_file;
use crate::{ApiError, Chainlift, ErrorCode, ProjectArgs, Result};

const EVENT_CODES: [&str; 5] = [
    "trigger-never-emitted",
    "no-start",
    "no-path-to-complete",
    "cycle-without-max-rounds",
    "prompt-event-unavailable",
];

impl Chainlift {
    pub(crate) async fn find_promotion(&self, id: &str) -> Result<PromotionRow> {
        if id.len() < 6 {
            return Err(ApiError::new(
                ErrorCode::BadInput,
                format!("promotion `{id}`: give at least 6 characters of its id"),
            ));
        }
        match table::by_prefix(&self.pool, id).await?.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no promotion `{id}`"),
            )),
            many => Err(ApiError::new(
                ErrorCode::BadInput,
                format!(
                    "`{id}` matches {} promotions: give more of the id",
                    many.len()
                ),
            )),
        }
    }

    /// The promotion's own project and chain: a promotion id names its project (DESIGN.md §8),
    /// so this works from any folder once the project was bound to its root.
    async fn project_for(&self, at: &ProjectArgs, p: &PromotionRow) -> Result<(Project, ChainDef)> {
        let mut at = ProjectArgs {
            chain: Some(p.chain.clone()),
            ..at.clone()
        };
        if let Some(root) =
            chainlift_store::projects::root_of(&self.pool, &self.project_host(), &p.project).await?
        {
            at.project = Some(std::path::PathBuf::from(root));
        }
        self.chain_of(&at).await
    }

    async fn promotion_view(
        &self,
        p: &PromotionRow,
        project: &Project,
        warnings: Vec<String>,
    ) -> Result<PromotionView> {
        let v = versions::get(&self.pool, p.version_id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the promoted version is missing"))?;
        let mut gates: Vec<PromotionGateView> = table::gates(&self.pool, &p.id)
            .await?
            .into_iter()
            .map(|g| {
                let status = GateStatus::parse(&g.status).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::Internal,
                        format!(
                            "the {} gate of promotion {} has status `{}`, which this version of Chainlift does not know",
                            g.gate,
                            short(&p.id),
                            g.status
                        ),
                    )
                })?;
                Ok(PromotionGateView {
                    quality: serde_json::from_str::<chainlift_gates::GateReport>(&g.report)
                        .ok()
                        .and_then(|r| r.quality),
                    gate: g.gate,
                    status,
                    summary: g.summary,
                    waived_by: g.waived_by,
                    waiver_note: g.waiver_note,
                })
            })
            .collect::<Result<_>>()?;
        gates.sort_by_key(|g| {
            chainlift_gates::GATES
                .iter()
                .position(|x| *x == g.gate)
                .unwrap_or(99)
        });
        let previous = table::list(&self.pool, &p.project, Some(&p.chain))
            .await?
            .into_iter()
            .find(|o| o.to_env == p.to_env && o.created_at < p.created_at);
        let since = previous.as_ref().map_or(&p.created_at, |o| &o.created_at);
        let criteria_changes = self.criteria_changes(&p.project, &p.chain, since).await?;
        Ok(PromotionView {
            id: p.id.clone(),
            created_at: p.created_at.clone(),
            chain: p.chain.clone(),
            to_env: p.to_env.clone(),
            version: v
                .tag
                .clone()
                .unwrap_or_else(|| v.hash.chars().take(12).collect()),
            state: promotion_state(p)?,
            gates,
            checklist: self.checklist_view(&p.id).await?,
            approved_by: p.approved_by.clone(),
            approval_note: p.approval_note.clone(),
            approvers: project.approvers(&p.to_env).map(<[String]>::to_vec),
            acting_as: actor(project),
            criteria_changes,
            reason: p.reason.clone(),
            warnings,
        })
    }

    async fn checklist_view(&self, id: &str) -> Result<ChecklistView> {
        let mut rows = table::items(&self.pool, id).await?;
        rows.sort_by_key(|r| {
            chainlift_gates::CHECKLIST
                .iter()
                .position(|k| k.key == r.key)
                .unwrap_or(99)
        });
        let items: Vec<ChecklistItemView> = rows
            .into_iter()
            .map(|r| {
                let (Some(kind), Some(state)) = (ItemKind::parse(&r.kind), ItemState::parse(&r.state))
                else {
                    return Err(ApiError::new(
                        ErrorCode::Internal,
                        format!(
                            "checklist item {} of promotion {} is `{}`/`{}`, which this version of Chainlift does not know",
                            r.key,
                            short(id),
                            r.kind,
                            r.state
                        ),
                    ));
                };
                Ok(ChecklistItemView {
                    key: r.key,
                    section: r.section,
                    kind,
                    state,
                    evidence: r.evidence,
                    ticked_by: r.ticked_by,
                    ticked_at: r.ticked_at,
                    note: r.note,
                    required: r.required,
                })
            })
            .collect::<Result<_>>()?;
        let as_items: Vec<checklist::Item> = items
            .iter()
            .map(|i| checklist::Item {
                key: i.key.clone(),
                section: i.section.clone(),
                kind: i.kind,
                state: i.state,
                evidence: i.evidence.clone(),
                required: i.required,
            })
            .collect();
        Ok(ChecklistView {
            blocking: checklist::blocking(&as_items),
            items,
        })
    }

    fn event_problems(project: &Project, chain: &ChainDef) -> Result<Vec<String>> {
        let envs: Vec<EnvLint> = vec![];
        let set = |_: &str, _: &str| true;
        Ok(lint::lint(&LintInput {
            project,
            chain,
            envs: &envs,
            secret_is_set: &set,
            secret_hash: &|_, _| None,
        })
        .into_iter()
        .filter(|l| EVENT_CODES.contains(&l.code))
        .map(|l| l.message)
        .collect())
    }

    /// Recompute the checklist from the promotion's gate reports, keeping people's ticks.
    async fn refresh_checklist(
        &self,
        p: &PromotionRow,
        project: &Project,
        chain: &ChainDef,
    ) -> Result<Vec<checklist::Item>> {
        let gates = table::gates(&self.pool, &p.id).await?;
        let reports: Vec<GateReport> = gates
            .iter()
            .filter_map(|g| {
                let mut r: GateReport = serde_json::from_str::<serde_json::Value>(&g.report)
                    .ok()
                    .and_then(|v| report_from_json(&v))?;
                if g.status == "waived" {
                    r.status = GateStatus::Waived;
                }
                Some(r)
            })
            .collect();
        let existing = table::items(&self.pool, &p.id).await?;
        let ticks: Vec<Tick> = existing
            .iter()
            .map(|i| Tick {
                key: i.key.clone(),
                ticked: i.state == ItemState::Ticked.as_str(),
            })
            .collect();
        let edge_dir = chain.dir.join(
            chain
                .gates
                .as_ref()
                .and_then(|g| g.pointer("/smoke/edge"))
                .and_then(|v| v.as_str())
                .unwrap_or("test-fixtures/edge"),
        );
        let has_edge = std::fs::read_dir(&edge_dir)
            .map(|d| d.flatten().any(|e| e.path().is_file()))
            .unwrap_or(false);
        let required = required_gates(project, &p.to_env);
        let problems = Self::event_problems(project, chain)?;
        let team = project
            .team_items(&p.to_env)
            .map_err(|m| ApiError::new(ErrorCode::BadInput, format!("chainlift.yaml: {m}")))?;
        let items = checklist::compute(&Inputs {
            required_gates: &required,
            reports: &reports,
            event_problems: &problems,
            has_edge_fixtures: has_edge,
            ticks: &ticks,
            team: &team,
        });
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        for i in &items {
            let before = existing.iter().find(|e| e.key == i.key);
            // Who ticked or unticked a manual item stays with it while it is still manual.
            let keep = before
                .filter(|b| b.kind == ItemKind::Manual.as_str() && i.kind == ItemKind::Manual);
            table::put_item(
                &mut *tx,
                &ChecklistRow {
                    promotion_id: p.id.clone(),
                    key: i.key.clone(),
                    section: i.section.clone(),
                    kind: i.kind.as_str().into(),
                    state: i.state.as_str().into(),
                    evidence: i.evidence.clone(),
                    ticked_by: keep.and_then(|b| b.ticked_by.clone()),
                    ticked_at: keep.and_then(|b| b.ticked_at.clone()),
                    note: keep.and_then(|b| b.note.clone()),
                    required: i.required,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(items)
    }

    async fn transition(
        &self,
        p: &PromotionRow,
        project: &Project,
        event: PromotionEvent,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<PromotionState> {
        let now = self.clock.now().to_rfc3339();
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        let to = Self::move_promotion(&mut tx, p, event, &now).await?;
        let entry = self.entry(
            project,
            action,
            Some(&p.chain),
            Some(&p.to_env),
            Some(p.id.clone()),
            Some(detail.to_string()),
        );
        self.commit_audited(tx, &entry, None).await?;
        Ok(to)
    }

    /// A promotion's state change, inside the caller's transaction: the lifecycle decides the
    /// next state (DESIGN.md §6), the store writes it compare-and-swap on the state read.
    pub(crate) async fn move_promotion(
        db: &mut chainlift_store::Conn,
        p: &PromotionRow,
        event: PromotionEvent,
        now: &str,
    ) -> Result<PromotionState> {
        let from = promotion_state(p)?;
        let to = from.next(event).map_err(|r| {
            ApiError::new(
                ErrorCode::Refused,
                format!("promotion {}: {r}", short(&p.id)),
            )
        })?;
        if !table::set_state(&mut *db, &p.id, from.as_str(), to.as_str(), now).await? {
            return Err(changed_meanwhile(&p.id));
        }
        Ok(to)
    }

    /// `promote CHAIN --to ENV [--version V]`: the version (created from the files when not
    /// named) goes through the env's gates; an interrupted promotion of it is resumed.
    pub async fn promote(
        &self,
        at: &ProjectArgs,
        to_env: &str,
        version: Option<&str>,
    ) -> Result<PromotionView> {
        let (project, chain) = self.chain_of(at).await?;
        crate::check_env(&project, to_env)?;
        project
            .check_team_items()
            .map_err(|m| ApiError::new(ErrorCode::BadInput, format!("chainlift.yaml: {m}")))?;
        let envs = project.environments();
        let index = envs.iter().position(|e| e == to_env).unwrap_or_default();
        if index == 0 {
            return Err(ApiError::new(
                ErrorCode::Refused,
                format!(
                    "`{to_env}` is where work happens: deploy to it directly, promote to `{}`",
                    envs.get(1).cloned().unwrap_or_default()
                ),
            ));
        }
        let v = match version {
            Some(r) => self.find_version(&project, &chain.name, r).await?,
            None => self.snapshot(&project, &chain, None, None).await?.0,
        };
        let label = v
            .tag
            .clone()
            .unwrap_or_else(|| v.hash.chars().take(12).collect());
        if index >= 2 {
            let before = &envs[index - 1];
            if !deployments::was_deployed(&self.pool, &project.id, &chain.name, before, v.id)
                .await?
            {
                return Err(ApiError::new(
                    ErrorCode::Refused,
                    format!("{label} has not been deployed to `{before}`: promote it there first (`chainlift promote {} --to {before}`); envs are not skipped", chain.name),
                ));
            }
        }
        let now = self.clock.now().to_rfc3339();
        let resumable = table::latest_for(&self.pool, &project.id, &chain.name, to_env, v.id)
            .await?
            .filter(|p| {
                matches!(
                    PromotionState::parse(&p.state),
                    Some(
                        PromotionState::Created
                            | PromotionState::GatesRunning
                            | PromotionState::GatesFailed
                    )
                )
            });
        let p = match resumable {
            Some(p) => p,
            None => {
                let p = PromotionRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    project: project.id.clone(),
                    chain: chain.name.clone(),
                    to_env: to_env.into(),
                    version_id: v.id,
                    state: PromotionState::Created.as_str().into(),
                    created_by: actor(&project),
                    created_at: now.clone(),
                    updated_at: now.clone(),
                    approved_by: None,
                    approved_at: None,
                    approval_note: None,
                    reason: None,
                };
                table::insert(&self.pool, &p).await?;
                p
            }
        };
        let state = self
            .transition(
                &p,
                &project,
                PromotionEvent::GatesStarted,
                "promote",
                serde_json::json!({"version": label, "to": to_env}),
            )
            .await?;
        crate::history::failpoint("promote:gates-running");
        let p = PromotionRow {
            state: state.as_str().into(),
            ..p
        };

        let result = self
            .gate(&GateArgs {
                at: at.clone(),
                env: to_env.into(),
                only: None,
                version: Some(v.hash.clone()),
            })
            .await?;
        for r in &result.gates {
            let status = r.status.as_str().to_string();
            table::put_gate(
                &self.pool,
                &PromotionGateRow {
                    promotion_id: p.id.clone(),
                    gate: r.gate.clone(),
                    status,
                    summary: r.summary.clone(),
                    report: serde_json::to_string(r).map_err(|e| {
                        ApiError::new(ErrorCode::Internal, format!("gate report: {e}"))
                    })?,
                    waived_by: None,
                    waived_at: None,
                    waiver_note: None,
                },
            )
            .await?;
        }
        self.refresh_checklist(&p, &project, &chain).await?;
        let mut warnings = Vec::new();
        let event = if result.passed {
            Self::after_gates(&project, to_env)
        } else {
            PromotionEvent::GatesFailed
        };
        let failed: Vec<String> = result
            .gates
            .iter()
            .filter(|g| g.status == GateStatus::Failed)
            .map(|g| format!("{}: {}", g.gate, g.summary))
            .collect();
        self.transition(
            &p,
            &project,
            event,
            "gates",
            serde_json::json!({"passed": result.passed, "failed": failed}),
        )
        .await?;
        if !result.passed {
            let text = format!(
                "Chainlift: promotion of {} {label} to {to_env} is blocked — {}",
                chain.name,
                failed.join(" · ")
            );
            warnings.extend(self.notify(&project, &chain, to_env, &text).await);
        }
        let p = table::get(&self.pool, &p.id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the promotion vanished"))?;
        self.promotion_view(&p, &project, warnings).await
    }

    fn after_gates(project: &Project, env: &str) -> PromotionEvent {
        PromotionEvent::GatesPassed {
            approval_required: Self::needs_approval(project, env),
        }
    }

    pub(crate) fn needs_approval(project: &Project, env: &str) -> bool {
        match &project.policy.environments {
            Some(envs) => envs
                .iter()
                .any(|e| e.name == env && e.approval.as_deref() == Some("required")),
            None => env == "production",
        }
    }

    pub async fn promotion(&self, at: &ProjectArgs, id: &str) -> Result<PromotionView> {
        let p = self.find_promotion(id).await?;
        let (project, _) = self.project_for(at, &p).await?;
        self.promotion_view(&p, &project, vec![]).await
    }

    /// Tick a manual checklist item, with who, when and an optional note.
    pub async fn tick(
        &self,
        at: &ProjectArgs,
        id: &str,
        key: &str,
        note: Option<&str>,
    ) -> Result<ChecklistView> {
        self.mark_item(at, id, key, note, true).await
    }

    /// Untick a ticked manual item (a person takes their tick back), with who, when and a note.
    pub async fn untick(
        &self,
        at: &ProjectArgs,
        id: &str,
        key: &str,
        note: Option<&str>,
    ) -> Result<ChecklistView> {
        self.mark_item(at, id, key, note, false).await
    }

    async fn mark_item(
        &self,
        at: &ProjectArgs,
        id: &str,
        key: &str,
        note: Option<&str>,
        ticked: bool,
    ) -> Result<ChecklistView> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > 2000) {
            return Err(ApiError::new(
                ErrorCode::BadInput,
                "a checklist note is at most 2000 characters",
            ));
        }
        let p = self.find_promotion(id).await?;
        let (project, _) = self.project_for(at, &p).await?;
        let now = self.clock.now().to_rfc3339();
        let who = actor(&project);
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        // Read inside the write transaction: nobody approves between this check and the tick.
        let p = table::get(&mut *tx, &p.id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "the promotion is gone"))?;
        let state = promotion_state(&p)?;
        if !matches!(
            state,
            PromotionState::Created
                | PromotionState::GatesRunning
                | PromotionState::GatesFailed
                | PromotionState::AwaitingApproval
        ) {
            return Err(ApiError::new(
                ErrorCode::Refused,
                format!(
                    "the promotion is {state}: its checklist is the record of what was approved; promote again to review a new one"
                ),
            ));
        }
        let items = table::items(&mut *tx, &p.id).await?;
        let Some(item) = items.iter().find(|i| i.key == key) else {
            let known: Vec<&str> = items
                .iter()
                .filter(|i| i.kind == ItemKind::Manual.as_str())
                .map(|i| i.key.as_str())
                .collect();
            return Err(ApiError::new(
                ErrorCode::BadInput,
                format!(
                    "no checklist item `{key}` on this promotion (manual items: {})",
                    known.join(", ")
                ),
            ));
        };
        if item.kind != ItemKind::Manual.as_str() {
            return Err(ApiError::new(ErrorCode::Refused, format!("`{key}` is decided by its gate's evidence, not ticked by hand (waive the gate if a person accepts its failure)")));
        }
        let (to, verb) = if ticked {
            (ItemState::Ticked, "tick")
        } else {
            (ItemState::Unticked, "untick")
        };
        if item.state == to.as_str() {
            return Err(ApiError::new(
                ErrorCode::Refused,
                format!("`{key}` is already {to}"),
            ));
        }
        table::put_item(
            &mut *tx,
            &ChecklistRow {
                state: to.as_str().into(),
                ticked_by: Some(who.clone()),
                ticked_at: Some(now.clone()),
                note: note.map(String::from),
                ..item.clone()
            },
        )
        .await?;
        let entry = self.entry(
            &project,
            verb,
            Some(&p.chain),
            Some(&p.to_env),
            Some(format!("{} {key}", p.id)),
            note.map(|n| serde_json::json!({"note": n}).to_string()),
        );
        self.commit_audited(tx, &entry, None).await?;
        self.checklist_view(&p.id).await
    }

    /// A person accepts a failed gate, with a reason: shown as waived, never as passed.
    pub async fn waive(
        &self,
        at: &ProjectArgs,
        id: &str,
        gate: &str,
        note: &str,
    ) -> Result<PromotionView> {
        if note.trim().is_empty() {
            return Err(ApiError::new(
                ErrorCode::BadInput,
                "a waiver needs a reason: --note \"…\"",
            ));
        }
        let p = self.find_promotion(id).await?;
        let (project, chain) = self.project_for(at, &p).await?;
        let g = table::gates(&self.pool, &p.id)
            .await?
            .into_iter()
            .find(|g| g.gate == gate)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::BadInput,
                    format!("the promotion has no `{gate}` gate"),
                )
            })?;
        if g.status != "failed" {
            return Err(ApiError::new(
                ErrorCode::Refused,
                format!("the {gate} gate {}: only a failed gate is waived", g.status),
            ));
        }
        let now = self.clock.now().to_rfc3339();
        let who = actor(&project);
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        table::waive_gate(&mut *tx, &p.id, gate, &who, &now, note).await?;
        let entry = self.entry(
            &project,
            "waive",
            Some(&p.chain),
            Some(&p.to_env),
            Some(format!("{} {gate}", p.id)),
            Some(serde_json::json!({"note": note, "summary": g.summary}).to_string()),
        );
        self.commit_audited(tx, &entry, None).await?;
        self.refresh_checklist(&p, &project, &chain).await?;
        let open_failures = table::gates(&self.pool, &p.id)
            .await?
            .iter()
            .any(|g| g.status == "failed");
        if !open_failures && promotion_state(&p)? == PromotionState::GatesFailed {
            self.transition(
                &p,
                &project,
                Self::after_gates(&project, &p.to_env),
                "gates",
                serde_json::json!({"passed": true, "waived": gate}),
            )
            .await?;
        }
        let p = table::get(&self.pool, &p.id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the promotion vanished"))?;
        self.promotion_view(&p, &project, vec![]).await
    }

    /// Approve: no required item failed and every required manual item ticked, by one of the
    /// env's `approvers:` when it names them, with the person's own note. Self-approval is
    /// allowed.
    pub async fn approve(&self, at: &ProjectArgs, id: &str, note: &str) -> Result<PromotionView> {
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 2000 {
            return Err(ApiError::new(
                ErrorCode::BadInput,
                "an approval needs a note of 1-2000 characters saying what was reviewed: --note \"…\"",
            ));
        }
        let p = self.find_promotion(id).await?;
        let (project, _) = self.project_for(at, &p).await?;
        let who = actor(&project);
        if let Some(approvers) = project.approvers(&p.to_env) {
            if !approvers.contains(&who) {
                return Err(ApiError::new(
                    ErrorCode::Refused,
                    format!(
                        "only {} may approve promotions to {} (approvers: in chainlift.yaml); you are `{who}` (user: in chainlift.yaml, else $USER)",
                        approvers.join(", "),
                        p.to_env
                    ),
                ));
            }
        }
        // Checks and the change in one IMMEDIATE transaction: no writer can commit between
        // reading the state and checklist and approving (reads see every commit before it).
        let mut tx = chainlift_store::begin_write(&self.pool).await?;
        let p = table::get(&mut *tx, &p.id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "the promotion is gone"))?;
        if promotion_state(&p)?.next(PromotionEvent::Approved).is_err() {
            return Err(ApiError::new(
                ErrorCode::Refused,
                format!(
                    "the promotion is {}: it can be approved once its gates pass (or are waived)",
                    p.state
                ),
            ));
        }
        let blocking = self.checklist_view(&p.id).await?.blocking;
        if !blocking.is_empty() {
            return Err(ApiError::new(
                ErrorCode::Refused,
                format!("not approvable yet: {}", blocking.join("; ")),
            ));
        }
        let now = self.clock.now().to_rfc3339();
        if !table::approve(&mut *tx, &p.id, &who, &now, note).await? {
            return Err(changed_meanwhile(&p.id));
        }
        let entry = self.entry(
            &project,
            "approve",
            Some(&p.chain),
            Some(&p.to_env),
            Some(p.id.clone()),
            Some(serde_json::json!({"note": note}).to_string()),
        );
        self.commit_audited(tx, &entry, None).await?;
        let p = table::get(&self.pool, &p.id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the promotion vanished"))?;
        self.promotion_view(&p, &project, vec![]).await
    }

    /// §6: may this version be deployed to this env? Returns the promotion it deploys, if any.
    /// Run inside the deploy's IMMEDIATE transaction, so no writer changes the answer before
    /// the pointer moves.
    pub(crate) async fn deploy_allowed(
        db: &mut chainlift_store::Conn,
        project: &Project,
        chain: &str,
        env: &str,
        version_id: i64,
        label: &str,
    ) -> Result<Option<PromotionRow>> {
        let envs = project.environments();
        if envs.first().is_some_and(|e| e == env)
            || deployments::was_deployed(&mut *db, &project.id, chain, env, version_id).await?
        {
            return Ok(None);
        }
        let promotion = table::latest_for(&mut *db, &project.id, chain, env, version_id).await?;
        match promotion {
            Some(p) if promotion_state(&p)? == PromotionState::Approved => Ok(Some(p)),
            Some(p) if Self::needs_approval(project, env) => Err(ApiError::new(
                ErrorCode::Refused,
                format!("env `{env}` requires an approved promotion: promotion {} of {label} is {} (`chainlift checklist {}` shows what is left)", &p.id[..13.min(p.id.len())], p.state, p.id),
            )),
            Some(p) => Err(ApiError::new(
                ErrorCode::Refused,
                format!("{label}'s gates for `{env}` have not passed: promotion {} is {} (fix, or `chainlift waive`)", &p.id[..13.min(p.id.len())], p.state),
            )),
            None => Err(ApiError::new(
                ErrorCode::Refused,
                format!("{label} has not been promoted to `{env}`: run `chainlift promote {chain} --to {env} --version {label}` first"),
            )),
        }
    }

    /// The promotion a deploy carries out moves `approved` → `deployed`, then `monitoring`
    /// (a watch opened) or `stable` (nothing watched), in the deploy's own transaction
    /// (compare-and-swap: a promotion changed meanwhile aborts the deploy), with its audit
    /// entry (returned) committed with it.
    pub(crate) async fn mark_deployed(
        &self,
        db: &mut chainlift_store::Conn,
        project: &Project,
        p: &PromotionRow,
        watched: bool,
    ) -> Result<chainlift_store::audit::AuditEntry> {
        let now = self.clock.now().to_rfc3339();
        let deployed = Self::move_promotion(db, p, PromotionEvent::Deployed, &now).await?;
        let p = PromotionRow {
            state: deployed.as_str().into(),
            ..p.clone()
        };
        let then = if watched {
            PromotionEvent::Watched
        } else {
            PromotionEvent::Settled
        };
        Self::move_promotion(db, &p, then, &now).await?;
        Ok(self.entry(
            project,
            "promotion-deployed",
            Some(&p.chain),
            Some(&p.to_env),
            Some(p.id.clone()),
            Some(serde_json::json!({"promotion": p.id}).to_string()),
        ))
    }

    /// Post a message to the env's `notify` targets (Slack-compatible webhooks). Failures come
    /// back as warnings that never name the target (a webhook URL is a secret).
    pub(crate) async fn notify(
        &self,
        project: &Project,
        chain: &ChainDef,
        env: &str,
        text: &str,
    ) -> Vec<String> {
        let Ok((_, Ok(resolved))) = resolve_env_with_file(project, chain, env, &BTreeMap::new())
        else {
            return vec![];
        };
        let mut warnings = Vec::new();
        for (name, target) in &resolved.notify {
            let mut url = target.clone();
            let mut redactor = chainlift_model::secret::Redactor::default();
            let refs = match chainlift_model::subst::references(target) {
                Ok(refs) => refs,
                Err(e) => {
                    let what = match e {
                        chainlift_model::subst::SubstError::Malformed(r)
                        | chainlift_model::subst::SubstError::Unresolved(r) => r,
                    };
                    warnings.push(format!(
                        "notify.{name}: malformed reference {what}; nothing was sent"
                    ));
                    continue;
                }
            };
            for r in refs {
                match self
                    .secrets
                    .get(
                        &chainlift_secrets::account(&project.id, env, &r.name),
                        &r.name,
                    )
                    .await
                {
                    Ok(Some(v)) => {
                        redactor.add(&v);
                        url = url.replace(&format!("${{{}}}", r.name), v.expose());
                    }
                    _ => {
                        warnings.push(format!(
                            "notify.{name}: secret {} is not set for `{env}`, nothing was sent",
                            r.name
                        ));
                        url.clear();
                    }
                }
            }
            if url.is_empty() {
                continue;
            }
            let sent = self
                .http
                .post(&url)
                .timeout(std::time::Duration::from_secs(10))
                .json(&serde_json::json!({"text": text}))
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => warnings.push(format!(
                    "notify.{name}: the target answered HTTP {}",
                    r.status().as_u16()
                )),
                Err(e) => warnings.push(redactor.redact(&format!(
                    "notify.{name}: could not post: {}",
                    e.without_url()
                ))),
            }
        }
        warnings
    }
}

fn report_from_json(v: &serde_json::Value) -> Option<GateReport> {
    serde_json::from_value(v.clone()).ok()
}

/// A stored promotion's state; a value outside the lifecycle is damage, said as such.
pub(crate) fn promotion_state(p: &PromotionRow) -> Result<PromotionState> {
    PromotionState::parse(&p.state).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Internal,
            format!(
                "promotion {} has state `{}`, which this version of Chainlift does not know",
                short(&p.id),
                p.state
            ),
        )
    })
}

fn short(id: &str) -> &str {
    &id[..13.min(id.len())]
}

fn changed_meanwhile(id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        format!("promotion {id} changed while this command ran (another process moved it): look at it again with `chainlift checklist {id}`"),
    )
}
