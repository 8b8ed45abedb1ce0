//! `encnet ucan inspect|validate` (placeholder, filled by the UCAN work).

use std::process::ExitCode;

use clap::Subcommand;

use crate::error::CliError;

/// UCAN debugging commands.
#[derive(Debug, Subcommand)]
pub(crate) enum UcanCommand {
    /// Print every token of a container or token file as JSON.
    Inspect {
        /// Container or token file.
        file: std::path::PathBuf,
    },
}

pub(crate) fn run(cmd: UcanCommand) -> Result<ExitCode, CliError> {
    match cmd {
        UcanCommand::Inspect { file } => Err(CliError::Usage(format!(
            "not implemented yet: {}",
            file.display()
        ))),
    }
}
