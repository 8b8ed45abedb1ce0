//! The README quickstart, run with the real `encnet` binary against a real
//! node: alice creates a network, encrypts, delegates one envelope to bob;
//! bob decrypts, carol cannot; alice revokes bob's delegation; bob no
//! longer can. Failure cases assert the exit code and the `error:` line.

mod common;

use common::{mode, Node};

#[test]
fn quickstart() {
    let node = Node::start();

    // Identities: 0600 files, did:key on stdout, never overwritten.
    let alice = node.identity("alice.key");
    let bob = node.identity("bob.key");
    let carol = node.identity("carol.key");
    assert!(alice.starts_with("did:key:z6Mk"), "{alice}");
    assert_eq!(mode(&node.path("alice.key")), 0o600);
    assert_eq!(
        node.run(&["id", "show", "--key", "bob.key"]).ok().trim(),
        bob
    );
    node.run(&["id", "new", "--out", "alice.key"])
        .fails(1, "alice.key already exists");

    // alice creates a network, encrypts a file and delegates it to bob.
    let network = node
        .run(&["network", "create", "--key", "alice.key", "--name", "notes"])
        .ok()
        .trim()
        .to_owned();
    assert_eq!(network, format!("urn:tinycloud:encryption:{alice}:notes"));
    node.write("note.txt", b"meet at noon\n");
    node.run(&[
        "encrypt",
        "--network",
        &network,
        "--in",
        "note.txt",
        "--out",
        "note.json",
    ])
    .ok();
    let envelope = String::from_utf8(node.read("note.json")).expect("UTF-8");
    assert!(!envelope.contains("meet at noon"));
    assert!(envelope.contains("\"alg\":\"x25519-hkdf-sha256-aes256gcm/v2\""));
    // A second record, by discovery and through stdin/stdout.
    let other = node
        .run_with_stdin(
            &["encrypt", "--owner", &alice, "--name", "notes"],
            b"not for bob",
        )
        .ok();
    node.write("other.json", other.as_bytes());
    node.run(&[
        "delegate",
        "--key",
        "alice.key",
        "--to",
        &bob,
        "--network",
        &network,
        "--only",
        "note.json",
        "--expires",
        "1h",
        "--out",
        "bob.ucan",
    ])
    .ok();

    // bob decrypts that record, and only that one.
    let plain = node
        .run(&[
            "decrypt",
            "--key",
            "bob.key",
            "--proof",
            "bob.ucan",
            "--in",
            "note.json",
        ])
        .ok();
    assert_eq!(plain, "meet at noon\n");
    node.run(&[
        "decrypt",
        "--key",
        "bob.key",
        "--proof",
        "bob.ucan",
        "--in",
        "other.json",
    ])
    .fails(1, "error: the node refused: policy_denied (403)");

    // carol cannot: neither without a delegation nor with bob's.
    node.run(&["decrypt", "--key", "carol.key", "--in", "note.json"])
        .fails(1, "error: the node refused: broken_chain (403)");
    node.run_with_stdin(
        &["decrypt", "--key", "carol.key", "--proof", "bob.ucan"],
        envelope.as_bytes(),
    )
    .fails(1, "the node refused: broken_chain (403)");

    // alice revokes bob's delegation; bob no longer can.
    let revoked = node
        .run(&["revoke-delegation", "--key", "alice.key", "bob.ucan"])
        .ok();
    assert!(revoked.starts_with("revoked bafy"), "{revoked}");
    node.run(&[
        "decrypt",
        "--key",
        "bob.key",
        "--proof",
        "bob.ucan",
        "--in",
        "note.json",
    ])
    .fails(1, "error: the node refused: delegation_revoked (403)");
    // The owner still can, reading the envelope from stdin.
    let plain = node
        .run_with_stdin(&["decrypt", "--key", "alice.key"], envelope.as_bytes())
        .ok();
    assert_eq!(plain, "meet at noon\n");

    // The audit log names each decision, and its entries verify.
    let audit = node
        .run(&["audit", "show", "--key", "alice.key", &network, "--verify"])
        .ok();
    assert!(
        audit.contains("\"outcome\":\"denied:delegation_revoked\""),
        "{audit}"
    );
    assert!(
        audit.contains("\"outcome\":\"denied:policy_denied\""),
        "{audit}"
    );
    node.run(&["audit", "show", "--key", "bob.key", &network])
        .fails(1, "the node refused: broken_chain (403)");
    let _ = carol;
}

#[test]
fn redelegation_administration_and_lifecycle() {
    let node = Node::start();
    let alice = node.identity("alice.key");
    let bob = node.identity("bob.key");
    let carol = node.identity("carol.key");
    let network = node
        .run(&[
            "network",
            "create",
            "--key",
            "alice.key",
            "--name",
            "n1",
            "--alg",
            "v1",
        ])
        .ok()
        .trim()
        .to_owned();
    // v1 cannot bind AAD, so --aad is refused rather than carried unbound.
    node.run_with_stdin(
        &["encrypt", "--network", &network, "--aad", "id-7"],
        b"v1 record",
    )
    .fails(1, "cannot bind AAD");
    let envelope = node
        .run_with_stdin(&["encrypt", "--network", &network], b"v1 record")
        .ok();
    assert!(envelope.contains("\"alg\":\"x25519-aes256gcm/v1\""));
    node.write("r.json", envelope.as_bytes());

    // alice → bob (every record), bob → carol (this record only).
    let to_bob = node
        .run(&[
            "delegate",
            "--key",
            "alice.key",
            "--to",
            &bob,
            "--network",
            &network,
        ])
        .ok();
    node.write("bob.ucan", to_bob.as_bytes());
    node.run(&[
        "delegate",
        "--key",
        "bob.key",
        "--to",
        &carol,
        "--network",
        &network,
        "--only",
        "r.json",
        "--proof",
        "bob.ucan",
        "--out",
        "carol.ucan",
    ])
    .ok();
    // carol re-delegating a delegation that is not hers is refused locally.
    node.run(&[
        "delegate",
        "--key",
        "carol.key",
        "--to",
        &bob,
        "--network",
        &network,
        "--proof",
        "bob.ucan",
    ])
    .fails(1, "not to this identity");
    let plain = node
        .run(&[
            "decrypt",
            "--key",
            "carol.key",
            "--proof",
            "carol.ucan",
            "--in",
            "r.json",
        ])
        .ok();
    assert_eq!(plain, "v1 record");
    // With several proofs, the chain that fits is used.
    node.run(&[
        "decrypt",
        "--key",
        "carol.key",
        "--proof",
        "bob.ucan",
        "--proof",
        "carol.ucan",
        "--in",
        "r.json",
    ])
    .ok();

    // A delegated administrative command: bob may rotate, not destroy.
    node.run(&[
        "delegate",
        "--key",
        "alice.key",
        "--to",
        &bob,
        "--network",
        &network,
        "--command",
        "rotate",
        "--out",
        "rotate.ucan",
    ])
    .ok();
    let rotated = node
        .run(&[
            "network",
            "rotate",
            "--key",
            "bob.key",
            "--proof",
            "rotate.ucan",
            &network,
        ])
        .ok();
    assert!(rotated.contains("\"keyVersion\": 2"), "{rotated}");
    node.run(&[
        "network",
        "destroy",
        "--key",
        "bob.key",
        "--proof",
        "rotate.ucan",
        &network,
    ])
    .fails(1, "the node refused: ");

    // Lifecycle by the owner: retire, revoke, restore, destroy.
    node.run(&[
        "network",
        "retire",
        "--key",
        "alice.key",
        &network,
        "--min-version",
        "2",
    ])
    .ok();
    node.run(&["decrypt", "--key", "alice.key", "--in", "r.json"])
        .fails(1, "key_version_retired (403)");
    node.run(&["network", "revoke", "--key", "alice.key", &network])
        .ok();
    let fresh = node
        .run_with_stdin(&["network", "show", &network], b"")
        .ok();
    assert!(fresh.contains("\"state\": \"revoked\""), "{fresh}");
    node.run_with_stdin(&["encrypt", "--network", &network], b"x")
        .fails(1, "is revoked");
    node.run(&["network", "restore", "--key", "alice.key", &network])
        .ok();
    let shown = node
        .run(&["network", "show", "--owner", &alice, "--name", "n1"])
        .ok();
    assert!(shown.contains("\"state\": \"active\""), "{shown}");
    node.run(&["network", "destroy", "--key", "alice.key", &network])
        .fails(1, "invalid_state (409)");
    node.run(&["network", "revoke", "--key", "alice.key", &network])
        .ok();
    let destroyed = node
        .run(&["network", "destroy", "--key", "alice.key", &network])
        .ok();
    assert!(
        destroyed.contains("\"state\": \"destroyed\""),
        "{destroyed}"
    );
}

#[test]
fn failures_name_the_problem() {
    let node = Node::start();
    node.identity("alice.key");

    // Node unreachable, with its URL.
    node.run(&["--node", "http://127.0.0.1:1", "network", "show", "urn:x"])
        .fails(1, "error: node unreachable at http://127.0.0.1:1");
    // Unreadable files: path and reason.
    node.run(&["decrypt", "--key", "alice.key", "--in", "missing.json"])
        .fails(1, "error: missing.json: No such file or directory");
    node.run(&["id", "show", "--key", "nothing.key"])
        .fails(1, "error: nothing.key: No such file or directory");
    // Not an envelope, not an identity, not a delegation file.
    node.write("junk.json", b"{}");
    node.run(&["decrypt", "--key", "alice.key", "--in", "junk.json"])
        .fails(1, "junk.json: not an encnet envelope");
    node.run_with_stdin(&["id", "show"], b"hello\n")
        .fails(1, "not an encnet identity file");
    node.run(&["revoke-delegation", "--key", "alice.key", "junk.json"])
        .fails(1, "junk.json: not a UCAN container");
    // A key others may read is refused, with the fix.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        node.path("alice.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let stderr = node
        .run(&["id", "show", "--key", "alice.key"])
        .fails(1, "alice.key is readable by group or others (mode 644)");
    assert!(
        stderr.contains("hint: run `chmod 600 alice.key`"),
        "{stderr}"
    );
    // Unknown networks, bad flags (exit 2), bad durations.
    let missing =
        "urn:tinycloud:encryption:did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK:none";
    node.run(&["network", "show", missing])
        .fails(1, "the node refused: network_not_found (404)");
    node.run(&["encrypt", "--bogus"]).fails(2, "--bogus");
    std::fs::set_permissions(
        node.path("alice.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    node.run(&[
        "delegate",
        "--key",
        "alice.key",
        "--to",
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "--network",
        missing,
        "--expires",
        "soon",
    ])
    .fails(1, "--expires \"soon\"");
}

#[test]
fn every_command_has_help() {
    let node = Node::start();
    let commands: &[&[&str]] = &[
        &[],
        &["id"],
        &["id", "new"],
        &["id", "show"],
        &["network"],
        &["network", "create"],
        &["network", "show"],
        &["network", "rotate"],
        &["network", "retire"],
        &["network", "revoke"],
        &["network", "restore"],
        &["network", "destroy"],
        &["encrypt"],
        &["decrypt"],
        &["delegate"],
        &["revoke-delegation"],
        &["audit"],
        &["audit", "show"],
        &["audit", "verify"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let out = node.run(&args).ok();
        assert!(out.contains("Usage: encnet"), "{args:?}: {out}");
    }
    let top = node.run(&["--help"]).ok();
    assert!(top.contains("Exit status: 0 success; 1 failure"), "{top}");
}

/// No input is ever cut: a plaintext of exactly the inline envelope's limit
/// round-trips, one byte more is refused whole, and so is an envelope file
/// over its own limit.
#[test]
fn inputs_over_a_limit_fail_loudly() {
    const LIMIT: usize = 64 << 20;
    let node = Node::start();
    node.identity("alice.key");
    let network = node
        .run(&["network", "create", "--key", "alice.key", "--name", "big"])
        .ok();
    let network = network.trim();

    let mut plaintext = vec![0x5a_u8; LIMIT];
    plaintext[LIMIT - 1] = b'!';
    node.write("limit.bin", &plaintext);
    node.run(&[
        "encrypt",
        "--network",
        network,
        "--in",
        "limit.bin",
        "--out",
        "limit.json",
    ])
    .ok();
    node.run(&[
        "decrypt",
        "--key",
        "alice.key",
        "--in",
        "limit.json",
        "--out",
        "limit.out",
    ])
    .ok();
    assert!(
        node.read("limit.out") == plaintext,
        "round trip at the limit"
    );

    plaintext.push(b'+');
    node.write("over.bin", &plaintext);
    node.run(&[
        "encrypt",
        "--network",
        network,
        "--in",
        "over.bin",
        "--out",
        "over.json",
    ])
    .fails(
        1,
        "over.bin: larger than 64 MiB, the most one inline envelope holds",
    );
    assert!(!node.path("over.json").exists(), "nothing written");
    node.run_with_stdin(&["encrypt", "--network", network], &plaintext)
        .fails(1, "standard input: larger than 64 MiB");

    let envelope_limit = std::fs::metadata(node.path("limit.json"))
        .expect("size")
        .len();
    let file = std::fs::File::create(node.path("huge.json")).expect("create");
    file.set_len(LIMIT as u64 / 3 * 4 + (2 << 20))
        .expect("grow");
    assert!(envelope_limit < LIMIT as u64 / 3 * 4 + (1 << 20));
    node.run(&["decrypt", "--key", "alice.key", "--in", "huge.json"])
        .fails(1, "huge.json: larger than");
}
