//! Opening SQLite connections with the settings every one of them has, and
//! decoding the schema's rows from them.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Row};

use super::super::error::StoreError;
use super::super::rows::{AuditRow, CheckpointRow, NetworkKeyRow, NetworkRow};

/// Every writing connection's settings.
pub(super) const PRAGMAS: [(&str, &str); 6] = [
    ("journal_mode", "WAL"),
    ("synchronous", "FULL"),
    ("foreign_keys", "ON"),
    // Deleted content is overwritten with zeros (crypto-shredding).
    ("secure_delete", "ON"),
    // When the WAL starts over after a full checkpoint, a file grown past
    // 64 MiB is truncated back, so it does not keep old page copies
    // (deleted keys included) in its unused tail.
    ("journal_size_limit", "67108864"),
    // Statement journals (a multi-row upsert needs one) stay in memory
    // instead of a temporary file opened, written and unlinked per
    // statement.
    ("temp_store", "MEMORY"),
];

/// How long every connection waits for a lock before SQLite answers busy.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Statements a connection keeps prepared: the group commit uses one per
/// batch size.
const STATEMENT_CACHE: usize = 1024;

/// How a connection opens the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// Creates the file if needed; sets [`PRAGMAS`].
    Write,
    /// Reads only (WAL readers never block the writer).
    Read,
}

/// A connection to `path`.
pub(super) fn open(path: &Path, access: Access) -> Result<Connection, StoreError> {
    let flags = match access {
        Access::Write => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        Access::Read => OpenFlags::SQLITE_OPEN_READ_ONLY,
    };
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if access == Access::Write {
        for (name, value) in PRAGMAS {
            conn.pragma_update(None, name, value)?;
        }
    }
    Ok(conn)
}

/// Decodes a row by column name.
pub(super) trait FromSqliteRow: Sized {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self>;
}

impl FromSqliteRow for NetworkRow {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
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

impl FromSqliteRow for NetworkKeyRow {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            network: NetworkRow::from_sqlite_row(row)?,
            key_public_key: row.get("key_public_key")?,
            key_sealed_private_key: row.get("key_sealed_private_key")?,
        })
    }
}

impl FromSqliteRow for AuditRow {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
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

impl FromSqliteRow for CheckpointRow {
    fn from_sqlite_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            seq: row.get("seq")?,
            node_id: row.get("node_id")?,
            head_hash: row.get("head_hash")?,
            time: row.get("time")?,
            signature: row.get("signature")?,
        })
    }
}

/// Every row of a cached statement, decoded and converted.
pub(super) fn fetch_all<R, T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError>
where
    R: FromSqliteRow,
    T: TryFrom<R, Error = StoreError>,
{
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, R::from_sqlite_row)?;
    rows.map(|row| T::try_from(row?)).collect()
}

/// The first row of a cached statement, if any, decoded and converted.
pub(super) fn fetch_optional<R, T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<T>, StoreError>
where
    R: FromSqliteRow,
    T: TryFrom<R, Error = StoreError>,
{
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    match rows.next()? {
        Some(row) => Ok(Some(T::try_from(R::from_sqlite_row(row)?)?)),
        None => Ok(None),
    }
}
