//! The lifecycle of a promotion, a rollout and a run as closed sets (DESIGN.md §4, §6, §10), and
//! the one function each changes state through. The store writes a change as a compare-and-swap
//! on the state these functions started from, inside the change's transaction; the database
//! refuses any value outside these sets.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares a closed set of snake_case names: `as_str`, `parse`, `ALL`, Display.
macro_rules! names {
    ($(#[$m:meta])* pub enum $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
        #[serde(rename_all = "snake_case")]
        #[ts(export_to = "../../../ui/src/bindings/")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value a stored text names; `None` for anything else (damage, or a newer
            /// version of Chainlift wrote it).
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        /// Compared with its stored name (`status == "completed"` in tests and reports).
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names! {
    /// A checklist item's state (DESIGN.md §5): decided by a gate's evidence or the linter
    /// (`passed`, `failed`, `waived`, `not_applicable`), or by a person (`ticked`, `unticked`).
    pub enum ItemState {
        Passed = "passed",
        Failed = "failed",
        Waived = "waived",
        NotApplicable = "not_applicable",
        Unticked = "unticked",
        Ticked = "ticked",
    }
}

names! {
    /// Who decides a checklist item: its gate's evidence, or a person.
    pub enum ItemKind {
        Auto = "auto",
        Manual = "manual",
    }
}

names! {
    /// Where a promotion is (DESIGN.md §6).
    pub enum PromotionState {
        Created = "created",
        GatesRunning = "gates_running",
        GatesFailed = "gates_failed",
        AwaitingApproval = "awaiting_approval",
        Approved = "approved",
        Deployed = "deployed",
        Monitoring = "monitoring",
        Paused = "paused",
        Stable = "stable",
        RolledBack = "rolled_back",
    }
}

names! {
    /// Where a rollout is (DESIGN.md §10); a promotion that led to it takes the same state.
    pub enum RolloutState {
        Monitoring = "monitoring",
        Paused = "paused",
        Stable = "stable",
        RolledBack = "rolled_back",
    }
}

names! {
    /// A run's status (DESIGN.md §4).
    pub enum RunStatus {
        Queued = "queued",
        Running = "running",
        Completed = "completed",
        Failed = "failed",
        TimedOut = "timed_out",
        BudgetExceeded = "budget_exceeded",
        Cancelled = "cancelled",
        Interrupted = "interrupted",
    }
}

names! {
    /// What a rollout's analysis measures (DESIGN.md §10).
    pub enum Metric {
        FailureRate = "failure_rate",
        CostRatio = "cost_ratio",
        LatencyRatio = "latency_ratio",
        Quality = "quality",
        ModelDrift = "model_drift",
    }
}

names! {
    /// An analysis's verdict, per metric and per interval.
    pub enum Verdict {
        Successful = "successful",
        Failed = "failed",
        Inconclusive = "inconclusive",
    }
}

/// What happens to a promotion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromotionEvent {
    /// The gates start (again, after a failure or an interrupted attempt).
    GatesStarted,
    /// The gates failed.
    GatesFailed,
    /// Every gate passed or was waived; `approval_required` by the env's policy.
    GatesPassed {
        approval_required: bool,
    },
    /// A person approved (again: a newer note).
    Approved,
    /// The version was deployed to the env.
    Deployed,
    /// The deploy opened a watch (a rollout with `monitor:`).
    Watched,
    /// Nothing watches this deploy, or the watch ended well, or a person promoted it.
    Settled,
    Paused,
    Resumed,
    /// The pointer went back (by the monitor or a person).
    RolledBack,
}

/// What happens to a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutEvent {
    Paused,
    Resumed,
    /// The window ended well, the inconclusive policy promoted it, or a person did.
    Promoted,
    /// A failed analysis, `--abort`, a rollback, or a deploy over an open canary.
    RolledBack,
}

/// What happens to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEvent {
    /// A slot freed: it starts.
    Started,
    /// It ended with this status (one of the ends).
    Ended(RunStatus),
    /// Its owner is gone (DESIGN.md §9).
    OwnerGone,
}

/// A transition the lifecycle does not allow: what was asked, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub from: &'static str,
    pub event: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not possible from `{}`", self.event, self.from)
    }
}

impl std::error::Error for Refused {}

fn refused(from: &'static str, event: impl fmt::Debug) -> Refused {
    Refused {
        from,
        event: format!("{event:?}"),
    }
}

impl PromotionState {
    /// The one place a promotion's next state is decided.
    pub fn next(self, event: PromotionEvent) -> Result<PromotionState, Refused> {
        use PromotionEvent as E;
        use PromotionState as S;
        let to = match (self, event) {
            (S::Created | S::GatesRunning | S::GatesFailed, E::GatesStarted) => S::GatesRunning,
            (S::GatesRunning, E::GatesFailed) => S::GatesFailed,
            // A waiver can clear the last failure of a failed run of the gates.
            (
                S::GatesRunning | S::GatesFailed,
                E::GatesPassed {
                    approval_required: true,
                },
            ) => S::AwaitingApproval,
            (
                S::GatesRunning | S::GatesFailed,
                E::GatesPassed {
                    approval_required: false,
                },
            ) => S::Approved,
            (S::AwaitingApproval | S::Approved, E::Approved) => S::Approved,
            (S::Approved, E::Deployed) => S::Deployed,
            (S::Deployed, E::Watched) => S::Monitoring,
            (S::Deployed | S::Monitoring | S::Paused, E::Settled) => S::Stable,
            (S::Monitoring, E::Paused) => S::Paused,
            (S::Paused, E::Resumed) => S::Monitoring,
            (S::Deployed | S::Monitoring | S::Paused | S::Stable, E::RolledBack) => S::RolledBack,
            (from, event) => return Err(refused(from.as_str(), event)),
        };
        Ok(to)
    }

    /// Whether the promotion is over (nothing moves it any more).
    pub fn is_final(self) -> bool {
        matches!(self, PromotionState::RolledBack)
    }
}

impl RolloutState {
    /// The one place a rollout's next state is decided.
    pub fn next(self, event: RolloutEvent) -> Result<RolloutState, Refused> {
        use RolloutEvent as E;
        use RolloutState as S;
        let to = match (self, event) {
            (S::Monitoring, E::Paused) => S::Paused,
            (S::Paused, E::Resumed) => S::Monitoring,
            (S::Monitoring | S::Paused, E::Promoted) => S::Stable,
            (S::Monitoring | S::Paused, E::RolledBack) => S::RolledBack,
            (from, event) => return Err(refused(from.as_str(), event)),
        };
        Ok(to)
    }

    /// Whether the rollout is still open (watched, or held).
    pub fn is_open(self) -> bool {
        matches!(self, RolloutState::Monitoring | RolloutState::Paused)
    }

    /// The promotion event that mirrors a rollout's.
    pub fn promotion_event(event: RolloutEvent) -> PromotionEvent {
        match event {
            RolloutEvent::Paused => PromotionEvent::Paused,
            RolloutEvent::Resumed => PromotionEvent::Resumed,
            RolloutEvent::Promoted => PromotionEvent::Settled,
            RolloutEvent::RolledBack => PromotionEvent::RolledBack,
        }
    }
}

impl RunStatus {
    /// The one place a run's next status is decided.
    pub fn next(self, event: RunEvent) -> Result<RunStatus, Refused> {
        use RunEvent as E;
        use RunStatus as S;
        let to = match (self, event) {
            (S::Queued, E::Started) => S::Running,
            // A queued run can be cancelled (a full queue, a drain) but not have run to an end.
            (S::Queued, E::Ended(S::Cancelled)) => S::Cancelled,
            (S::Running, E::Ended(end)) if end.is_end() && end != S::Interrupted => end,
            (S::Queued | S::Running, E::OwnerGone) => S::Interrupted,
            (from, event) => return Err(refused(from.as_str(), event)),
        };
        Ok(to)
    }

    /// Whether the run has ended.
    pub fn is_end(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }

    /// Whether the run counts as a failure for a rollout's failure rate (DESIGN.md §10).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            RunStatus::Failed
                | RunStatus::TimedOut
                | RunStatus::BudgetExceeded
                | RunStatus::Interrupted
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn promotion_events() -> Vec<PromotionEvent> {
        use PromotionEvent as E;
        vec![
            E::GatesStarted,
            E::GatesFailed,
            E::GatesPassed {
                approval_required: true,
            },
            E::GatesPassed {
                approval_required: false,
            },
            E::Approved,
            E::Deployed,
            E::Watched,
            E::Settled,
            E::Paused,
            E::Resumed,
            E::RolledBack,
        ]
    }

    /// Every (state, event) pair: the allowed ones listed, everything else refused.
    #[test]
    fn promotion_transition_table() {
        use PromotionEvent as E;
        use PromotionState as S;
        let need = |a: bool| E::GatesPassed {
            approval_required: a,
        };
        let allowed: Vec<(S, E, S)> = vec![
            (S::Created, E::GatesStarted, S::GatesRunning),
            (S::GatesRunning, E::GatesStarted, S::GatesRunning),
            (S::GatesFailed, E::GatesStarted, S::GatesRunning),
            (S::GatesRunning, E::GatesFailed, S::GatesFailed),
            (S::GatesRunning, need(true), S::AwaitingApproval),
            (S::GatesRunning, need(false), S::Approved),
            (S::GatesFailed, need(true), S::AwaitingApproval),
            (S::GatesFailed, need(false), S::Approved),
            (S::AwaitingApproval, E::Approved, S::Approved),
            (S::Approved, E::Approved, S::Approved),
            (S::Approved, E::Deployed, S::Deployed),
            (S::Deployed, E::Watched, S::Monitoring),
            (S::Deployed, E::Settled, S::Stable),
            (S::Monitoring, E::Settled, S::Stable),
            (S::Paused, E::Settled, S::Stable),
            (S::Monitoring, E::Paused, S::Paused),
            (S::Paused, E::Resumed, S::Monitoring),
            (S::Deployed, E::RolledBack, S::RolledBack),
            (S::Monitoring, E::RolledBack, S::RolledBack),
            (S::Paused, E::RolledBack, S::RolledBack),
            (S::Stable, E::RolledBack, S::RolledBack),
        ];
        let mut checked = 0;
        for &from in S::ALL {
            for event in promotion_events() {
                let want = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                match (from.next(event), want) {
                    (Ok(to), Some(w)) => assert_eq!(to, w, "{from} {event:?}"),
                    (Err(r), None) => {
                        assert_eq!(r.from, from.as_str());
                        assert!(r.to_string().contains("not possible"), "{r}");
                    }
                    (got, want) => panic!("{from} {event:?}: got {got:?}, want {want:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, S::ALL.len() * promotion_events().len());
    }

    #[test]
    fn rollout_transition_table() {
        use RolloutEvent as E;
        use RolloutState as S;
        let events = [E::Paused, E::Resumed, E::Promoted, E::RolledBack];
        let allowed = [
            (S::Monitoring, E::Paused, S::Paused),
            (S::Paused, E::Resumed, S::Monitoring),
            (S::Monitoring, E::Promoted, S::Stable),
            (S::Paused, E::Promoted, S::Stable),
            (S::Monitoring, E::RolledBack, S::RolledBack),
            (S::Paused, E::RolledBack, S::RolledBack),
        ];
        for &from in S::ALL {
            for event in events {
                let want = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                assert_eq!(from.next(event).ok(), want, "{from} {event:?}");
                // The promotion a rollout leads mirrors every allowed step.
                if let Some(to) = want {
                    let p = PromotionState::parse(from.as_str()).expect("shared name");
                    let mirrored = p.next(RolloutState::promotion_event(event));
                    assert_eq!(mirrored.map(|s| s.as_str()), Ok(to.as_str()));
                }
            }
        }
        assert!(S::Monitoring.is_open() && S::Paused.is_open());
        assert!(!S::Stable.is_open() && !S::RolledBack.is_open());
    }

    #[test]
    fn run_transition_table() {
        use RunEvent as E;
        use RunStatus as S;
        let mut events = vec![E::Started, E::OwnerGone];
        events.extend(S::ALL.iter().map(|&s| E::Ended(s)));
        for &from in S::ALL {
            for &event in &events {
                let want = match (from, event) {
                    (S::Queued, E::Started) => Some(S::Running),
                    (S::Queued, E::Ended(S::Cancelled)) => Some(S::Cancelled),
                    (S::Queued | S::Running, E::OwnerGone) => Some(S::Interrupted),
                    (
                        S::Running,
                        E::Ended(
                            end @ (S::Completed
                            | S::Failed
                            | S::TimedOut
                            | S::BudgetExceeded
                            | S::Cancelled),
                        ),
                    ) => Some(end),
                    _ => None,
                };
                assert_eq!(from.next(event).ok(), want, "{from} {event:?}");
            }
        }
    }

    #[test]
    fn names_round_trip_and_unknown_is_none() {
        for s in PromotionState::ALL {
            assert_eq!(PromotionState::parse(s.as_str()), Some(*s));
        }
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.as_str()), Some(*s));
            assert_eq!(serde_json::to_value(s).ok(), Some(s.as_str().into()));
        }
        assert_eq!(PromotionState::parse("Deployed"), None);
        assert_eq!(RunStatus::parse(""), None);
    }
}
