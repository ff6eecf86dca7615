//! The infra gate: provider endpoints and data hosts reachable, output and log folders
//! writable, the workspace type available, disk and memory above minimums. The machine is
//! reached through [`Probe`], so the evaluation is tested without the network.

use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::report::{evidence, GateReport};

pub trait Probe {
    /// Open a TCP connection to host:port within a short timeout.
    fn connect(&self, host: &str, port: u16) -> Result<(), String>;
    /// Create and remove a file in `dir`.
    fn writable(&self, dir: &Path) -> Result<(), String>;
    /// Run a command and say whether it succeeded (`docker info`, `ssh … true`).
    fn command_ok(&self, program: &str, args: &[&str]) -> Result<(), String>;
    fn disk_free_bytes(&self, dir: &Path) -> Option<u64>;
    fn memory_available_bytes(&self) -> Option<u64>;
}

pub struct Targets {
    /// (what, host, port): provider endpoints and `data:` hosts.
    pub endpoints: Vec<(String, String, u16)>,
    /// Folders runs write to: outputs and logs.
    pub output_dir: PathBuf,
    pub log_dir: PathBuf,
    /// Workspace types the chain's command agents need: ("docker", container) or ("ssh", host).
    pub workspaces: Vec<(String, String)>,
}

pub const MIN_DISK: u64 = 1 << 30;
/// How long one probe command may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
pub const MIN_MEMORY: u64 = 256 << 20;

pub fn evaluate(targets: &Targets, probe: &dyn Probe) -> GateReport {
    let mut ev = Vec::new();
    for (what, host, port) in &targets.endpoints {
        let r = probe.connect(host, *port);
        ev.push(evidence(
            &format!("{what} reachable"),
            r.is_ok(),
            r.err().unwrap_or_else(|| format!("{host}:{port} answered")),
            Some("network-access"),
        ));
    }
    if targets.endpoints.is_empty() {
        ev.push(evidence(
            "network access",
            true,
            "no endpoints to reach (replayed from a cassette)",
            Some("network-access"),
        ));
    }
    let r = probe.writable(&targets.output_dir);
    ev.push(evidence(
        "output folder writable",
        r.is_ok(),
        r.err()
            .unwrap_or_else(|| targets.output_dir.display().to_string()),
        Some("file-permissions"),
    ));
    let r = probe.writable(&targets.log_dir);
    ev.push(evidence(
        "run logs and events collected",
        r.is_ok(),
        r.err()
            .unwrap_or_else(|| format!("events and run.log under {}", targets.log_dir.display())),
        Some("log-collection"),
    ));
    for (kind, target) in &targets.workspaces {
        let r = match kind.as_str() {
            "docker" => {
                // `--` ends the options: a target like `-oProxyCommand=…` is only a name.
                probe.command_ok(
                    "docker",
                    &["inspect", "-f", "{{.State.Running}}", "--", target],
                )
            }
            "ssh" => probe.command_ok(
                "ssh",
                &[
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "ConnectTimeout=5",
                    "--",
                    target,
                    "true",
                ],
            ),
            _ => Ok(()),
        };
        ev.push(evidence(
            &format!("{kind} workspace {target} available"),
            r.is_ok(),
            r.err().unwrap_or_else(|| "available".into()),
            Some("workspace-available"),
        ));
    }
    if targets.workspaces.is_empty() {
        ev.push(evidence(
            "workspace available",
            true,
            "local workspace",
            Some("workspace-available"),
        ));
    }
    let disk = probe.disk_free_bytes(&targets.output_dir);
    let mem = probe.memory_available_bytes();
    let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
    ev.push(evidence(
        "disk space",
        disk.is_some_and(|d| d >= MIN_DISK),
        disk.map(|d| format!("{:.1} GiB free (minimum {:.0} GiB)", gib(d), gib(MIN_DISK)))
            .unwrap_or_else(|| "unknown".into()),
        Some("compute-resources"),
    ));
    ev.push(evidence(
        "memory",
        mem.is_some_and(|m| m >= MIN_MEMORY),
        mem.map(|m| format!("{:.1} GiB available (minimum 0.25 GiB)", gib(m)))
            .unwrap_or_else(|| "unknown".into()),
        Some("compute-resources"),
    ));
    GateReport::from_evidence(
        "infra",
        ev,
        "endpoints reachable, folders writable, workspace available, disk and memory sufficient"
            .into(),
        |f| {
            f.iter()
                .map(|e| format!("{}: {}", e.check, e.detail))
                .collect::<Vec<_>>()
                .join(" · ")
        },
    )
}

/// The real machine.
pub struct SystemProbe;

impl Probe for SystemProbe {
    fn connect(&self, host: &str, port: u16) -> Result<(), String> {
        let addrs: Vec<_> = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("{host}:{port}: cannot resolve ({e})"))?
            .collect();
        let mut last = format!("{host}:{port}: no address");
        for addr in addrs {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("{host}:{port}: {e}"),
            }
        }
        Err(last)
    }

    fn writable(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let probe = dir.join(".chainlift-write-check");
        std::fs::write(&probe, b"ok").map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::remove_file(&probe).map_err(|e| format!("{}: {e}", dir.display()))
    }

    fn command_ok(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let mut child = std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("`{program}` is not available: {e}"))?;
        // A hung daemon (`docker inspect`) must not hang the gate: wait at most PROBE_TIMEOUT.
        let deadline = std::time::Instant::now() + PROBE_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "`{program}` did not answer within {}s",
                        PROBE_TIMEOUT.as_secs()
                    ));
                }
                Err(e) => return Err(format!("`{program}`: {e}")),
            }
        };
        if status.success() {
            return Ok(());
        }
        let mut err = String::new();
        if let Some(s) = child.stderr.take() {
            use std::io::Read;
            let _ = s.take(4096).read_to_string(&mut err);
        }
        Err(format!(
            "`{program}` failed: {}",
            err.lines().next().unwrap_or("")
        ))
    }

    fn disk_free_bytes(&self, dir: &Path) -> Option<u64> {
        #[cfg(unix)]
        {
            let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
            let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
            // SAFETY: statvfs writes into the struct we pass for a NUL-terminated path.
            let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
            if rc != 0 {
                return None;
            }
            // SAFETY: statvfs returned 0, so it filled the struct.
            let st = unsafe { st.assume_init() };
            // The field types differ between platforms (u32 on some, u64 here).
            #[allow(clippy::unnecessary_cast)]
            Some(st.f_bavail as u64 * st.f_frsize as u64)
        }
        #[cfg(not(unix))]
        {
            let _ = dir;
            None
        }
    }

    fn memory_available_bytes(&self) -> Option<u64> {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kib: u64 = info
            .lines()
            .find(|l| l.starts_with("MemAvailable:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kib * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        down: &'static str,
    }

    impl Probe for Fake {
        fn connect(&self, host: &str, port: u16) -> Result<(), String> {
            if host == self.down {
                Err(format!("{host}:{port}: connection refused"))
            } else {
                Ok(())
            }
        }
        fn writable(&self, _: &Path) -> Result<(), String> {
            Ok(())
        }
        fn command_ok(&self, _: &str, _: &[&str]) -> Result<(), String> {
            Err("`docker` is not available".into())
        }
        fn disk_free_bytes(&self, _: &Path) -> Option<u64> {
            Some(10 << 30)
        }
        fn memory_available_bytes(&self) -> Option<u64> {
            Some(4 << 30)
        }
    }

    #[test]
    fn unreachable_hosts_and_missing_docker_fail_by_name() {
        let targets = Targets {
            endpoints: vec![
                ("provider api.example".into(), "api.example".into(), 443),
                ("data customers_db".into(), "prod-db".into(), 5432),
            ],
            output_dir: PathBuf::from("/tmp"),
            log_dir: PathBuf::from("/tmp"),
            workspaces: vec![("docker".into(), "triage".into())],
        };
        let r = evaluate(&targets, &Fake { down: "prod-db" });
        assert_eq!(r.status, crate::GateStatus::Failed);
        assert!(
            r.summary.contains("prod-db:5432: connection refused") && r.summary.contains("docker"),
            "{}",
            r.summary
        );
        let ok = evaluate(
            &Targets {
                workspaces: vec![],
                ..targets
            },
            &Fake { down: "nowhere" },
        );
        assert_eq!(ok.status, crate::GateStatus::Passed, "{ok:?}");
    }

    #[test]
    fn the_real_probe_reads_this_machine() {
        let p = SystemProbe;
        let tmp = tempfile::tempdir().expect("temp dir");
        assert!(p.writable(tmp.path()).is_ok());
        assert!(p.disk_free_bytes(tmp.path()).is_some_and(|d| d > 0));
        assert!(p.memory_available_bytes().is_some_and(|m| m > 0));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        assert!(p.connect("127.0.0.1", port).is_ok());
    }
}
