//! Command-line grammar (DESIGN §5). Parsing only; behaviour lives in `cmd`.

use clap::{Parser, Subcommand};

/// encnet: key custody for end-to-end encrypted application data.
#[derive(Debug, Parser)]
#[command(name = "encnet", version, about, propagate_version = true, after_help = EXIT_STATUS)]
pub(crate) struct Cli {
    /// The node's URL, for client commands.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "ENCNET_NODE",
        default_value = "http://127.0.0.1:8700"
    )]
    pub(crate) node: String,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Exit status, documented in `encnet --help` and the README.
const EXIT_STATUS: &str = "Exit status: 0 success; 1 failure (one `error:` line on stderr, \
sometimes a `hint:` line); 2 usage error (bad flags or arguments).";

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a node.
    Serve(crate::cmd::serve::ServeArgs),
    /// Identities: Ed25519 key files and their did:key.
    #[command(subcommand)]
    Id(crate::cmd::id::IdCommand),
    /// Create, show and administer encryption networks.
    #[command(subcommand)]
    Network(crate::cmd::network::NetworkCommand),
    /// Encrypt locally to a network's public key; writes an envelope (JSON).
    Encrypt(crate::cmd::encrypt::EncryptArgs),
    /// Decrypt an envelope through the node (capability-gated, verified).
    Decrypt(crate::cmd::decrypt::DecryptArgs),
    /// Delegate decrypt (or an administrative command) on a network to a DID.
    Delegate(crate::cmd::delegate::DelegateArgs),
    /// Revoke the last delegation of a delegation file.
    RevokeDelegation(crate::cmd::delegate::RevokeArgs),
    /// Audit log: a network's entries via the node, or a data dir offline.
    #[command(subcommand)]
    Audit(crate::cmd::audit::AuditCommand),
    /// Inspect and validate UCAN tokens and containers.
    #[command(subcommand)]
    Ucan(crate::cmd::ucan::UcanCommand),
}
