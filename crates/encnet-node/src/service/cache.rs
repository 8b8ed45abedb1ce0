//! In-memory copies of network rows and sealed keys for the decrypt path.
//!
//! Used only when this process is the database's sole writer (SQLite): every
//! change to a network then goes through this process, which drops the
//! network's entries once the change has committed and before it answers. A
//! generation counter stops a read that raced a change from installing the
//! old row. With PostgreSQL (several processes) nothing is cached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::store::{NetworkRecord, SealedKey, Store, StoreError};

/// Entries kept before the cache is emptied (a miss only costs one read).
const CAPACITY: usize = 16_384;

/// A network and the sealed private key of one of its versions.
pub(crate) struct NetworkKey {
    pub(crate) record: NetworkRecord,
    /// `None` when the version does not exist or was shredded.
    pub(crate) sealed: Option<SealedKey>,
}

/// Cache of [`NetworkKey`]s by network id and key version.
pub(crate) struct NetworkCache {
    enabled: bool,
    generation: AtomicU64,
    entries: Mutex<HashMap<(String, u64), Arc<NetworkKey>>>,
}

impl NetworkCache {
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The network `id` with its sealed key of `version`, or `None` if the
    /// network does not exist.
    pub(crate) async fn lookup(
        &self,
        store: &Store,
        id: &str,
        version: u64,
    ) -> Result<Option<Arc<NetworkKey>>, StoreError> {
        let key = (id.to_owned(), version);
        if let Some(hit) = self.get(&key) {
            return Ok(Some(hit));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some((record, sealed)) = store.network_key(id, version).await? else {
            return Ok(None);
        };
        let sealed = sealed.filter(|_| (1..=record.key_version).contains(&version));
        let entry = Arc::new(NetworkKey { record, sealed });
        self.put(key, entry.clone(), generation);
        Ok(Some(entry))
    }

    /// Drops every entry of network `id`; call after a change committed.
    pub(crate) fn invalidate(&self, id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(network, _), _| network != id);
        }
    }

    fn get(&self, key: &(String, u64)) -> Option<Arc<NetworkKey>> {
        if !self.enabled {
            return None;
        }
        self.entries.lock().ok()?.get(key).cloned()
    }

    /// Installs `entry` unless a change happened since `generation` was read.
    fn put(&self, key: (String, u64), entry: Arc<NetworkKey>, generation: u64) {
        if !self.enabled {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if self.generation.load(Ordering::Acquire) != generation {
                return;
            }
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key, entry);
        }
    }
}
