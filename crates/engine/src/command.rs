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

pub async fn run_command(
    spec: &CommandSpec,
    prompt: &str,
    secrets: &[(String, SecretValue)],
    timeout: Duration,
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
            c.arg(container).arg("sh").arg("-c").arg(&spec.command);
            c
        }
        Workspace::Ssh { host } => {
            let mut c = tokio::process::Command::new("ssh");
            c.arg("-o")
                .arg("BatchMode=yes")
                .arg(host)
                .arg(&spec.command);
            c
        }
    };
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

    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let prompt = prompt.to_string();
    let work = async move {
        if let Some(mut s) = stdin.take() {
            // A command that does not read its stdin is not an error.
            let _ = s.write_all(prompt.as_bytes()).await;
            drop(s);
        }
        let mut out = String::new();
        let mut err = String::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_string(&mut out).await;
        }
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_string(&mut err).await;
        }
        let status = child.wait().await;
        (status, out, err)
    };
    match tokio::time::timeout(timeout, work).await {
        Err(_) => Err(ProviderError {
            message: format!(
                "`{}` did not finish within {}s and was killed",
                spec.command,
                timeout.as_secs_f64()
            ),
            retryable: true,
            timed_out: true,
            retry_after: None,
        }),
        Ok((Err(e), _, _)) => Err(ProviderError::fatal(format!("`{}`: {e}", spec.command))),
        Ok((Ok(status), out, _)) if status.success() => Ok(out.trim_end().to_string()),
        Ok((Ok(status), _, err)) => {
            let tail: Vec<&str> = err
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Err(ProviderError::fatal(format!(
                "`{}` exited with {status}: {}",
                spec.command,
                tail.join(" | ")
            )))
        }
    }
}
