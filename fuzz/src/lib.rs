//! What the fuzz targets share: a fixed clock, fixed principals, and the
//! properties several targets assert.

use std::sync::OnceLock;

use encnet_core::api::command;
use encnet_ucan::{Cid, Did, Ed25519Signer};

/// The clock every target validates against, so a run is reproducible.
/// The UCAN invocation fixtures' `time` (2026-01-01 UTC).
pub const NOW: i64 = 1_767_225_600;

/// Principal `i` of a small fixed cast (0 is the network owner, the
/// subject of most chains; the last one is the node).
/// Built once: deriving a key costs more than a run of most targets.
pub fn principal(i: u8) -> &'static Ed25519Signer {
    static CAST: OnceLock<Vec<Ed25519Signer>> = OnceLock::new();
    let cast = CAST.get_or_init(|| {
        (1..=PRINCIPALS)
            .map(|seed| Ed25519Signer::from_seed([seed; 32]))
            .collect()
    });
    &cast[usize::from(i % PRINCIPALS)]
}

/// [`principal`]'s DID, also built once.
pub fn did(i: u8) -> Did {
    static DIDS: OnceLock<Vec<Did>> = OnceLock::new();
    let dids = DIDS.get_or_init(|| (0..PRINCIPALS).map(|i| principal(i).did()).collect());
    dids[usize::from(i % PRINCIPALS)].clone()
}

/// How many principals [`principal`] cycles through.
pub const PRINCIPALS: u8 = 5;

/// The executor every invocation should name.
pub fn node() -> Did {
    did(PRINCIPALS - 1)
}

/// Commands a chain draws from: a tree with siblings, so attenuation is
/// exercised in both directions.
pub const COMMANDS: [&str; 7] = [
    "/",
    command::ENCRYPTION,
    command::DECRYPT,
    command::NETWORK,
    command::NETWORK_ROTATE,
    "/encryption/decryptx",
    command::UCAN_REVOKE,
];

/// Whether `cid` is the CID encnet computes for `bytes`.
pub fn cid_matches(cid: &Cid, bytes: &[u8]) -> bool {
    encnet_ucan::envelope::cid_of(bytes) == *cid
}
