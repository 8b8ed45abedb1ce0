//! One module per command family; each exposes `run`.

pub(crate) mod audit;
mod client;
pub(crate) mod decrypt;
pub(crate) mod delegate;
pub(crate) mod encrypt;
pub(crate) mod id;
pub(crate) mod network;
pub(crate) mod serve;
pub(crate) mod ucan;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::error::CliError;

/// Dispatches a parsed command line.
pub(crate) fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Audit(cmd) => audit::run(cmd, &cli.node),
        Command::Id(cmd) => id::run(cmd),
        Command::Network(cmd) => network::run(cmd, &cli.node),
        Command::Encrypt(args) => encrypt::run(args, &cli.node),
        Command::Decrypt(args) => decrypt::run(args, &cli.node),
        Command::Delegate(args) => delegate::run(args),
        Command::RevokeDelegation(args) => delegate::revoke(args, &cli.node),
        Command::Ucan(cmd) => ucan::run(cmd),
    }
}
