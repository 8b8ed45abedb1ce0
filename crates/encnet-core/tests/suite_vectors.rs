//! Known-answer tests for both suites, from vectors made by Python's
//! `cryptography` package (`tests/vectors/gen_vectors.py`), not by encnet.

use encnet_core::suite::v2_info;
use encnet_core::{DataKey, PublicKey, SecretKey, Suite, SuiteError, WrapContext};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    suite: String,
    wrap: Vec<WrapCase>,
    payload: Vec<PayloadCase>,
}

#[derive(Deserialize)]
struct WrapCase {
    comment: String,
    network_secret: String,
    network_public: Option<String>,
    ephemeral_secret: Option<String>,
    ephemeral_public: Option<String>,
    nonce: Option<String>,
    network_id: String,
    key_version: u64,
    invocation_cid: Option<String>,
    info: Option<String>,
    data_key: Option<String>,
    wrapped: String,
    expect: String,
}

#[derive(Deserialize)]
struct PayloadCase {
    comment: String,
    data_key: String,
    nonce: String,
    plaintext: String,
    aad: String,
    payload: String,
    expect: String,
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("vector hex")
}

fn variant(e: &SuiteError) -> String {
    let debug = format!("{e:?}");
    debug
        .split([' ', '(', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn load(json: &str, suite: Suite) -> File {
    let file: File = serde_json::from_str(json).expect("vector file");
    assert_eq!(file.suite, suite.as_str());
    file
}

fn check_wraps(file: &File, suite: Suite) {
    for case in &file.wrap {
        let name = &case.comment;
        let secret = SecretKey::from_bytes(&hex(&case.network_secret)).expect("secret");
        let cid = case.invocation_cid.as_deref().map(hex);
        let ctx = WrapContext {
            network_id: &case.network_id,
            key_version: case.key_version,
            invocation_cid: cid.as_deref(),
        };
        let wrapped = hex(&case.wrapped);
        let result = suite.unwrap(&wrapped, &secret, &ctx);
        if case.expect != "ok" {
            let err = result
                .err()
                .unwrap_or_else(|| panic!("{name}: expected an error"));
            assert_eq!(variant(&err), case.expect, "{name}");
            continue;
        }
        let data_key = hex(case.data_key.as_deref().expect("data_key"));
        let unwrapped = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(unwrapped.as_bytes().as_slice(), data_key, "{name}: unwrap");

        // Same inputs, same bytes: encnet's wrap agrees with the independent one.
        let public = secret.public_key();
        assert_eq!(
            Some(public.as_bytes().as_slice()),
            case.network_public.as_deref().map(hex).as_deref(),
            "{name}"
        );
        let ephemeral =
            SecretKey::from_bytes(&hex(case.ephemeral_secret.as_deref().expect("e"))).expect("e");
        assert_eq!(
            Some(ephemeral.public_key().as_bytes().as_slice()),
            case.ephemeral_public.as_deref().map(hex).as_deref()
        );
        let nonce: [u8; 12] = case
            .nonce
            .as_deref()
            .map_or([0u8; 12], |n| hex(n).try_into().expect("12-byte nonce"));
        let key = DataKey::from_bytes(&data_key).expect("data key");
        let ours = suite
            .wrap_with(&key, &public, &ctx, &ephemeral, nonce)
            .expect("wrap");
        assert_eq!(ours, wrapped, "{name}: wrap");
        assert_eq!(ours.len(), suite.wrapped_len());
        if let Some(info) = &case.info {
            assert_eq!(v2_info(&ctx), hex(info), "{name}: info");
        }
    }
}

fn check_payloads(file: &File, suite: Suite) {
    for case in &file.payload {
        let name = &case.comment;
        let key = DataKey::from_bytes(&hex(&case.data_key)).expect("data key");
        let payload = hex(&case.payload);
        let aad = hex(&case.aad);
        let result = suite.open_payload(&key, &payload, &aad);
        if case.expect != "ok" {
            let err = result
                .err()
                .unwrap_or_else(|| panic!("{name}: expected an error"));
            assert_eq!(variant(&err), case.expect, "{name}");
            continue;
        }
        let plaintext = hex(&case.plaintext);
        let opened = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(opened.as_slice(), plaintext, "{name}: open");
        let nonce: [u8; 12] = hex(&case.nonce).try_into().expect("12-byte nonce");
        assert_eq!(
            suite.seal_payload_with(&key, &plaintext, &aad, nonce),
            Ok(payload),
            "{name}: seal"
        );
    }
}

#[test]
fn suite_v1_known_answers() {
    let file = load(include_str!("vectors/suite_v1.json"), Suite::V1);
    check_wraps(&file, Suite::V1);
    check_payloads(&file, Suite::V1);
}

#[test]
fn suite_v2_known_answers() {
    let file = load(include_str!("vectors/suite_v2.json"), Suite::V2);
    check_wraps(&file, Suite::V2);
    check_payloads(&file, Suite::V2);
}

#[test]
fn low_order_public_keys_are_rejected() {
    for u in [[0u8; 32], {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    }] {
        assert_eq!(PublicKey::from_bytes(&u), Err(SuiteError::LowOrderPoint));
    }
}
