//! Statement evaluation with the semantics of UCAN decision 7.

use std::cmp::Ordering;

use ipld_core::ipld::Ipld;

use super::{EvalBudget, Glob, Selector, Statement};
use crate::error::UcanError;

/// Whether `stmt` holds on `args`, one step per statement. A selector that
/// cannot be resolved makes its own statement false.
pub(super) fn eval(
    stmt: &Statement,
    args: &Ipld,
    budget: &mut EvalBudget,
) -> Result<bool, UcanError> {
    budget.spend(1)?;
    Ok(match stmt {
        Statement::Equal(sel, value) => match sel.resolve_within(args, budget)? {
            Some(v) => deep_eq(&v, value, budget)?,
            None => false,
        },
        Statement::NotEqual(sel, value) => match sel.resolve_within(args, budget)? {
            Some(v) => !deep_eq(&v, value, budget)?,
            None => false,
        },
        Statement::LessThan(sel, n) => compare(sel, args, n, budget, Ordering::is_lt)?,
        Statement::LessOrEqual(sel, n) => compare(sel, args, n, budget, Ordering::is_le)?,
        Statement::GreaterThan(sel, n) => compare(sel, args, n, budget, Ordering::is_gt)?,
        Statement::GreaterOrEqual(sel, n) => compare(sel, args, n, budget, Ordering::is_ge)?,
        Statement::Like(sel, glob) => like(sel, glob, args, budget)?,
        Statement::Not(inner) => !eval(inner, args, budget)?,
        Statement::And(stmts) => until(stmts.iter().map(|s| (s, args)), false, budget)?,
        // `or []` is true (decision 7), like `and []`.
        Statement::Or(stmts) => {
            stmts.is_empty() || until(stmts.iter().map(|s| (s, args)), true, budget)?
        }
        Statement::All(sel, inner) => quantify(sel, inner, args, true, budget)?,
        Statement::Any(sel, inner) => quantify(sel, inner, args, false, budget)?,
    })
}

/// Evaluates each pair in order until one yields `stop`: `stop` if one
/// did, `!stop` otherwise (AND with `stop = false`, OR with `true`).
fn until<'a>(
    pairs: impl Iterator<Item = (&'a Statement, &'a Ipld)>,
    stop: bool,
    budget: &mut EvalBudget,
) -> Result<bool, UcanError> {
    for (stmt, value) in pairs {
        if eval(stmt, value, budget)? == stop {
            return Ok(stop);
        }
    }
    Ok(!stop)
}

/// `all` (`every`) or `any` of `inner` over a list or a map's values,
/// visited in place.
fn quantify(
    sel: &Selector,
    inner: &Statement,
    args: &Ipld,
    every: bool,
    budget: &mut EvalBudget,
) -> Result<bool, UcanError> {
    let Some(value) = sel.resolve_within(args, budget)? else {
        return Ok(false);
    };
    match &*value {
        Ipld::List(items) => until(items.iter().map(|i| (inner, i)), !every, budget),
        Ipld::Map(map) => until(map.values().map(|v| (inner, v)), !every, budget),
        _ => Ok(false),
    }
}

fn compare(
    sel: &Selector,
    args: &Ipld,
    n: &Ipld,
    budget: &mut EvalBudget,
    want: fn(Ordering) -> bool,
) -> Result<bool, UcanError> {
    Ok(sel
        .resolve_within(args, budget)?
        .and_then(|v| number_cmp(&v, n))
        .is_some_and(want))
}

/// `like` costs in proportion to the string and pattern: [`glob_match`] is
/// linear in both.
fn like(
    sel: &Selector,
    glob: &Glob,
    args: &Ipld,
    budget: &mut EvalBudget,
) -> Result<bool, UcanError> {
    match sel.resolve_within(args, budget)?.as_deref() {
        Some(Ipld::String(s)) => {
            budget.spend_bytes(s.len().saturating_add(glob.as_str().len()))?;
            Ok(glob_match(glob, s))
        }
        _ => Ok(false),
    }
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

/// Deep equality where `1 == 1.0`; one step per node, and strings and
/// bytes by their length.
pub(super) fn deep_eq(a: &Ipld, b: &Ipld, budget: &mut EvalBudget) -> Result<bool, UcanError> {
    budget.spend_bytes(scalar_len(a))?;
    Ok(match (a, b) {
        (Ipld::Integer(_) | Ipld::Float(_), Ipld::Integer(_) | Ipld::Float(_)) => {
            number_cmp(a, b) == Some(Ordering::Equal)
        }
        (Ipld::List(x), Ipld::List(y)) => x.len() == y.len() && all_eq(x.iter().zip(y), budget)?,
        (Ipld::Map(x), Ipld::Map(y)) => {
            x.len() == y.len()
                && keys_eq(x.keys().zip(y.keys()), budget)?
                && all_eq(x.values().zip(y.values()), budget)?
        }
        _ => a == b,
    })
}

fn all_eq<'a>(
    pairs: impl Iterator<Item = (&'a Ipld, &'a Ipld)>,
    budget: &mut EvalBudget,
) -> Result<bool, UcanError> {
    for (a, b) in pairs {
        if !deep_eq(a, b, budget)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn keys_eq<'a>(
    pairs: impl Iterator<Item = (&'a String, &'a String)>,
    budget: &mut EvalBudget,
) -> Result<bool, UcanError> {
    for (a, b) in pairs {
        budget.spend_bytes(a.len())?;
        if a != b {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Length of a string or byte string; 0 for anything else.
pub(super) fn scalar_len(v: &Ipld) -> usize {
    match v {
        Ipld::String(s) => s.len(),
        Ipld::Bytes(b) => b.len(),
        _ => 0,
    }
}

/// `*` matches any run of characters; everything else is literal. Greedy
/// leftmost matching of each literal part is exact for `*`-only globs and
/// never backtracks: `str::find` (two-way) is linear, and each part is
/// searched once, after the previous match, so the whole match is linear
/// in the string and the pattern.
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
