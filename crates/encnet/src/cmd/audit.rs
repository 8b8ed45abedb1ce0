//! `encnet audit verify --data-dir DIR`: offline check of a node's audit chain.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::error::CliError;

/// Audit log commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Recompute the hash chain of a node's data directory (offline) and name
    /// the first broken entry.
    Verify {
        /// The node's data directory.
        #[arg(long, value_name = "DIR", default_value = "./encnet-data")]
        data_dir: PathBuf,
    },
}

pub(crate) fn run(cmd: AuditCommand) -> Result<ExitCode, CliError> {
    match cmd {
        AuditCommand::Verify { data_dir } => verify(&data_dir),
    }
}

fn verify(data_dir: &std::path::Path) -> Result<ExitCode, CliError> {
    if !data_dir.join("encnet.db").exists() {
        return Err(CliError::Usage(format!(
            "{} holds no encnet.db",
            data_dir.display()
        )));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    match runtime.block_on(encnet_node::verify_data_dir(data_dir))? {
        Ok(report) => {
            println!("audit chain ok: {} entries", report.entries);
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => Err(CliError::AuditBroken(broken)),
    }
}
