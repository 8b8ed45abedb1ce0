//! Statements on the SQLite writer's synchronous connection (`rusqlite`).
//!
//! The shared SQL numbers its parameters `$N`. SQLite treats `$1` as a
//! parameter *named* "$1" and numbers parameters in order of appearance,
//! so each one is bound by its name, as sqlx does on the readers.

use rusqlite::types::{FromSql, ToSqlOutput, ValueRef};
use rusqlite::{CachedStatement, Connection, Row, ToSql};

use super::query::Value;
use super::StoreError;

/// A row type decoded from the writer's connection.
pub(super) trait FromSyncRow: Sized {
    fn from_sync_row(row: &Row<'_>) -> rusqlite::Result<Self>;
}

impl<A: FromSql> FromSyncRow for (A,) {
    fn from_sync_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok((row.get(0)?,))
    }
}

impl<A: FromSql, B: FromSql> FromSyncRow for (A, B) {
    fn from_sync_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok((row.get(0)?, row.get(1)?))
    }
}

impl<A: FromSql, B: FromSql, C: FromSql> FromSyncRow for (A, B, C) {
    fn from_sync_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    }
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Int(v) => ValueRef::Integer(v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
            Value::Bytes(v) => ValueRef::Blob(v),
        }))
    }
}

/// Runs a statement; answers the number of rows it changed.
pub(super) fn execute(
    conn: &Connection,
    sql: &str,
    params: &[Value<'_>],
) -> Result<u64, StoreError> {
    let mut statement = prepare(conn, sql, params)?;
    Ok(statement.raw_execute()? as u64)
}

/// Every row.
pub(super) fn fetch_all<T: FromSyncRow>(
    conn: &Connection,
    sql: &str,
    params: &[Value<'_>],
) -> Result<Vec<T>, StoreError> {
    fetch(conn, sql, params, usize::MAX)
}

/// The first row, if any.
pub(super) fn fetch_optional<T: FromSyncRow>(
    conn: &Connection,
    sql: &str,
    params: &[Value<'_>],
) -> Result<Option<T>, StoreError> {
    Ok(fetch(conn, sql, params, 1)?.pop())
}

/// Calls `f` on every row, one at a time.
pub(super) fn for_each<T: FromSyncRow>(
    conn: &Connection,
    sql: &str,
    params: &[Value<'_>],
    mut f: impl FnMut(T),
) -> Result<(), StoreError> {
    let mut statement = prepare(conn, sql, params)?;
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next()? {
        f(T::from_sync_row(row)?);
    }
    Ok(())
}

/// Up to `limit` rows.
fn fetch<T: FromSyncRow>(
    conn: &Connection,
    sql: &str,
    params: &[Value<'_>],
    limit: usize,
) -> Result<Vec<T>, StoreError> {
    let mut statement = prepare(conn, sql, params)?;
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while out.len() < limit {
        match rows.next()? {
            Some(row) => out.push(T::from_sync_row(row)?),
            None => break,
        }
    }
    Ok(out)
}

/// The cached statement for `sql`, with `params` bound to its `$N`s.
fn prepare<'c>(
    conn: &'c Connection,
    sql: &str,
    params: &[Value<'_>],
) -> Result<CachedStatement<'c>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    for index in 1..=statement.parameter_count() {
        let value = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|number| number.parse::<usize>().ok())
            .and_then(|number| params.get(number.checked_sub(1)?))
            .copied()
            .ok_or_else(|| rusqlite::Error::InvalidParameterName(format!("{index} of {sql}")))?;
        statement.raw_bind_parameter(index, value)?;
    }
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_bind_by_number_not_position() {
        let conn = Connection::open_in_memory().expect("open");
        let row: Option<(i64, String)> =
            fetch_optional(&conn, "SELECT $2, $1", &[Value::Text("one"), Value::Int(2)])
                .expect("select");
        assert_eq!(row, Some((2, "one".to_owned())));
    }

    #[test]
    fn a_missing_parameter_is_an_error() {
        let conn = Connection::open_in_memory().expect("open");
        let row = fetch_optional::<(i64,)>(&conn, "SELECT $3", &[Value::Int(1)]);
        assert!(matches!(row, Err(StoreError::Sqlite(_))));
    }
}
