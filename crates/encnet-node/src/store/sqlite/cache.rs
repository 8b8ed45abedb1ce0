//! In-memory copies of network rows and sealed keys for the decrypt path.
//!
//! Exact because the writer is the file's only writer: every change to a
//! network goes through this store, which drops the network's entries once
//! the change has committed and before its caller hears of it. A generation
//! counter stops a read that raced a change from installing the old row.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::super::error::StoreError;
use super::super::records::NetworkKey;

/// Entries kept before the cache is emptied (a miss only costs one read).
const CAPACITY: usize = 16_384;

/// Cache of [`NetworkKey`]s by network id and key version.
#[derive(Default)]
pub(super) struct NetworkCache {
    generation: AtomicU64,
    entries: Mutex<HashMap<(String, u64), Arc<NetworkKey>>>,
}

impl NetworkCache {
    /// The cached entry of `(id, version)`, or what `read` answers (kept if
    /// no change happened meanwhile).
    pub(super) async fn lookup<F>(
        &self,
        id: &str,
        version: u64,
        read: impl FnOnce() -> F,
    ) -> Result<Option<Arc<NetworkKey>>, StoreError>
    where
        F: Future<Output = Result<Option<Arc<NetworkKey>>, StoreError>>,
    {
        let key = (id.to_owned(), version);
        if let Some(hit) = self.lock().get(&key).cloned() {
            return Ok(Some(hit));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some(entry) = read().await? else {
            return Ok(None);
        };
        let mut entries = self.lock();
        if self.generation.load(Ordering::Acquire) == generation {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key, entry.clone());
        }
        Ok(Some(entry))
    }

    /// Drops every entry of network `id`; called once a change committed.
    pub(super) fn invalidate(&self, id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.lock().retain(|(network, _), _| network != id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u64), Arc<NetworkKey>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
