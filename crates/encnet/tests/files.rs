//! Files the CLI writes: secrets are created readable by their owner only,
//! and nothing is written when a command refuses.

mod common;

use common::{mode, Node};

/// `encrypt --out` then `decrypt --out`: the plaintext file is 0600.
#[test]
fn decrypted_output_is_created_private() {
    let node = Node::start();
    node.identity("alice.key");
    assert_eq!(mode(&node.path("alice.key")), 0o600, "identity file");
    let network = node
        .run(&["network", "create", "--key", "alice.key", "--name", "files"])
        .ok();
    node.write("secret.txt", b"the secret");
    node.run(&[
        "encrypt",
        "--network",
        network.trim(),
        "--in",
        "secret.txt",
        "--out",
        "secret.json",
    ])
    .ok();
    node.run(&[
        "decrypt",
        "--key",
        "alice.key",
        "--in",
        "secret.json",
        "--out",
        "plain.txt",
    ])
    .ok();
    assert_eq!(node.read("plain.txt"), b"the secret");
    assert_eq!(mode(&node.path("plain.txt")), 0o600, "decrypted output");
}

/// `delegate --out`: the delegation (a bearer capability) is 0600.
#[test]
fn delegation_files_are_created_private() {
    let node = Node::start();
    node.identity("alice.key");
    let bob = node.identity("bob.key");
    let network = node
        .run(&["network", "create", "--key", "alice.key", "--name", "files"])
        .ok();
    node.run(&[
        "delegate",
        "--key",
        "alice.key",
        "--to",
        &bob,
        "--network",
        network.trim(),
        "--out",
        "bob.ucan",
    ])
    .ok();
    assert!(!node.read("bob.ucan").is_empty());
    assert_eq!(mode(&node.path("bob.ucan")), 0o600, "delegation file");
}

/// A v1 network cannot bind AAD: `encrypt --aad` refuses in one line and
/// writes nothing, instead of making an envelope whose AAD is not bound.
#[test]
fn aad_on_a_v1_network_is_refused() {
    let node = Node::start();
    node.identity("alice.key");
    let v1 = node
        .run(&[
            "network",
            "create",
            "--key",
            "alice.key",
            "--name",
            "old",
            "--alg",
            "v1",
        ])
        .ok();
    node.write("plain.txt", b"hello");
    let stderr = node
        .run(&[
            "encrypt",
            "--network",
            v1.trim(),
            "--aad",
            "bound?",
            "--in",
            "plain.txt",
            "--out",
            "v1.json",
        ])
        .fails(1, "cannot bind AAD");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("v2"), "{stderr}");
    assert!(!node.path("v1.json").exists(), "nothing written");

    // Without --aad, v1 still encrypts; with it, v2 binds it.
    node.run(&["encrypt", "--network", v1.trim(), "--in", "plain.txt"])
        .ok();
    let v2 = node
        .run(&["network", "create", "--key", "alice.key", "--name", "new"])
        .ok();
    node.run(&[
        "encrypt",
        "--network",
        v2.trim(),
        "--aad",
        "bound",
        "--in",
        "plain.txt",
    ])
    .ok();
}
