//! Statement evaluation with the semantics of UCAN decision 7.

use std::cmp::Ordering;

use ipld_core::ipld::Ipld;

use super::{Glob, Statement};

/// Whether `stmt` holds on `args`. A selector that cannot be resolved makes
/// its own statement false.
pub(super) fn eval(stmt: &Statement, args: &Ipld) -> bool {
    match stmt {
        Statement::Equal(sel, value) => sel.resolve(args).is_some_and(|v| deep_eq(&v, value)),
        Statement::NotEqual(sel, value) => sel.resolve(args).is_some_and(|v| !deep_eq(&v, value)),
        Statement::LessThan(sel, n) => compare(sel, args, n, Ordering::is_lt),
        Statement::LessOrEqual(sel, n) => compare(sel, args, n, Ordering::is_le),
        Statement::GreaterThan(sel, n) => compare(sel, args, n, Ordering::is_gt),
        Statement::GreaterOrEqual(sel, n) => compare(sel, args, n, Ordering::is_ge),
        Statement::Like(sel, glob) => sel
            .resolve(args)
            .is_some_and(|v| matches!(&*v, Ipld::String(s) if glob_match(glob, s))),
        Statement::Not(inner) => !eval(inner, args),
        Statement::And(stmts) => stmts.iter().all(|s| eval(s, args)),
        // `or []` is true (decision 7), like `and []`.
        Statement::Or(stmts) => stmts.is_empty() || stmts.iter().any(|s| eval(s, args)),
        Statement::All(sel, inner) => {
            quantify(sel, args, |items| items.iter().all(|i| eval(inner, i)))
        }
        Statement::Any(sel, inner) => {
            quantify(sel, args, |items| items.iter().any(|i| eval(inner, i)))
        }
    }
}

fn quantify(sel: &super::Selector, args: &Ipld, test: impl Fn(&[Ipld]) -> bool) -> bool {
    let Some(value) = sel.resolve(args) else {
        return false;
    };
    match &*value {
        Ipld::List(items) => test(items),
        Ipld::Map(map) => test(&map.values().cloned().collect::<Vec<_>>()),
        _ => false,
    }
}

fn compare(sel: &super::Selector, args: &Ipld, n: &Ipld, want: fn(Ordering) -> bool) -> bool {
    sel.resolve(args)
        .and_then(|v| number_cmp(&v, n))
        .is_some_and(want)
}

/// Orders two numbers, ints and floats as one kind; `None` for non-numbers
/// and NaN.
fn number_cmp(a: &Ipld, b: &Ipld) -> Option<Ordering> {
    match (a, b) {
        (Ipld::Integer(x), Ipld::Integer(y)) => Some(x.cmp(y)),
        (Ipld::Integer(x), Ipld::Float(y)) => (*x as f64).partial_cmp(y),
        (Ipld::Float(x), Ipld::Integer(y)) => x.partial_cmp(&(*y as f64)),
        (Ipld::Float(x), Ipld::Float(y)) => x.partial_cmp(y),
        _ => None,
    }
}

/// Deep equality where `1 == 1.0`.
pub(super) fn deep_eq(a: &Ipld, b: &Ipld) -> bool {
    match (a, b) {
        (Ipld::Integer(_) | Ipld::Float(_), Ipld::Integer(_) | Ipld::Float(_)) => {
            number_cmp(a, b) == Some(Ordering::Equal)
        }
        (Ipld::List(x), Ipld::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| deep_eq(a, b))
        }
        (Ipld::Map(x), Ipld::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && deep_eq(va, vb))
        }
        _ => a == b,
    }
}

/// `*` matches any run of characters; everything else is literal.
fn glob_match(glob: &Glob, s: &str) -> bool {
    let parts = &glob.parts;
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return s.is_empty();
    };
    if parts.len() == 1 {
        return s == first;
    }
    let Some(mut rest) = s.strip_prefix(first.as_str()) else {
        return false;
    };
    let middle = parts.get(1..parts.len() - 1).unwrap_or_default();
    for part in middle {
        match rest.find(part.as_str()) {
            Some(at) => rest = rest.get(at + part.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last.as_str())
}
