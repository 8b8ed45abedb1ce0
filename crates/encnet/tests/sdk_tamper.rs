//! The SDK's answer checks against a real node: a genuine answer opens; the
//! same answer with any field altered, or with a signature that is not the
//! node's, is `ClientError::Verification`. A second pass re-signs each
//! altered answer with a key the client is told to expect, so each echoed
//! binding is shown to be checked on its own, not only through the
//! signature.

mod common;

use base64::Engine;
use encnet_client::decrypt::{DecryptExchange, DecryptRequest};
use encnet_client::{encrypt, Client, ClientError};
use encnet_core::api::DecryptResultBody;
use encnet_core::InlineEnvelope;
use encnet_ucan::{Did, Ed25519Signer};

type Tamper = (&'static str, fn(&mut DecryptResultBody));

/// Every signed field, altered in turn.
const TAMPERS: [Tamper; 9] = [
    ("type", |b| b.kind.push('x')),
    ("networkId", |b| b.network_id.push('x')),
    ("nodeId", |b| {
        b.node_id = Ed25519Signer::generate().did().to_string();
    }),
    ("invocationCid", |b| {
        b.invocation_cid = "bafyreic2j6oh3guwixwfhcocrqlupjghzle2tmll4zpnvwkfsqce4rlyfi".into();
    }),
    ("keyHash", |b| b.key_hash = flip_hex(&b.key_hash)),
    ("receiverKeyHash", |b| {
        b.receiver_key_hash = flip_hex(&b.receiver_key_hash);
    }),
    ("alg", |b| {
        b.alg = if b.alg.ends_with("v1") {
            "x25519-hkdf-sha256-aes256gcm/v2".into()
        } else {
            "x25519-aes256gcm/v1".into()
        };
    }),
    ("keyVersion", |b| b.key_version += 1),
    ("wrappedKey", |b| {
        let mut raw = b64().decode(&b.wrapped_key).expect("base64");
        raw[40] ^= 1;
        b.wrapped_key = b64().encode(raw);
    }),
];

#[tokio::test]
async fn tampered_answers_are_rejected_v2() {
    tampered_answers_are_rejected("v2").await;
}

#[tokio::test]
async fn tampered_answers_are_rejected_v1() {
    tampered_answers_are_rejected("v1").await;
}

async fn tampered_answers_are_rejected(alg: &str) {
    let node = common::Node::start();
    let client = Client::new(&node.url);
    let owner = Ed25519Signer::generate();
    let descriptor = client
        .create_network(&owner, "tamper", Some(alg))
        .await
        .expect("create");
    let envelope = encrypt(&descriptor, b"secret", None).expect("encrypt");
    let mut exchange = genuine(&client, &owner, &envelope).await;
    let answer = exchange.answer.clone();
    assert_eq!(
        exchange.open(&envelope).expect("genuine opens").as_slice(),
        b"secret"
    );

    // Each field altered, signature left as it was.
    for (field, tamper) in TAMPERS {
        exchange.answer = answer.clone();
        tamper(&mut exchange.answer.body);
        expect_verification(&exchange, &envelope, field);
    }
    // A signature that is not the node's: another key, a flipped bit, junk.
    let impostor = Ed25519Signer::generate();
    exchange.answer = answer.clone();
    exchange.answer.node_signature = sign(&impostor, &answer.body);
    let reason = expect_verification(&exchange, &envelope, "signature by another key");
    assert_eq!(reason, "nodeSignature does not verify");
    let mut raw = b64().decode(&answer.node_signature).expect("base64");
    raw[0] ^= 1;
    exchange.answer.node_signature = b64().encode(&raw);
    expect_verification(&exchange, &envelope, "flipped signature bit");
    exchange.answer.node_signature = b64().encode(&raw[..63]);
    expect_verification(&exchange, &envelope, "short signature");
    exchange.answer.node_signature = "not base64!".into();
    expect_verification(&exchange, &envelope, "signature not base64");
    // An answer from another node than the one addressed.
    exchange.answer = answer.clone();
    exchange.node = impostor.did();
    expect_verification(&exchange, &envelope, "another node");

    // Bindings on their own: a "node" the client trusts signs each altered
    // body; the echo checks must still refuse it.
    let fake: Did = impostor.did();
    exchange.node = fake.clone();
    let mut base = answer.body;
    base.node_id = fake.to_string();
    exchange.answer.body = base.clone();
    exchange.answer.node_signature = sign(&impostor, &base);
    assert!(
        exchange.open(&envelope).is_ok(),
        "re-signed genuine body opens"
    );
    for (field, tamper) in TAMPERS.iter().filter(|(f, _)| *f != "wrappedKey") {
        let mut body = base.clone();
        tamper(&mut body);
        exchange.answer.node_signature = sign(&impostor, &body);
        exchange.answer.body = body;
        let reason = expect_verification(&exchange, &envelope, field);
        assert!(reason.starts_with(field), "{field}: refused for {reason:?}");
    }
}

/// One real decrypt round trip, not yet opened.
async fn genuine(
    client: &Client,
    owner: &Ed25519Signer,
    envelope: &InlineEnvelope,
) -> DecryptExchange {
    let request = DecryptRequest::new(envelope).expect("request");
    client
        .request_decrypt(owner, envelope, request, &[])
        .await
        .expect("the node answers")
}

/// Asserts a verification error; returns its reason.
fn expect_verification(
    exchange: &DecryptExchange,
    envelope: &InlineEnvelope,
    what: &str,
) -> &'static str {
    match exchange.open(envelope) {
        Err(ClientError::Verification(reason)) => reason,
        Err(other) => panic!("{what}: expected a verification error, got {other}"),
        Ok(_) => panic!("{what}: a tampered answer opened"),
    }
}

fn sign(signer: &Ed25519Signer, body: &DecryptResultBody) -> String {
    use encnet_ucan::Signer as _;
    let bytes = body.signing_bytes().expect("canonical");
    b64().encode(signer.sign(&bytes))
}

fn flip_hex(hex: &str) -> String {
    let mut chars: Vec<char> = hex.chars().collect();
    chars[0] = if chars[0] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}
