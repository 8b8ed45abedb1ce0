//! Delegation files' chains and audit page checks: pure SDK functions.

use encnet_client::audit::verify_page;
use encnet_client::delegate::{chain_fits, chain_from_tokens, delegate, Grant};
use encnet_core::api::{AuditEntry, AuditRecord};
use encnet_ucan::{Delegation, Did, Ed25519Signer, Ipld, Signed};

const NETWORK: &str = "net";

fn grant(owner: &Did) -> Grant<'_> {
    Grant {
        owner,
        network: NETWORK,
        command: "/encryption/decrypt",
        expires_at: 4_000_000_000,
        only: &[],
    }
}

/// alice (owner) → bob → carol.
fn three() -> (Did, Vec<Signed<Delegation>>, Did) {
    let (alice, bob, carol) = (
        Ed25519Signer::generate(),
        Ed25519Signer::generate(),
        Ed25519Signer::generate(),
    );
    let owner = alice.did();
    let g = grant(&owner);
    let first = delegate(&alice, &bob.did(), &g).expect("alice → bob");
    let second = delegate(&bob, &carol.did(), &g).expect("bob → carol");
    (owner, vec![first, second], carol.did())
}

#[test]
fn chains_are_ordered_from_the_root_whatever_the_file_order() {
    let (_, chain, _) = three();
    let reversed: Vec<Vec<u8>> = chain.iter().rev().map(|d| d.bytes.clone()).collect();
    let ordered = chain_from_tokens(&reversed).expect("one chain");
    let cids: Vec<_> = ordered.iter().map(|d| d.cid).collect();
    assert_eq!(cids, chain.iter().map(|d| d.cid).collect::<Vec<_>>());
}

#[test]
fn two_roots_or_a_stray_token_are_not_a_chain() {
    let (_, a, _) = three();
    let (_, b, _) = three();
    let two_roots = vec![a[0].bytes.clone(), b[0].bytes.clone()];
    assert!(chain_from_tokens(&two_roots).is_err());
    let stray = vec![a[0].bytes.clone(), b[1].bytes.clone()];
    assert!(chain_from_tokens(&stray).is_err());
    assert!(chain_from_tokens(&[b"junk".to_vec()]).is_err());
    assert!(chain_from_tokens(&[]).is_err());
}

#[test]
fn a_chain_fits_only_its_holder_command_and_policy() {
    let (owner, chain, carol) = three();
    let decrypt = "/encryption/decrypt".parse().expect("command");
    let args = |network: &str| {
        Ipld::Map([("network".to_owned(), Ipld::String(network.to_owned()))].into())
    };
    assert!(chain_fits(
        &chain,
        &carol,
        &owner,
        &decrypt,
        &args(NETWORK),
        0
    ));
    assert!(!chain_fits(
        &chain,
        &owner,
        &owner,
        &decrypt,
        &args(NETWORK),
        0
    ));
    assert!(!chain_fits(
        &chain,
        &carol,
        &owner,
        &decrypt,
        &args("other"),
        0
    ));
    let rotate = "/encryption/network/rotate".parse().expect("command");
    assert!(!chain_fits(
        &chain,
        &carol,
        &owner,
        &rotate,
        &args(NETWORK),
        0
    ));
    assert!(!chain_fits(
        &chain,
        &carol,
        &owner,
        &decrypt,
        &args(NETWORK),
        4_000_000_000
    ));
    assert!(!chain_fits(
        &chain,
        &carol,
        &carol,
        &decrypt,
        &args(NETWORK),
        0
    ));
}

/// Records with sequence numbers `sequences`, chained through the ones
/// in between (other networks' entries) as a node would.
fn records(sequences: &[u64]) -> Vec<AuditRecord> {
    let mut prev = [0u8; 32];
    let mut out = Vec::new();
    for sequence in 1..=*sequences.iter().max().expect("some") {
        let entry = AuditEntry {
            sequence,
            time: "2026-11-26T00:00:00Z".into(),
            network: NETWORK.into(),
            requester: "did:key:z6Mk".into(),
            command: "/encryption/decrypt".into(),
            invocation_cid: String::new(),
            outcome: "allowed".into(),
        };
        let hash = entry.chain_hash(&prev).expect("hash");
        let record = AuditRecord {
            entry,
            prev_hash: hex(&prev),
            entry_hash: hex(&hash),
        };
        if sequences.contains(&sequence) {
            out.push(record);
        }
        prev = hash;
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn audit_pages_verify_and_name_the_first_broken_entry() {
    assert_eq!(verify_page(&records(&[1, 2, 3, 5, 8])), Ok(5));
    let mut page = records(&[1, 2, 3]);
    page[1].entry.outcome = "denied:policy_denied".into();
    assert_eq!(verify_page(&page).map_err(|b| b.sequence), Err(2));
    let mut page = records(&[1, 2, 3]);
    page[2].prev_hash = page[0].entry_hash.clone();
    assert_eq!(verify_page(&page).map_err(|b| b.sequence), Err(3));
    let mut page = records(&[1, 2, 3]);
    page.swap(1, 2);
    assert!(verify_page(&page).is_err());
    let mut page = records(&[1]);
    page[0].prev_hash = "zz".into();
    assert!(verify_page(&page).is_err());
}
