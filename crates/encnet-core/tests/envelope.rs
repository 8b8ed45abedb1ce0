//! Inline envelope: TinyCloud field names, the key-hash rule, validation.

use encnet_core::{
    key_hash, EnvelopeError, InlineEnvelope, NetworkId, SecretKey, Suite, SuiteError,
};

const NETWORK: &str =
    "urn:tinycloud:encryption:did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK:notes";

fn sealed(suite: Suite, secret: &SecretKey, aad: Option<&[u8]>) -> InlineEnvelope {
    let id: NetworkId = NETWORK.parse().expect("network id");
    let mut meta = serde_json::Map::new();
    meta.insert("contentType".into(), "text/plain".into());
    InlineEnvelope::seal(
        id,
        suite,
        3,
        &secret.public_key(),
        b"hello",
        aad,
        Some(meta),
    )
    .expect("seal")
}

#[test]
fn key_hash_is_sha256_of_quoted_base64() {
    // printf '"AAAA"' | sha256sum
    assert_eq!(
        key_hash("AAAA"),
        "331bed4d0aaca25d9c6abf77cc6438dcd78e880c802412ca4ac66f5f20f54e2f"
    );
}

#[test]
fn json_shape_and_round_trip() {
    let secret = SecretKey::generate();
    for suite in Suite::ALL {
        let env = sealed(suite, &secret, Some(b"record-1"));
        let json: serde_json::Value =
            serde_json::from_slice(&env.to_json().expect("to_json")).expect("json");
        for field in [
            "v",
            "networkId",
            "alg",
            "keyVersion",
            "encryptedSymmetricKey",
            "encryptedSymmetricKeyHash",
            "ciphertext",
            "aad",
            "metadata",
        ] {
            assert!(json.get(field).is_some(), "{field} missing");
        }
        assert_eq!(json["alg"], suite.as_str());
        assert_eq!(json["networkId"], NETWORK);
        let parsed = InlineEnvelope::from_json(&env.to_json().expect("json")).expect("valid");
        assert_eq!(parsed, env);

        let id = env.network_id.to_string();
        let data_key = suite
            .unwrap(
                &env.wrapped_key().expect("b64"),
                &secret,
                &env.wrap_context(&id),
            )
            .expect("unwrap");
        assert_eq!(env.open(&data_key).expect("open").as_slice(), b"hello");
    }
    let no_aad = sealed(Suite::V2, &secret, None);
    let json = String::from_utf8(no_aad.to_json().expect("json")).expect("utf8");
    assert!(!json.contains("\"aad\""));
}

#[test]
fn validation_errors() {
    let secret = SecretKey::generate();
    let env = sealed(Suite::V2, &secret, None);

    let mut bad = env.clone();
    bad.v = 2;
    assert!(matches!(
        bad.validate(),
        Err(EnvelopeError::UnsupportedVersion(2))
    ));

    let mut bad = env.clone();
    bad.encrypted_symmetric_key_hash = key_hash("other");
    assert!(matches!(
        bad.validate(),
        Err(EnvelopeError::KeyHashMismatch)
    ));

    let mut bad = env.clone();
    bad.encrypted_symmetric_key = "!!".into();
    assert!(matches!(bad.validate(), Err(EnvelopeError::Base64 { .. })));

    let mut bad = env.clone();
    bad.alg = Suite::V1; // 80-byte key under a 93-byte suite
    assert!(matches!(
        bad.validate(),
        Err(EnvelopeError::Suite(SuiteError::BadLength { .. }))
    ));

    let mut json: serde_json::Value =
        serde_json::from_slice(&env.to_json().expect("json")).expect("json");
    json.as_object_mut()
        .map(|o| o.remove("encryptedSymmetricKeyHash"));
    assert!(matches!(
        InlineEnvelope::from_json(json.to_string().as_bytes()),
        Err(EnvelopeError::Json(_))
    ));
}
