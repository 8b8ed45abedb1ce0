//! SQLite store: WAL, `synchronous=FULL`, one writer connection.
//!
//! Every write runs in a `BEGIN IMMEDIATE` transaction on the single writer
//! connection, which also owns the head of the audit chain, so entries are
//! appended in one linear order. Reads use a separate pool (WAL readers do not
//! block the writer).

use std::collections::HashSet;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use encnet_core::api::{AuditEntry, AuditRecord, KeyBackend, NetworkState, Threshold};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Row};
use tokio::sync::Mutex;

use super::{
    AuditChain, AuditDraft, Decision, NetworkRecord, NewKey, StateChange, StoreError, TableSizes,
};
use crate::clock;

const GENESIS_HASH: [u8; 32] = [0; 32];

/// The SQLite-backed store.
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    writer: Mutex<Writer>,
}

struct Writer {
    conn: SqliteConnection,
    head: ChainHead,
}

#[derive(Clone, Copy)]
struct ChainHead {
    seq: u64,
    hash: [u8; 32],
}

type TxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

impl SqliteStore {
    /// Opens (creating if needed) `path` and applies migrations.
    pub(crate) async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = connect_options(path).create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        let mut conn = options.connect().await?;
        let head = load_head(&mut conn).await?;
        Ok(Self {
            pool,
            writer: Mutex::new(Writer { conn, head }),
        })
    }

    /// Opens an existing database read-only (offline tools).
    pub(crate) async fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        open_read_only(path).await
    }

    /// Every audit record in sequence order (offline verification).
    pub(crate) async fn audit_chain(&self) -> Result<AuditChain, StoreError> {
        let rows = sqlx::query(AUDIT_SELECT_ALL).fetch_all(&self.pool).await?;
        rows.iter().map(audit_record).collect()
    }

    /// One page of a network's audit records after sequence `after`.
    pub(crate) async fn audit_page(
        &self,
        network: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(AUDIT_SELECT_PAGE)
            .bind(network)
            .bind(to_i64(after)?)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(audit_record).collect()
    }

    /// The network with this id, if any.
    pub(crate) async fn network(&self, id: &str) -> Result<Option<NetworkRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM networks WHERE network_id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(network_record).transpose()
    }

    /// The sealed private key of one version, if it exists and is not shredded.
    pub(crate) async fn sealed_key(
        &self,
        id: &str,
        version: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query(
            "SELECT sealed_private_key FROM network_keys WHERE network_id = ? AND key_version = ?",
        )
        .bind(id)
        .bind(to_i64(version)?)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("sealed_private_key")).transpose()?)
    }

    /// Whether `(issuer, nonce)` is held by an unexpired invocation.
    pub(crate) async fn nonce_used(
        &self,
        issuer: &str,
        nonce: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        let row =
            sqlx::query("SELECT 1 FROM nonces WHERE issuer = ? AND nonce = ? AND expires_at >= ?")
                .bind(issuer)
                .bind(nonce)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    /// Those of `cids` that are revoked.
    pub(crate) async fn revoked_among(
        &self,
        cids: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        let mut revoked = HashSet::new();
        for cid in cids {
            let row = sqlx::query("SELECT 1 FROM revocations WHERE cid = ?")
                .bind(cid)
                .fetch_optional(&self.pool)
                .await?;
            if row.is_some() {
                revoked.insert(cid.clone());
            }
        }
        Ok(revoked)
    }

    /// Row counts of the nonce and audit tables.
    pub(crate) async fn table_sizes(&self) -> Result<TableSizes, StoreError> {
        let nonces = sqlx::query("SELECT COUNT(*) FROM nonces")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let audit = sqlx::query("SELECT COUNT(*) FROM audit")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(TableSizes { nonces, audit })
    }

    /// Appends one audit entry on its own.
    pub(crate) async fn append_audit(&self, draft: AuditDraft) -> Result<AuditRecord, StoreError> {
        self.transact(move |w| Box::pin(async move { w.append_audit(draft).await }))
            .await
    }

    /// Consumes the nonce and records the allowed decision, atomically.
    pub(crate) async fn record_allowed(
        &self,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        self.transact(move |w| Box::pin(async move { w.commit_decision(decision).await }))
            .await
    }

    /// Deletes nonces that expired before `now`; returns how many.
    pub(crate) async fn purge_nonces(&self, now: i64) -> Result<u64, StoreError> {
        self.transact(move |w| {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM nonces WHERE expires_at < ?")
                    .bind(now)
                    .execute(&mut w.conn)
                    .await?;
                Ok(done.rows_affected())
            })
        })
        .await
    }

    /// Inserts a network with its first key version.
    pub(crate) async fn create_network(
        &self,
        network: NetworkRecord,
        key: NewKey,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        self.transact(move |w| {
            Box::pin(async move {
                let exists = sqlx::query("SELECT 1 FROM networks WHERE network_id = ?")
                    .bind(&network.network_id)
                    .fetch_optional(&mut w.conn)
                    .await?;
                if exists.is_some() {
                    return Err(StoreError::NetworkExists);
                }
                insert_network(&mut w.conn, &network).await?;
                insert_key(&mut w.conn, &network.network_id, &key, &network.created_at).await?;
                w.commit_decision(decision).await
            })
        })
        .await
    }

    /// Moves a network from `change.from` to `change.to`.
    pub(crate) async fn change_state(
        &self,
        id: &str,
        change: StateChange,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        let id = id.to_owned();
        self.transact(move |w| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE networks SET state = ?, updated_at = ? WHERE network_id = ? AND state = ?",
                )
                .bind(change.to.as_str())
                .bind(clock::now_rfc3339())
                .bind(&id)
                .bind(change.from.as_str())
                .execute(&mut w.conn)
                .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict);
                }
                w.commit_decision(decision).await
            })
        })
        .await
    }

    /// Adds key version `key.key_version`, if the newest is still `key_version - 1`.
    pub(crate) async fn rotate(
        &self,
        id: &str,
        key: NewKey,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        let id = id.to_owned();
        self.transact(move |w| {
            Box::pin(async move {
                let now = clock::now_rfc3339();
                let done = sqlx::query(
                    "UPDATE networks SET key_version = ?, public_key = ?, updated_at = ? \
                     WHERE network_id = ? AND key_version = ? AND state = 'active'",
                )
                .bind(to_i64(key.key_version)?)
                .bind(&key.public_key)
                .bind(&now)
                .bind(&id)
                .bind(to_i64(key.key_version.saturating_sub(1))?)
                .execute(&mut w.conn)
                .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict);
                }
                insert_key(&mut w.conn, &id, &key, &now).await?;
                w.commit_decision(decision).await
            })
        })
        .await
    }

    /// Raises `min_decryption_version` (never lowers it).
    pub(crate) async fn retire(
        &self,
        id: &str,
        min_version: u64,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        let id = id.to_owned();
        self.transact(move |w| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE networks SET min_decryption_version = ?, updated_at = ? \
                     WHERE network_id = ? AND min_decryption_version <= ? AND key_version >= ? \
                     AND state = 'active'",
                )
                .bind(to_i64(min_version)?)
                .bind(clock::now_rfc3339())
                .bind(&id)
                .bind(to_i64(min_version)?)
                .bind(to_i64(min_version)?)
                .execute(&mut w.conn)
                .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict);
                }
                w.commit_decision(decision).await
            })
        })
        .await
    }

    /// Crypto-shredding: overwrites then deletes every sealed key of the
    /// network, marks it destroyed, and checkpoints the WAL so no copy of the
    /// sealed bytes survives in the database files.
    pub(crate) async fn destroy(
        &self,
        id: &str,
        from: NetworkState,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        let id = id.to_owned();
        let record = self
            .transact(move |w| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE networks SET state = 'destroyed', updated_at = ? \
                         WHERE network_id = ? AND state = ?",
                    )
                    .bind(clock::now_rfc3339())
                    .bind(&id)
                    .bind(from.as_str())
                    .execute(&mut w.conn)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::Conflict);
                    }
                    sqlx::query(
                        "UPDATE network_keys SET sealed_private_key = zeroblob(length(sealed_private_key)) \
                         WHERE network_id = ?",
                    )
                    .bind(&id)
                    .execute(&mut w.conn)
                    .await?;
                    sqlx::query("DELETE FROM network_keys WHERE network_id = ?")
                        .bind(&id)
                        .execute(&mut w.conn)
                        .await?;
                    w.commit_decision(decision).await
                })
            })
            .await?;
        let mut writer = self.writer.lock().await;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut writer.conn)
            .await?;
        Ok(record)
    }

    /// Records a revocation of delegation `cid`.
    pub(crate) async fn revoke(
        &self,
        cid: &str,
        revoked_by: &str,
        decision: Decision,
    ) -> Result<AuditRecord, StoreError> {
        let (cid, revoked_by) = (cid.to_owned(), revoked_by.to_owned());
        self.transact(move |w| {
            Box::pin(async move {
                let done = sqlx::query(
                    "INSERT INTO revocations (cid, revoked_by, invocation_cid, created_at) \
                     VALUES (?, ?, ?, ?) ON CONFLICT (cid) DO NOTHING",
                )
                .bind(&cid)
                .bind(&revoked_by)
                .bind(&decision.audit.invocation_cid)
                .bind(clock::now_rfc3339())
                .execute(&mut w.conn)
                .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::AlreadyRevoked);
                }
                w.commit_decision(decision).await
            })
        })
        .await
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer; on error
    /// rolls back and restores the chain head.
    async fn transact<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: for<'a> FnOnce(&'a mut Writer) -> TxFuture<'a, T>,
    {
        let mut writer = self.writer.lock().await;
        let head = writer.head;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut writer.conn)
            .await?;
        match f(&mut writer).await {
            Ok(value) => match sqlx::query("COMMIT").execute(&mut writer.conn).await {
                Ok(_) => Ok(value),
                Err(err) => {
                    writer.head = head;
                    let _ = sqlx::query("ROLLBACK").execute(&mut writer.conn).await;
                    Err(err.into())
                }
            },
            Err(err) => {
                writer.head = head;
                sqlx::query("ROLLBACK").execute(&mut writer.conn).await?;
                Err(err)
            }
        }
    }
}

impl Writer {
    /// Inserts the nonce (an expired, not yet purged row may be reused) and
    /// appends the allowed entry.
    async fn commit_decision(&mut self, decision: Decision) -> Result<AuditRecord, StoreError> {
        let claim = decision.nonce;
        let done = sqlx::query(
            "INSERT INTO nonces (issuer, nonce, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (issuer, nonce) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE nonces.expires_at < ?",
        )
        .bind(&claim.issuer)
        .bind(&claim.nonce)
        .bind(claim.expires_at)
        .bind(decision.now)
        .execute(&mut self.conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Replay);
        }
        self.append_audit(decision.audit).await
    }

    async fn append_audit(&mut self, draft: AuditDraft) -> Result<AuditRecord, StoreError> {
        let entry = AuditEntry {
            sequence: self.head.seq + 1,
            time: clock::now_rfc3339(),
            network: draft.network,
            requester: draft.requester,
            command: draft.command,
            invocation_cid: draft.invocation_cid,
            outcome: draft.outcome,
        };
        let hash = entry.chain_hash(&self.head.hash)?;
        let record = AuditRecord {
            prev_hash: hex::encode(self.head.hash),
            entry_hash: hex::encode(hash),
            entry,
        };
        sqlx::query(
            "INSERT INTO audit (seq, time, network, requester, command, invocation_cid, outcome, \
             prev_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(to_i64(record.entry.sequence)?)
        .bind(&record.entry.time)
        .bind(&record.entry.network)
        .bind(&record.entry.requester)
        .bind(&record.entry.command)
        .bind(&record.entry.invocation_cid)
        .bind(&record.entry.outcome)
        .bind(&record.prev_hash)
        .bind(&record.entry_hash)
        .execute(&mut self.conn)
        .await?;
        self.head = ChainHead {
            seq: record.entry.sequence,
            hash,
        };
        Ok(record)
    }
}

const AUDIT_SELECT_ALL: &str = "SELECT * FROM audit ORDER BY seq";
const AUDIT_SELECT_PAGE: &str =
    "SELECT * FROM audit WHERE network = ? AND seq > ? ORDER BY seq LIMIT ?";

fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        // Deleted content is overwritten with zeros (crypto-shredding).
        .pragma("secure_delete", "ON")
}

/// Opens a data directory's database read-only, without migrating.
async fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    let mut conn = options.connect().await?;
    let head = load_head(&mut conn).await?;
    Ok(SqliteStore {
        pool,
        writer: Mutex::new(Writer { conn, head }),
    })
}

async fn load_head(conn: &mut SqliteConnection) -> Result<ChainHead, StoreError> {
    let row = sqlx::query("SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(ChainHead {
            seq: 0,
            hash: GENESIS_HASH,
        });
    };
    let seq: i64 = row.try_get("seq")?;
    let hash: String = row.try_get("entry_hash")?;
    Ok(ChainHead {
        seq: to_u64(seq)?,
        hash: parse_hash(&hash)?,
    })
}

async fn insert_network(conn: &mut SqliteConnection, n: &NetworkRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO networks (network_id, owner_did, name, alg, state, key_version, \
         min_decryption_version, key_backend, threshold_n, threshold_t, public_key, created_at, \
         updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&n.network_id)
    .bind(&n.owner_did)
    .bind(&n.name)
    .bind(&n.alg)
    .bind(n.state.as_str())
    .bind(to_i64(n.key_version)?)
    .bind(to_i64(n.min_decryption_version)?)
    .bind(n.key_backend.as_str())
    .bind(i64::from(n.threshold.n))
    .bind(i64::from(n.threshold.t))
    .bind(&n.public_key)
    .bind(&n.created_at)
    .bind(&n.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_key(
    conn: &mut SqliteConnection,
    network_id: &str,
    key: &NewKey,
    created_at: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO network_keys (network_id, key_version, public_key, sealed_private_key, \
         created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(network_id)
    .bind(to_i64(key.key_version)?)
    .bind(&key.public_key)
    .bind(&key.sealed_private_key)
    .bind(created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn network_record(row: &SqliteRow) -> Result<NetworkRecord, StoreError> {
    let state: String = row.try_get("state")?;
    let backend: String = row.try_get("key_backend")?;
    Ok(NetworkRecord {
        network_id: row.try_get("network_id")?,
        owner_did: row.try_get("owner_did")?,
        name: row.try_get("name")?,
        alg: row.try_get("alg")?,
        state: NetworkState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("network state {state:?}")))?,
        key_version: to_u64(row.try_get("key_version")?)?,
        min_decryption_version: to_u64(row.try_get("min_decryption_version")?)?,
        key_backend: KeyBackend::parse(&backend)
            .ok_or_else(|| StoreError::Corrupt(format!("key backend {backend:?}")))?,
        threshold: Threshold {
            n: to_u16(row.try_get("threshold_n")?)?,
            t: to_u16(row.try_get("threshold_t")?)?,
        },
        public_key: row.try_get("public_key")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn audit_record(row: &SqliteRow) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        entry: AuditEntry {
            sequence: to_u64(row.try_get("seq")?)?,
            time: row.try_get("time")?,
            network: row.try_get("network")?,
            requester: row.try_get("requester")?,
            command: row.try_get("command")?,
            invocation_cid: row.try_get("invocation_cid")?,
            outcome: row.try_get("outcome")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        entry_hash: row.try_get("entry_hash")?,
    })
}

fn parse_hash(hex_hash: &str) -> Result<[u8; 32], StoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_hash, &mut out)
        .map_err(|_| StoreError::Corrupt(format!("audit hash {hex_hash:?}")))?;
    Ok(out)
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("integer {v} out of range")))
}

fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative integer {v}")))
}

fn to_u16(v: i64) -> Result<u16, StoreError> {
    u16::try_from(v).map_err(|_| StoreError::Corrupt(format!("integer {v} out of range")))
}
