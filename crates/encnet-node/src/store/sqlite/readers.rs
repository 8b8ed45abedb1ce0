//! A few read-only connections, used on blocking threads: a read never
//! waits for the writer (WAL), and never blocks an async worker.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::super::error::StoreError;
use super::conn::{self, Access};

/// Reads running at once.
const MAX_READERS: usize = 4;

/// The pool of read connections.
pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::with_capacity(MAX_READERS)),
            permits: Semaphore::new(MAX_READERS),
        }
    }

    /// Runs `read` on a pooled connection, on a blocking thread.
    pub(super) async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Closing)?;
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let path = self.path.clone();
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let conn = match pooled {
                Some(conn) => conn,
                None => conn::open(&path, Access::Read)?,
            };
            let result = read(&conn);
            Ok::<_, StoreError>((conn, result))
        })
        .await
        .map_err(|_| StoreError::Bug("a read panicked"))??;
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        result
    }
}
