//! An env's `concurrency` shared by serve replicas on one PostgreSQL history (DESIGN.md §11):
//! each agent step holds a row of `env_slots` while it runs, on top of this process's own
//! semaphore. On SQLite (one machine) the process's semaphore alone bounds the env.

use std::sync::Arc;
use std::time::Duration;

use chainlift_engine::run::SharedSlots;
use chainlift_store::slots;
use futures_util::future::BoxFuture;

use crate::clock::Clock;

/// The first wait between looks for a free slot, and the longest.
const FIRST_WAIT: Duration = Duration::from_millis(20);
const LONGEST_WAIT: Duration = Duration::from_millis(250);

pub(crate) struct DbSlots {
    pub pool: chainlift_store::Pool,
    pub clock: Arc<dyn Clock>,
    pub project: String,
    pub env: String,
    pub run_id: String,
    pub limit: i64,
}

/// A held slot; dropping it gives the slot back (in the background: drop cannot wait).
struct Held {
    pool: chainlift_store::Pool,
    project: String,
    env: String,
    slot: i64,
    holder: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let (pool, project, env, slot, holder) = (
            self.pool.clone(),
            std::mem::take(&mut self.project),
            std::mem::take(&mut self.env),
            self.slot,
            std::mem::take(&mut self.holder),
        );
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = slots::release(&pool, &project, &env, slot, &holder).await {
                    // Not lost: an unreleased slot is taken back once its run stops beating.
                    tracing::warn!(env, slot, error = %e, "an env slot could not be given back");
                }
            });
        }
    }
}

impl SharedSlots for DbSlots {
    fn acquire(&self) -> BoxFuture<'_, Box<dyn Send>> {
        Box::pin(async move {
            let holder = format!("{}/{}", self.run_id, uuid::Uuid::now_v7());
            let mut wait = FIRST_WAIT;
            loop {
                let now = self.clock.now();
                let stale = now
                    - chrono::Duration::from_std(crate::owner::STALE_AFTER)
                        .unwrap_or(chrono::Duration::seconds(30));
                let claim = slots::Claim {
                    project: &self.project,
                    env: &self.env,
                    holder: &holder,
                    run_id: &self.run_id,
                    at: &now.to_rfc3339(),
                    stale_before: &stale.to_rfc3339(),
                };
                match slots::try_take(&self.pool, &claim, self.limit).await {
                    Ok(Some(slot)) => {
                        return Box::new(Held {
                            pool: self.pool.clone(),
                            project: self.project.clone(),
                            env: self.env.clone(),
                            slot,
                            holder,
                        }) as Box<dyn Send>;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        // The database is away: wait and look again rather than exceed the
                        // limit (the run's own timeout still bounds the wait).
                        tracing::warn!(env = %self.env, error = %e, "env slots could not be read");
                    }
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(LONGEST_WAIT);
            }
        })
    }
}
