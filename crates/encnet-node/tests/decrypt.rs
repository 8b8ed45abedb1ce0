//! Decrypt (DESIGN §4.6) against a real node: happy paths, then one test per
//! rejection. Every rejection must answer its own code with a 4xx, add exactly
//! one audit entry, and change nothing else.

mod common;

use common::*;
use encnet_core::InlineEnvelope;
use encnet_ucan::{Delegation, Did, Ed25519Signer, Ipld, Signed};
use serde_json::json;

/// A node with one v2 network of `owner`, and one envelope in it.
struct World {
    node: TestNode,
    owner: Owner,
    network: String,
    envelope: InlineEnvelope,
}

impl World {
    async fn new(backend: Backend) -> Self {
        Self::with_alg(backend, "v2").await
    }

    async fn with_alg(backend: Backend, alg: &str) -> Self {
        let node = TestNode::start(backend).await;
        let owner = Owner::new();
        let descriptor = create_network(&node, &owner, "notes", alg).await;
        let envelope = encrypt(&descriptor, b"the plaintext");
        Self {
            network: descriptor.network_id,
            node,
            owner,
            envelope,
        }
    }

    fn decrypt_path(&self) -> String {
        format!("/v1/networks/{}/decrypt", self.network)
    }

    /// A decrypt container signed by `signer` with `proofs`.
    fn request(
        &self,
        signer: &Ed25519Signer,
        proofs: &[Signed<Delegation>],
    ) -> (DecryptRequest, String) {
        let request = DecryptRequest::new(&self.envelope);
        let inv = invoke(
            signer,
            &self.owner.did(),
            &self.node.did,
            DECRYPT,
            request.args.clone(),
            proofs,
        );
        let header = container(&inv, proofs);
        (request, header)
    }

    /// Posts and expects the plaintext back.
    async fn expect_plaintext(&self, request: &DecryptRequest, header: &str) {
        let (status, body) = self.node.post(&self.decrypt_path(), Some(header)).await;
        assert_eq!(status, 200, "decrypt failed: {body}");
        let plaintext = open_answer(&self.node.did, &body, request, &self.envelope);
        assert_eq!(plaintext, b"the plaintext");
    }

    /// Posts and expects exactly one denial with `code`, nothing else changed.
    async fn expect_denied(&self, path: &str, header: Option<&str>, status: u16, code: &str) {
        let before_state = self.node.state_snapshot().await;
        let before_audit = self.node.audit_outcomes().await;
        let (got, body) = self.node.post(path, header).await;
        assert_eq!(got, status, "unexpected status, body {body}");
        assert_eq!(body["code"], code, "unexpected problem {body}");
        let after_audit = self.node.audit_outcomes().await;
        assert_eq!(after_audit.len(), before_audit.len() + 1, "one audit entry");
        assert_eq!(
            after_audit.last().map(String::as_str),
            Some(&*format!("denied:{code}"))
        );
        assert_eq!(
            self.node.state_snapshot().await,
            before_state,
            "state changed"
        );
    }

    /// Posts and expects a refusal that leaves no trace but a counter: the
    /// invocation's signature never verified (DESIGN §4.10).
    async fn expect_refused_unaudited(&self, header: Option<&str>, status: u16, code: &str) {
        let before_state = self.node.state_snapshot().await;
        let before_audit = self.node.audit_outcomes().await;
        let (got, body) = self.node.post(&self.decrypt_path(), header).await;
        assert_eq!(got, status, "unexpected status, body {body}");
        assert_eq!(body["code"], code, "unexpected problem {body}");
        assert_eq!(self.node.audit_outcomes().await, before_audit, "audited");
        assert_eq!(
            self.node.state_snapshot().await,
            before_state,
            "state changed"
        );
    }

    async fn expect_decrypt_denied(&self, header: &str, status: u16, code: &str) {
        self.expect_denied(&self.decrypt_path(), Some(header), status, code)
            .await;
    }

    /// Runs an owner administrative command on the network.
    async fn admin(&self, verb: &str, extra: Vec<(&str, Ipld)>) {
        let mut a = args(vec![("network", text(&self.network))]);
        a.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
        let inv = invoke(
            &self.owner.signer,
            &self.owner.did(),
            &self.node.did,
            &format!("/encryption/network/{verb}"),
            a,
            &[],
        );
        let path = format!("/v1/networks/{}/{verb}", self.network);
        let (status, body) = self.node.post(&path, Some(&container(&inv, &[]))).await;
        assert_eq!(status, 200, "{verb} failed: {body}");
    }
}

// ---- happy paths ----

async fn owner_decrypts_v2(backend: Backend) {
    let w = World::new(backend).await;
    let (request, header) = w.request(&w.owner.signer, &[]);
    w.expect_plaintext(&request, &header).await;
    assert_eq!(
        w.node.audit_outcomes().await.last().map(String::as_str),
        Some("allowed")
    );
}

async fn owner_decrypts_v1(backend: Backend) {
    let w = World::with_alg(backend, "v1").await;
    let (request, header) = w.request(&w.owner.signer, &[]);
    w.expect_plaintext(&request, &header).await;
}

async fn holder_decrypts_through_one_hop(backend: Backend) {
    let w = World::new(backend).await;
    let bob = Ed25519Signer::generate();
    let d = delegate(
        &w.owner.signer,
        &bob.did(),
        &w.owner.did(),
        DECRYPT,
        json!([]),
    );
    let (request, header) = w.request(&bob, &[d]);
    w.expect_plaintext(&request, &header).await;
}

async fn holder_decrypts_through_two_hops(backend: Backend) {
    let w = World::new(backend).await;
    let bob = Ed25519Signer::generate();
    let carol = Ed25519Signer::generate();
    let d1 = delegate(
        &w.owner.signer,
        &bob.did(),
        &w.owner.did(),
        "/encryption",
        json!([]),
    );
    let d2 = delegate(&bob, &carol.did(), &w.owner.did(), DECRYPT, json!([]));
    let (request, header) = w.request(&carol, &[d1, d2]);
    w.expect_plaintext(&request, &header).await;
}

async fn key_hash_policy_opens_only_that_envelope(backend: Backend) {
    let w = World::new(backend).await;
    let bob = Ed25519Signer::generate();
    let policy = json!([["==", ".keyHash", w.envelope.encrypted_symmetric_key_hash]]);
    let d = delegate(&w.owner.signer, &bob.did(), &w.owner.did(), DECRYPT, policy);
    let (request, header) = w.request(&bob, std::slice::from_ref(&d));
    w.expect_plaintext(&request, &header).await;

    // Another envelope of the same network is out of reach.
    let descriptor: encnet_core::api::NetworkDescriptor = serde_json::from_value(
        w.node
            .get(&format!("/v1/networks/{}", w.network), None)
            .await
            .1,
    )
    .expect("descriptor");
    let other = encrypt(&descriptor, b"another record");
    let request = DecryptRequest::new(&other);
    let inv = invoke(
        &bob,
        &w.owner.did(),
        &w.node.did,
        DECRYPT,
        request.args,
        std::slice::from_ref(&d),
    );
    w.expect_decrypt_denied(&container(&inv, &[d]), 403, "policy_denied")
        .await;
}

async fn both_versions_decrypt_after_rotate(backend: Backend) {
    let mut w = World::new(backend).await;
    let old = w.envelope.clone();
    w.admin("rotate", vec![]).await;
    let (status, body) = w
        .node
        .get(&format!("/v1/networks/{}", w.network), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["keyVersion"], 2);
    let descriptor = serde_json::from_value(body).expect("descriptor");
    let new = encrypt(&descriptor, b"the plaintext");
    assert_eq!(new.key_version, 2);
    for envelope in [old, new] {
        w.envelope = envelope;
        let (request, header) = w.request(&w.owner.signer, &[]);
        w.expect_plaintext(&request, &header).await;
    }
}

/// A decrypt fills the node's network cache; every later change must still
/// be seen by the next decrypt.
async fn changes_after_a_decrypt_are_seen(backend: Backend) {
    let w = World::new(backend).await;
    let (request, header) = w.request(&w.owner.signer, &[]);
    w.expect_plaintext(&request, &header).await;
    w.admin("revoke", vec![]).await;
    let (_, header) = w.request(&w.owner.signer, &[]);
    w.expect_decrypt_denied(&header, 403, "network_revoked")
        .await;
    w.admin("restore", vec![]).await;
    let (request, header) = w.request(&w.owner.signer, &[]);
    w.expect_plaintext(&request, &header).await;
    w.admin("rotate", vec![]).await;
    w.admin("retire", vec![("minDecryptionVersion", Ipld::Integer(2))])
        .await;
    let (_, header) = w.request(&w.owner.signer, &[]);
    w.expect_decrypt_denied(&header, 403, "key_version_retired")
        .await;
    w.admin("revoke", vec![]).await;
    w.admin("destroy", vec![]).await;
    let (_, header) = w.request(&w.owner.signer, &[]);
    w.expect_decrypt_denied(&header, 410, "network_destroyed")
        .await;
}

async fn retired_version_is_denied(backend: Backend) {
    let w = World::new(backend).await;
    w.admin("rotate", vec![]).await;
    w.admin("retire", vec![("minDecryptionVersion", Ipld::Integer(2))])
        .await;
    let (_, header) = w.request(&w.owner.signer, &[]);
    w.expect_decrypt_denied(&header, 403, "key_version_retired")
        .await;
}

async fn same_invocation_twenty_times_in_parallel_is_allowed_once(backend: Backend) {
    let w = World::new(backend).await;
    let (_, header) = w.request(&w.owner.signer, &[]);
    let path = w.decrypt_path();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (url, header, path) = (w.node.url.clone(), header.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{url}{path}"))
                .bearer_auth(header)
                .send()
                .await
                .expect("sent")
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    let outcomes = w.node.audit_outcomes().await;
    assert_eq!(outcomes.iter().filter(|o| *o == "allowed").count(), 2); // create + one decrypt
    assert_eq!(
        outcomes.iter().filter(|o| *o == "denied:replay").count(),
        19
    );
}

// ---- one test per rejection ----

async fn rejects_wrong_audience(backend: Backend) {
    let w = World::new(backend).await;
    let request = DecryptRequest::new(&w.envelope);
    let other_node = Ed25519Signer::generate().did();
    let inv = invoke(
        &w.owner.signer,
        &w.owner.did(),
        &other_node,
        DECRYPT,
        request.args,
        &[],
    );
    w.expect_decrypt_denied(&container(&inv, &[]), 403, "audience_mismatch")
        .await;
}

async fn rejects_wrong_subject(backend: Backend) {
    let w = World::new(backend).await;
    let mallory = Ed25519Signer::generate();
    let request = DecryptRequest::new(&w.envelope);
    // Mallory invokes on her own authority, naming the owner's network.
    let inv = invoke(
        &mallory,
        &mallory.did(),
        &w.node.did,
        DECRYPT,
        request.args,
        &[],
    );
    w.expect_decrypt_denied(&container(&inv, &[]), 403, "subject_mismatch")
        .await;
}

async fn rejects_network_mismatch_between_path_and_args(backend: Backend) {
    let w = World::new(backend).await;
    create_network(&w.node, &w.owner, "other", "v2").await;
    let (_, header) = w.request(&w.owner.signer, &[]);
    let path = format!("/v1/networks/{}/decrypt", w.owner.network_id("other"));
    w.expect_denied(&path, Some(&header), 403, "network_mismatch")
        .await;
}

async fn rejects_bad_signature(backend: Backend) {
    let w = World::new(backend).await;
    let request = DecryptRequest::new(&w.envelope);
    let inv = invoke(
        &w.owner.signer,
        &w.owner.did(),
        &w.node.did,
        DECRYPT,
        request.args,
        &[],
    );
    let mut bytes = inv.bytes.clone();
    // [sig(64), payload]: byte 5 lies inside the signature.
    bytes[5] ^= 0x01;
    let header = encnet_ucan::Container::new(vec![bytes]).to_header();
    w.expect_refused_unaudited(Some(&header), 401, "invalid_signature")
        .await;
}

async fn rejects_expired_invocation(backend: Backend) {
    let w = World::new(backend).await;
    let request = DecryptRequest::new(&w.envelope);
    let inv = encnet_ucan::InvocationBuilder::new(&w.owner.signer, w.owner.did(), cmd(DECRYPT))
        .audience(w.node.did.clone())
        .args(request.args)
        .expiration(now() - 10)
        .sign()
        .expect("signs");
    w.expect_decrypt_denied(&container(&inv, &[]), 403, "expired")
        .await;
}

async fn rejects_exp_beyond_ttl(backend: Backend) {
    let w = World::new(backend).await;
    let request = DecryptRequest::new(&w.envelope);
    let inv = encnet_ucan::InvocationBuilder::new(&w.owner.signer, w.owner.did(), cmd(DECRYPT))
        .audience(w.node.did.clone())
        .args(request.args)
        .expiration(now() + 3600)
        .sign()
        .expect("signs");
    w.expect_decrypt_denied(&container(&inv, &[]), 403, "ttl_exceeded")
        .await;
}

async fn rejects_delegation_not_yet_valid(backend: Backend) {
    let w = World::new(backend).await;
    let bob = Ed25519Signer::generate();
    let d = encnet_ucan::DelegationBuilder::new(
        &w.owner.signer,
        bob.did(),
        Some(w.owner.did()),
        cmd(DECRYPT),
    )
    .not_before(now() + 600)
    .expiration(now() + 3600)
    .sign()
    .expect("signs");
    let (_, header) = w.request(&bob, &[d]);
    w.expect_decrypt_denied(&header, 403, "not_yet_valid").await;
}

async fn rejects_broken_chain(backend: Backend) {
    let w = World::new(backend).await;
    let bob = Ed25519Signer::generate();
    let carol = Ed25519Signer::generate();
    // Delegated to bob, invoked by carol.
    let d = delegate(
        &w.owner.signer,
        &bob.did(),
        &w.owner.did(),
        DECRYPT,
        json!([]),
    );
    let (_, header) = w.request(&carol, &[d]);
    w.expect_decrypt_denied(&header, 403, "broken_chain").await;
}

async fn rejects_widened_command(backend: Backend) {
    let w = World::new(backend).await;
    let bob = Ed25519Signer::generate();
    let carol = Ed25519Signer::generate();
    let d1 = delegate(
        &w.owner.signer,
        &bob.did(),
        &w.owner.did(),
        DECRYPT,
        json!([]),
    );
    let d2 = delegate(&bob, &carol.did(), &w.owner.did(), "/encryption", json!([]));
    let (_, header) = w.request(&carol, &[d1, d2]);
    w.expect_decrypt_denied(&header, 403, "command_widened")
        .await;
}

async fn rejects_failing_policy(backend: Backend) {
    let w = World::new(backend).await;
    let bob = Ed25519Signer::generate();
    let policy = json!([["==", ".keyHash", "0000"]]);
    let d = delegate(&w.owner.signer, &bob.did(), &w.owner.did(), DECRYPT, policy);
    let (_, header) = w.request(&bob, &[d]);
    w.expect_decrypt_denied(&header, 403, "policy_denied").await;
}

async fn rejects_revoked_delegation(backend: Backend) {
    let w = World::new(backend).await;
    let bob = Ed25519Signer::generate();
    let d = delegate(
        &w.owner.signer,
        &bob.did(),
        &w.owner.did(),
        DECRYPT,
        json!([]),
    );
    revoke(&w.node, &w.owner.signer, &d).await;
    let (_, header) = w.request(&bob, &[d]);
    w.expect_decrypt_denied(&header, 403, "delegation_revoked")
        .await;
}

async fn rejects_replayed_nonce(backend: Backend) {
    let w = World::new(backend).await;
    let (request, header) = w.request(&w.owner.signer, &[]);
    w.expect_plaintext(&request, &header).await;
    w.expect_decrypt_denied(&header, 409, "replay").await;
}

async fn rejects_revoked_network(backend: Backend) {
    let w = World::new(backend).await;
    w.admin("revoke", vec![]).await;
    let (_, header) = w.request(&w.owner.signer, &[]);
    w.expect_decrypt_denied(&header, 403, "network_revoked")
        .await;
}

async fn rejects_destroyed_network(backend: Backend) {
    let w = World::new(backend).await;
    w.admin("revoke", vec![]).await;
    w.admin("destroy", vec![]).await;
    let (_, header) = w.request(&w.owner.signer, &[]);
    w.expect_decrypt_denied(&header, 410, "network_destroyed")
        .await;
}

async fn rejects_alg_mismatch(backend: Backend) {
    let w = World::new(backend).await;
    let mut request = DecryptRequest::new(&w.envelope);
    request
        .args
        .insert("alg".into(), text("x25519-aes256gcm/v1"));
    let header = w.sign_args(&request);
    w.expect_decrypt_denied(&header, 400, "alg_mismatch").await;
}

async fn rejects_unknown_key_version(backend: Backend) {
    let w = World::new(backend).await;
    let mut request = DecryptRequest::new(&w.envelope);
    request.args.insert("keyVersion".into(), Ipld::Integer(7));
    let header = w.sign_args(&request);
    w.expect_decrypt_denied(&header, 400, "unknown_key_version")
        .await;
}

async fn rejects_key_hash_mismatch(backend: Backend) {
    let w = World::new(backend).await;
    let mut request = DecryptRequest::new(&w.envelope);
    request
        .args
        .insert("keyHash".into(), text(&"ab".repeat(32)));
    let header = w.sign_args(&request);
    w.expect_decrypt_denied(&header, 400, "hash_mismatch").await;
}

async fn rejects_low_order_wrapped_key(backend: Backend) {
    let w = World::new(backend).await;
    let mut request = DecryptRequest::new(&w.envelope);
    let mut wrapped = w.envelope.wrapped_key().expect("wrapped");
    wrapped[..32].fill(0); // ephemeral E = 0, a low-order point
    let hash = encnet_core::key_hash(&base64_std(&wrapped));
    request
        .args
        .insert("wrappedKey".into(), Ipld::Bytes(wrapped));
    request.args.insert("keyHash".into(), text(&hash));
    let header = w.sign_args(&request);
    w.expect_decrypt_denied(&header, 400, "low_order_point")
        .await;
}

async fn rejects_low_order_receiver_key(backend: Backend) {
    let w = World::new(backend).await;
    let mut request = DecryptRequest::new(&w.envelope);
    let mut order_one = vec![0u8; 32];
    order_one[0] = 1; // u = 1: a point of small order
    request
        .args
        .insert("receiverKey".into(), Ipld::Bytes(order_one));
    let header = w.sign_args(&request);
    w.expect_decrypt_denied(&header, 400, "low_order_point")
        .await;
}

async fn rejects_malformed_container(backend: Backend) {
    let w = World::new(backend).await;
    w.expect_refused_unaudited(Some("bm90IGEgY29udGFpbmVy!!"), 400, "malformed_container")
        .await;
}

async fn rejects_oversized_body(backend: Backend) {
    let w = World::new(backend).await;
    let (_, header) = w.request(&w.owner.signer, &[]);
    let before = w.node.audit_outcomes().await.len();
    let response = reqwest::Client::new()
        .post(format!("{}{}", w.node.url, w.decrypt_path()))
        .bearer_auth(header)
        .body(vec![b'x'; 100 * 1024])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 413);
    let body: serde_json::Value = response.json().await.expect("problem json");
    assert_eq!(body["code"], "body_too_large");
    assert_eq!(w.node.audit_outcomes().await.len(), before, "not audited");
}

async fn rejects_missing_authorization(backend: Backend) {
    let w = World::new(backend).await;
    w.expect_refused_unaudited(None, 401, "missing_authorization")
        .await;
}

impl World {
    /// Signs `request.args` as the owner.
    fn sign_args(&self, request: &DecryptRequest) -> String {
        let inv = invoke(
            &self.owner.signer,
            &self.owner.did(),
            &self.node.did,
            DECRYPT,
            request.args.clone(),
            &[],
        );
        container(&inv, &[])
    }
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The owner revokes `delegation` through `/v1/revocations`.
async fn revoke(node: &TestNode, owner: &Ed25519Signer, delegation: &Signed<Delegation>) {
    let owner_did: Did = owner.did();
    let inv = invoke(
        owner,
        &owner_did,
        &node.did,
        "/ucan/revoke",
        args(vec![("revoke", Ipld::Link(delegation.cid))]),
        &[],
    );
    let (status, body) = node
        .post(
            "/v1/revocations",
            Some(&container(&inv, std::slice::from_ref(delegation))),
        )
        .await;
    assert_eq!(status, 200, "revocation failed: {body}");
}

store_tests! {
    owner_decrypts_v2,
    owner_decrypts_v1,
    holder_decrypts_through_one_hop,
    holder_decrypts_through_two_hops,
    key_hash_policy_opens_only_that_envelope,
    both_versions_decrypt_after_rotate,
    retired_version_is_denied,
    changes_after_a_decrypt_are_seen,
    same_invocation_twenty_times_in_parallel_is_allowed_once,
    rejects_wrong_audience,
    rejects_wrong_subject,
    rejects_network_mismatch_between_path_and_args,
    rejects_bad_signature,
    rejects_expired_invocation,
    rejects_exp_beyond_ttl,
    rejects_delegation_not_yet_valid,
    rejects_broken_chain,
    rejects_widened_command,
    rejects_failing_policy,
    rejects_revoked_delegation,
    rejects_replayed_nonce,
    rejects_revoked_network,
    rejects_destroyed_network,
    rejects_alg_mismatch,
    rejects_unknown_key_version,
    rejects_key_hash_mismatch,
    rejects_low_order_wrapped_key,
    rejects_low_order_receiver_key,
    rejects_malformed_container,
    rejects_oversized_body,
    rejects_missing_authorization,
}
