//! The rollback gate's judgement (DESIGN.md §5): the version a rollback restores is rebuilt
//! from the history and hash-verified, the rollback code moves a scratch pointer back, and the
//! restored version answers its smoke input from a cassette; runs carry their version. The
//! drill's actions are the caller's, behind [`RollbackDrill`]; what they prove is decided here.

use std::future::Future;
use std::time::Instant;

use crate::report::{evidence, Evidence};
use crate::GateReport;

/// The drill's time limit (the checklist's "rollback under 5 minutes").
const LIMIT_SECS: u64 = 300;

/// The version a rollback of the env would restore: the one deployed there now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Its tag, else 12 hex of its hash.
    pub label: String,
    pub tagged: bool,
}

/// What the drill does, against the real history and engine.
pub trait RollbackDrill {
    /// Rebuild the restored version from the history's bytes (not a cache) and verify its
    /// hash: the number of files rebuilt.
    fn rebuild(&self) -> impl Future<Output = Result<usize, String>> + Send;
    /// Move a scratch pointer from a stand-in for the next deployment back to the restored
    /// one with the code `rollback` runs, and check it names the same version and config.
    fn move_pointer_back(&self) -> impl Future<Output = Result<(), String>> + Send;
    /// Replay the restored version's smoke input (or say why it was not run).
    fn replay_smoke(&self) -> impl Future<Output = Evidence> + Send;
}

fn failures(f: &[&Evidence]) -> String {
    f.iter()
        .map(|e| format!("{}: {}", e.check, e.detail))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Run the gate for `env`: `untracked` runs of the chain record no version; `restored` is
/// what a rollback returns to (none: nothing is deployed yet).
pub async fn run<D: RollbackDrill + Sync>(
    env: &str,
    untracked: i64,
    restored: Option<&Restored>,
    drill: &D,
) -> GateReport {
    let runs_tracked = evidence(
        "runs carry their version",
        untracked == 0,
        if untracked == 0 {
            "checked: every run of the chain records its version hash (and a deployment's runs its id)".to_string()
        } else {
            format!("{untracked} run(s) of the chain record no version")
        },
        Some("new-data-identifiable"),
    );
    let Some(restored) = restored else {
        let ev = vec![
            evidence(
                "previous version recoverable",
                true,
                format!("not applicable: nothing is deployed to `{env}` yet, so a rollback of this first deploy is an undeploy"),
                Some("previous-version-tagged"),
            ),
            evidence(
                "rollback drill",
                true,
                "not run: there is no earlier version to roll back to",
                Some("rollback-under-5-min"),
            ),
            runs_tracked,
        ];
        return GateReport::from_evidence(
            "rollback",
            ev,
            format!("first deploy to `{env}`: rollback = undeploy; runs carry their version"),
            failures,
        );
    };
    let label = &restored.label;
    let mut ev = Vec::new();
    let started = Instant::now();

    // 1. Rebuilt from the store's bytes and hash-verified.
    let rebuilt = drill.rebuild().await;
    ev.push(evidence(
        "the version a rollback restores is recoverable",
        rebuilt.is_ok(),
        match (&rebuilt, restored.tagged) {
            (Ok(n), true) => format!("{label}: {n} file(s) rebuilt from the history, hash verified"),
            (Ok(n), false) => format!("{label}: {n} file(s) rebuilt from the history, hash verified (untagged: production deploys tag it)"),
            (Err(e), _) => e.clone(),
        },
        Some("previous-version-tagged"),
    ));

    // 2. The rollback code itself moves a scratch pointer back.
    let moved = drill.move_pointer_back().await;
    let pointer_took = started.elapsed();
    ev.push(evidence(
        "rollback drill under 5 minutes",
        moved.is_ok() && pointer_took.as_secs() < LIMIT_SECS,
        match &moved {
            Ok(()) => format!(
                "the rollback code moved a scratch pointer back to {label} (same version and config snapshot) in {:.1} ms",
                pointer_took.as_secs_f64() * 1e3
            ),
            Err(e) => format!("the drill failed: {e}"),
        },
        Some("rollback-under-5-min"),
    ));

    // 3. The restored version answers its smoke input, replayed from a cassette.
    if rebuilt.is_ok() {
        ev.push(drill.replay_smoke().await);
    }
    ev.push(runs_tracked);
    let took = started.elapsed();
    GateReport::from_evidence(
        "rollback",
        ev,
        format!(
            "`{env}` can roll back to {label}: drilled end to end in {:.1} s",
            took.as_secs_f64()
        ),
        failures,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GateStatus;

    struct Fake {
        rebuild: Result<usize, String>,
        pointer: Result<(), String>,
        replay: bool,
    }

    impl RollbackDrill for Fake {
        async fn rebuild(&self) -> Result<usize, String> {
            self.rebuild.clone()
        }
        async fn move_pointer_back(&self) -> Result<(), String> {
            self.pointer.clone()
        }
        async fn replay_smoke(&self) -> Evidence {
            evidence(
                "the restored version runs its smoke input",
                self.replay,
                "replayed",
                None,
            )
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        // The fake's futures are ready at once: poll them on this thread.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    fn restored() -> Restored {
        Restored {
            label: "v2".into(),
            tagged: true,
        }
    }

    #[test]
    fn a_drill_that_works_passes() {
        let fake = Fake {
            rebuild: Ok(7),
            pointer: Ok(()),
            replay: true,
        };
        let r = block_on(run("production", 0, Some(&restored()), &fake));
        assert_eq!(r.status, GateStatus::Passed, "{}", r.summary);
        assert!(r.summary.contains("can roll back to v2"));
    }

    #[test]
    fn each_broken_part_fails_it_and_says_which() {
        let bad_rebuild = Fake {
            rebuild: Err("hash mismatch".into()),
            pointer: Ok(()),
            replay: true,
        };
        let r = block_on(run("production", 0, Some(&restored()), &bad_rebuild));
        assert_eq!(r.status, GateStatus::Failed);
        assert!(r.summary.contains("hash mismatch"), "{}", r.summary);
        let bad_pointer = Fake {
            rebuild: Ok(7),
            pointer: Err("scratch pointer vanished".into()),
            replay: true,
        };
        let r = block_on(run("production", 0, Some(&restored()), &bad_pointer));
        assert!(
            r.summary
                .contains("the drill failed: scratch pointer vanished"),
            "{}",
            r.summary
        );
        let untracked = Fake {
            rebuild: Ok(7),
            pointer: Ok(()),
            replay: true,
        };
        let r = block_on(run("production", 3, Some(&restored()), &untracked));
        assert!(
            r.summary
                .contains("3 run(s) of the chain record no version"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn a_first_deploy_has_nothing_to_drill() {
        let fake = Fake {
            rebuild: Err("not called".into()),
            pointer: Err("not called".into()),
            replay: false,
        };
        let r = block_on(run("staging", 0, None, &fake));
        assert_eq!(r.status, GateStatus::Passed);
        assert!(r.summary.contains("first deploy to `staging`"));
    }
}
