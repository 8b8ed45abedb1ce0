//! Errors of `encnet-bench`: one `error:` line, and a `hint:` line where
//! one helps (as the `encnet` CLI).

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The command line or an input file is not usable.
    #[error("{0}")]
    Usage(String),
    /// The async runtime could not start, or a probe thread failed.
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
    /// A call to the node failed.
    #[error("{0}")]
    Client(#[from] encnet_client::ClientError),
    /// The data directory could not be opened or written (`seed`).
    #[error("{0}")]
    Node(#[from] encnet_node::NodeError),
    /// The in-process floor could not be set up or run.
    #[error("{0}")]
    Floor(#[from] encnet_node::lab::FloorError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// Prints `error: …` (and a hint line where one helps) to stderr.
    pub(crate) fn report(&self) {
        eprintln!("error: {self}");
        if let Some(hint) = self.hint() {
            eprintln!("hint: {hint}");
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Client(encnet_client::ClientError::Unreachable { .. }) => {
                Some("start a node with `encnet serve`, or pass --node URL (or set ENCNET_NODE)")
            }
            Self::Io { .. } => Some("check the path and its permissions"),
            _ => None,
        }
    }
}
