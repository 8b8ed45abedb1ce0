//! Owner attestation end to end (DESIGN §4.3), through a real `encnet
//! serve` process: `network create` attests the key, `encrypt` refuses a
//! key or suite the owner did not attest (a node that swapped them is
//! simulated by editing its database), `--allow-unattested` says what it
//! skips, and a delegate's rotation stays unattested until the owner signs.

mod common;

use common::Node;

/// Runs one SQL statement on the node's SQLite database.
async fn edit(node: &Node, statement: &str) {
    let db = rusqlite::Connection::open(node.path("node-data").join("encnet.db"))
        .expect("database opens");
    db.execute_batch(statement).expect("edited");
}

#[tokio::test]
async fn encrypt_refuses_a_key_or_suite_the_owner_did_not_attest() {
    let node = Node::start();
    node.identity("alice.key");
    let network = node
        .run(&[
            "network",
            "create",
            "--key",
            "alice.key",
            "--name",
            "attested",
        ])
        .ok();
    let network = network.trim();
    let shown = node.run(&["network", "show", network]).ok();
    assert!(shown.contains("\"attested\": true"), "{shown}");
    node.run_with_stdin(&["encrypt", "--network", network], b"x")
        .ok();

    // The node serves another key: refused, naming the field.
    edit(
        &node,
        &format!("UPDATE networks SET public_key = x'{}09'", "00".repeat(31)),
    )
    .await;
    node.run_with_stdin(&["encrypt", "--network", network], b"x")
        .fails(
            1,
            "the attested publicEncryptionKey differs from the one served",
        );
    let shown = node.run(&["network", "show", network]).ok();
    assert!(shown.contains("\"attested\": false"), "{shown}");
    // Migration escape hatch: loud, and it works.
    let run = node.run_with_stdin(
        &["encrypt", "--network", network, "--allow-unattested"],
        b"x",
    );
    assert_eq!(run.output.status.code(), Some(0), "{}", run.stderr());
    assert!(
        run.stderr().contains("warning: --allow-unattested"),
        "{}",
        run.stderr()
    );

    // A downgrade to v1 with the real key: refused too.
    edit(
        &node,
        "UPDATE networks SET public_key = (SELECT public_key FROM network_keys WHERE key_version = 1), \
         alg = 'x25519-aes256gcm/v1'",
    )
    .await;
    node.run_with_stdin(&["encrypt", "--network", network], b"x")
        .fails(1, "the attested alg differs from the one served");
}

#[tokio::test]
async fn a_delegates_rotation_waits_for_the_owners_attestation() {
    let node = Node::start();
    node.identity("alice.key");
    let bob = node.identity("bob.key");
    let network = node
        .run(&["network", "create", "--key", "alice.key", "--name", "rot"])
        .ok();
    let network = network.trim();
    node.run(&[
        "delegate",
        "--key",
        "alice.key",
        "--to",
        &bob,
        "--network",
        network,
        "--command",
        "rotate",
        "--out",
        "rotate.ucan",
    ])
    .ok();
    node.run(&[
        "network",
        "rotate",
        "--key",
        "bob.key",
        "--proof",
        "rotate.ucan",
        network,
    ])
    .ok();
    node.run_with_stdin(&["encrypt", "--network", network], b"x")
        .fails(1, "key version 2 is not attested by the network's owner");
    // bob cannot attest; alice can.
    node.run(&["network", "attest", "--key", "bob.key", network])
        .fails(1, "only the network's owner");
    let attested = node
        .run(&["network", "attest", "--key", "alice.key", network])
        .ok();
    let shown: serde_json::Value = serde_json::from_str(&attested).expect("JSON");
    assert_eq!(shown["keyVersions"][1]["keyVersion"], 2, "{attested}");
    assert_eq!(shown["keyVersions"][1]["attested"], true, "{attested}");
    node.run_with_stdin(&["encrypt", "--network", network], b"x")
        .ok();
    // An owner's own rotation is attested in the same command.
    node.run(&["network", "rotate", "--key", "alice.key", network])
        .ok();
    node.run_with_stdin(&["encrypt", "--network", network], b"x")
        .ok();
}
