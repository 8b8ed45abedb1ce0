//! The work bounds of untrusted input (DESIGN §4.11): DID length and
//! canonical form, container size and token count, policy size, depth and
//! evaluation budget, args size. Each test names the limit it guards.

use encnet_ucan::did::MAX_DID_LEN;
use encnet_ucan::{Did, Ed25519Signer, UcanError};

fn signer(n: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed([n; 32])
}

fn ok<T>(r: Result<T, UcanError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn err_name<T>(r: Result<T, UcanError>) -> &'static str {
    match r {
        Ok(_) => panic!("accepted"),
        Err(e) => e.name(),
    }
}

fn did_key(prefix: &[u8], key: &[u8]) -> String {
    let mut bytes = prefix.to_vec();
    bytes.extend_from_slice(key);
    format!(
        "did:key:{}",
        multibase::encode(multibase::Base::Base58Btc, bytes)
    )
}

#[test]
fn did_key_multicodec_must_be_minimal() {
    let key = signer(5).verifying_key();
    let canonical: Did = ok(did_key(&[0xed, 0x01], key.as_bytes()).parse());
    assert_eq!(canonical, Did::from_ed25519(&key));
    // The same key behind `ed 81 00`: a second DID string for one key.
    let padded = did_key(&[0xed, 0x81, 0x00], key.as_bytes());
    assert_eq!(err_name(padded.parse::<Did>()), "NonCanonical");
    let p256 = did_key(&[0x80, 0xa4, 0x00], &[2; 33]);
    assert_eq!(err_name(p256.parse::<Did>()), "NonCanonical");
}

#[test]
fn did_length_is_bounded() {
    let longest = format!("did:web:{}", "a".repeat(MAX_DID_LEN - 8));
    assert_eq!(longest.len(), 256);
    ok(longest.parse::<Did>());
    let over = format!("{longest}a");
    assert_eq!(
        over.parse::<Did>(),
        Err(UcanError::DidTooLong { max: MAX_DID_LEN })
    );
    // Refused before decoding: this is no valid did:key either.
    let long_key = format!("did:key:z{}", "1".repeat(MAX_DID_LEN));
    assert_eq!(err_name(long_key.parse::<Did>()), "DidTooLong");
}
