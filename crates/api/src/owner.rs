//! Who owns a live run, and ending the runs of owners that are gone (DESIGN.md §9): a process
//! of this host that no longer exists is gone at once; any other owner when its heartbeat is
//! older than [`STALE_AFTER`]. The CLI, the app and serve all sweep when they open the data
//! folder, so a run killed with SIGKILL never stays `running`.

use std::time::Duration;

use chainlift_store::runs::{self as table, Owner};

use crate::{Chainlift, Result};

pub(crate) const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(30);

/// This machine's name, as the owner of the runs it starts.
pub fn host_name() -> String {
    // Read once: the owner a process records must stay the same for its whole life.
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(read_host_name).clone()
}

fn read_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

pub(crate) fn this_process() -> Owner {
    Owner {
        host: host_name(),
        pid: std::process::id(),
    }
}

/// Whether a process of this host is alive; `None` where that cannot be known (then the
/// heartbeat decides).
fn process_alive(pid: i64) -> Option<bool> {
    if cfg!(target_os = "linux") {
        Some(std::path::Path::new("/proc").join(pid.to_string()).exists())
    } else {
        None
    }
}

impl Chainlift {
    /// End every `queued` or `running` run whose owner is gone as `interrupted`; the ids ended.
    pub async fn interrupt_orphans(&self) -> Result<Vec<String>> {
        let now = self.clock.now();
        let here = host_name();
        let me = std::process::id();
        // A time after `now` is fresh, not broken: another process may write its heartbeat
        // after this sweep read the clock (it then looked "stale" and a live run was ended).
        let age = |at: Option<&str>| {
            at.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| {
                    (now - t.with_timezone(&chrono::Utc))
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                })
        };
        // No heartbeat, or one that does not parse, is stale: a broken value is not "alive".
        let stale = |at: Option<&str>| age(at).is_none_or(|a| a > STALE_AFTER);
        let mut ended = Vec::new();
        for run in table::live(&self.pool).await? {
            let why = match (&run.owner_host, run.owner_pid) {
                (Some(host), Some(pid)) if *host == here && pid == i64::from(me) => continue,
                (Some(host), Some(pid)) if *host == here && process_alive(pid) == Some(false) => {
                    format!("interrupted: its process ({pid} on {host}) is gone")
                }
                (Some(host), Some(pid)) if stale(run.heartbeat_at.as_deref()) => format!(
                    "interrupted: its process ({pid} on {host}) sent no heartbeat for over {}s",
                    STALE_AFTER.as_secs()
                ),
                // Runs from before owners were recorded: gone once they started a day ago.
                (None, _) | (_, None)
                    if age(Some(&run.started_at)).is_some_and(|a| a.as_secs() >= 86_400) =>
                {
                    "interrupted: its process was not recorded and it started over a day ago".into()
                }
                _ => continue,
            };
            if table::interrupt(&self.pool, &run.id, &now.to_rfc3339(), &why).await? {
                ended.push(run.id);
            }
        }
        Ok(ended)
    }
}
