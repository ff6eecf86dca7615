//! `chainlift`: the command line over `chainlift-api`. Each command parses its arguments, calls
//! one use case and prints the result as text or as the same JSON the app's DTOs use.

mod args;
mod commands;
mod db;
mod render;
mod serving;

use std::process::ExitCode;

use chainlift_api::{ApiError, ErrorCode};
use clap::Parser;

use crate::args::Cli;
use crate::render::fail;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                cli.format,
                &ApiError::new(ErrorCode::Internal, format!("cannot start: {e}")),
            )
        }
    };
    let format = cli.format;
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(format, &e),
    }
}
