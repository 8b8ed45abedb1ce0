//! Arbitrary bytes fed to every parser never panic.

use encnet_core::{
    ColumnEncryption, DataKey, InlineEnvelope, LegacyPlaintext, NetworkId, PublicKey, RootKey,
    SecretKey, Suite, WrapContext, Zeroizing,
};
use proptest::prelude::*;

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..160),
        // Near the interesting lengths: 29 (sealed), 80 and 93 (wrapped keys).
        (0usize..100).prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n..=n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn binary_parsers(data in bytes()) {
        for legacy in [LegacyPlaintext::Allow, LegacyPlaintext::Reject] {
            let c = ColumnEncryption::new(Zeroizing::new([1u8; 32]), legacy);
            let _ = c.open(&data, b"");
        }
        let secret = SecretKey::generate();
        let ctx = WrapContext { network_id: "n", key_version: 0, invocation_cid: Some(&data) };
        let key = DataKey::generate();
        for suite in Suite::ALL {
            let _ = suite.unwrap(&data, &secret, &ctx);
            let _ = suite.open_payload(&key, &data, &data);
        }
        let _ = PublicKey::from_bytes(&data);
        let _ = SecretKey::from_bytes(&data);
        let _ = DataKey::from_bytes(&data);
        let _ = InlineEnvelope::from_json(&data);
    }

    #[test]
    fn text_parsers(text in any::<String>()) {
        let _ = text.parse::<NetworkId>();
        let _ = format!("urn:tinycloud:encryption:{text}").parse::<NetworkId>();
        let _ = text.parse::<Suite>();
        let _ = RootKey::from_base64(&text);
        let _ = PublicKey::from_base64(&text);
        let _ = InlineEnvelope::from_json(text.as_bytes());
        let _ = serde_json::from_str::<InlineEnvelope>(&text).map(|e| (e.validate().is_ok(), e.open(&DataKey::generate()).is_ok()));
    }

    #[test]
    fn envelope_fields(
        v in 0u64..3,
        key in "[A-Za-z0-9+/=]{0,140}",
        hash in "[0-9a-f]{0,64}",
        ct in "[A-Za-z0-9+/=]{0,60}",
        aad in proptest::option::of("[A-Za-z0-9+/=]{0,8}"),
    ) {
        let json = serde_json::json!({
            "v": v,
            "networkId": "urn:tinycloud:encryption:did:key:z6Mk:n",
            "alg": "x25519-hkdf-sha256-aes256gcm/v2",
            "keyVersion": 1,
            "encryptedSymmetricKey": key,
            "encryptedSymmetricKeyHash": hash,
            "ciphertext": ct,
            "aad": aad,
        });
        let bytes = serde_json::to_vec(&json).expect("json");
        let _ = InlineEnvelope::from_json(&bytes);
    }
}
