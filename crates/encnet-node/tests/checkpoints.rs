//! Signed audit checkpoints (DESIGN §4.10) against a real node: pages carry
//! one covering their own read, the node signs more as the chain grows or
//! time passes, and a node refuses to start on a chain cut below its latest
//! checkpoint.

mod common;

use common::*;
use encnet_core::api::AuditPage;
use encnet_core::audit::{AuditFault, SignedCheckpoint};
use encnet_node::config::AuditConfig;
use encnet_node::{Config, NodeError, Server};
use encnet_ucan::{Did, VarsigHeader};

store_tests!(
    an_audit_page_carries_a_signed_checkpoint_of_its_own_read,
    a_node_refuses_to_start_on_a_log_cut_below_its_checkpoint,
    a_node_refuses_to_start_on_a_log_rewritten_under_its_checkpoint,
);

/// Reads the network's audit page as its owner.
async fn read_audit(node: &TestNode, owner: &Owner, network: &str) -> AuditPage {
    let inv = invoke(
        &owner.signer,
        &owner.did(),
        &node.did,
        "/encryption/audit/read",
        args(vec![("network", text(network))]),
        &[],
    );
    let (status, body) = node
        .get(
            &format!("/v1/networks/{network}/audit"),
            Some(&container(&inv, &[])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("page")
}

/// Rotates the network's key: one audited change.
async fn rotate(node: &TestNode, owner: &Owner, network: &str) {
    let inv = invoke(
        &owner.signer,
        &owner.did(),
        &node.did,
        "/encryption/network/rotate",
        args(vec![("network", text(network))]),
        &[],
    );
    let (status, body) = node
        .post(
            &format!("/v1/networks/{network}/rotate"),
            Some(&container(&inv, &[])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn verifies_under(checkpoint: &SignedCheckpoint, node: &Did) -> bool {
    checkpoint
        .check_signature(Some(node.as_str()), |did, message, signature| {
            let key = did
                .parse::<Did>()
                .and_then(|d| d.public_key())
                .expect("node key");
            key.verify(&VarsigHeader::new(key.algorithm()), message, signature)
                .is_ok()
        })
        .is_ok()
}

fn config_of(node: &TestNode) -> Config {
    Config {
        data_dir: node.data_dir.clone(),
        database_url: node.database_url.clone(),
        ..Config::default()
    }
}

/// A node with entries, an audit read (whose checkpoint covers the head),
/// stopped; answers it, its network and the head's sequence.
async fn stopped_after_a_read(backend: Backend) -> (TestNode, String, u64) {
    let mut node = TestNode::start(backend).await;
    let owner = Owner::new();
    let id = create_network(&node, &owner, "cut", "v2").await.network_id;
    for _ in 0..5 {
        rotate(&node, &owner, &id).await;
    }
    let page = read_audit(&node, &owner, &id).await;
    let head = page.entries.last().expect("entries").entry.sequence;
    node.stop().await;
    (node, id, head)
}

async fn an_audit_page_carries_a_signed_checkpoint_of_its_own_read(backend: Backend) {
    let node = TestNode::start(backend).await;
    let owner = Owner::new();
    let id = create_network(&node, &owner, "pages", "v2")
        .await
        .network_id;
    rotate(&node, &owner, &id).await;
    let page = read_audit(&node, &owner, &id).await;
    let last = page.entries.last().expect("entries");
    assert_eq!(last.entry.command, "/encryption/audit/read");
    let checkpoint = page.checkpoint.expect("a checkpoint");
    assert_eq!(checkpoint.body.sequence, last.entry.sequence);
    assert_eq!(checkpoint.body.head_hash, last.entry_hash);
    assert_eq!(checkpoint.body.node_id, node.did.to_string());
    assert!(verifies_under(&checkpoint, &node.did));
    assert!(!verifies_under(
        &checkpoint,
        &encnet_ucan::Ed25519Signer::generate().did()
    ));
    // Stored too: the offline check meets it with its hash.
    let report = node.verify_audit().await.expect("verifies");
    assert_eq!(report.latest_checkpoint, Some(checkpoint.body));
}

async fn a_node_refuses_to_start_on_a_log_cut_below_its_checkpoint(backend: Backend) {
    let (node, _id, head) = stopped_after_a_read(backend).await;
    let db = node.db().await;
    db.execute(&format!("DELETE FROM audit WHERE seq > {}", head - 3))
        .await;
    db.close().await;

    let broken = node.verify_audit().await.expect_err("truncated");
    assert_eq!(broken.sequence, head - 2);
    assert!(
        matches!(broken.fault, AuditFault::Truncated { last, .. } if last == head),
        "{broken}"
    );
    let text = broken.to_string();
    assert!(
        text.contains(&format!("entries {}\u{2013}{head} are missing", head - 2)),
        "{text}"
    );

    let refused = Server::open(&config_of(&node))
        .await
        .err()
        .expect("refused");
    assert!(matches!(refused, NodeError::AuditTruncated(_)), "{refused}");
    assert!(refused.to_string().contains("truncated"), "{refused}");
}

async fn a_node_refuses_to_start_on_a_log_rewritten_under_its_checkpoint(backend: Backend) {
    let (node, _id, head) = stopped_after_a_read(backend).await;
    let db = node.db().await;
    db.execute(&format!(
        "UPDATE audit SET entry_hash = '{}' WHERE seq = {head}",
        "ab".repeat(32)
    ))
    .await;
    db.close().await;
    let refused = Server::open(&config_of(&node))
        .await
        .err()
        .expect("refused");
    assert!(refused.to_string().contains("rewritten"), "{refused}");
}

/// A node on SQLite under `audit`, serving until the answer is dropped.
async fn start_with(audit: AuditConfig) -> (TestNode, tokio::task::JoinHandle<()>) {
    // The test node's data dir and helpers, with a second server on a copy
    // of its config: the first is stopped before the second opens.
    let mut node = TestNode::start(Backend::Sqlite).await;
    node.stop().await;
    let config = Config {
        audit,
        ..config_of(&node)
    };
    let server = reopen(&config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    node.url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        server
            .serve(listener, std::future::pending())
            .await
            .expect("serves");
    });
    (node, task)
}

/// Opens a node on the data dir a stopped one used: the stopped node's
/// background tasks let go of its database a moment after it stops.
async fn reopen(config: &Config) -> Server {
    for _ in 0..50 {
        match Server::open(config).await {
            Err(NodeError::Store(err)) if err.to_string().contains("in use") => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            opened => return opened.expect("node opens"),
        }
    }
    panic!("the stopped node kept its database");
}

/// The sequences of the stored checkpoints, in order.
async fn stored_checkpoints(node: &TestNode) -> Vec<u64> {
    let db = node.db().await;
    let rows = db
        .strings("SELECT CAST(seq AS TEXT) FROM audit_checkpoints ORDER BY seq")
        .await;
    db.close().await;
    rows.iter().map(|s| s.parse().expect("number")).collect()
}

/// Polls for up to five seconds until `done` holds of the checkpoints.
async fn wait_for_checkpoints(node: &TestNode, done: impl Fn(&[u64]) -> bool) -> Vec<u64> {
    for _ in 0..50 {
        let stored = stored_checkpoints(node).await;
        if done(&stored) {
            return stored;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    stored_checkpoints(node).await
}

#[tokio::test]
async fn the_node_signs_a_checkpoint_every_n_entries() {
    let (node, task) = start_with(AuditConfig {
        checkpoint_every_entries: 10,
        checkpoint_every_secs: 3600,
    })
    .await;
    let owner = Owner::new();
    let id = create_network(&node, &owner, "every-ten", "v2")
        .await
        .network_id;
    for _ in 0..34 {
        rotate(&node, &owner, &id).await;
    }
    // 35 entries: one checkpoint per ten, each signed just after its
    // tenth entry commits (a little later under load).
    let stored = wait_for_checkpoints(&node, |s| s.len() >= 3).await;
    assert!(stored.len() >= 3, "{stored:?}");
    let gaps: Vec<u64> = stored
        .iter()
        .scan(0, |last, &seq| Some(seq - std::mem::replace(last, seq)))
        .collect();
    assert!(gaps.iter().all(|gap| (10..=20).contains(gap)), "{stored:?}");
    let report = node.verify_audit().await.expect("verifies");
    assert_eq!(report.checkpoints, stored.len() as u64);
    task.abort();
}

#[tokio::test]
async fn the_node_signs_new_entries_once_the_interval_passes() {
    let (node, task) = start_with(AuditConfig {
        checkpoint_every_entries: 1_000_000,
        checkpoint_every_secs: 1,
    })
    .await;
    let owner = Owner::new();
    let id = create_network(&node, &owner, "every-second", "v2")
        .await
        .network_id;
    rotate(&node, &owner, &id).await;
    let stored = wait_for_checkpoints(&node, |s| s.last() == Some(&2)).await;
    assert_eq!(stored.last(), Some(&2), "{stored:?}");
    task.abort();
}
