//! CLI errors: one line naming the problem, optionally a hint line (as rage).

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The command line or an input file is not usable.
    #[error("{0}")]
    Usage(String),
    /// The node failed to start or stopped with an error (with its causes:
    /// "database: I/O: permission denied").
    #[error("{}", with_sources(.0))]
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
    /// A call to the node failed.
    #[error("{}", client_message(.0))]
    Client(encnet_client::ClientError),
    /// An identity file that others may read.
    #[error("{path} is readable by group or others (mode {mode:o})")]
    KeyExposed {
        /// The identity file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// `audit show --verify` found an entry that does not hold.
    #[error("{0}")]
    AuditPage(encnet_client::audit::AuditBreak),
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

impl From<encnet_client::ClientError> for CliError {
    fn from(err: encnet_client::ClientError) -> Self {
        Self::Client(err)
    }
}

/// One line naming the problem; the node's `code` when it refused.
fn client_message(err: &encnet_client::ClientError) -> String {
    use encnet_client::ClientError;
    match err {
        ClientError::Node {
            status,
            code,
            detail,
        } => {
            let detail = detail.as_deref().map(|d| format!(": {d}"));
            format!(
                "the node refused: {code} ({status}){}",
                detail.unwrap_or_default()
            )
        }
        ClientError::Verification(what) => {
            format!("the node's answer failed verification, nothing was decrypted: {what}")
        }
        other => other.to_string(),
    }
}

/// What to do about a node error, by its code.
fn client_hint(err: &encnet_client::ClientError) -> Option<&'static str> {
    use encnet_client::ClientError;
    use encnet_core::api::ErrorCode;
    match err {
        ClientError::Unreachable { .. } => {
            Some("start a node with `encnet serve`, or pass --node URL (or set ENCNET_NODE)")
        }
        ClientError::Verification(_) => {
            Some("the answer was not made by the node addressed for this request; do not trust this node or the path to it")
        }
        ClientError::Attestation(_) => Some(
            "the owner attests a new key with `encnet network attest`; --allow-unattested \
             skips this check (only for networks made before attestations)",
        ),
        ClientError::Node { code, .. } => match code {
            ErrorCode::PolicyDenied
            | ErrorCode::BrokenChain
            | ErrorCode::SubjectMismatch
            | ErrorCode::CommandWidened => {
                Some("ask the network owner for a delegation (encnet delegate) and pass it with --proof")
            }
            ErrorCode::DelegationRevoked => Some("the delegation was revoked; ask its issuer for a new one"),
            ErrorCode::Expired => Some("a delegation has expired; ask its issuer for a new one"),
            ErrorCode::NetworkNotFound => Some("check the network id (encnet network show) and --node"),
            ErrorCode::NetworkRevoked => Some("the owner can undo this with `encnet network restore`"),
            _ => None,
        },
        _ => None,
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

    fn hint(&self) -> Option<String> {
        let hint = match self {
            Self::Io { .. } => Some("check the path and its permissions"),
            Self::Bind { .. } => Some("is another node running? choose another --listen address"),
            Self::AuditBroken(_) => {
                Some("the audit table was edited or corrupted after that entry was written")
            }
            Self::Client(err) => client_hint(err),
            Self::KeyExposed { path, .. } => return Some(format!("run `chmod 600 {path}`")),
            Self::AuditPage(_) => Some("the node served an audit entry that was altered"),
            Self::Usage(_) | Self::Node(_) | Self::Config(_) | Self::Runtime(_) => None,
        };
        hint.map(str::to_owned)
    }
}

/// `err` and each of its sources, joined by ": ", on one line.
fn with_sources(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}
