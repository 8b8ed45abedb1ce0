//! CLI errors: one line naming the problem, optionally a hint line (as rage).

use std::fmt;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The command line or an input file is not usable.
    #[error("{0}")]
    Usage(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
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
            Self::Usage(_) => None,
        }
    }
}
