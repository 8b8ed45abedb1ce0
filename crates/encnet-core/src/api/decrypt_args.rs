//! The arguments of a decrypt invocation (DESIGN §4.6), written by the
//! client and read by the node from this one definition.

use std::collections::BTreeMap;

use ipld_core::ipld::Ipld;

use crate::suite::Suite;

/// An invocation's `args` map.
pub type Args = BTreeMap<String, Ipld>;

/// `/encryption/decrypt`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptArgs {
    /// The network id (`urn:tinycloud:encryption:…`).
    pub network: String,
    /// The envelope's suite, by its full wire name.
    pub alg: Suite,
    /// The network key version the data key is wrapped to.
    pub key_version: u64,
    /// The envelope's wrapped data key.
    pub wrapped_key: Vec<u8>,
    /// The envelope's `encryptedSymmetricKeyHash` of `wrapped_key`.
    pub key_hash: String,
    /// The X25519 key the node re-wraps the data key to.
    pub receiver_key: Vec<u8>,
}

/// Why an `args` map is not a decrypt's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// A field is missing or of another type.
    #[error("args.{name} must be {kind}")]
    Missing {
        /// The field.
        name: &'static str,
        /// What it must be.
        kind: &'static str,
    },
    /// An integer field does not fit.
    #[error("args.{0} out of range")]
    OutOfRange(&'static str),
    /// `alg` is not a suite's full wire name (an alias such as `v1` would
    /// let a request slip past a delegation policy on `.alg`).
    #[error("args.alg: unknown suite {0:?}")]
    UnknownSuite(String),
}

impl DecryptArgs {
    /// The `args` map of the invocation.
    pub fn to_ipld(&self) -> Args {
        let key_version = Ipld::Integer(i128::from(self.key_version));
        [
            ("network", Ipld::String(self.network.clone())),
            ("alg", Ipld::String(self.alg.as_str().to_owned())),
            ("keyVersion", key_version),
            ("wrappedKey", Ipld::Bytes(self.wrapped_key.clone())),
            ("keyHash", Ipld::String(self.key_hash.clone())),
            ("receiverKey", Ipld::Bytes(self.receiver_key.clone())),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// Reads an `args` map, field by field in a fixed order (the first bad
    /// one is named). Fields it does not know are ignored.
    pub fn from_ipld(args: &Args) -> Result<Self, ArgsError> {
        let alg = string(args, "alg")?;
        let alg = Suite::from_wire(alg).map_err(|_| ArgsError::UnknownSuite(alg.to_owned()))?;
        Ok(Self {
            alg,
            key_version: integer(args, "keyVersion")?,
            wrapped_key: bytes(args, "wrappedKey")?.to_vec(),
            key_hash: string(args, "keyHash")?.to_owned(),
            receiver_key: bytes(args, "receiverKey")?.to_vec(),
            network: string(args, "network")?.to_owned(),
        })
    }
}

fn string<'a>(args: &'a Args, name: &'static str) -> Result<&'a str, ArgsError> {
    match args.get(name) {
        Some(Ipld::String(s)) => Ok(s),
        _ => Err(ArgsError::Missing {
            name,
            kind: "a string",
        }),
    }
}

fn bytes<'a>(args: &'a Args, name: &'static str) -> Result<&'a [u8], ArgsError> {
    match args.get(name) {
        Some(Ipld::Bytes(b)) => Ok(b),
        _ => Err(ArgsError::Missing {
            name,
            kind: "bytes",
        }),
    }
}

fn integer(args: &Args, name: &'static str) -> Result<u64, ArgsError> {
    match args.get(name) {
        Some(Ipld::Integer(i)) => u64::try_from(*i).map_err(|_| ArgsError::OutOfRange(name)),
        _ => Err(ArgsError::Missing {
            name,
            kind: "an integer",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> DecryptArgs {
        DecryptArgs {
            network: "urn:tinycloud:encryption:did:key:z6Mk:n".to_owned(),
            alg: Suite::V2,
            key_version: 3,
            wrapped_key: vec![1; 80],
            key_hash: "ab".repeat(32),
            receiver_key: vec![2; 32],
        }
    }

    #[test]
    fn what_the_client_writes_the_node_reads() {
        let written = args();
        assert_eq!(DecryptArgs::from_ipld(&written.to_ipld()), Ok(written));
    }

    #[test]
    fn the_first_bad_field_is_named() {
        let mut map = args().to_ipld();
        map.insert("alg".to_owned(), Ipld::String("v2".to_owned()));
        map.remove("keyHash");
        assert_eq!(
            DecryptArgs::from_ipld(&map),
            Err(ArgsError::UnknownSuite("v2".to_owned()))
        );
        map.insert(
            "alg".to_owned(),
            Ipld::String(Suite::V1.as_str().to_owned()),
        );
        let err = DecryptArgs::from_ipld(&map).expect_err("keyHash missing");
        assert_eq!(err.to_string(), "args.keyHash must be a string");
        map.insert("keyHash".to_owned(), Ipld::String(String::new()));
        map.insert("keyVersion".to_owned(), Ipld::Integer(-1));
        assert_eq!(
            DecryptArgs::from_ipld(&map),
            Err(ArgsError::OutOfRange("keyVersion"))
        );
    }
}
