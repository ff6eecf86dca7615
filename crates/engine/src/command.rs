//! Command agents: a CLI agent (`claude -p`, a script…) run with the rendered prompt on stdin
//! and its stdout as the output, in a local folder, a Docker container or over SSH.
//!
//! The child runs in its own process group, and a timeout or a cancelled run kills the whole
//! group, so an agent's own children never outlive the run.

use std::process::Stdio;
use std::time::Duration;

use chainlift_model::resolve::{CommandSpec, Workspace};
use chainlift_model::secret::SecretValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::provider::ProviderError;

/// Kills the child's process group when dropped (timeout, cancel, or a finished run).
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0 {
            // SAFETY: kill(2) with a negative pid signals the process group we created for the
            // child (process_group(0) made its pid the group id); it touches no memory of ours.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
            }
        }
    }
}

/// Variables a command agent inherits from Chainlift's own environment; everything else is
/// cleared (DESIGN.md §2), and the chain's declared secrets are added.
const INHERITED: &[&str] = &["PATH", "HOME", "LANG"];

pub async fn run_command(
    spec: &CommandSpec,
    prompt: &str,
    secrets: &[(String, SecretValue)],
    timeout: Duration,
    output_bytes: u64,
) -> Result<String, ProviderError> {
    let mut cmd = match &spec.workspace {
        Workspace::Local { dir } => {
            std::fs::create_dir_all(dir)
                .map_err(|e| ProviderError::fatal(format!("workspace {}: {e}", dir.display())))?;
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(&spec.command).current_dir(dir);
            c
        }
        Workspace::Docker { container } => {
            let mut c = tokio::process::Command::new("docker");
            c.arg("exec").arg("-i");
            for (name, _) in secrets {
                c.arg("-e").arg(name); // the value comes from our environment, never argv
            }
            // `--` ends docker's options: a container named `-…` is not one of them.
            c.arg("--")
                .arg(container)
                .arg("sh")
                .arg("-c")
                .arg(&spec.command);
            c
        }
        Workspace::Ssh { host } => {
            let mut c = tokio::process::Command::new("ssh");
            c.arg("-o")
                .arg("BatchMode=yes")
                .arg("--")
                .arg(host)
                .arg(&spec.command);
            c
        }
    };
    cmd.env_clear();
    for name in INHERITED {
        if let Some(v) = std::env::var_os(name) {
            cmd.env(name, v);
        }
    }
    for (name, value) in secrets {
        cmd.env(name, value.expose());
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| ProviderError::fatal(format!("could not start `{}`: {e}", spec.command)))?;
    let _guard = GroupGuard(child.id());

    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let prompt = prompt.as_bytes().to_vec();
    // Feed stdin and drain both pipes at once: a child that writes before it has read its
    // whole input (or fills stderr) would otherwise deadlock against us.
    let work = async move {
        let feed = async move {
            if let Some(mut s) = stdin {
                // A command that does not read its stdin is not an error.
                let _ = s.write_all(&prompt).await;
            }
        };
        let (_, out, err) = tokio::join!(
            feed,
            read_capped(stdout, output_bytes),
            read_capped(stderr, output_bytes)
        );
        let status = child.wait().await;
        (status, out, err)
    };
    let (status, out, err) = match tokio::time::timeout(timeout, work).await {
        Err(_) => {
            return Err(ProviderError {
                message: format!(
                    "`{}` did not finish within {}s and was killed",
                    spec.command,
                    timeout.as_secs_f64()
                ),
                retryable: true,
                timed_out: true,
                retry_after: None,
            })
        }
        Ok(r) => r,
    };
    let status = status.map_err(|e| ProviderError::fatal(format!("`{}`: {e}", spec.command)))?;
    let (out, out_overflow) = out;
    let (err, _) = err;
    if out_overflow {
        return Err(ProviderError::fatal(format!(
            "`{}` printed more than limits.output_bytes ({output_bytes} bytes) and was stopped; raise the limit or make the command print less",
            spec.command
        )));
    }
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        let tail: Vec<&str> = err
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(ProviderError::fatal(format!(
            "`{}` exited with {status}: {}",
            spec.command,
            tail.join(" | ")
        )));
    }
    let text = String::from_utf8(out).map_err(|e| {
        ProviderError::fatal(format!(
            "`{}` printed output that is not UTF-8 (first bad byte at offset {}); make it print text",
            spec.command,
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok(text.trim_end().to_string())
}

/// Read a pipe to its end, keeping at most `cap` bytes; `true` when there was more. Reading
/// stops at the cap (dropping the pipe), so a runaway child cannot fill our memory.
async fn read_capped<R: tokio::io::AsyncRead + Unpin>(
    pipe: Option<R>,
    cap: u64,
) -> (Vec<u8>, bool) {
    let Some(pipe) = pipe else {
        return (Vec::new(), false);
    };
    let mut buf = Vec::new();
    let mut limited = pipe.take(cap + 1);
    let _ = limited.read_to_end(&mut buf).await;
    if buf.len() as u64 > cap {
        buf.truncate(cap as usize);
        return (buf, true);
    }
    (buf, false)
}
