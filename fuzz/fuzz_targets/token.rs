//! Token envelopes (DAG-CBOR, varsig header, payload): an accepted envelope
//! re-encodes to exactly its input bytes, an accepted payload to exactly its
//! map, and a token that verifies hashes to the CID it reports.
#![no_main]

use std::collections::BTreeMap;

use encnet_ucan::envelope::{Envelope, Payload};
use encnet_ucan::{Delegation, Invocation, Ipld, Signed, TokenKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = Envelope::from_bytes(data) else {
        return;
    };
    assert_eq!(
        reencode(&envelope),
        data,
        "accepted envelope is not canonical"
    );
    match envelope.kind {
        TokenKind::Delegation => check_payload::<Delegation>(&envelope.payload),
        TokenKind::Invocation => check_payload::<Invocation>(&envelope.payload),
    }
    check_signed::<Delegation>(data);
    check_signed::<Invocation>(data);
});

fn reencode(envelope: &Envelope) -> Vec<u8> {
    let sig_payload = BTreeMap::from([
        ("h".to_owned(), Ipld::Bytes(envelope.header.to_bytes())),
        (envelope.tag.clone(), Ipld::Map(envelope.payload.clone())),
    ]);
    let list = Ipld::List(vec![
        Ipld::Bytes(envelope.signature.clone()),
        Ipld::Map(sig_payload),
    ]);
    serde_ipld_dagcbor::to_vec(&list).expect("decoded IPLD re-encodes")
}

fn check_payload<T: Payload>(map: &BTreeMap<String, Ipld>) {
    if let Ok(payload) = T::from_map(map.clone()) {
        assert_eq!(
            payload.to_ipld(),
            Ipld::Map(map.clone()),
            "accepted payload does not re-encode to its map"
        );
    }
}

fn check_signed<T: Payload>(data: &[u8]) {
    if let Ok(token) = Signed::<T>::from_bytes(data) {
        assert_eq!(token.bytes, data);
        assert!(
            fuzz::cid_matches(&token.cid, data),
            "CID is not the bytes' hash"
        );
    }
}
