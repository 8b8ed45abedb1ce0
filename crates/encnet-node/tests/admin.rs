//! Administration, audit, revocation, crypto-shredding and input limits,
//! against a real node.

mod common;

use common::*;
use encnet_ucan::{Container, Ed25519Signer, Ipld};
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

async fn duplicate_network_is_a_conflict(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    create_network(&node, &owner, "dup", "v2").await;
    let inv = invoke(
        &owner.signer,
        &owner.did(),
        &node.did,
        "/encryption/network/create",
        args(vec![("name", text("dup"))]),
        &[],
    );
    let (status, body) = node.post("/v1/networks", Some(&container(&inv, &[]))).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "network_exists");
}

async fn lifecycle_transitions_follow_the_state_machine(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let id = create_network(&node, &owner, "life", "v2").await.network_id;

    let (status, body) = owner_command(&node, &owner, &id, "restore", vec![]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("invalid_state"))
    );
    let (status, body) = owner_command(&node, &owner, &id, "revoke", vec![]).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("revoked")));
    let (status, body) = owner_command(&node, &owner, &id, "rotate", vec![]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("network_revoked"))
    );
    let (status, body) = owner_command(&node, &owner, &id, "restore", vec![]).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("active")));
    let (status, body) = owner_command(
        &node,
        &owner,
        &id,
        "retire",
        vec![("minDecryptionVersion", Ipld::Integer(5))],
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
    // Destroy only from revoked (DESIGN §4.2).
    let (status, body) = owner_command(&node, &owner, &id, "destroy", vec![]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("invalid_state"))
    );
    owner_command(&node, &owner, &id, "revoke", vec![]).await;
    let (status, body) = owner_command(&node, &owner, &id, "destroy", vec![]).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("destroyed")));
    let (status, body) = owner_command(&node, &owner, &id, "restore", vec![]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("invalid_state"))
    );
}

async fn only_the_owner_or_a_delegate_administers(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let id = create_network(&node, &owner, "guarded", "v2")
        .await
        .network_id;
    let mallory = Owner::new();
    // Mallory signs with the owner as subject but holds no delegation.
    let inv = invoke(
        &mallory.signer,
        &owner.did(),
        &node.did,
        "/encryption/network/destroy",
        args(vec![("network", text(&id))]),
        &[],
    );
    let (status, body) = node
        .post(
            &format!("/v1/networks/{id}/destroy"),
            Some(&container(&inv, &[])),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("broken_chain")));

    // A delegate of /encryption/network/rotate may rotate, not destroy.
    let admin = Ed25519Signer::generate();
    let d = delegate(
        &owner.signer,
        &admin.did(),
        &owner.did(),
        "/encryption/network/rotate",
        json!([]),
    );
    let inv = invoke(
        &admin,
        &owner.did(),
        &node.did,
        "/encryption/network/rotate",
        args(vec![("network", text(&id))]),
        std::slice::from_ref(&d),
    );
    let (status, body) = node
        .post(
            &format!("/v1/networks/{id}/rotate"),
            Some(&container(&inv, std::slice::from_ref(&d))),
        )
        .await;
    assert_eq!((status, body["keyVersion"].as_u64()), (200, Some(2)));
    let inv = invoke(
        &admin,
        &owner.did(),
        &node.did,
        "/encryption/network/destroy",
        args(vec![("network", text(&id))]),
        std::slice::from_ref(&d),
    );
    let (status, body) = node
        .post(
            &format!("/v1/networks/{id}/destroy"),
            Some(&container(&inv, std::slice::from_ref(&d))),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("command_widened"))
    );
}

async fn admin_invocations_are_single_use(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let id = create_network(&node, &owner, "once", "v2").await.network_id;
    let inv = invoke(
        &owner.signer,
        &owner.did(),
        &node.did,
        "/encryption/network/rotate",
        args(vec![("network", text(&id))]),
        &[],
    );
    let header = container(&inv, &[]);
    let path = format!("/v1/networks/{id}/rotate");
    assert_eq!(node.post(&path, Some(&header)).await.0, 200);
    let (status, body) = node.post(&path, Some(&header)).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("replay")));
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

async fn revocation_by_a_stranger_is_refused(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let bob = Ed25519Signer::generate();
    let d = delegate(&owner.signer, &bob.did(), &owner.did(), DECRYPT, json!([]));
    let mallory = Ed25519Signer::generate();
    let inv = invoke(
        &mallory,
        &mallory.did(),
        &node.did,
        "/ucan/revoke",
        args(vec![("revoke", Ipld::Link(d.cid))]),
        &[],
    );
    let (status, body) = node
        .post(
            "/v1/revocations",
            Some(&container(&inv, std::slice::from_ref(&d))),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("not_revoker")));
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

// ---- limits on untrusted input ----

async fn oversized_authorization_header_is_rejected(backend: Backend) {
    let node = TestNode::start(backend).await;
    let header = "A".repeat(40 * 1024);
    let (status, body) = node.post("/v1/networks", Some(&header)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (431, Some("header_too_large"))
    );
}

async fn too_many_tokens_are_rejected(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let inv = invoke(
        &owner.signer,
        &owner.did(),
        &node.did,
        "/encryption/network/create",
        args(vec![("name", text("x"))]),
        &[],
    );
    let mut tokens = vec![inv.bytes.clone()];
    for _ in 0..16 {
        tokens.push(delegate(&owner.signer, &owner.did(), &owner.did(), "/", json!([])).bytes);
    }
    let (status, body) = node
        .post("/v1/networks", Some(&Container::new(tokens).to_header()))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("too_many_tokens"))
    );
}

async fn chains_longer_than_eight_are_rejected(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let id = create_network(&node, &owner, "deep", "v2").await.network_id;
    let mut signers = vec![Ed25519Signer::from_seed(*owner.signer.to_seed())];
    let mut proofs = Vec::new();
    for _ in 0..9 {
        let next = Ed25519Signer::generate();
        let from = signers.last().expect("a signer");
        proofs.push(delegate(
            from,
            &next.did(),
            &owner.did(),
            "/encryption/network/rotate",
            json!([]),
        ));
        signers.push(next);
    }
    let last = signers.last().expect("a signer");
    let inv = invoke(
        last,
        &owner.did(),
        &node.did,
        "/encryption/network/rotate",
        args(vec![("network", text(&id))]),
        &proofs,
    );
    let (status, body) = node
        .post(
            &format!("/v1/networks/{id}/rotate"),
            Some(&container(&inv, &proofs)),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("chain_too_long"))
    );
}

store_tests! {
    public_routes_answer,
    descriptor_never_shows_private_key,
    duplicate_network_is_a_conflict,
    lifecycle_transitions_follow_the_state_machine,
    only_the_owner_or_a_delegate_administers,
    admin_invocations_are_single_use,
    owner_reads_the_audit_of_the_network,
    revocation_by_a_stranger_is_refused,
    destroy_shreds_sealed_keys_from_the_database_files,
    audit_verify_names_an_edited_row,
    oversized_authorization_header_is_rejected,
    too_many_tokens_are_rejected,
    chains_longer_than_eight_are_rejected,
}
