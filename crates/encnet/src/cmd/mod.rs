//! One module per command family; each exposes `run`.

pub(crate) mod audit;
pub(crate) mod serve;
pub(crate) mod ucan;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::error::CliError;

/// Dispatches a parsed command line.
pub(crate) fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Ucan(cmd) => ucan::run(cmd),
    }
}
