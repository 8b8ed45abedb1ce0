//! Administration, audit reads and crypto-shredding against a real node. The
//! refusals of each route are cases of the corpus in `rejections/`.

mod common;

use common::*;
use encnet_ucan::{Ed25519Signer, Ipld};
use serde_json::json;

async fn owner_command(
    node: &TestNode,
    owner: &Owner,
    network: &str,
    verb: &str,
    extra: Vec<(&str, Ipld)>,
) -> (u16, serde_json::Value) {
    let mut a = args(vec![("network", text(network))]);
    a.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
    let inv = invoke(
        &owner.signer,
        &owner.did(),
        &node.did,
        &format!("/encryption/network/{verb}"),
        a,
        &[],
    );
    node.post(
        &format!("/v1/networks/{network}/{verb}"),
        Some(&container(&inv, &[])),
    )
    .await
}

async fn public_routes_answer(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let d = create_network(&node, &owner, "photos", "v1").await;
    assert_eq!(d.alg, "x25519-aes256gcm/v1");
    assert_eq!(d.key_backend, encnet_core::api::KeyBackend::LocalOneOfOne);

    let (status, info) = node.get("/v1/info", None).await;
    assert_eq!(status, 200);
    assert_eq!(info["nodeDid"], node.did.to_string());

    let (status, body) = node
        .get(
            &format!(
                "/.well-known/encryption/network/photos?ownerDid={}",
                owner.did()
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["networkId"], d.network_id);
    assert_eq!(body["publicEncryptionKey"], d.public_encryption_key);

    let (status, _) = node
        .get(
            "/v1/networks/urn:tinycloud:encryption:did:key:z6Mkx:none",
            None,
        )
        .await;
    assert_eq!(status, 404);

    let response = reqwest::get(format!("{}/healthz", node.url))
        .await
        .expect("healthz");
    assert_eq!(response.status().as_u16(), 200);
    let metrics = reqwest::get(format!("{}/metrics", node.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("encnet_http_requests_total"), "{metrics}");
    assert!(metrics.contains("encnet_audit_rows"), "{metrics}");
    assert!(metrics.contains("encnet_nonces_rows"), "{metrics}");
}

async fn descriptor_never_shows_private_key(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let d = create_network(&node, &owner, "n", "v2").await;
    let (_, body) = node
        .get(&format!("/v1/networks/{}", d.network_id), None)
        .await;
    let text = body.to_string();
    assert!(!text.to_lowercase().contains("private"), "{text}");
    assert!(!text.contains("sealed"), "{text}");
}

/// Every command but restore, destroy and attest is delegable (DESIGN §4.2).
async fn a_delegate_rotates_and_revokes(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let id = create_network(&node, &owner, "ops", "v2").await.network_id;
    let admin = Ed25519Signer::generate();
    let proof = [delegate(
        &owner.signer,
        &admin.did(),
        &owner.did(),
        "/encryption/network",
        json!([]),
    )];
    for (verb, field, value) in [
        ("rotate", "keyVersion", json!(2)),
        ("revoke", "state", json!("revoked")),
    ] {
        let command = format!("/encryption/network/{verb}");
        let a = args(vec![("network", text(&id))]);
        let inv = invoke(&admin, &owner.did(), &node.did, &command, a, &proof);
        let path = format!("/v1/networks/{id}/{verb}");
        let (status, body) = node.post(&path, Some(&container(&inv, &proof))).await;
        assert_eq!((status, &body[field]), (200, &value), "{verb}: {body}");
    }
}

async fn owner_reads_the_audit_of_the_network(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let id = create_network(&node, &owner, "audited", "v2")
        .await
        .network_id;
    owner_command(&node, &owner, &id, "rotate", vec![]).await;
    let inv = invoke(
        &owner.signer,
        &owner.did(),
        &node.did,
        "/encryption/audit/read",
        args(vec![("network", text(&id))]),
        &[],
    );
    let (status, body) = node
        .get(
            &format!("/v1/networks/{id}/audit"),
            Some(&container(&inv, &[])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let page: encnet_core::api::AuditPage = serde_json::from_value(body).expect("page");
    let commands: Vec<_> = page
        .entries
        .iter()
        .map(|e| e.entry.command.as_str())
        .collect();
    assert_eq!(
        commands,
        [
            "/encryption/network/create",
            "/encryption/network/rotate",
            "/encryption/audit/read"
        ]
    );
    assert!(page.entries.iter().all(|e| e.entry.outcome == "allowed"));
    assert!(page
        .entries
        .iter()
        .all(|e| e.entry.requester == owner.did().to_string()));
}

async fn destroy_shreds_sealed_keys_from_the_database_files(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let id = create_network(&node, &owner, "shred", "v2")
        .await
        .network_id;
    owner_command(&node, &owner, &id, "rotate", vec![]).await;
    let db = node.db().await;
    let sealed = db
        .blobs("SELECT sealed_private_key FROM network_keys")
        .await;
    db.close().await;
    assert_eq!(sealed.len(), 2);
    // The scan finds the keys while they exist, so it can fail.
    for key in &sealed {
        assert!(node.stores_bytes(key).await);
    }
    owner_command(&node, &owner, &id, "revoke", vec![]).await;
    let (status, _) = owner_command(&node, &owner, &id, "destroy", vec![]).await;
    assert_eq!(status, 200);
    for key in &sealed {
        assert!(!node.stores_bytes(key).await, "sealed key bytes survive");
    }
}

async fn audit_verify_names_an_edited_row(backend: Backend) {
    let mut node = TestNode::start(backend).await;
    let owner = Owner::new();
    let id = create_network(&node, &owner, "chain", "v2")
        .await
        .network_id;
    for _ in 0..3 {
        owner_command(&node, &owner, &id, "rotate", vec![]).await;
    }
    node.stop().await;
    assert_eq!(node.verify_audit().await.expect("intact").entries, 4);

    let db = node.db().await;
    db.execute("UPDATE audit SET requester = 'did:key:z6MkEvil' WHERE seq = 3")
        .await;
    db.close().await;
    let broken = node.verify_audit().await.expect_err("broken");
    assert_eq!(broken.sequence, 3);
}

store_tests! {
    public_routes_answer,
    descriptor_never_shows_private_key,
    a_delegate_rotates_and_revokes,
    owner_reads_the_audit_of_the_network,
    destroy_shreds_sealed_keys_from_the_database_files,
    audit_verify_names_an_edited_row,
}
