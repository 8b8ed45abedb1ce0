//! Selectors: the jq subset UCAN policies use to reach into arguments.

use std::borrow::Cow;
use std::fmt;

use ipld_core::ipld::Ipld;

use super::eval::scalar_len;
use super::EvalBudget;
use crate::error::UcanError;

/// A parsed selector such as `.a[0]["b c"][1:]?`.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    source: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
struct Segment {
    step: Step,
    optional: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// `.name` or `["name"]`
    Field(String),
    /// `[n]`, `[-n]`
    Index(i64),
    /// `[a:b]`, `[a:]`, `[:b]`
    Slice(Option<i64>, Option<i64>),
    /// `[]`
    Iterate,
}

impl Selector {
    /// Parses a selector; it must start with `.`; `..` and other jq
    /// features are rejected.
    pub fn parse(source: &str) -> Result<Self, UcanError> {
        let bad = |why: &str| UcanError::InvalidPolicy(format!("selector {source:?}: {why}"));
        let mut segments = Vec::new();
        let mut rest = source
            .strip_prefix('.')
            .ok_or_else(|| bad("must start with ."))?;
        let mut after_dot = true;
        // `.` alone (or `.?`) is the identity.
        if rest.trim_start_matches('?').is_empty() {
            return Ok(Self {
                source: source.to_owned(),
                segments,
            });
        }
        while !rest.is_empty() {
            let step;
            if let Some(inner) = rest.strip_prefix('[') {
                let end = bracket_end(inner).ok_or_else(|| bad("unclosed ["))?;
                let (body, tail) = inner.split_at(end);
                step = parse_bracket(body).ok_or_else(|| bad("bad [ ] segment"))?;
                rest = tail.get(1..).unwrap_or_default();
            } else if after_dot {
                let len = rest
                    .char_indices()
                    .find(|&(i, c)| {
                        !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()))
                    })
                    .map_or(rest.len(), |(i, _)| i);
                if len == 0 {
                    return Err(bad("expected a field name"));
                }
                let (name, tail) = rest.split_at(len);
                step = Step::Field(name.to_owned());
                rest = tail;
            } else if let Some(tail) = rest.strip_prefix('.') {
                rest = tail;
                after_dot = true;
                if rest.is_empty() {
                    return Err(bad("trailing ."));
                }
                continue;
            } else {
                return Err(bad("unexpected character"));
            }
            let tail = rest.trim_start_matches('?');
            let optional = tail.len() != rest.len();
            rest = tail;
            after_dot = false;
            segments.push(Segment { step, optional });
        }
        Ok(Self {
            source: source.to_owned(),
            segments,
        })
    }

    /// The selector's text.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Resolves the selector against `value`, left to right. `None` when a
    /// non-optional segment cannot be resolved; an optional one that cannot
    /// be resolved ends resolution with null. Unbounded: policies resolve
    /// within their [`EvalBudget`].
    pub fn resolve<'a>(&self, value: &'a Ipld) -> Option<Cow<'a, Ipld>> {
        self.resolve_within(value, &mut EvalBudget::new(u64::MAX))
            .unwrap_or(None)
    }

    /// [`Selector::resolve`], one step per segment plus the cost of every
    /// node it copies (slices, map iteration, steps past a copy).
    pub(crate) fn resolve_within<'a>(
        &self,
        value: &'a Ipld,
        budget: &mut EvalBudget,
    ) -> Result<Option<Cow<'a, Ipld>>, UcanError> {
        let mut current = Cow::Borrowed(value);
        for segment in &self.segments {
            budget.spend(1)?;
            let next = match &current {
                Cow::Borrowed(v) => apply(&segment.step, v, budget)?,
                Cow::Owned(v) => match apply(&segment.step, v, budget)? {
                    Some(Cow::Borrowed(part)) => Some(Cow::Owned(copy(part, budget)?)),
                    other => other.map(|c| Cow::Owned(c.into_owned())),
                },
            };
            current = match next {
                Some(v) => v,
                None if segment.optional => return Ok(Some(Cow::Owned(Ipld::Null))),
                None => return Ok(None),
            };
        }
        Ok(Some(current))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Index of the `]` closing a bracket segment, skipping a quoted key.
fn bracket_end(inner: &str) -> Option<usize> {
    if !inner.starts_with('"') {
        return inner.find(']');
    }
    let mut escaped = false;
    for (i, c) in inner.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return inner.get(i + 1..)?.starts_with(']').then_some(i + 1),
            _ => {}
        }
    }
    None
}

fn parse_bracket(body: &str) -> Option<Step> {
    if body.is_empty() {
        return Some(Step::Iterate);
    }
    if let Some(quoted) = body.strip_prefix('"').and_then(|b| b.strip_suffix('"')) {
        let mut key = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            key.push(if c == '\\' { chars.next()? } else { c });
        }
        return Some(Step::Field(key));
    }
    if let Some((from, to)) = body.split_once(':') {
        let bound = |s: &str| {
            if s.is_empty() {
                Some(None)
            } else {
                parse_int(s).map(Some)
            }
        };
        return Some(Step::Slice(bound(from)?, bound(to)?));
    }
    parse_int(body).map(Step::Index)
}

fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Position `i` (negative from the end) in a sequence of `len`.
fn position(i: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if i < 0 { len.checked_add(i)? } else { i };
    (0..len)
        .contains(&i)
        .then(|| usize::try_from(i).ok())
        .flatten()
}

/// Slice bounds, clamped to the sequence as jq does.
fn bounds(from: Option<i64>, to: Option<i64>, len: usize) -> (usize, usize) {
    let ilen = i64::try_from(len).unwrap_or(i64::MAX);
    let clamp = |b: i64| {
        let b = if b < 0 { ilen.saturating_add(b) } else { b };
        usize::try_from(b.clamp(0, ilen)).unwrap_or(0)
    };
    let start = from.map_or(0, clamp);
    let end = to.map_or(len, clamp);
    (start, end.max(start))
}

/// One step; what it selects is borrowed, except slices and map values,
/// which are copied within `budget`.
fn apply<'a>(
    step: &Step,
    value: &'a Ipld,
    budget: &mut EvalBudget,
) -> Result<Option<Cow<'a, Ipld>>, UcanError> {
    Ok(match (step, value) {
        (Step::Field(key), Ipld::Map(map)) => {
            // The lookup compares the key a few times.
            budget.spend_bytes(key.len())?;
            map.get(key).map(Cow::Borrowed)
        }
        (Step::Index(i), Ipld::List(items)) => position(*i, items.len())
            .and_then(|at| items.get(at))
            .map(Cow::Borrowed),
        (Step::Index(i), Ipld::Bytes(bytes)) => position(*i, bytes.len())
            .and_then(|at| bytes.get(at))
            .map(|b| Cow::Owned(Ipld::Integer(i128::from(*b)))),
        (Step::Slice(from, to), Ipld::List(items)) => {
            let (start, end) = bounds(*from, *to, items.len());
            match items.get(start..end) {
                Some(part) => Some(Cow::Owned(Ipld::List(copy_all(part, budget)?))),
                None => None,
            }
        }
        (Step::Slice(from, to), Ipld::Bytes(bytes)) => {
            let (start, end) = bounds(*from, *to, bytes.len());
            match bytes.get(start..end) {
                Some(part) => {
                    budget.spend_bytes(part.len())?;
                    Some(Cow::Owned(Ipld::Bytes(part.to_vec())))
                }
                None => None,
            }
        }
        (Step::Iterate, Ipld::List(_)) => Some(Cow::Borrowed(value)),
        (Step::Iterate, Ipld::Map(map)) => {
            Some(Cow::Owned(Ipld::List(copy_all(map.values(), budget)?)))
        }
        _ => None,
    })
}

/// A deep copy of `value`, paid for node by node (strings and bytes by
/// length) before it is made.
fn copy(value: &Ipld, budget: &mut EvalBudget) -> Result<Ipld, UcanError> {
    budget.spend_bytes(scalar_len(value))?;
    Ok(match value {
        Ipld::List(items) => Ipld::List(copy_all(items, budget)?),
        Ipld::Map(map) => Ipld::Map(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), copy(v, budget)?)))
                .collect::<Result<_, UcanError>>()?,
        ),
        other => other.clone(),
    })
}

fn copy_all<'a>(
    items: impl IntoIterator<Item = &'a Ipld>,
    budget: &mut EvalBudget,
) -> Result<Vec<Ipld>, UcanError> {
    items.into_iter().map(|i| copy(i, budget)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::from_json;

    fn select(sel: &str, json: serde_json::Value) -> Option<Ipld> {
        let sel = Selector::parse(sel).unwrap_or_else(|e| panic!("{e}"));
        sel.resolve(&from_json(&json)).map(Cow::into_owned)
    }

    #[test]
    fn forms() {
        use serde_json::json;
        let v = json!({"a": [1, 2, 3], "b c": {"d": true}, "e": null});
        assert_eq!(select(".", v.clone()), Some(from_json(&v)));
        assert_eq!(select(".a[0]", v.clone()), Some(Ipld::Integer(1)));
        assert_eq!(select(".a[-1]", v.clone()), Some(Ipld::Integer(3)));
        assert_eq!(select(".a[1:]", v.clone()), Some(from_json(&json!([2, 3]))));
        assert_eq!(
            select(".a[:-1]", v.clone()),
            Some(from_json(&json!([1, 2])))
        );
        assert_eq!(
            select(".a[]", v.clone()),
            Some(from_json(&json!([1, 2, 3])))
        );
        assert_eq!(select(".[\"b c\"].d", v.clone()), Some(Ipld::Bool(true)));
        assert_eq!(
            select(".[\"b c\"][\"d\"]", v.clone()),
            Some(Ipld::Bool(true))
        );
        assert_eq!(select(".x", v.clone()), None);
        assert_eq!(select(".x?", v.clone()), Some(Ipld::Null));
        assert_eq!(select(".x???", v.clone()), Some(Ipld::Null));
        assert_eq!(select(".a[7]", v.clone()), None);
        assert_eq!(select(".e", v), Some(Ipld::Null));
    }

    #[test]
    fn bytes_index() {
        let sel = Selector::parse(".[1]").unwrap_or_else(|e| panic!("{e}"));
        let v = Ipld::Bytes(vec![5, 6]);
        assert_eq!(sel.resolve(&v).map(Cow::into_owned), Some(Ipld::Integer(6)));
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            "", "a", "..", ".a.", ".a..b", ".[", ".[x]", ".a b", ".[\"a]", ".1a", "[0]",
        ] {
            assert!(Selector::parse(bad).is_err(), "{bad}");
        }
    }
}
