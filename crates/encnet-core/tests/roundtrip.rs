//! Property tests: round trips from 0 B to 1 MiB, single-bit flips and wrong
//! AAD fail, network id display/parse.

use encnet_core::{
    ColumnEncryption, ColumnError, DataKey, LegacyPlaintext, NetworkId, SecretKey, Suite,
    SuiteError, WrapContext, Zeroizing,
};
use proptest::prelude::*;

const NETWORK: &str =
    "urn:tinycloud:encryption:did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK:notes";

/// Mostly small sizes, sometimes large ones, up to 1 MiB.
fn sized_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..=256),
        1 => (0usize..=1 << 20).prop_map(|n| (0..n).map(|i| (i * 31 + 7) as u8).collect()),
        1 => Just(vec![0x5a; 1 << 20]),
    ]
}

fn cipher() -> ColumnEncryption {
    ColumnEncryption::new(Zeroizing::new([3u8; 32]), LegacyPlaintext::Reject)
}

fn ctx(version: u64) -> WrapContext<'static> {
    WrapContext {
        network_id: NETWORK,
        key_version: version,
        invocation_cid: None,
    }
}

fn suite() -> impl Strategy<Value = Suite> {
    prop_oneof![Just(Suite::V1), Just(Suite::V2)]
}

fn flip(data: &mut [u8], bit: usize) {
    let bit = bit % (data.len() * 8);
    data[bit / 8] ^= 1 << (bit % 8);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn column_round_trip(pt in sized_bytes(), aad in proptest::collection::vec(any::<u8>(), 0..64)) {
        let c = cipher();
        let sealed = c.try_seal(&pt, &aad).expect("seal");
        prop_assert_eq!(sealed.len(), pt.len() + 29);
        prop_assert_eq!(c.open(&sealed, &aad).map(|p| p.to_vec()), Ok(pt));
    }

    #[test]
    fn payload_round_trip(suite in suite(), pt in sized_bytes(), aad in proptest::collection::vec(any::<u8>(), 0..64)) {
        let key = DataKey::generate();
        let payload = suite.seal_payload(&key, &pt, &aad).expect("seal");
        prop_assert_eq!(suite.open_payload(&key, &payload, &aad).map(|p| p.to_vec()), Ok(pt));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn wrap_round_trip(suite in suite(), key in any::<[u8; 32]>(), version in any::<u64>()) {
        let network = SecretKey::generate();
        let data_key = DataKey::from_bytes(&key).expect("32 bytes");
        let wrapped = suite.wrap(&data_key, &network.public_key(), &ctx(version)).expect("wrap");
        prop_assert_eq!(wrapped.len(), suite.wrapped_len());
        let unwrapped = suite.unwrap(&wrapped, &network, &ctx(version)).expect("unwrap");
        prop_assert_eq!(unwrapped.as_bytes(), &key);
        // Re-wrap to a receiver, bound to an invocation in v2.
        let receiver = SecretKey::generate();
        let cid = [1u8, 0x71, 0x12, 0x20, 5];
        let out = WrapContext { invocation_cid: Some(&cid), ..ctx(version) };
        let rewrapped = suite
            .rewrap(&wrapped, &network, &ctx(version), &receiver.public_key(), &out)
            .expect("rewrap");
        let again = suite.unwrap(&rewrapped, &receiver, &out).expect("receiver unwrap");
        prop_assert_eq!(again.as_bytes(), &key);
        if suite == Suite::V2 {
            prop_assert!(suite.unwrap(&rewrapped, &receiver, &ctx(version)).is_err());
        }
    }

    #[test]
    fn column_bit_flip_fails(pt in proptest::collection::vec(any::<u8>(), 0..512), bit in any::<usize>()) {
        let c = cipher();
        let mut sealed = c.try_seal(&pt, b"aad").expect("seal");
        flip(&mut sealed, bit);
        // Flipping the marker makes it "legacy plaintext", rejected here.
        prop_assert!(c.open(&sealed, b"aad").is_err());
    }

    #[test]
    fn column_wrong_aad_fails(pt in proptest::collection::vec(any::<u8>(), 0..512), aad in proptest::collection::vec(any::<u8>(), 1..32)) {
        let c = cipher();
        let sealed = c.try_seal(&pt, &aad).expect("seal");
        let mut other = aad.clone();
        other[0] ^= 1;
        prop_assert_eq!(c.open(&sealed, &other), Err(ColumnError::Tampered));
        prop_assert_eq!(c.open(&sealed, &aad[1..]), Err(ColumnError::Tampered));
    }

    #[test]
    fn wrapped_key_bit_flip_fails(suite in suite(), bit in any::<usize>()) {
        let network = SecretKey::generate();
        let mut wrapped = suite.wrap(&DataKey::generate(), &network.public_key(), &ctx(1)).expect("wrap");
        flip(&mut wrapped, bit);
        prop_assert!(suite.unwrap(&wrapped, &network, &ctx(1)).is_err());
    }

    #[test]
    fn payload_bit_flip_and_wrong_aad_fail(pt in proptest::collection::vec(any::<u8>(), 0..512), bit in any::<usize>()) {
        let key = DataKey::generate();
        for suite in Suite::ALL {
            let mut payload = suite.seal_payload(&key, &pt, b"aad").expect("seal");
            if suite == Suite::V2 {
                prop_assert_eq!(suite.open_payload(&key, &payload, b"aae"), Err(SuiteError::PayloadTampered));
            }
            flip(&mut payload, bit);
            prop_assert_eq!(suite.open_payload(&key, &payload, b"aad"), Err(SuiteError::PayloadTampered));
        }
    }

    #[test]
    fn network_id_round_trip(
        owner in prop_oneof![
            "did:key:z[1-9A-HJ-NP-Za-km-z]{1,60}",
            "did:pkh:eip155:[0-9]{1,6}:0x[0-9a-fA-F]{40}",
        ],
        name in "[A-Za-z0-9._-]{1,64}",
    ) {
        let id = NetworkId::new(&owner, &name).expect("valid parts");
        let text = id.to_string();
        let parsed: NetworkId = text.parse().expect("parses");
        prop_assert_eq!(parsed.owner_did(), owner.as_str());
        prop_assert_eq!(parsed.name(), name.as_str());
        prop_assert_eq!(parsed.to_string(), text);
        let json = serde_json::to_string(&id).expect("json");
        prop_assert_eq!(serde_json::from_str::<NetworkId>(&json).ok(), Some(id));
    }
}

/// Every single-bit flip, exhaustively, for one value of each kind
/// (including bit 255 of the ephemeral key, which X25519 itself ignores).
#[test]
fn every_single_bit_flip_fails() {
    let network = SecretKey::generate();
    let key = DataKey::generate();
    for suite in Suite::ALL {
        let wrapped = suite
            .wrap(&key, &network.public_key(), &ctx(1))
            .expect("wrap");
        let payload = suite.seal_payload(&key, b"payload", b"aad").expect("seal");
        for bit in 0..wrapped.len() * 8 {
            let mut bad = wrapped.clone();
            flip(&mut bad, bit);
            assert!(
                suite.unwrap(&bad, &network, &ctx(1)).is_err(),
                "{suite} wrapped bit {bit}"
            );
        }
        for bit in 0..payload.len() * 8 {
            let mut bad = payload.clone();
            flip(&mut bad, bit);
            assert!(
                suite.open_payload(&key, &bad, b"aad").is_err(),
                "{suite} payload bit {bit}"
            );
        }
    }
    let c = cipher();
    let sealed = c.try_seal(b"cell", b"aad").expect("seal");
    for bit in 0..sealed.len() * 8 {
        let mut bad = sealed.clone();
        flip(&mut bad, bit);
        assert!(c.open(&bad, b"aad").is_err(), "column bit {bit}");
    }
}

#[test]
fn a_secret_with_its_stored_public_key_unwraps_and_a_wrong_one_fails() {
    let secret = SecretKey::generate();
    let data_key = DataKey::generate();
    let other = SecretKey::generate().public_key().to_bytes();
    for suite in [Suite::V1, Suite::V2] {
        let wrapped = suite
            .wrap(&data_key, &secret.public_key(), &ctx(1))
            .expect("wrap");
        let stored = SecretKey::from_bytes_with_public(
            secret.to_bytes().as_slice(),
            &secret.public_key().to_bytes(),
        )
        .expect("stored key");
        let unwrapped = suite.unwrap(&wrapped, &stored, &ctx(1)).expect("unwrap");
        assert_eq!(unwrapped.as_bytes(), data_key.as_bytes());
        let mismatched =
            SecretKey::from_bytes_with_public(secret.to_bytes().as_slice(), &other).expect("key");
        // v2 salts its KDF with the recipient's public key; v1 does not.
        let result = suite.unwrap(&wrapped, &mismatched, &ctx(1));
        assert_eq!(result.is_err(), suite == Suite::V2, "{suite:?}");
    }
    assert!(SecretKey::from_bytes_with_public(&[7; 32], &[0; 32]).is_err());
}
