//! Network identifiers (DESIGN §4.1): `urn:tinycloud:encryption:<ownerDid>:<name>`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::NetworkIdError;

/// URN prefix kept from TinyCloud for compatibility.
pub const NETWORK_ID_PREFIX: &str = "urn:tinycloud:encryption:";
/// Longest allowed network name.
pub const MAX_NAME_LEN: usize = 64;

/// Longest owner DID, as for any DID a token names (encnet-ucan's
/// `MAX_DID_LEN`): a whole id then stays under 350 bytes, within what an
/// audit entry records (DESIGN §4.11).
pub const MAX_OWNER_DID_LEN: usize = 256;

const DID_KEY: &str = "did:key:";
const DID_PKH_EIP155: &str = "did:pkh:eip155:";

/// A validated network id: owner DID plus name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetworkId {
    owner_did: String,
    name: String,
}

impl NetworkId {
    /// Builds a network id, checking the owner DID and the name.
    pub fn new(owner_did: &str, name: &str) -> Result<Self, NetworkIdError> {
        check_owner_did(owner_did)?;
        check_name(name)?;
        Ok(Self {
            owner_did: owner_did.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The owner's DID (`sub` of every invocation on this network).
    pub fn owner_did(&self) -> &str {
        &self.owner_did
    }

    /// The network name, unique per owner.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{NETWORK_ID_PREFIX}{}:{}", self.owner_did, self.name)
    }
}

impl FromStr for NetworkId {
    type Err = NetworkIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix(NETWORK_ID_PREFIX)
            .ok_or(NetworkIdError::MissingPrefix)?;
        // The owner DID contains `:`; the name never does, so it is the last segment.
        let (owner, name) = rest.rsplit_once(':').ok_or(NetworkIdError::MissingOwner)?;
        Self::new(owner, name)
    }
}

impl Serialize for NetworkId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NetworkId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn check_name(name: &str) -> Result<(), NetworkIdError> {
    if name.is_empty() {
        return Err(NetworkIdError::EmptyName);
    }
    if let Some(ch) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(NetworkIdError::InvalidNameChar { ch });
    }
    // All characters are ASCII now, so bytes are characters.
    if name.len() > MAX_NAME_LEN {
        return Err(NetworkIdError::NameTooLong { len: name.len() });
    }
    Ok(())
}

/// `did:key:z<base58btc>` or `did:pkh:eip155:<chainId>:0x<40 hex>`. The
/// EIP-55 checksum is not verified yet (DESIGN §4.1: "later").
fn check_owner_did(did: &str) -> Result<(), NetworkIdError> {
    if did.len() > MAX_OWNER_DID_LEN {
        return Err(NetworkIdError::OwnerDidTooLong { len: did.len() });
    }
    let well_formed = if let Some(id) = did.strip_prefix(DID_KEY) {
        id.strip_prefix('z')
            .is_some_and(|b58| !b58.is_empty() && b58.bytes().all(is_base58))
    } else if let Some(account) = did.strip_prefix(DID_PKH_EIP155) {
        account.split_once(':').is_some_and(|(chain, address)| {
            (1..=32).contains(&chain.len())
                && chain.bytes().all(|b| b.is_ascii_digit())
                && address.strip_prefix("0x").is_some_and(|hex| {
                    hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit())
                })
        })
    } else {
        return Err(NetworkIdError::UnsupportedOwnerDid);
    };
    if well_formed {
        Ok(())
    } else {
        Err(NetworkIdError::MalformedOwnerDid {
            did: did.to_owned(),
        })
    }
}

fn is_base58(b: u8) -> bool {
    b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l')
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";

    #[test]
    fn an_owner_did_over_256_bytes_is_refused() {
        let did = format!("did:key:z{}", "a".repeat(247));
        assert!(NetworkId::new(&did, "n").is_ok());
        let did = format!("did:key:z{}", "a".repeat(248));
        assert_eq!(
            NetworkId::new(&did, "n"),
            Err(NetworkIdError::OwnerDidTooLong { len: 257 })
        );
    }

    fn parse(s: &str) -> Result<NetworkId, NetworkIdError> {
        s.parse()
    }

    #[test]
    fn round_trip() {
        let s = format!("{NETWORK_ID_PREFIX}{OWNER}:notes.v1");
        let id = parse(&s).expect("valid id");
        assert_eq!(id.owner_did(), OWNER);
        assert_eq!(id.name(), "notes.v1");
        assert_eq!(id.to_string(), s);
        let pkh = "did:pkh:eip155:1:0xb9c5714089478a327f09197987f16f9e5d936e8a";
        assert_eq!(
            NetworkId::new(pkh, "x").map(|i| i.owner_did().to_owned()),
            Ok(pkh.into())
        );
    }

    #[test]
    fn each_rule_has_its_error() {
        let p = NETWORK_ID_PREFIX;
        assert_eq!(
            parse("urn:x:did:key:z6Mk:n"),
            Err(NetworkIdError::MissingPrefix)
        );
        assert_eq!(
            parse(&format!("{p}noname")),
            Err(NetworkIdError::MissingOwner)
        );
        assert_eq!(
            parse(&format!("{p}{OWNER}:")),
            Err(NetworkIdError::EmptyName)
        );
        assert_eq!(
            parse(&format!("{p}{OWNER}:a b")),
            Err(NetworkIdError::InvalidNameChar { ch: ' ' })
        );
        assert_eq!(
            parse(&format!("{p}{OWNER}:{}", "a".repeat(65))),
            Err(NetworkIdError::NameTooLong { len: 65 })
        );
        assert_eq!(
            parse(&format!("{p}did:web:example.com:n")),
            Err(NetworkIdError::UnsupportedOwnerDid)
        );
        assert!(matches!(
            parse(&format!("{p}did:key:x0:n")),
            Err(NetworkIdError::MalformedOwnerDid { .. })
        ));
        assert!(matches!(
            parse(&format!("{p}did:pkh:eip155:1:0x12:n")),
            Err(NetworkIdError::MalformedOwnerDid { .. })
        ));
    }
}
