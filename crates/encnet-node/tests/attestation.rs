//! `/encryption/network/attest` (DESIGN §4.3): the node stores an owner's
//! attestation only when the owner signed it and it describes the stored key
//! exactly, and serves it in the descriptor.

mod common;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::*;
use encnet_core::api::NetworkDescriptor;
use encnet_core::attestation::NetworkKeyStatement;
use encnet_ucan::{Ed25519Signer, Ipld, Signer};
use serde_json::json;

/// Posts `statement` signed by `signer`, invoked by `invoker` (with `proofs`).
async fn attest(
    node: &TestNode,
    owner: &Owner,
    invoker: &Ed25519Signer,
    proofs: &[encnet_ucan::Signed<encnet_ucan::Delegation>],
    statement: &NetworkKeyStatement,
    signer: &Ed25519Signer,
) -> (u16, serde_json::Value) {
    let bytes = statement.signing_bytes().expect("canonical");
    let json = String::from_utf8(bytes.clone()).expect("UTF-8");
    let network = &statement.network_id;
    let inv = invoke(
        invoker,
        &owner.did(),
        &node.did,
        "/encryption/network/attest",
        args(vec![
            ("network", text(network)),
            ("statement", text(&json)),
            ("signature", Ipld::Bytes(signer.sign(&bytes))),
        ]),
        proofs,
    );
    node.post(
        &format!("/v1/networks/{network}/attest"),
        Some(&container(&inv, proofs)),
    )
    .await
}

async fn descriptor(node: &TestNode, id: &str) -> NetworkDescriptor {
    let (status, body) = node.get(&format!("/v1/networks/{id}"), None).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("descriptor")
}

async fn the_owner_attests_the_stored_key_only(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let created = create_network(&node, &owner, "att", "v2").await;
    let statement = NetworkKeyStatement::for_descriptor(&created);
    let refused = |what: &str, (status, body): (u16, serde_json::Value)| {
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_attestation")),
            "{what}: {body}"
        );
    };
    // Signed by another DID.
    let mallory = Ed25519Signer::generate();
    refused(
        "another signer",
        attest(&node, &owner, &owner.signer, &[], &statement, &mallory).await,
    );
    // The key swapped.
    let mut swapped = statement.clone();
    swapped.public_encryption_key = BASE64.encode([9u8; 32]);
    refused(
        "swapped key",
        attest(&node, &owner, &owner.signer, &[], &swapped, &owner.signer).await,
    );
    // Another suite.
    let mut downgraded = statement.clone();
    downgraded.alg = "x25519-aes256gcm/v1".into();
    refused(
        "another alg",
        attest(
            &node,
            &owner,
            &owner.signer,
            &[],
            &downgraded,
            &owner.signer,
        )
        .await,
    );
    // A version that does not exist.
    let mut future = statement.clone();
    future.key_version = 2;
    let (status, body) = attest(&node, &owner, &owner.signer, &[], &future, &owner.signer).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("unknown_key_version"))
    );
    assert!(descriptor(&node, &created.network_id)
        .await
        .attestations
        .is_empty());

    // The owner's own statement of the stored key.
    let (status, body) = attest(&node, &owner, &owner.signer, &[], &statement, &owner.signer).await;
    assert_eq!(status, 200, "{body}");
    let served = descriptor(&node, &created.network_id).await;
    assert_eq!(served.attestations.len(), 1);
    assert_eq!(served.attestations[0].statement, statement);
    let bytes = statement.signing_bytes().expect("canonical");
    let signature = BASE64
        .decode(&served.attestations[0].signature)
        .expect("base64");
    owner
        .did()
        .verify_signature(&bytes, &signature)
        .expect("the owner's signature is served");

    // An old version's statement after a rotation names that version's key.
    let (status, _) = {
        let inv = invoke(
            &owner.signer,
            &owner.did(),
            &node.did,
            "/encryption/network/rotate",
            args(vec![("network", text(&created.network_id))]),
            &[],
        );
        let path = format!("/v1/networks/{}/rotate", created.network_id);
        node.post(&path, Some(&container(&inv, &[]))).await
    };
    assert_eq!(status, 200);
    let mut stale = statement.clone();
    stale.key_version = 2;
    refused(
        "version 2 with version 1's key",
        attest(&node, &owner, &owner.signer, &[], &stale, &owner.signer).await,
    );
}

async fn a_delegate_cannot_attest(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let created = create_network(&node, &owner, "deleg", "v2").await;
    let admin = Ed25519Signer::generate();
    let proof = delegate(
        &owner.signer,
        &admin.did(),
        &owner.did(),
        "/encryption/network",
        json!([]),
    );
    let statement = NetworkKeyStatement::for_descriptor(&created);
    // Even carrying the owner's genuine signature.
    let (status, body) = attest(&node, &owner, &admin, &[proof], &statement, &owner.signer).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("owner_only")));
}

store_tests!(
    the_owner_attests_the_stored_key_only,
    a_delegate_cannot_attest
);
