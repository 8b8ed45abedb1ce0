//! Strict DAG-CBOR: a bounded structural pre-scan, decode, and the
//! byte-for-byte re-encoding check (UCAN decision 3).

use cid::multihash::Multihash;
use cid::Cid;
use ipld_core::ipld::Ipld;
use sha2::{Digest, Sha256};

use crate::error::UcanError;

/// Deepest nesting accepted; the decoder recurses, so this bounds its stack.
const MAX_DEPTH: usize = 64;

/// Multicodec of DAG-CBOR.
const DAG_CBOR: u64 = 0x71;
/// Multicodec of sha2-256.
const SHA2_256: u64 = 0x12;

/// Decodes canonical DAG-CBOR, rejecting anything that does not re-encode to
/// exactly `bytes`.
pub(crate) fn decode_strict(bytes: &[u8]) -> Result<Ipld, UcanError> {
    let value = decode(bytes)?;
    if encode(&value)? != bytes {
        return Err(UcanError::NonCanonical);
    }
    Ok(value)
}

/// Decodes DAG-CBOR after the structural pre-scan, without the canonical
/// check (containers only need to be well-formed).
pub(crate) fn decode(bytes: &[u8]) -> Result<Ipld, UcanError> {
    scan(bytes)?;
    serde_ipld_dagcbor::from_slice(bytes)
        .map_err(|e| UcanError::malformed(format!("DAG-CBOR: {e}")))
}

/// Encodes a value as DAG-CBOR (map keys sorted length-first).
pub(crate) fn encode(value: &Ipld) -> Result<Vec<u8>, UcanError> {
    serde_ipld_dagcbor::to_vec(value).map_err(|e| UcanError::malformed(format!("encoding: {e}")))
}

/// Length of `value`'s DAG-CBOR encoding, counted without keeping it.
pub(crate) fn encoded_len<T: serde::Serialize>(value: &T) -> Result<usize, UcanError> {
    let mut counter = Counter(0);
    serde_ipld_dagcbor::to_writer(&mut counter, value)
        .map_err(|e| UcanError::malformed(format!("encoding: {e}")))?;
    Ok(counter.0)
}

/// A writer that only counts bytes.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// CIDv1, dag-cbor, sha2-256 of `bytes`.
pub(crate) fn cid_of(bytes: &[u8]) -> Cid {
    let digest = Sha256::digest(bytes);
    match Multihash::<64>::wrap(SHA2_256, &digest) {
        Ok(hash) => Cid::new_v1(DAG_CBOR, hash),
        // A 32-byte digest always fits a 64-byte multihash.
        Err(_) => Cid::default(),
    }
}

/// Length of the CBOR head for an argument `n`.
pub(crate) fn head_len(n: u64) -> usize {
    match n {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Walks the item structure iteratively: definite lengths only, every length
/// inside the input, nesting at most [`MAX_DEPTH`], only tag 42, no
/// `undefined`, no half or single floats, exactly one top-level item.
fn scan(bytes: &[u8]) -> Result<(), UcanError> {
    let bad = |msg: &str| UcanError::malformed(format!("CBOR: {msg}"));
    // Items still expected at each open nesting level.
    let mut pending: Vec<u64> = vec![1];
    let mut pos = 0usize;
    while let Some(top) = pending.last_mut() {
        if *top == 0 {
            pending.pop();
            continue;
        }
        *top -= 1;
        let initial = *bytes.get(pos).ok_or_else(|| bad("truncated"))?;
        pos += 1;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let arg = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let len = 1usize << (info - 24);
                let raw = bytes.get(pos..pos + len).ok_or_else(|| bad("truncated"))?;
                pos += len;
                raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
            }
            31 => return Err(UcanError::NonCanonical),
            _ => return Err(bad("reserved additional information")),
        };
        let remaining = (bytes.len() - pos) as u64;
        match major {
            0 | 1 => {}
            2 | 3 => {
                if arg > remaining {
                    return Err(bad("truncated"));
                }
                pos += arg as usize;
            }
            4 | 5 => {
                let items = if major == 5 {
                    arg.saturating_mul(2)
                } else {
                    arg
                };
                // Every item takes at least one byte.
                if items > remaining {
                    return Err(bad("truncated"));
                }
                if pending.len() > MAX_DEPTH {
                    return Err(bad("nested too deeply"));
                }
                pending.push(items);
            }
            6 => {
                if arg != 42 {
                    return Err(bad("tag other than 42"));
                }
                if pending.len() > MAX_DEPTH {
                    return Err(bad("nested too deeply"));
                }
                pending.push(1);
            }
            _ => match info {
                20..=22 | 27 => {}
                25 | 26 => return Err(UcanError::NonCanonical),
                _ => return Err(bad("simple value other than false, true, null")),
            },
        }
    }
    if pos != bytes.len() {
        return Err(bad("trailing bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_indefinite_and_deep_nesting() {
        assert_eq!(decode(&[0x9f, 0xff]), Err(UcanError::NonCanonical));
        let deep = vec![0x81; 200];
        assert!(matches!(decode(&deep), Err(UcanError::Malformed(_))));
    }

    #[test]
    fn rejects_unsorted_map() {
        // {"bb": 1, "a": 2}: keys not in length-first order.
        let bytes = [0xa2, 0x62, b'b', b'b', 0x01, 0x61, b'a', 0x02];
        assert_eq!(decode_strict(&bytes), Err(UcanError::NonCanonical));
    }

    #[test]
    fn rejects_non_minimal_integer() {
        assert_eq!(decode_strict(&[0x18, 0x01]), Err(UcanError::NonCanonical));
        assert_eq!(decode_strict(&[0x01]), Ok(Ipld::Integer(1)));
    }
}
