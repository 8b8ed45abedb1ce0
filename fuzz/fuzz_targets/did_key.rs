//! `did:key` strings and varsig headers: whatever parses prints back as
//! itself, and an Ed25519 key re-encodes to the same DID.
#![no_main]

use encnet_ucan::{Did, PublicKey, VarsigHeader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = VarsigHeader::from_bytes(data) {
        assert_eq!(header.to_bytes(), data, "varsig header does not round-trip");
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(did) = text.parse::<Did>() else {
        return;
    };
    assert_eq!(did.as_str(), text, "DID does not print as parsed");
    assert!(did.as_str().len() <= encnet_ucan::did::MAX_DID_LEN);
    let reparsed: Did = did.as_str().parse().expect("a printed DID parses");
    assert_eq!(reparsed, did);
    let Ok(key) = did.public_key() else {
        return;
    };
    assert_eq!(
        did.algorithm().ok(),
        Some(key.algorithm()),
        "key and DID disagree on the algorithm"
    );
    match key {
        PublicKey::Ed25519(key) => assert_eq!(
            Did::from_ed25519(&key).as_str(),
            did.without_fragment(),
            "an Ed25519 did:key re-encodes differently"
        ),
        #[allow(unreachable_patterns)]
        _ => {}
    }
});
