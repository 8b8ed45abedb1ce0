//! Every SQLite write: the statements one writing transaction runs on the
//! writer's connection. The writer is the file's only writer, so the chain
//! head and every unexpired claim and revocation are known without a read
//! ([`Memory`]); what a transaction changes there counts once it commits.

use std::collections::{HashMap, HashSet};

use encnet_core::api::{AuditRecord, NetworkState};
use encnet_core::audit::SignedCheckpoint;
use rusqlite::{params, params_from_iter, Connection, ToSql};

use super::super::chain::{self, ChainHead};
use super::super::claims::{self, ClaimOutcome, ClaimPlan, NonceKey};
use super::super::error::to_i64;
use super::super::error::StoreError;
use super::super::records::{AuditDraft, Change, Decision, NetworkRecord, NewKey, NonceClaim};
use super::super::rows::{params_list, values_clause, MAX_ROWS};
use super::memory::{Effects, Memory};
use crate::clock;

/// One writing transaction on the writer's connection.
pub(super) struct SqliteTx<'c> {
    conn: &'c Connection,
    head: ChainHead,
    memory: &'c Memory,
    effects: Effects,
}

impl<'c> SqliteTx<'c> {
    pub(super) fn new(conn: &'c Connection, head: ChainHead, memory: &'c Memory) -> Self {
        Self {
            conn,
            head,
            memory,
            effects: Effects::default(),
        }
    }

    /// The chain head after this transaction's appends, and what it
    /// consumed and revoked: both count once it commits.
    pub(super) fn finish(self) -> (ChainHead, Effects) {
        (self.head, self.effects)
    }

    /// Consumes the nonce and applies `change`, then appends the decision's
    /// audit entry: the one transaction of every allowed change.
    pub(super) fn decide(
        &mut self,
        decision: Decision,
        change: Change,
    ) -> Result<AuditRecord, StoreError> {
        self.claim_nonce(&decision.nonce, decision.now)?;
        self.apply(change, &decision.audit.invocation_cid)?;
        self.append_audit(decision.audit)
    }

    /// Consumes one nonce, or says why not.
    pub(super) fn claim_nonce(&mut self, claim: &NonceClaim, now: i64) -> Result<(), StoreError> {
        match self.claim_nonces(&[claim], now)?[..] {
            [outcome] => outcome.into_result(),
            _ => Err(StoreError::Bug("one claim, not one outcome")),
        }
    }

    /// Decides each claim (see [`claims`]): revocations and held nonces
    /// come from memory, network states from the database; the free nonces
    /// are appended to the nonce log, so a commit writes its claims in
    /// sequence instead of one random index leaf each.
    pub(super) fn claim_nonces(
        &mut self,
        claims: &[&NonceClaim],
        now: i64,
    ) -> Result<Vec<ClaimOutcome>, StoreError> {
        let revoked = self.memory.revoked_among(&claims::cited(claims));
        let inactive = self.inactive_among(&claims::named_networks(claims))?;
        let plan = ClaimPlan::new(claims, &revoked, &inactive);
        let free: Vec<&NonceClaim> = plan
            .to_try()
            .into_iter()
            .filter(|c| !self.memory.holds(&c.issuer, &c.nonce, now))
            .collect();
        for chunk in free.chunks(MAX_ROWS) {
            let sql = format!(
                "INSERT INTO nonces (issuer, nonce, expires_at) VALUES {}",
                values_clause('?', chunk.len(), 3, 1)
            );
            let values: Vec<&dyn ToSql> = chunk
                .iter()
                .flat_map(|c| [&c.issuer as &dyn ToSql, &c.nonce, &c.expires_at])
                .collect();
            self.conn.prepare_cached(&sql)?.execute(&*values)?;
        }
        let consumed: HashSet<NonceKey> = free
            .iter()
            .map(|c| (c.issuer.clone(), c.nonce.clone()))
            .collect();
        self.effects.claimed.extend(free.iter().map(|c| NonceClaim {
            issuer: c.issuer.clone(),
            nonce: c.nonce.clone(),
            expires_at: c.expires_at,
            cited: Vec::new(),
            network: None,
        }));
        Ok(plan.outcomes(consumed))
    }

    /// The networks among `named` that are not active now.
    fn inactive_among(&self, named: &[&str]) -> Result<HashMap<String, NetworkState>, StoreError> {
        let mut inactive = HashMap::new();
        for chunk in named.chunks(MAX_ROWS) {
            let sql = format!(
                "SELECT network_id, state FROM networks WHERE network_id IN ({})",
                params_list('?', chunk.len(), 1)
            );
            let mut statement = self.conn.prepare_cached(&sql)?;
            let mut rows = statement.query(params_from_iter(chunk))?;
            while let Some(row) = rows.next()? {
                let state = super::super::rows::network_state(&row.get::<_, String>(1)?)?;
                if state != NetworkState::Active {
                    inactive.insert(row.get(0)?, state);
                }
            }
        }
        Ok(inactive)
    }

    /// Links one entry to the chain head and inserts it.
    pub(super) fn append_audit(&mut self, draft: AuditDraft) -> Result<AuditRecord, StoreError> {
        self.append_audits(vec![draft])?
            .pop()
            .ok_or(StoreError::Bug("no audit record appended"))
    }

    /// Links the entries, in order, to the chain head and inserts them.
    pub(super) fn append_audits(
        &mut self,
        drafts: Vec<AuditDraft>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let (records, head) = chain::link(self.head, drafts, &clock::now_rfc3339())?;
        for chunk in records.chunks(MAX_ROWS) {
            let sql = format!(
                "INSERT INTO audit (seq, time, network, requester, command, invocation_cid, \
                 outcome, prev_hash, entry_hash) VALUES {}",
                values_clause('?', chunk.len(), 9, 1)
            );
            let mut values: Vec<&dyn ToSql> = Vec::with_capacity(chunk.len() * 9);
            let seqs: Vec<i64> = chunk
                .iter()
                .map(|r| to_i64(r.entry.sequence))
                .collect::<Result<_, _>>()?;
            for (record, seq) in chunk.iter().zip(&seqs) {
                let e = &record.entry;
                values.extend([
                    seq as &dyn ToSql,
                    &e.time,
                    &e.network,
                    &e.requester,
                    &e.command,
                    &e.invocation_cid,
                    &e.outcome,
                    &record.prev_hash,
                    &record.entry_hash,
                ]);
            }
            self.conn.prepare_cached(&sql)?.execute(&*values)?;
        }
        self.head = head;
        Ok(records)
    }

    /// Applies the change an allowed invocation authorizes.
    fn apply(&mut self, change: Change, invocation_cid: &str) -> Result<(), StoreError> {
        let now = clock::now_rfc3339();
        match change {
            Change::CreateNetwork { network, key } => {
                if !self.insert_network(&network)? {
                    return Err(StoreError::NetworkExists);
                }
                self.insert_key(&network.network_id, &key, &network.created_at)
            }
            Change::State { network, change } => self.update_network(
                "UPDATE networks SET state = ?1, updated_at = ?2 \
                 WHERE network_id = ?3 AND state = ?4",
                params![change.to.as_str(), now, network, change.from.as_str()],
            ),
            Change::Rotate { network, key } => {
                self.update_network(
                    "UPDATE networks SET key_version = ?1, public_key = ?2, updated_at = ?3 \
                     WHERE network_id = ?4 AND key_version = ?5 AND state = 'active'",
                    params![
                        to_i64(key.key_version)?,
                        key.public_key,
                        now,
                        network,
                        to_i64(key.key_version.saturating_sub(1))?
                    ],
                )?;
                self.insert_key(&network, &key, &now)
            }
            Change::Retire {
                network,
                min_version,
            } => self.update_network(
                "UPDATE networks SET min_decryption_version = ?1, updated_at = ?2 \
                 WHERE network_id = ?3 AND min_decryption_version <= ?1 \
                 AND key_version >= ?1 AND state = 'active'",
                params![to_i64(min_version)?, now, network],
            ),
            Change::Destroy { network, from } => {
                self.update_network(
                    "UPDATE networks SET state = 'destroyed', updated_at = ?1 \
                     WHERE network_id = ?2 AND state = ?3",
                    params![now, network, from.as_str()],
                )?;
                // `secure_delete` zeroes the freed pages; the overwrite first
                // zeroes the rows' own copies in place.
                self.conn.execute(
                    "UPDATE network_keys \
                     SET sealed_private_key = zeroblob(length(sealed_private_key)) \
                     WHERE network_id = ?1",
                    [&network],
                )?;
                self.conn
                    .execute("DELETE FROM network_keys WHERE network_id = ?1", [&network])?;
                Ok(())
            }
            Change::Revoke {
                key,
                revoked_by,
                more_audit,
            } => {
                let inserted = self.conn.execute(
                    "INSERT INTO revocations (cid, revoked_by, invocation_cid, created_at) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (cid) DO NOTHING",
                    params![key, revoked_by, invocation_cid, now],
                )?;
                if inserted != 1 {
                    return Err(StoreError::AlreadyRevoked);
                }
                self.effects.revoked.push(key);
                self.append_audits(more_audit).map(drop)
            }
            Change::Attest {
                network,
                version,
                statement,
                signature,
            } => {
                self.conn.execute(
                    "INSERT INTO attestations \
                     (network_id, key_version, statement, signature, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (network_id, key_version) DO UPDATE \
                     SET statement = excluded.statement, signature = excluded.signature",
                    params![network, to_i64(version)?, statement, signature, now],
                )?;
                Ok(())
            }
        }
    }

    /// Inserts a network row; `false` if one with this id or owner and name
    /// exists.
    pub(super) fn insert_network(&self, n: &NetworkRecord) -> Result<bool, StoreError> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO networks (network_id, owner_did, name, alg, state, key_version, \
             min_decryption_version, key_backend, threshold_n, threshold_t, public_key, \
             created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                n.network_id,
                n.owner_did,
                n.name,
                n.alg.as_str(),
                n.state.as_str(),
                to_i64(n.key_version)?,
                to_i64(n.min_decryption_version)?,
                n.key_backend.as_str(),
                n.threshold.n,
                n.threshold.t,
                n.public_key,
                n.created_at,
                n.updated_at,
            ])?;
        Ok(inserted == 1)
    }

    /// Inserts one sealed key version.
    pub(super) fn insert_key(
        &self,
        network_id: &str,
        key: &NewKey,
        created_at: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO network_keys (network_id, key_version, public_key, \
                 sealed_private_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                network_id,
                to_i64(key.key_version)?,
                key.public_key,
                key.sealed_private_key,
                created_at
            ])?;
        Ok(())
    }

    /// Runs an `UPDATE` of one network row whose `WHERE` states what must
    /// still hold; [`StoreError::Conflict`] when it no longer does.
    fn update_network(&self, sql: &str, params: impl rusqlite::Params) -> Result<(), StoreError> {
        match self.conn.prepare_cached(sql)?.execute(params)? {
            1 => Ok(()),
            _ => Err(StoreError::Conflict),
        }
    }

    /// Stores a signed checkpoint; one already stored for its sequence is
    /// kept (both state the same hash).
    pub(super) fn insert_checkpoint(
        &self,
        checkpoint: &SignedCheckpoint,
    ) -> Result<(), StoreError> {
        let body = &checkpoint.body;
        self.conn.execute(
            "INSERT INTO audit_checkpoints (seq, node_id, head_hash, time, signature) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (seq) DO NOTHING",
            params![
                to_i64(body.sequence)?,
                body.node_id,
                body.head_hash,
                body.time,
                checkpoint.node_signature
            ],
        )?;
        Ok(())
    }

    /// Deletes the nonce-log rows before `before` that expired before `now`.
    pub(super) fn delete_expired_nonces(&self, before: i64, now: i64) -> Result<u64, StoreError> {
        // `expires_at` too: a row is never deleted unexpired, whatever
        // sequence number it was given.
        let deleted = self.conn.execute(
            "DELETE FROM nonces WHERE seq < ?1 AND expires_at < ?2",
            [before, now],
        )?;
        Ok(deleted as u64)
    }
}
