//! Every PostgreSQL write: the statements one writing transaction runs.
//!
//! Several processes may share the database, so nothing is known without a
//! read: the first append (or claim) locks the one row of `audit_head` and
//! reads the head there, and the nonce table's key decides claims.

use std::collections::{HashMap, HashSet};

use encnet_core::api::{AuditRecord, NetworkState};
use encnet_core::audit::SignedCheckpoint;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{PgPool, Postgres, Transaction};

use super::super::chain::{self, ChainHead};
use super::super::claims::{self, ClaimOutcome, ClaimPlan, NonceKey};
use super::super::error::to_i64;
use super::super::error::StoreError;
use super::super::records::{AuditDraft, Change, Decision, NetworkRecord, NewKey, NonceClaim};
use super::super::rows::{network_state, params_list, values_clause, MAX_ROWS};
use crate::clock;

/// How far the clocks of the processes sharing one PostgreSQL database may
/// disagree: a nonce is reused or purged only this long after it expired,
/// so a process whose clock runs slow never honours an invocation whose
/// nonce another process already forgot.
pub(super) const SHARED_CLOCK_MARGIN_SECS: i64 = 120;

/// One writing transaction.
pub(super) struct PgTx {
    conn: Transaction<'static, Postgres>,
    /// Read and locked on first need.
    head: Option<ChainHead>,
    appended: bool,
}

type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

impl PgTx {
    pub(super) async fn begin(pool: &PgPool) -> Result<Self, StoreError> {
        Ok(Self {
            conn: pool.begin().await?,
            head: None,
            appended: false,
        })
    }

    /// Ends the transaction: if `result` is a success, writes the chain
    /// head back (if it moved) and commits; otherwise rolls back.
    pub(super) async fn end<T>(mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        let value = match result {
            Ok(value) => value,
            Err(err) => {
                self.conn.rollback().await?;
                return Err(err);
            }
        };
        if let Some(head) = self.head.filter(|_| self.appended) {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(to_i64(head.seq)?)
                .bind(hex::encode(head.hash))
                .execute(&mut *self.conn)
                .await?;
        }
        self.conn.commit().await?;
        Ok(value)
    }

    /// The chain head, locked until the transaction ends: writers in every
    /// process append one after another.
    async fn head(&mut self) -> Result<ChainHead, StoreError> {
        if let Some(head) = self.head {
            return Ok(head);
        }
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
                .fetch_optional(&mut *self.conn)
                .await?;
        let head = match row {
            Some((seq, hash)) => ChainHead::stored(seq, &hash)?,
            None => ChainHead::GENESIS,
        };
        self.head = Some(head);
        Ok(head)
    }

    /// Consumes the nonce and applies `change`, then appends the decision's
    /// audit entry: the one transaction of every allowed change.
    pub(super) async fn decide(
        &mut self,
        decision: Decision,
        change: Change,
    ) -> Result<AuditRecord, StoreError> {
        match self.claim_nonces(&[&decision.nonce], decision.now).await?[..] {
            [outcome] => outcome.into_result()?,
            _ => return Err(StoreError::Bug("one claim, not one outcome")),
        }
        self.apply(change, &decision.audit.invocation_cid).await?;
        self.append_audits(vec![decision.audit])
            .await?
            .pop()
            .ok_or(StoreError::Bug("no audit record appended"))
    }

    /// Decides each claim (see [`claims`]), reading the revocations and
    /// network states in this transaction after the chain head is locked:
    /// a revocation or revoke committed before this batch is seen, one
    /// committed after it is ordered after it.
    pub(super) async fn claim_nonces(
        &mut self,
        claims: &[&NonceClaim],
        now: i64,
    ) -> Result<Vec<ClaimOutcome>, StoreError> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        self.head().await?;
        let revoked = self.revoked_among(&claims::cited(claims)).await?;
        let inactive = self.inactive_among(&claims::named_networks(claims)).await?;
        let plan = ClaimPlan::new(claims, &revoked, &inactive);
        let consumed = self.upsert_claims(plan.to_try(), now).await?;
        Ok(plan.outcomes(consumed))
    }

    /// Claims decided by the nonce table's key, which every process shares.
    async fn upsert_claims(
        &mut self,
        mut fresh: Vec<&NonceClaim>,
        now: i64,
    ) -> Result<HashSet<NonceKey>, StoreError> {
        // Rows are locked in key order, so two processes claiming
        // overlapping nonces cannot deadlock.
        fresh.sort_unstable_by(|a, b| (&a.issuer, &a.nonce).cmp(&(&b.issuer, &b.nonce)));
        let mut consumed = HashSet::new();
        for chunk in fresh.chunks(MAX_ROWS) {
            let sql = format!(
                "INSERT INTO nonces (issuer, nonce, expires_at) VALUES {} \
                 ON CONFLICT (issuer, nonce) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE nonces.expires_at < $1 RETURNING issuer, nonce",
                values_clause('$', chunk.len(), 3, 2)
            );
            // Other processes' clocks may lag this one's: a row is free
            // only once it expired by every clock within the margin.
            let mut query = sqlx::query_as(&sql).bind(now.saturating_sub(SHARED_CLOCK_MARGIN_SECS));
            for claim in chunk {
                query = query
                    .bind(&claim.issuer)
                    .bind(&claim.nonce)
                    .bind(claim.expires_at);
            }
            let rows: Vec<NonceKey> = query.fetch_all(&mut *self.conn).await?;
            consumed.extend(rows);
        }
        Ok(consumed)
    }

    /// Which of `cited` are revoked.
    async fn revoked_among(&mut self, cited: &[&str]) -> Result<HashSet<String>, StoreError> {
        let mut revoked = HashSet::new();
        for chunk in cited.chunks(MAX_ROWS) {
            let sql = format!(
                "SELECT cid FROM revocations WHERE cid IN ({})",
                params_list('$', chunk.len(), 1)
            );
            let mut query = sqlx::query_as::<_, (String,)>(&sql);
            for cid in chunk {
                query = query.bind(*cid);
            }
            let rows = query.fetch_all(&mut *self.conn).await?;
            revoked.extend(rows.into_iter().map(|(cid,)| cid));
        }
        Ok(revoked)
    }

    /// The networks among `named` that are not active now.
    async fn inactive_among(
        &mut self,
        named: &[&str],
    ) -> Result<HashMap<String, NetworkState>, StoreError> {
        let mut inactive = HashMap::new();
        for chunk in named.chunks(MAX_ROWS) {
            let sql = format!(
                "SELECT network_id, state FROM networks WHERE network_id IN ({})",
                params_list('$', chunk.len(), 1)
            );
            let mut query = sqlx::query_as::<_, (String, String)>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for (id, state) in query.fetch_all(&mut *self.conn).await? {
                let state = network_state(&state)?;
                if state != NetworkState::Active {
                    inactive.insert(id, state);
                }
            }
        }
        Ok(inactive)
    }

    /// Links the entries, in order, to the chain head and inserts them.
    pub(super) async fn append_audits(
        &mut self,
        drafts: Vec<AuditDraft>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let head = self.head().await?;
        let (records, head) = chain::link(head, drafts, &clock::now_rfc3339())?;
        for chunk in records.chunks(MAX_ROWS) {
            let sql = format!(
                "INSERT INTO audit (seq, time, network, requester, command, invocation_cid, \
                 outcome, prev_hash, entry_hash) VALUES {}",
                values_clause('$', chunk.len(), 9, 1)
            );
            let mut query = sqlx::query(&sql);
            for record in chunk {
                let e = &record.entry;
                query = query
                    .bind(to_i64(e.sequence)?)
                    .bind(&e.time)
                    .bind(&e.network)
                    .bind(&e.requester)
                    .bind(&e.command)
                    .bind(&e.invocation_cid)
                    .bind(&e.outcome)
                    .bind(&record.prev_hash)
                    .bind(&record.entry_hash);
            }
            query.execute(&mut *self.conn).await?;
        }
        self.head = Some(head);
        self.appended = true;
        Ok(records)
    }

    /// Applies the change an allowed invocation authorizes.
    async fn apply(&mut self, change: Change, invocation_cid: &str) -> Result<(), StoreError> {
        let now = clock::now_rfc3339();
        match change {
            Change::CreateNetwork { network, key } => {
                if !self.insert_network(&network).await? {
                    return Err(StoreError::NetworkExists);
                }
                self.insert_key(&network.network_id, &key, &network.created_at)
                    .await
            }
            Change::State { network, change } => {
                let query = sqlx::query(
                    "UPDATE networks SET state = $1, updated_at = $2 \
                     WHERE network_id = $3 AND state = $4",
                )
                .bind(change.to.as_str())
                .bind(now)
                .bind(network)
                .bind(change.from.as_str());
                self.update_network(query).await
            }
            Change::Rotate { network, key } => {
                let query = sqlx::query(
                    "UPDATE networks SET key_version = $1, public_key = $2, updated_at = $3 \
                     WHERE network_id = $4 AND key_version = $5 AND state = 'active'",
                )
                .bind(to_i64(key.key_version)?)
                .bind(key.public_key.clone())
                .bind(now.clone())
                .bind(network.clone())
                .bind(to_i64(key.key_version.saturating_sub(1))?);
                self.update_network(query).await?;
                self.insert_key(&network, &key, &now).await
            }
            Change::Retire {
                network,
                min_version,
            } => {
                let query = sqlx::query(
                    "UPDATE networks SET min_decryption_version = $1, updated_at = $2 \
                     WHERE network_id = $3 AND min_decryption_version <= $1 \
                     AND key_version >= $1 AND state = 'active'",
                )
                .bind(to_i64(min_version)?)
                .bind(now)
                .bind(network);
                self.update_network(query).await
            }
            Change::Destroy { network, from } => {
                let query = sqlx::query(
                    "UPDATE networks SET state = 'destroyed', updated_at = $1 \
                     WHERE network_id = $2 AND state = $3",
                )
                .bind(now)
                .bind(&network)
                .bind(from.as_str());
                self.update_network(query).await?;
                sqlx::query(
                    "UPDATE network_keys \
                     SET sealed_private_key = decode(repeat('00', length(sealed_private_key)), 'hex') \
                     WHERE network_id = $1",
                )
                .bind(&network)
                .execute(&mut *self.conn)
                .await?;
                sqlx::query("DELETE FROM network_keys WHERE network_id = $1")
                    .bind(&network)
                    .execute(&mut *self.conn)
                    .await?;
                Ok(())
            }
            Change::Revoke {
                key,
                revoked_by,
                more_audit,
            } => {
                let inserted = sqlx::query(
                    "INSERT INTO revocations (cid, revoked_by, invocation_cid, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (cid) DO NOTHING",
                )
                .bind(key)
                .bind(revoked_by)
                .bind(invocation_cid)
                .bind(now)
                .execute(&mut *self.conn)
                .await?
                .rows_affected();
                if inserted != 1 {
                    return Err(StoreError::AlreadyRevoked);
                }
                self.append_audits(more_audit).await.map(drop)
            }
            Change::Attest {
                network,
                version,
                statement,
                signature,
            } => {
                sqlx::query(
                    "INSERT INTO attestations \
                     (network_id, key_version, statement, signature, created_at) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (network_id, key_version) DO UPDATE \
                     SET statement = excluded.statement, signature = excluded.signature",
                )
                .bind(network)
                .bind(to_i64(version)?)
                .bind(statement)
                .bind(signature)
                .bind(now)
                .execute(&mut *self.conn)
                .await?;
                Ok(())
            }
        }
    }

    /// Inserts a network row; `false` if one with this id or owner and name
    /// exists.
    pub(super) async fn insert_network(&mut self, n: &NetworkRecord) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO networks (network_id, owner_did, name, alg, state, key_version, \
             min_decryption_version, key_backend, threshold_n, threshold_t, public_key, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&n.network_id)
        .bind(&n.owner_did)
        .bind(&n.name)
        .bind(n.alg.as_str())
        .bind(n.state.as_str())
        .bind(to_i64(n.key_version)?)
        .bind(to_i64(n.min_decryption_version)?)
        .bind(n.key_backend.as_str())
        .bind(i64::from(n.threshold.n))
        .bind(i64::from(n.threshold.t))
        .bind(&n.public_key)
        .bind(&n.created_at)
        .bind(&n.updated_at)
        .execute(&mut *self.conn)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Inserts one sealed key version.
    pub(super) async fn insert_key(
        &mut self,
        network_id: &str,
        key: &NewKey,
        created_at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO network_keys (network_id, key_version, public_key, \
             sealed_private_key, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(network_id)
        .bind(to_i64(key.key_version)?)
        .bind(&key.public_key)
        .bind(&key.sealed_private_key)
        .bind(created_at)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// Runs an `UPDATE` of one network row whose `WHERE` states what must
    /// still hold; [`StoreError::Conflict`] when it no longer does.
    async fn update_network(&mut self, query: PgQuery<'_>) -> Result<(), StoreError> {
        match query.execute(&mut *self.conn).await?.rows_affected() {
            1 => Ok(()),
            _ => Err(StoreError::Conflict),
        }
    }

    /// Stores a signed checkpoint; one already stored for its sequence is
    /// kept (both state the same hash).
    pub(super) async fn insert_checkpoint(
        &mut self,
        checkpoint: &SignedCheckpoint,
    ) -> Result<(), StoreError> {
        let body = &checkpoint.body;
        sqlx::query(
            "INSERT INTO audit_checkpoints (seq, node_id, head_hash, time, signature) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
        )
        .bind(to_i64(body.sequence)?)
        .bind(&body.node_id)
        .bind(&body.head_hash)
        .bind(&body.time)
        .bind(&checkpoint.node_signature)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }
}
