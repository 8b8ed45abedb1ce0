//! Decrypt (DESIGN §4.6) against a real node: what is allowed, and what a
//! change made before a decrypt refuses. Each single bad request is a case
//! of the corpus in `rejections/` instead (`tests/rejections.rs`).

mod common;

use common::*;
use encnet_core::InlineEnvelope;
use encnet_ucan::{Delegation, Ed25519Signer, Ipld, Signed};
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

store_tests! {
    owner_decrypts_v2,
    owner_decrypts_v1,
    holder_decrypts_through_one_hop,
    holder_decrypts_through_two_hops,
    key_hash_policy_opens_only_that_envelope,
    both_versions_decrypt_after_rotate,
    changes_after_a_decrypt_are_seen,
    same_invocation_twenty_times_in_parallel_is_allowed_once,
}
