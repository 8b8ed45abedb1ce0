//! `encnet audit verify [--data-dir DIR | --database-url URL]`: offline check
//! of a node's audit chain;
//! `encnet audit show`: a network's entries through the node.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::cmd::client::{block_on, client, KeyArg, ProofArg};
use crate::cmd::network::{first_chain, owner_of};
use crate::error::CliError;

/// Audit log commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Print a network's audit entries (one JSON object a line) through the
    /// node; --verify checks every entry's hash and the links between
    /// consecutive entries.
    Show {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        proofs: ProofArg,
        /// The network id.
        network_id: String,
        /// Only entries after this sequence number.
        #[arg(long, value_name = "N", default_value_t = 0)]
        after: u64,
        /// Verify the entries served; a broken one is an error.
        #[arg(long)]
        verify: bool,
    },
    /// Recompute the hash chain of a node's data directory (offline) and name
    /// the first broken entry.
    Verify {
        /// The node's data directory.
        #[arg(long, value_name = "DIR", default_value = "./encnet-data")]
        data_dir: PathBuf,
        /// The node's database instead (sqlite://PATH or postgres://…).
        #[arg(
            long,
            value_name = "URL",
            env = "ENCNET_DATABASE_URL",
            hide_env_values = true
        )]
        database_url: Option<String>,
    },
}

pub(crate) fn run(cmd: AuditCommand, node: &str) -> Result<ExitCode, CliError> {
    match cmd {
        AuditCommand::Show {
            key,
            proofs,
            network_id,
            after,
            verify,
        } => {
            let client = client(node)?;
            let (signer, chain) = (key.load()?, first_chain(proofs.load()?));
            let owner = owner_of(&network_id)?;
            let page = block_on(client.audit(&signer, &owner, &network_id, after, &chain))??;
            for record in &page.entries {
                let line =
                    serde_json::to_string(record).map_err(|e| CliError::Usage(e.to_string()))?;
                println!("{line}");
            }
            if verify {
                let checked = encnet_client::audit::verify_page(&page.entries)
                    .map_err(CliError::AuditPage)?;
                eprintln!("audit entries ok: {checked} checked");
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify {
            data_dir,
            database_url,
        } => verify(&data_dir, database_url.as_deref()),
    }
}

fn verify(data_dir: &std::path::Path, database_url: Option<&str>) -> Result<ExitCode, CliError> {
    if database_url.is_none() && !data_dir.join("encnet.db").exists() {
        return Err(CliError::Usage(format!(
            "{} holds no encnet.db",
            data_dir.display()
        )));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    match runtime.block_on(encnet_node::verify_database(database_url, data_dir))? {
        Ok(report) => {
            println!("audit chain ok: {} entries", report.entries);
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => Err(CliError::AuditBroken(broken)),
    }
}
