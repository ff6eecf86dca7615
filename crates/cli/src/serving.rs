//! `chainlift serve`: logging, signals, and the server of `chainlift-serve`.

use std::path::PathBuf;
use std::sync::Arc;

use chainlift_api::{ApiError, Chainlift, ErrorCode};

use crate::args::{LogFormat, ServeOpts};

/// Logs through `tracing`: `CHAINLIFT_LOG` filters (RUST_LOG syntax, default `info`), text or
/// JSON lines on stderr.
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CHAINLIFT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// SIGTERM or Ctrl-C.
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

pub(crate) async fn serve(
    app: Chainlift,
    project: &Option<PathBuf>,
    opts: ServeOpts,
) -> chainlift_api::Result<u8> {
    init_logs(opts.log_format);
    let drain = chainlift_model::resolve::parse_duration(&opts.drain).ok_or_else(|| {
        ApiError::new(
            ErrorCode::BadInput,
            format!("--drain {}: give a duration like 30s or 2m", opts.drain),
        )
    })?;
    let cfg = chainlift_serve::ServeConfig {
        at: crate::commands::at(project, None)?,
        envs: opts.envs,
        listen: opts.listen,
        drain,
        max_body: opts.max_body,
        queue: opts.queue,
    };
    let server = chainlift_serve::prepare(Arc::new(app), cfg).await?;
    if !server.open.is_empty() {
        eprintln!(
            "no serve token for {}: listening on loopback only, asking for no credentials (`chainlift serve token set --env ENV` to require one)",
            server.open.join(", ")
        );
    }
    // The address on stdout, so a script (or a test) listening on port 0 learns the port.
    println!(
        "listening on http://{} for {}",
        server.local,
        server.envs().join(", ")
    );
    tracing::info!(addr = %server.local, envs = ?server.envs(), "serving");
    server.run(shutdown()).await?;
    tracing::info!("stopped");
    Ok(0)
}
