//! IPLD helpers: reading typed arguments, JSON conversion, and the strict
//! field reader the token decoders share.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use cid::Cid;
use ipld_core::ipld::Ipld;

use crate::did::Did;
use crate::error::UcanError;

/// The string at `key` of `args`, if it is one.
pub fn str_arg<'a>(args: &'a BTreeMap<String, Ipld>, key: &str) -> Option<&'a str> {
    match args.get(key) {
        Some(Ipld::String(s)) => Some(s),
        _ => None,
    }
}

/// The integer at `key` of `args`, if it is one that fits an `i64`.
pub fn int_arg(args: &BTreeMap<String, Ipld>, key: &str) -> Option<i64> {
    match args.get(key) {
        Some(Ipld::Integer(n)) => i64::try_from(*n).ok(),
        _ => None,
    }
}

/// The bytes at `key` of `args`, if they are bytes.
pub fn bytes_arg<'a>(args: &'a BTreeMap<String, Ipld>, key: &str) -> Option<&'a [u8]> {
    match args.get(key) {
        Some(Ipld::Bytes(b)) => Some(b),
        _ => None,
    }
}

/// The link at `key` of `args`, if it is one.
pub fn link_arg(args: &BTreeMap<String, Ipld>, key: &str) -> Option<Cid> {
    match args.get(key) {
        Some(Ipld::Link(c)) => Some(*c),
        _ => None,
    }
}

/// Plain JSON to IPLD: integers stay integers, other numbers become floats;
/// no DAG-JSON `{"/": …}` forms are interpreted.
pub fn from_json(value: &serde_json::Value) -> Ipld {
    use serde_json::Value;
    match value {
        Value::Null => Ipld::Null,
        Value::Bool(b) => Ipld::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Ipld::Integer(i.into()),
            (None, Some(u)) => Ipld::Integer(u.into()),
            _ => Ipld::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Ipld::String(s.clone()),
        Value::Array(items) => Ipld::List(items.iter().map(from_json).collect()),
        Value::Object(map) => {
            Ipld::Map(map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
    }
}

/// IPLD to JSON in DAG-JSON's shapes: bytes as `{"/": {"bytes": base64}}`
/// and links as `{"/": "bafy…"}`. Integers outside `i64`/`u64` and
/// non-finite floats become strings.
pub fn to_json(value: &Ipld) -> serde_json::Value {
    use serde_json::{json, Value};
    match value {
        Ipld::Null => Value::Null,
        Ipld::Bool(b) => Value::Bool(*b),
        Ipld::Integer(n) => i64::try_from(*n)
            .map(Value::from)
            .or_else(|_| u64::try_from(*n).map(Value::from))
            .unwrap_or_else(|_| Value::String(n.to_string())),
        Ipld::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(f.to_string())),
        Ipld::String(s) => Value::String(s.clone()),
        Ipld::Bytes(b) => json!({"/": {"bytes": STANDARD_NO_PAD.encode(b)}}),
        Ipld::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Ipld::Map(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Ipld::Link(cid) => json!({"/": cid.to_string()}),
    }
}

/// Takes a token payload's fields one by one and rejects any left over.
pub(crate) struct Fields(BTreeMap<String, Ipld>);

impl Fields {
    pub(crate) fn new(map: BTreeMap<String, Ipld>) -> Self {
        Self(map)
    }

    fn required(&mut self, key: &str) -> Result<Ipld, UcanError> {
        self.0
            .remove(key)
            .ok_or_else(|| UcanError::malformed(format!("missing {key}")))
    }

    fn wrong(key: &str, what: &str) -> UcanError {
        UcanError::malformed(format!("{key} must be {what}"))
    }

    pub(crate) fn string(&mut self, key: &str) -> Result<String, UcanError> {
        match self.required(key)? {
            Ipld::String(s) => Ok(s),
            _ => Err(Self::wrong(key, "a string")),
        }
    }

    pub(crate) fn did(&mut self, key: &str) -> Result<Did, UcanError> {
        self.string(key)?.parse()
    }

    pub(crate) fn opt_did(&mut self, key: &str) -> Result<Option<Did>, UcanError> {
        match self.0.remove(key) {
            None => Ok(None),
            Some(Ipld::String(s)) => s.parse().map(Some),
            Some(_) => Err(Self::wrong(key, "a DID")),
        }
    }

    /// A key that must be present, holding a DID or null (`sub`).
    pub(crate) fn nullable_did(&mut self, key: &str) -> Result<Option<Did>, UcanError> {
        match self.required(key)? {
            Ipld::Null => Ok(None),
            Ipld::String(s) => s.parse().map(Some),
            _ => Err(Self::wrong(key, "a DID or null")),
        }
    }

    pub(crate) fn nonce(&mut self) -> Result<Vec<u8>, UcanError> {
        match self.required("nonce")? {
            // Decision 9: never shorter than 12 bytes.
            Ipld::Bytes(b) if b.len() >= 12 => Ok(b),
            Ipld::Bytes(_) => Err(UcanError::malformed("nonce shorter than 12 bytes")),
            _ => Err(Self::wrong("nonce", "bytes")),
        }
    }

    pub(crate) fn map(&mut self, key: &str) -> Result<BTreeMap<String, Ipld>, UcanError> {
        match self.required(key)? {
            Ipld::Map(m) => Ok(m),
            _ => Err(Self::wrong(key, "a map")),
        }
    }

    pub(crate) fn opt_map(
        &mut self,
        key: &str,
    ) -> Result<Option<BTreeMap<String, Ipld>>, UcanError> {
        match self.0.remove(key) {
            None => Ok(None),
            Some(Ipld::Map(m)) => Ok(Some(m)),
            Some(_) => Err(Self::wrong(key, "a map")),
        }
    }

    pub(crate) fn list(&mut self, key: &str) -> Result<Vec<Ipld>, UcanError> {
        match self.required(key)? {
            Ipld::List(l) => Ok(l),
            _ => Err(Self::wrong(key, "a list")),
        }
    }

    pub(crate) fn links(&mut self, key: &str) -> Result<Vec<Cid>, UcanError> {
        self.list(key)?
            .into_iter()
            .map(|item| match item {
                Ipld::Link(cid) => Ok(cid),
                _ => Err(Self::wrong(key, "a list of links")),
            })
            .collect()
    }

    pub(crate) fn opt_link(&mut self, key: &str) -> Result<Option<Cid>, UcanError> {
        match self.0.remove(key) {
            None => Ok(None),
            Some(Ipld::Link(cid)) => Ok(Some(cid)),
            Some(_) => Err(Self::wrong(key, "a link")),
        }
    }

    pub(crate) fn opt_time(&mut self, key: &str) -> Result<Option<i64>, UcanError> {
        match self.0.remove(key) {
            None => Ok(None),
            Some(value) => Self::time(key, value).map(Some),
        }
    }

    /// `exp`: the key must be present, holding an integer or null.
    pub(crate) fn exp(&mut self) -> Result<Option<i64>, UcanError> {
        match self.required("exp")? {
            Ipld::Null => Ok(None),
            value => Self::time("exp", value).map(Some),
        }
    }

    fn time(key: &str, value: Ipld) -> Result<i64, UcanError> {
        match value {
            Ipld::Integer(n) => {
                let n = i64::try_from(n).map_err(|_| Self::wrong(key, "a timestamp"))?;
                crate::time::check(key, n)
            }
            _ => Err(Self::wrong(key, "an integer")),
        }
    }

    /// Fails if a field was not taken (no non-spec keys).
    pub(crate) fn finish(self) -> Result<(), UcanError> {
        match self.0.keys().next() {
            None => Ok(()),
            Some(key) => Err(UcanError::malformed(format!("unknown field {key:?}"))),
        }
    }
}

/// Builds a payload map, omitting unset optional fields.
#[derive(Default)]
pub(crate) struct MapBuilder(BTreeMap<String, Ipld>);

impl MapBuilder {
    pub(crate) fn set(mut self, key: &str, value: Ipld) -> Self {
        self.0.insert(key.to_owned(), value);
        self
    }

    pub(crate) fn set_opt(self, key: &str, value: Option<Ipld>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    pub(crate) fn build(self) -> Ipld {
        Ipld::Map(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_keep_their_kind() {
        let v: serde_json::Value = serde_json::json!({"i": 1, "f": 1.0, "big": u64::MAX});
        let Ipld::Map(m) = from_json(&v) else {
            panic!("not a map")
        };
        assert_eq!(m.get("i"), Some(&Ipld::Integer(1)));
        assert_eq!(m.get("f"), Some(&Ipld::Float(1.0)));
        assert_eq!(int_arg(&m, "i"), Some(1));
        assert_eq!(int_arg(&m, "big"), None);
        assert_eq!(to_json(&Ipld::Map(m)), v);
    }
}
