//! CLI errors: one line naming the problem, optionally a hint line (as rage).

use std::fmt;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The command line or an input file is not usable.
    #[error("{0}")]
    Usage(String),
    /// The node failed to start or stopped with an error.
    #[error("{0}")]
    Node(encnet_node::NodeError),
    /// The configuration is invalid.
    #[error("{0}")]
    Config(encnet_node::config::ConfigError),
    /// The listen address is unavailable.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
    /// `audit verify` found a broken link.
    #[error("{0}")]
    AuditBroken(encnet_node::ChainBreak),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl From<encnet_node::NodeError> for CliError {
    fn from(err: encnet_node::NodeError) -> Self {
        Self::Node(err)
    }
}

impl From<encnet_node::config::ConfigError> for CliError {
    fn from(err: encnet_node::config::ConfigError) -> Self {
        Self::Config(err)
    }
}

impl CliError {
    /// Prints `error: …` (and a hint line where one helps) to stderr.
    pub(crate) fn report(&self) {
        eprintln!("error: {self}");
        if let Some(hint) = self.hint() {
            eprintln!("hint: {hint}");
        }
    }

    fn hint(&self) -> Option<impl fmt::Display + '_> {
        match self {
            Self::Io { .. } => Some("check the path and its permissions"),
            Self::Bind { .. } => Some("is another node running? choose another --listen address"),
            Self::AuditBroken(_) => {
                Some("the audit table was edited or corrupted after that entry was written")
            }
            Self::Usage(_) | Self::Node(_) | Self::Config(_) | Self::Runtime(_) => None,
        }
    }
}
