//! `/encryption/network/attest` (DESIGN §4.3): the node stores an owner's
//! attestation of the stored key and serves it in the descriptor. What it
//! refuses (another signer or key, another suite or version, a delegate) is
//! in the corpus of `rejections/`.

mod common;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::*;
use encnet_core::api::NetworkDescriptor;
use encnet_core::attestation::NetworkKeyStatement;
use encnet_ucan::{Ipld, Signer};

async fn descriptor(node: &TestNode, id: &str) -> NetworkDescriptor {
    let (status, body) = node.get(&format!("/v1/networks/{id}"), None).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("descriptor")
}

async fn the_owner_attests_the_stored_key(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let created = create_network(&node, &owner, "att", "v2").await;
    assert!(created.attestations.is_empty());
    let statement = NetworkKeyStatement::for_descriptor(&created);
    let bytes = statement.signing_bytes().expect("canonical");
    let json = String::from_utf8(bytes.clone()).expect("UTF-8");
    let network = &statement.network_id;
    let inv = invoke(
        &owner.signer,
        &owner.did(),
        &node.did,
        "/encryption/network/attest",
        args(vec![
            ("network", text(network)),
            ("statement", text(&json)),
            ("signature", Ipld::Bytes(owner.signer.sign(&bytes))),
        ]),
        &[],
    );
    let path = format!("/v1/networks/{network}/attest");
    let (status, body) = node.post(&path, Some(&container(&inv, &[]))).await;
    assert_eq!(status, 200, "{body}");

    let served = descriptor(&node, &created.network_id).await;
    assert_eq!(served.attestations.len(), 1);
    assert_eq!(served.attestations[0].statement, statement);
    let signature = BASE64
        .decode(&served.attestations[0].signature)
        .expect("base64");
    owner
        .did()
        .verify_signature(&bytes, &signature)
        .expect("the owner's signature is served");
}

store_tests!(the_owner_attests_the_stored_key);
