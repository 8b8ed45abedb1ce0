//! Command-line grammar (DESIGN §5). Parsing only; behaviour lives in `cmd`.

use clap::{Parser, Subcommand};

/// encnet: key custody for end-to-end encrypted application data.
#[derive(Debug, Parser)]
#[command(name = "encnet", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a node.
    Serve(crate::cmd::serve::ServeArgs),
    /// Audit log tools.
    #[command(subcommand)]
    Audit(crate::cmd::audit::AuditCommand),
    /// Inspect and validate UCAN tokens and containers.
    #[command(subcommand)]
    Ucan(crate::cmd::ucan::UcanCommand),
}
