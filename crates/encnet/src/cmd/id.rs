//! `encnet id new|show`: Ed25519 identities in a file (format in `client`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use encnet_ucan::Ed25519Signer;

use crate::cmd::client::{identity_text, load_identity, write_output, write_private};
use crate::error::CliError;

/// Identity commands.
#[derive(Debug, Subcommand)]
pub(crate) enum IdCommand {
    /// Make a new Ed25519 identity. With --out, write it to a new file
    /// (mode 0600, never overwritten) and print its did:key; without,
    /// write the identity itself to standard output.
    New {
        /// The identity file to create.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print the did:key of an identity file.
    Show {
        /// The identity file (`-` or absent: standard input).
        #[arg(long, value_name = "FILE", default_value = "-")]
        key: PathBuf,
    },
}

pub(crate) fn run(cmd: IdCommand) -> Result<ExitCode, CliError> {
    match cmd {
        IdCommand::New { out } => {
            let signer = Ed25519Signer::generate();
            let text = identity_text(&signer);
            match out {
                Some(path) => {
                    if path.exists() {
                        return Err(CliError::Usage(format!(
                            "{} already exists; an identity file is never overwritten",
                            path.display()
                        )));
                    }
                    write_private(&path, text.as_bytes())?;
                    println!("{}", signer.did());
                }
                None => write_output(None, text.as_bytes())?,
            }
        }
        IdCommand::Show { key } => println!("{}", load_identity(&key)?.did()),
    }
    Ok(ExitCode::SUCCESS)
}
