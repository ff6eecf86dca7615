//! Schedules (DESIGN.md §9): one scheduler per env across serve processes, by a lease row; a
//! tick runs the version deployed in full, trigger `schedule`; a tick while the previous
//! scheduled run of that chain and env still runs is skipped and counted.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chainlift_api::dto::Trigger;
use chainlift_model::schedule::{Missed, Schedule};
use chrono::{DateTime, Utc};

use crate::metrics::ChainEnvLabels;
use crate::State;

/// How often the scheduler looks (and renews its lease).
const POLL: Duration = Duration::from_millis(500);
/// A lease not renewed for this long is free for another process.
const LEASE: Duration = Duration::from_secs(10);
/// Most ticks walked when catching up (a `* * * * * *` schedule away for almost 3 hours).
const MAX_CATCH_UP: usize = 10_000;

/// This process's name on a lease.
pub fn holder() -> String {
    format!(
        "{}/{}/{}",
        chainlift_api::host_name(),
        std::process::id(),
        uuid::Uuid::now_v7()
    )
}

/// Schedule `env` until serve drains; then give the lease up.
pub async fn run(st: Arc<State>, env: String, holder: String) {
    let mut every = tokio::time::interval(POLL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut holding = false;
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(false));
    loop {
        every.tick().await;
        if st.draining.load(Ordering::SeqCst) {
            break;
        }
        let stats = st.slots(&env).stats(&st.listen);
        match st
            .api
            .lease(&st.project, &env, &holder, LEASE, &stats)
            .await
        {
            Ok(mine) => {
                if mine != holding {
                    tracing::info!(env, holder, scheduling = mine, "scheduler lease");
                }
                holding = mine;
            }
            Err(e) => {
                tracing::error!(env, error = %e.message, "the scheduler lease could not be read");
                holding = false;
            }
        }
        if holding {
            if let Err(e) = tick(&st, &env).await {
                tracing::error!(env, error = %e.message, "a schedule tick failed");
            }
            // The lease holder is the env's monitor too (DESIGN.md §10): one process acts. A
            // pass may review sampled outputs (model calls): it runs beside the ticks, one
            // pass at a time.
            if !watching.swap(true, Ordering::SeqCst) {
                let (st, env, watching) = (st.clone(), env.clone(), watching.clone());
                tokio::spawn(async move {
                    watch(&st, &env).await;
                    watching.store(false, Ordering::SeqCst);
                });
            }
        }
    }
    if holding {
        let _ = st.api.release_lease(&st.project, &env, &holder).await;
    }
}

/// One monitor pass over the env's open rollouts: analyses, steps, rollbacks.
async fn watch(st: &Arc<State>, env: &str) {
    match st.api.monitor(&st.project, env).await {
        Ok(outcomes) => {
            for o in outcomes {
                for m in &o.moves {
                    tracing::info!(chain = %o.chain, env = %o.env, intervals = o.intervals, "rollout: {m}");
                }
                if o.rolled_back {
                    let reason = o
                        .failed_metric
                        .map_or("inconclusive", |m| m.as_str())
                        .to_string();
                    st.metrics
                        .rollbacks
                        .get_or_create(&crate::metrics::RollbackLabels {
                            chain: o.chain.clone(),
                            env: o.env.clone(),
                            reason,
                        })
                        .inc();
                }
            }
        }
        Err(e) => tracing::error!(env, error = %e.message, "the rollout monitor failed"),
    }
}

/// Fire what is due for every chain deployed to `env`.
async fn tick(st: &Arc<State>, env: &str) -> chainlift_api::Result<()> {
    for dir in st.project.chain_dirs() {
        let Some(chain) = dir.file_name().and_then(|n| n.to_str()).map(String::from) else {
            continue;
        };
        let Some(deployed) = st.api.deployed(&st.project, &chain, env).await? else {
            continue;
        };
        let Some(raw) = &deployed.schedule else {
            continue;
        };
        let schedule = match Schedule::parse(raw) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(chain, env, error = %e, "the deployed schedule does not parse (validate reports it as bad-schedule)");
                continue;
            }
        };
        let now = Utc::now();
        let Some(last) = st.api.last_tick(&st.project, &chain, env).await? else {
            // First sight of this schedule: count from now.
            st.api.set_tick(&st.project, &chain, env, now).await?;
            continue;
        };
        let Some(due) = latest_due(&schedule, last, now) else {
            continue;
        };
        st.api
            .set_tick(&st.project, &chain, env, due.latest)
            .await?;
        // Away for more than one tick (no scheduler held the lease): `missed` decides.
        let late = chrono::Duration::milliseconds(4 * POLL.as_millis() as i64);
        let away = due.count > 1 || now - due.latest > late;
        if away && schedule.missed == Missed::Skip {
            tracing::info!(
                chain,
                env,
                missed = due.count,
                "missed ticks skipped (missed: skip)"
            );
            continue;
        }
        fire(st, &chain, env, &deployed, &schedule).await;
    }
    Ok(())
}

struct Due {
    latest: DateTime<Utc>,
    count: usize,
}

/// The ticks after `last` up to `now`: the latest and how many.
fn latest_due(schedule: &Schedule, last: DateTime<Utc>, now: DateTime<Utc>) -> Option<Due> {
    let mut at = schedule.next_after(last)?;
    if at > now {
        return None;
    }
    let mut count = 1;
    while count < MAX_CATCH_UP {
        match schedule.next_after(at) {
            Some(next) if next <= now => {
                at = next;
                count += 1;
            }
            _ => break,
        }
    }
    Some(Due { latest: at, count })
}

async fn fire(
    st: &Arc<State>,
    chain: &str,
    env: &str,
    deployed: &chainlift_api::Deployed,
    schedule: &Schedule,
) {
    let skipped = |why: &str| {
        st.metrics
            .schedule_skipped
            .get_or_create(&ChainEnvLabels {
                chain: chain.to_string(),
                env: env.to_string(),
            })
            .inc();
        tracing::info!(chain, env, why, "schedule tick skipped");
    };
    match st.api.scheduled_run_live(&st.project, chain, env).await {
        Ok(true) => return skipped("the previous scheduled run still runs"),
        Ok(false) => {}
        Err(e) => return skipped(&e.message),
    }
    let input = match &schedule.input {
        None => serde_json::Value::Object(Default::default()),
        Some(rel) => {
            let read = chainlift_model::confine::inside(&deployed.dir, rel)
                .map_err(|e| e.to_string())
                .and_then(|p| std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display())))
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("{rel}: {e}")));
            match read {
                Ok(v) => v,
                Err(e) => return skipped(&format!("schedule.input: {e}")),
            }
        }
    };
    let id = uuid::Uuid::now_v7().to_string();
    match st
        .submit(chain, env, input, Trigger::Schedule, &id, None)
        .await
    {
        Ok(s) => {
            tracing::info!(chain, env, run = %s.run.id, version = %s.run.version, "schedule tick")
        }
        Err(crate::SubmitError::QueueFull) => skipped("the env's queue is full"),
        Err(crate::SubmitError::Draining) => skipped("serve is draining"),
        Err(crate::SubmitError::Api(e)) => skipped(&e.message),
    }
}
