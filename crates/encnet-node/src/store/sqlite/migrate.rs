//! The SQLite schema's migrations, applied in order at start-up.
//!
//! Applied versions are recorded in `_sqlx_migrations`, in the shape
//! earlier releases (which migrated through sqlx) left it: a database
//! created by any release opens with any later one. An applied migration
//! whose text changed since is refused, as sqlx did.

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha384};

use super::super::error::StoreError;

/// Every migration: version, description, SQL.
const MIGRATIONS: [(i64, &str, &str); 4] = [
    (
        1,
        "create tables",
        include_str!("../../../migrations/sqlite/0001_create_tables.sql"),
    ),
    (
        2,
        "nonce log",
        include_str!("../../../migrations/sqlite/0002_nonce_log.sql"),
    ),
    (
        3,
        "attestations",
        include_str!("../../../migrations/sqlite/0003_attestations.sql"),
    ),
    (
        4,
        "audit checkpoints",
        include_str!("../../../migrations/sqlite/0004_audit_checkpoints.sql"),
    ),
];

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)";

/// Applies every migration not yet applied.
pub(super) fn run(conn: &mut Connection) -> Result<(), StoreError> {
    run_up_to(conn, i64::MAX)
}

/// Applies the migrations up to `last` (tests start from an old schema).
pub(super) fn run_up_to(conn: &mut Connection, last: i64) -> Result<(), StoreError> {
    conn.execute_batch(CREATE_TABLE)?;
    for (version, description, sql) in MIGRATIONS.into_iter().filter(|m| m.0 <= last) {
        let checksum = Sha384::digest(sql.as_bytes()).to_vec();
        let applied: Option<Vec<u8>> = conn
            .query_row(
                "SELECT checksum FROM _sqlx_migrations WHERE version = ?1 AND success",
                [version],
                |row| row.get(0),
            )
            .optional()?;
        match applied {
            Some(stored) if stored == checksum => continue,
            Some(_) => return Err(StoreError::MigrationChanged(version)),
            None => {}
        }
        let started = std::time::Instant::now();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        let nanos = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (?1, ?2, TRUE, ?3, ?4)",
            params![version, description, checksum, nanos],
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_changes_nothing_and_an_edited_migration_is_refused() {
        let mut conn = Connection::open_in_memory().expect("open");
        run(&mut conn).expect("migrates");
        run(&mut conn).expect("nothing to do");
        let applied: i64 = conn
            .query_row("SELECT COUNT(*) FROM _sqlx_migrations", [], |r| r.get(0))
            .expect("count");
        assert_eq!(applied, MIGRATIONS.len() as i64);
        conn.execute(
            "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 2",
            [],
        )
        .expect("edited");
        assert!(matches!(
            run(&mut conn),
            Err(StoreError::MigrationChanged(2))
        ));
    }
}
