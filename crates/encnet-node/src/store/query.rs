//! What both backends share: a connection of either kind, the rows of the
//! schema and their mapping to records, and the steps every writing
//! transaction takes (consume a nonce, append to the audit chain).
//!
//! The SQL is written once with `$N` parameters, which SQLite and
//! PostgreSQL both accept; the few statements that differ are chosen with
//! [`Conn::pick`].

use std::collections::{BTreeSet, HashMap, HashSet};

use encnet_core::api::{AuditEntry, AuditRecord, KeyBackend, NetworkState, Threshold};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Database, Encode, FromRow, Type};

use super::memory::Memory;
use super::sqlite_sync::{self, FromSyncRow};
use super::{AuditDraft, NetworkRecord, NewKey, NonceClaim, SealedKey, StoreError};
use crate::clock;

/// Rows per multi-row statement (SQLite allows 32 766 parameters). Each
/// row count is its own prepared statement, cached by the connection.
const MAX_ROWS: usize = 256;

/// How far the clocks of the processes sharing one PostgreSQL database may
/// disagree: a nonce is reused or purged only this long after it expired,
/// so a process whose clock runs slow never honours an invocation whose
/// nonce another process already forgot.
pub(super) const SHARED_CLOCK_MARGIN_SECS: i64 = 120;

/// What became of one nonce claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClaimOutcome {
    Consumed,
    /// An unexpired invocation holds the nonce.
    Replay,
    /// The invocation cites a revoked delegation.
    Revoked,
    /// The decision's network is no longer active.
    Inactive(NetworkState),
}

impl ClaimOutcome {
    pub(super) fn into_result(self) -> Result<(), StoreError> {
        match self {
            Self::Consumed => Ok(()),
            Self::Replay => Err(StoreError::Replay),
            Self::Revoked => Err(StoreError::Revoked),
            Self::Inactive(state) => Err(StoreError::NetworkInactive(state)),
        }
    }
}

/// `prev_hash` of the first audit entry.
pub(super) const GENESIS_HASH: [u8; 32] = [0; 32];

/// A connection, or an open transaction, of either backend.
pub(super) enum Conn<'c> {
    /// An SQLite reader.
    Sqlite(&'c mut SqliteConnection),
    /// The SQLite writer, on its own thread: its statements run to
    /// completion without yielding.
    SqliteWriter(&'c mut rusqlite::Connection),
    Postgres(&'c mut PgConnection),
}

/// A bound parameter.
#[derive(Clone, Copy)]
pub(super) enum Value<'a> {
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// A row type every connection can decode.
pub(super) trait Decode:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + FromSyncRow
{
}

impl<T> Decode for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + FromSyncRow
{
}

impl Conn<'_> {
    /// The statement for this backend, where the two dialects differ.
    pub(super) fn pick(&self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self {
            Self::Sqlite(_) | Self::SqliteWriter(_) => sqlite,
            Self::Postgres(_) => postgres,
        }
    }

    /// Runs a statement; answers the number of rows it changed.
    pub(super) async fn execute(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
    ) -> Result<u64, StoreError> {
        Ok(match self {
            Self::Sqlite(c) => bind(sqlx::query(sql), params)
                .execute(&mut **c)
                .await?
                .rows_affected(),
            Self::SqliteWriter(c) => sqlite_sync::execute(c, sql, params)?,
            Self::Postgres(c) => bind(sqlx::query(sql), params)
                .execute(&mut **c)
                .await?
                .rows_affected(),
        })
    }

    /// The first row, if any.
    pub(super) async fn fetch_optional<T: Decode>(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
    ) -> Result<Option<T>, StoreError> {
        Ok(match self {
            Self::Sqlite(c) => match bind(sqlx::query(sql), params)
                .fetch_optional(&mut **c)
                .await?
            {
                Some(row) => Some(T::from_row(&row)?),
                None => None,
            },
            Self::SqliteWriter(c) => sqlite_sync::fetch_optional(c, sql, params)?,
            Self::Postgres(c) => match bind(sqlx::query(sql), params)
                .fetch_optional(&mut **c)
                .await?
            {
                Some(row) => Some(T::from_row(&row)?),
                None => None,
            },
        })
    }

    /// Every row.
    pub(super) async fn fetch_all<T: Decode>(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
    ) -> Result<Vec<T>, StoreError> {
        Ok(match self {
            Self::Sqlite(c) => bind(sqlx::query(sql), params)
                .fetch_all(&mut **c)
                .await?
                .iter()
                .map(T::from_row)
                .collect::<Result<_, _>>()?,
            Self::SqliteWriter(c) => sqlite_sync::fetch_all(c, sql, params)?,
            Self::Postgres(c) => bind(sqlx::query(sql), params)
                .fetch_all(&mut **c)
                .await?
                .iter()
                .map(T::from_row)
                .collect::<Result<_, _>>()?,
        })
    }

    /// The last entry of the audit chain. On PostgreSQL this also locks the
    /// one-row `audit_head` table until the transaction ends, so writers in
    /// every process append one after another.
    pub(super) async fn chain_head(&mut self) -> Result<ChainHead, StoreError> {
        let sql = self.pick(
            "SELECT seq, entry_hash AS hash FROM audit ORDER BY seq DESC LIMIT 1",
            "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        );
        match self.fetch_optional::<HeadRow>(sql, &[]).await? {
            None => Ok(ChainHead {
                seq: 0,
                hash: GENESIS_HASH,
            }),
            Some(row) => Ok(ChainHead {
                seq: to_u64(row.seq)?,
                hash: parse_hash(&row.hash)?,
            }),
        }
    }
}

fn bind<'q, DB: Database>(
    mut query: sqlx::query::Query<'q, DB, DB::Arguments<'q>>,
    params: &[Value<'q>],
) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    i64: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    &'q [u8]: Encode<'q, DB> + Type<DB>,
{
    for param in params {
        query = match *param {
            Value::Int(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
            Value::Bytes(v) => query.bind(v),
        };
    }
    query
}

/// The last entry of the audit chain: the next entry links to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ChainHead {
    pub(super) seq: u64,
    pub(super) hash: [u8; 32],
}

/// A writing transaction: its connection, and the chain head once it is known.
pub(super) struct Tx<'c> {
    pub(super) conn: Conn<'c>,
    head: Option<ChainHead>,
    /// The sole writer's memory, which decides nonce claims (SQLite);
    /// `None` where the nonce table's key decides them (PostgreSQL).
    memory: Option<&'c Memory>,
    appended: bool,
    effects: Effects,
}

/// What a transaction changed that a sole writer remembers once it commits.
#[derive(Debug, Default)]
pub(super) struct Effects {
    /// Nonces consumed (their claims without `cited`).
    pub(super) claimed: Vec<NonceClaim>,
    /// Delegations revoked (CID text).
    pub(super) revoked: Vec<String>,
}

impl<'c> Tx<'c> {
    /// A transaction of one of several writers (PostgreSQL): the chain
    /// head is read, and locked, on first append, and the nonce table's key
    /// decides claims.
    pub(super) fn shared(conn: Conn<'c>) -> Self {
        Self::new(conn, None, None)
    }

    /// A transaction of the sole writer (SQLite), which holds the chain head
    /// and remembers every unexpired nonce claim.
    pub(super) fn sole_writer(conn: Conn<'c>, head: ChainHead, memory: &'c Memory) -> Self {
        Self::new(conn, Some(head), Some(memory))
    }

    fn new(conn: Conn<'c>, head: Option<ChainHead>, memory: Option<&'c Memory>) -> Self {
        Self {
            conn,
            head,
            memory,
            appended: false,
            effects: Effects::default(),
        }
    }

    /// What this transaction consumed and revoked, for after its commit.
    pub(super) fn take_effects(&mut self) -> Effects {
        std::mem::take(&mut self.effects)
    }

    /// The new chain head, if this transaction appended to the chain.
    pub(super) fn appended_head(&self) -> Option<ChainHead> {
        self.head.filter(|_| self.appended)
    }

    /// Consumes one nonce; [`StoreError::Replay`] if an unexpired
    /// invocation holds it, [`StoreError::Revoked`] if the invocation cites
    /// a revoked delegation.
    pub(super) async fn claim_nonce(
        &mut self,
        claim: &NonceClaim,
        now: i64,
    ) -> Result<(), StoreError> {
        match self.claim_nonces(&[claim], now).await?[..] {
            [outcome] => outcome.into_result(),
            _ => Err(StoreError::Corrupt("one claim, no outcome".to_owned())),
        }
    }

    /// Consumes each claim's nonce unless an unexpired invocation holds it
    /// (one that expired before `now` may be reused) or the claim cites a
    /// delegation revoked by now; answers claim by claim. A claim repeated
    /// within `claims` loses to its first occurrence. Rows go in multi-row
    /// statements.
    ///
    /// The revocations are read here, in the transaction that records the
    /// decision, so a revocation committed after the capability check still
    /// refuses it. (On PostgreSQL this is the only revocation check.)
    pub(super) async fn claim_nonces(
        &mut self,
        claims: &[&NonceClaim],
        now: i64,
    ) -> Result<Vec<ClaimOutcome>, StoreError> {
        // Lock the chain head first (PostgreSQL), so a revoke or a
        // revocation that commits before this batch is seen by the reads
        // below, and one that commits after it is ordered after it.
        if self.head.is_none() && !claims.is_empty() {
            self.head = Some(self.conn.chain_head().await?);
        }
        let revoked = self.revoked_among(claims).await?;
        let inactive = self.inactive_among(claims).await?;
        let refusal = |claim: &NonceClaim| {
            if claim.cited.iter().any(|c| revoked.contains(c)) {
                return Some(ClaimOutcome::Revoked);
            }
            let network = claim.network.as_ref()?;
            inactive
                .get(network)
                .map(|state| ClaimOutcome::Inactive(*state))
        };
        let mut first = HashSet::new();
        let fresh: Vec<&NonceClaim> = claims
            .iter()
            .copied()
            .filter(|c| refusal(c).is_none())
            .filter(|c| first.insert((c.issuer.as_str(), c.nonce.as_slice())))
            .collect();
        let mut consumed = match self.memory {
            Some(memory) => self.append_claims(memory, fresh, now).await?,
            None => self.upsert_claims(fresh, now).await?,
        };
        let outcomes: Vec<ClaimOutcome> = claims
            .iter()
            .map(|c| match refusal(c) {
                Some(outcome) => outcome,
                None if consumed.remove(&(c.issuer.clone(), c.nonce.clone())) => {
                    ClaimOutcome::Consumed
                }
                None => ClaimOutcome::Replay,
            })
            .collect();
        Ok(outcomes)
    }

    /// The sole writer's claims, decided by its memory of every unexpired
    /// claim: the free ones are appended to the nonce log, so a commit
    /// writes its claims in sequence instead of one random index leaf each,
    /// and are remembered once the transaction commits.
    async fn append_claims(
        &mut self,
        memory: &Memory,
        fresh: Vec<&NonceClaim>,
        now: i64,
    ) -> Result<HashSet<(String, Vec<u8>)>, StoreError> {
        let free: Vec<&NonceClaim> = fresh
            .into_iter()
            .filter(|c| !memory.holds(&c.issuer, &c.nonce, now))
            .collect();
        for chunk in free.chunks(MAX_ROWS) {
            let sql = format!(
                "INSERT INTO nonces (issuer, nonce, expires_at) VALUES {}",
                values_clause(chunk.len(), 3, 1)
            );
            self.conn.execute(&sql, &claim_params(chunk)).await?;
        }
        let mut consumed = HashSet::with_capacity(free.len());
        for claim in free {
            consumed.insert((claim.issuer.clone(), claim.nonce.clone()));
            self.effects.claimed.push(NonceClaim {
                issuer: claim.issuer.clone(),
                nonce: claim.nonce.clone(),
                expires_at: claim.expires_at,
                cited: Vec::new(),
                network: None,
            });
        }
        Ok(consumed)
    }

    /// Claims decided by the nonce table's key, which every process
    /// writing to the database shares (PostgreSQL).
    async fn upsert_claims(
        &mut self,
        mut fresh: Vec<&NonceClaim>,
        now: i64,
    ) -> Result<HashSet<(String, Vec<u8>)>, StoreError> {
        // Rows are locked in key order, so two PostgreSQL processes claiming
        // overlapping nonces cannot deadlock.
        fresh.sort_unstable_by(|a, b| (&a.issuer, &a.nonce).cmp(&(&b.issuer, &b.nonce)));
        let mut consumed = HashSet::new();
        for chunk in fresh.chunks(MAX_ROWS) {
            let sql = format!(
                "INSERT INTO nonces (issuer, nonce, expires_at) VALUES {} \
                 ON CONFLICT (issuer, nonce) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE nonces.expires_at < $1 RETURNING issuer, nonce",
                values_clause(chunk.len(), 3, 2)
            );
            // Other processes' clocks may lag this one's: a row is free
            // only once it expired by every clock within the margin.
            let mut params = vec![Value::Int(now.saturating_sub(SHARED_CLOCK_MARGIN_SECS))];
            params.extend(claim_params(chunk));
            consumed.extend(
                self.conn
                    .fetch_all::<(String, Vec<u8>)>(&sql, &params)
                    .await?,
            );
        }
        Ok(consumed)
    }

    /// Which of the delegations cited by `claims` are revoked.
    async fn revoked_among(
        &mut self,
        claims: &[&NonceClaim],
    ) -> Result<HashSet<String>, StoreError> {
        let cited: BTreeSet<&str> = claims
            .iter()
            .flat_map(|claim| claim.cited.iter().map(String::as_str))
            .collect();
        let cited: Vec<&str> = cited.into_iter().collect();
        let mut revoked = HashSet::new();
        for chunk in cited.chunks(MAX_ROWS) {
            let sql = format!(
                "SELECT cid FROM revocations WHERE cid IN ({})",
                values_list(chunk.len(), 1)
            );
            let params: Vec<Value> = chunk.iter().map(|cid| Value::Text(cid)).collect();
            let rows: Vec<(String,)> = self.conn.fetch_all(&sql, &params).await?;
            revoked.extend(rows.into_iter().map(|(cid,)| cid));
        }
        Ok(revoked)
    }

    /// The networks named by `claims` that are not active now, read in the
    /// committing transaction after it locked the chain head.
    async fn inactive_among(
        &mut self,
        claims: &[&NonceClaim],
    ) -> Result<HashMap<String, NetworkState>, StoreError> {
        let named: BTreeSet<&str> = claims.iter().filter_map(|c| c.network.as_deref()).collect();
        let named: Vec<&str> = named.into_iter().collect();
        let mut inactive = HashMap::new();
        for chunk in named.chunks(MAX_ROWS) {
            let sql = format!(
                "SELECT network_id, state FROM networks WHERE network_id IN ({})",
                values_list(chunk.len(), 1)
            );
            let params: Vec<Value> = chunk.iter().map(|id| Value::Text(id)).collect();
            let rows: Vec<(String, String)> = self.conn.fetch_all(&sql, &params).await?;
            for (id, state) in rows {
                let state = NetworkState::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("network state {state:?}")))?;
                if state != NetworkState::Active {
                    inactive.insert(id, state);
                }
            }
        }
        Ok(inactive)
    }

    /// Links one entry to the chain head and inserts it.
    pub(super) async fn append_audit(
        &mut self,
        draft: AuditDraft,
    ) -> Result<AuditRecord, StoreError> {
        let mut records = self.append_audits(vec![draft]).await?;
        records
            .pop()
            .ok_or_else(|| StoreError::Corrupt("no audit record appended".to_owned()))
    }

    /// Links the entries, in order, to the chain head and inserts them.
    pub(super) async fn append_audits(
        &mut self,
        drafts: Vec<AuditDraft>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let mut head = match self.head {
            Some(head) => head,
            None => self.conn.chain_head().await?,
        };
        let time = clock::now_rfc3339();
        let mut records = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let (record, hash) = link(head, draft, time.clone())?;
            head = ChainHead {
                seq: record.entry.sequence,
                hash,
            };
            records.push(record);
        }
        for chunk in records.chunks(MAX_ROWS) {
            self.insert_audit_rows(chunk).await?;
        }
        self.head = Some(head);
        self.appended = true;
        Ok(records)
    }

    async fn insert_audit_rows(&mut self, records: &[AuditRecord]) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO audit (seq, time, network, requester, command, invocation_cid, \
             outcome, prev_hash, entry_hash) VALUES {}",
            values_clause(records.len(), 9, 1)
        );
        let mut params = Vec::with_capacity(records.len() * 9);
        for record in records {
            params.extend([
                Value::Int(to_i64(record.entry.sequence)?),
                Value::Text(&record.entry.time),
                Value::Text(&record.entry.network),
                Value::Text(&record.entry.requester),
                Value::Text(&record.entry.command),
                Value::Text(&record.entry.invocation_cid),
                Value::Text(&record.entry.outcome),
                Value::Text(&record.prev_hash),
                Value::Text(&record.entry_hash),
            ]);
        }
        self.conn.execute(&sql, &params).await?;
        Ok(())
    }

    /// Records the revocation of delegation `cid`; `false` if it already was.
    pub(super) async fn insert_revocation(
        &mut self,
        cid: &str,
        revoked_by: &str,
        invocation_cid: &str,
    ) -> Result<bool, StoreError> {
        let inserted = self
            .conn
            .execute(
                "INSERT INTO revocations (cid, revoked_by, invocation_cid, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (cid) DO NOTHING",
                &[
                    Value::Text(cid),
                    Value::Text(revoked_by),
                    Value::Text(invocation_cid),
                    Value::Text(&clock::now_rfc3339()),
                ],
            )
            .await?;
        if inserted == 1 {
            self.effects.revoked.push(cid.to_owned());
        }
        Ok(inserted == 1)
    }

    /// Inserts a network row; `false` if one with this id or owner and name
    /// exists.
    pub(super) async fn insert_network(&mut self, n: &NetworkRecord) -> Result<bool, StoreError> {
        let inserted = self
            .conn
            .execute(
                "INSERT INTO networks (network_id, owner_did, name, alg, state, key_version, \
                 min_decryption_version, key_backend, threshold_n, threshold_t, public_key, \
                 created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT DO NOTHING",
                &[
                    Value::Text(&n.network_id),
                    Value::Text(&n.owner_did),
                    Value::Text(&n.name),
                    Value::Text(&n.alg),
                    Value::Text(n.state.as_str()),
                    Value::Int(to_i64(n.key_version)?),
                    Value::Int(to_i64(n.min_decryption_version)?),
                    Value::Text(n.key_backend.as_str()),
                    Value::Int(i64::from(n.threshold.n)),
                    Value::Int(i64::from(n.threshold.t)),
                    Value::Bytes(&n.public_key),
                    Value::Text(&n.created_at),
                    Value::Text(&n.updated_at),
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    /// Runs an `UPDATE` of one network row whose `WHERE` states what must
    /// still hold; [`StoreError::Conflict`] when it no longer does.
    pub(super) async fn update_network(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
    ) -> Result<(), StoreError> {
        match self.conn.execute(sql, params).await? {
            1 => Ok(()),
            _ => Err(StoreError::Conflict),
        }
    }

    /// Inserts one sealed key version.
    pub(super) async fn insert_key(
        &mut self,
        network_id: &str,
        key: &NewKey,
        created_at: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO network_keys (network_id, key_version, public_key, \
                 sealed_private_key, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[
                    Value::Text(network_id),
                    Value::Int(to_i64(key.key_version)?),
                    Value::Bytes(&key.public_key),
                    Value::Bytes(&key.sealed_private_key),
                    Value::Text(created_at),
                ],
            )
            .await?;
        Ok(())
    }
}

#[derive(FromRow)]
struct HeadRow {
    seq: i64,
    hash: String,
}

impl FromSyncRow for HeadRow {
    fn from_sync_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            seq: row.get("seq")?,
            hash: row.get("hash")?,
        })
    }
}

/// A `networks` row as stored.
#[derive(FromRow)]
pub(super) struct NetworkRow {
    network_id: String,
    owner_did: String,
    name: String,
    alg: String,
    state: String,
    key_version: i64,
    min_decryption_version: i64,
    key_backend: String,
    threshold_n: i64,
    threshold_t: i64,
    public_key: Vec<u8>,
    created_at: String,
    updated_at: String,
}

impl FromSyncRow for NetworkRow {
    fn from_sync_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            network_id: row.get("network_id")?,
            owner_did: row.get("owner_did")?,
            name: row.get("name")?,
            alg: row.get("alg")?,
            state: row.get("state")?,
            key_version: row.get("key_version")?,
            min_decryption_version: row.get("min_decryption_version")?,
            key_backend: row.get("key_backend")?,
            threshold_n: row.get("threshold_n")?,
            threshold_t: row.get("threshold_t")?,
            public_key: row.get("public_key")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
        })
    }
}

/// A `networks` row with one version's key, if that version is stored.
#[derive(FromRow)]
pub(super) struct NetworkKeyRow {
    #[sqlx(flatten)]
    network: NetworkRow,
    key_public_key: Option<Vec<u8>>,
    key_sealed_private_key: Option<Vec<u8>>,
}

impl FromSyncRow for NetworkKeyRow {
    fn from_sync_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            network: NetworkRow::from_sync_row(row)?,
            key_public_key: row.get("key_public_key")?,
            key_sealed_private_key: row.get("key_sealed_private_key")?,
        })
    }
}

impl NetworkKeyRow {
    pub(super) fn into_parts(self) -> Result<(NetworkRecord, Option<SealedKey>), StoreError> {
        let sealed = match (self.key_public_key, self.key_sealed_private_key) {
            (Some(public_key), Some(sealed_private_key)) => Some(SealedKey {
                public_key,
                sealed_private_key,
            }),
            _ => None,
        };
        Ok((NetworkRecord::try_from(self.network)?, sealed))
    }
}

impl TryFrom<NetworkRow> for NetworkRecord {
    type Error = StoreError;

    fn try_from(row: NetworkRow) -> Result<Self, StoreError> {
        Ok(Self {
            state: NetworkState::parse(&row.state)
                .ok_or_else(|| StoreError::Corrupt(format!("network state {:?}", row.state)))?,
            key_version: to_u64(row.key_version)?,
            min_decryption_version: to_u64(row.min_decryption_version)?,
            key_backend: KeyBackend::parse(&row.key_backend)
                .ok_or_else(|| StoreError::Corrupt(format!("key backend {:?}", row.key_backend)))?,
            threshold: Threshold {
                n: to_u16(row.threshold_n)?,
                t: to_u16(row.threshold_t)?,
            },
            network_id: row.network_id,
            owner_did: row.owner_did,
            name: row.name,
            alg: row.alg,
            public_key: row.public_key,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// An `audit` row as stored.
#[derive(FromRow)]
pub(super) struct AuditRow {
    seq: i64,
    time: String,
    network: String,
    requester: String,
    command: String,
    invocation_cid: String,
    outcome: String,
    prev_hash: String,
    entry_hash: String,
}

impl FromSyncRow for AuditRow {
    fn from_sync_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            seq: row.get("seq")?,
            time: row.get("time")?,
            network: row.get("network")?,
            requester: row.get("requester")?,
            command: row.get("command")?,
            invocation_cid: row.get("invocation_cid")?,
            outcome: row.get("outcome")?,
            prev_hash: row.get("prev_hash")?,
            entry_hash: row.get("entry_hash")?,
        })
    }
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, StoreError> {
        Ok(Self {
            entry: AuditEntry {
                sequence: to_u64(row.seq)?,
                time: row.time,
                network: row.network,
                requester: row.requester,
                command: row.command,
                invocation_cid: row.invocation_cid,
                outcome: row.outcome,
            },
            prev_hash: row.prev_hash,
            entry_hash: row.entry_hash,
        })
    }
}

fn parse_hash(hex_hash: &str) -> Result<[u8; 32], StoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_hash, &mut out)
        .map_err(|_| StoreError::Corrupt(format!("audit hash {hex_hash:?}")))?;
    Ok(out)
}

pub(super) fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("integer {v} out of range")))
}

fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative integer {v}")))
}

fn to_u16(v: i64) -> Result<u16, StoreError> {
    u16::try_from(v).map_err(|_| StoreError::Corrupt(format!("integer {v} out of range")))
}

/// The entry after `head`, with its chain hash.
fn link(
    head: ChainHead,
    draft: AuditDraft,
    time: String,
) -> Result<(AuditRecord, [u8; 32]), StoreError> {
    let entry = AuditEntry {
        sequence: head.seq + 1,
        time,
        network: draft.network,
        requester: draft.requester,
        command: draft.command,
        invocation_cid: draft.invocation_cid,
        outcome: draft.outcome,
    };
    let hash = entry.chain_hash(&head.hash)?;
    let record = AuditRecord {
        prev_hash: hex::encode(head.hash),
        entry_hash: hex::encode(hash),
        entry,
    };
    Ok((record, hash))
}

/// `$first, …`: `count` numbered parameters.
fn values_list(count: usize, first: usize) -> String {
    let params: Vec<String> = (first..first + count).map(|n| format!("${n}")).collect();
    params.join(", ")
}

/// The parameters of claims' rows: issuer, nonce, expiry.
fn claim_params<'a>(claims: &[&'a NonceClaim]) -> Vec<Value<'a>> {
    claims
        .iter()
        .flat_map(|claim| {
            [
                Value::Text(&claim.issuer),
                Value::Bytes(&claim.nonce),
                Value::Int(claim.expires_at),
            ]
        })
        .collect()
}

/// `($first, …), (…), …`: `rows` tuples of `columns` numbered parameters.
fn values_clause(rows: usize, columns: usize, first: usize) -> String {
    let tuples: Vec<String> = (0..rows)
        .map(|row| format!("({})", values_list(columns, first + row * columns)))
        .collect();
    tuples.join(", ")
}
