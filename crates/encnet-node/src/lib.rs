//! encnet-node: the key-custody server.
//!
//! Start with [`Server::open`] (load the root key, open the store) and
//! [`Server::serve`] (answer HTTP until a shutdown signal); [`serve`] does
//! both. Data flows one way: `http` → `service` → `store` / `backend`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod audit;
mod backend;
mod clock;
pub mod config;
mod http;
#[cfg(feature = "lab")]
pub mod lab;
mod report;
// Compiled without `lab` too, so a change to the store breaks it at once.
#[cfg_attr(not(feature = "lab"), allow(dead_code, unreachable_pub))]
mod seed;
mod service;
mod store;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use encnet_core::root_key::RootKey;
use encnet_ucan::Ed25519Signer;
use tokio::net::TcpListener;

pub use audit::{
    export_checkpoint, verify_audit_chain, verify_data_dir, verify_database, verify_database_with,
    AuditReport, ChainBreak, CheckpointSigner, VerifyOptions,
};
pub use config::{Config, LogFormat};
pub use http::HttpLimits;

use backend::LocalBackend;
use service::Node;
use store::{Location, Store};

/// How often expired nonces are purged.
const NONCE_PURGE_INTERVAL: Duration = Duration::from_secs(30);

/// Why the node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The data directory (root key, database) is open to group or others.
    #[error(
        "data directory {path} is accessible by group or others (mode {mode:03o}); run: chmod 700 {path}",
        path = .path.display()
    )]
    DataDirExposed {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The SQLite database file could not be created private.
    #[error("cannot create database file {}: {source}", .path.display())]
    DatabaseFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The root key could not be loaded or created.
    #[error("root key: {0}")]
    RootKey(#[from] encnet_core::error::RootKeyError),
    /// The audit chain no longer reaches its latest signed checkpoint, or
    /// has another hash there.
    #[error(
        "{0}; refusing to start on it: restore the database from a backup \
         taken after that checkpoint, and check it with `encnet audit verify`"
    )]
    AuditTruncated(encnet_core::audit::AuditError),
    /// The database could not be opened or migrated.
    #[error("database")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Seeding could not make a network (`encnet seed`).
    #[error("seed: {0}")]
    Seed(String),
    /// The database URL is neither SQLite nor PostgreSQL.
    #[error("unsupported database URL {0:?} (use sqlite://PATH or postgres://…, or omit it)")]
    UnsupportedDatabase(String),
    /// Serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

impl From<store::StoreError> for NodeError {
    fn from(err: store::StoreError) -> Self {
        Self::Store(Box::new(err))
    }
}

/// A node ready to serve.
pub struct Server {
    node: Arc<Node>,
}

impl Server {
    /// Creates the data directory if needed, loads (or creates) the root key,
    /// opens the database and applies migrations.
    pub async fn open(config: &Config) -> Result<Self, NodeError> {
        let (root, store) = open_parts(config).await?;
        audit::refuse_truncated(&store).await?;
        let backend = LocalBackend::new(root.network_seal(config.at_rest.legacy_plaintext));
        let signer = Ed25519Signer::from_seed(*root.node_identity_seed());
        http::metrics::install();
        let node = Arc::new(Node::new(store, backend, signer, config.max_ttl_secs));
        service::start_checkpoints(&node, &config.audit);
        Ok(Self { node })
    }

    /// The node's DID: the `aud` of every invocation addressed to it.
    pub fn node_did(&self) -> String {
        self.node.node_did().to_string()
    }

    /// Answers HTTP on `listener` until `shutdown` resolves, then finishes the
    /// requests in flight.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), NodeError> {
        self.serve_with_limits(listener, shutdown, HttpLimits::default())
            .await
    }

    /// [`Server::serve`] under `limits` (in-flight limit, request deadline,
    /// header and body read timeouts) instead of [`HttpLimits::default`].
    pub async fn serve_with_limits(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        limits: HttpLimits,
    ) -> Result<(), NodeError> {
        let purger = tokio::spawn(purge_nonces(self.node.clone()));
        let app = http::router(self.node, &limits);
        let result = http::serve(listener, app, limits, shutdown).await;
        purger.abort();
        Ok(result?)
    }
}

/// Opens the node for `config` and serves on `listener` until `shutdown`.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    Server::open(&config).await?.serve(listener, shutdown).await
}

/// The root key (from `ENCNET_ROOT_KEY`, then removed from the environment,
/// or from the data directory, created on first start) and the migrated
/// store.
///
/// A missing `root.key` beside an existing SQLite database is an error, not
/// a new key: every key sealed in that database opens only with the root
/// key it was sealed under. On PostgreSQL the node cannot tell so cheaply
/// (it would have to connect and query before it has a key), so there a
/// lost key file still starts a node with a new key; such deployments
/// should use the same `ENCNET_ROOT_KEY` everywhere (README).
async fn open_parts(config: &Config) -> Result<(RootKey, Store), NodeError> {
    create_data_dir(&config.data_dir)?;
    let location = store_location(config.database_url.as_deref(), &config.data_dir)?;
    let root = match RootKey::take_from_env()? {
        Some(root) => root,
        None => {
            let sealed: Vec<&Path> = match &location {
                Location::Sqlite(db) => vec![db.as_path()],
                Location::Postgres(_) => Vec::new(),
            };
            RootKey::load_or_create_guarded(config.root_key_path(), &sealed)?.0
        }
    };
    if let Location::Sqlite(db) = &location {
        create_private_database(db)?;
    }
    Ok((root, open_store(config).await?))
}

/// Creates the SQLite database file empty with mode 0600 before SQLite opens
/// it: SQLite gives its `-wal` and `-shm` files the database file's mode, so
/// they are private too. An existing database, WAL or shared-memory file
/// that group or others may read (one made before this check existed) is
/// narrowed to its owner, with a warning.
fn create_private_database(db: &Path) -> Result<(), NodeError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(db) {
        Ok(_) => return Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(NodeError::DatabaseFile {
                path: db.to_owned(),
                source,
            })
        }
    }
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        let path = Path::new(&path);
        let Ok(metadata) = std::fs::symlink_metadata(path) else {
            continue;
        };
        let mode = metadata.permissions().mode() & 0o777;
        if !metadata.is_file() || mode & 0o077 == 0 {
            continue;
        }
        let narrowed = std::fs::Permissions::from_mode(mode & 0o700);
        match std::fs::set_permissions(path, narrowed) {
            Ok(()) => tracing::warn!(
                path = %path.display(),
                "database file was readable by group or others (mode {mode:03o}); now {:03o}",
                mode & 0o700
            ),
            Err(err) => tracing::warn!(
                path = %path.display(),
                error = %err,
                "database file is readable by group or others (mode {mode:03o}); run: chmod 600"
            ),
        }
    }
    Ok(())
}

async fn open_store(config: &Config) -> Result<Store, NodeError> {
    Ok(Store::open(&store_location(
        config.database_url.as_deref(),
        &config.data_dir,
    )?)
    .await?)
}

/// `database_url` if given (`sqlite://PATH` or `postgres://…`), else SQLite
/// in the data directory.
fn store_location(database_url: Option<&str>, data_dir: &Path) -> Result<Location, NodeError> {
    match database_url {
        None => Ok(Location::Sqlite(data_dir.join(config::SQLITE_FILE))),
        Some(url) => Location::parse(url)
            .ok_or_else(|| NodeError::UnsupportedDatabase(config::redact_url(url))),
    }
}

fn create_data_dir(path: &Path) -> Result<(), NodeError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(|source| NodeError::DataDir {
        path: path.to_owned(),
        source,
    })?;
    check_private_dir(path)
}

/// Refuses a data directory its group or others may read, write or enter:
/// it holds the root key and the database.
#[cfg(unix)]
fn check_private_dir(path: &Path) -> Result<(), NodeError> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).map_err(|source| NodeError::DataDir {
        path: path.to_owned(),
        source,
    })?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(NodeError::DataDirExposed {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_dir(_path: &Path) -> Result<(), NodeError> {
    Ok(())
}

/// Deletes nonces whose invocation has expired; never an unexpired one.
async fn purge_nonces(node: Arc<Node>) {
    let mut ticks = tokio::time::interval(NONCE_PURGE_INTERVAL);
    loop {
        ticks.tick().await;
        match node.store().purge_nonces(clock::now_unix()).await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "purged expired nonces"),
            Err(err) => tracing::warn!(error = %report::Chain(&err), "nonce purge failed"),
        }
    }
}
