//! Statements on the SQLite writer's synchronous connection (`rusqlite`).
//!
//! The shared SQL numbers its parameters `$N`. SQLite treats `$1` as a
//! parameter *named* "$1", numbered in order of appearance, and finding a
//! parameter's name scans the statement's list of names: bound by name,
//! the n parameters of a multi-row insert cost O(n²), 6 ms for a batch of
//! 256 audit entries. So the writer rewrites `$N` as `?N`, SQLite's
//! numbered form, and binds each value by its index.

use std::borrow::Cow;

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
    let mut statement = conn.prepare_cached(&numbered(sql))?;
    // `?N` is parameter N, and the count is the highest N.
    for index in 1..=statement.parameter_count() {
        let value = params
            .get(index - 1)
            .copied()
            .ok_or_else(|| rusqlite::Error::InvalidParameterName(format!("${index} of {sql}")))?;
        statement.raw_bind_parameter(index, value)?;
    }
    Ok(statement)
}

/// `sql` with every `$N` outside quotes written `?N`.
fn numbered(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut quote = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, '$') if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('?');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    Cow::Owned(out)
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
    fn a_parameter_used_twice_takes_one_value() {
        let conn = Connection::open_in_memory().expect("open");
        let row: Option<(i64, i64)> =
            fetch_optional(&conn, "SELECT $1, $1 + 1", &[Value::Int(4)]).expect("select");
        assert_eq!(row, Some((4, 5)));
    }

    #[test]
    fn only_parameters_outside_quotes_are_renumbered() {
        assert_eq!(
            numbered(r#"SELECT '$1', "$2", $3, $x FROM t WHERE a = $10"#),
            r#"SELECT '$1', "$2", ?3, $x FROM t WHERE a = ?10"#
        );
        assert!(matches!(numbered("SELECT 1"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_quoted_dollar_is_text_not_a_parameter() {
        let conn = Connection::open_in_memory().expect("open");
        let row: Option<(String, i64)> =
            fetch_optional(&conn, "SELECT '$1 it''s', $1", &[Value::Int(7)]).expect("select");
        assert_eq!(row, Some(("$1 it's".to_owned(), 7)));
    }

    #[test]
    fn a_missing_parameter_is_an_error() {
        let conn = Connection::open_in_memory().expect("open");
        let row = fetch_optional::<(i64,)>(&conn, "SELECT $3", &[Value::Int(1)]);
        assert!(matches!(row, Err(StoreError::Sqlite(_))));
    }
}
