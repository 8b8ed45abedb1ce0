//! Canonical JSON (RFC 8785, JCS) and the SHA-256 helpers built on it.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::CanonicalError;

/// Serializes `value` as RFC 8785 canonical JSON (via the `serde_jcs` crate).
pub fn to_canonical_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    Ok(serde_jcs::to_vec(value)?)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha256(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_keys_and_formats_numbers() {
        let v = serde_json::json!({"b": 1.0, "a": [1e21, "x\u{1}"], "c": null});
        let out = to_canonical_vec(&v).expect("plain JSON value");
        assert_eq!(out, br#"{"a":[1e+21,"x\u0001"],"b":1,"c":null}"#);
    }

    #[test]
    fn sha256_of_abc() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
