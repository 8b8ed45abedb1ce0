//! v1 interoperability: an envelope made by the independent Python
//! implementation (`fixtures/make_v1_envelope.py`, Python `cryptography`, as
//! for encnet-core's vectors) for a network the node created decrypts
//! through the node with the CLI, for the owner and for a delegate.
//!
//! Needs `python3` with `cryptography`. It fails when they are missing,
//! unless `ENCNET_SKIP_PYTHON_INTEROP=1` says to skip.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn python_v1_envelope_decrypts_through_the_node() {
    if !python_available() {
        return;
    }
    let node = common::Node::start();
    node.identity("alice.key");
    let bob = node.identity("bob.key");
    let network = node
        .run(&[
            "network",
            "create",
            "--key",
            "alice.key",
            "--name",
            "py",
            "--alg",
            "v1",
        ])
        .ok()
        .trim()
        .to_owned();
    let descriptor: serde_json::Value =
        serde_json::from_str(&node.run(&["network", "show", &network]).ok()).expect("JSON");
    let public = descriptor["publicEncryptionKey"].as_str().expect("key");
    let version = descriptor["keyVersion"]
        .as_u64()
        .expect("version")
        .to_string();

    let plaintext = b"made in Python, opened by encnet\n";
    let envelope = python_envelope(&network, &version, public, plaintext);
    node.write("py.json", &envelope);

    let opened = node
        .run(&["decrypt", "--key", "alice.key", "--in", "py.json"])
        .ok();
    assert_eq!(opened.as_bytes(), plaintext);
    // The Python key hash is the one a delegation pins.
    node.run(&[
        "delegate",
        "--key",
        "alice.key",
        "--to",
        &bob,
        "--network",
        &network,
        "--only",
        "py.json",
        "--out",
        "bob.ucan",
    ])
    .ok();
    let opened = node
        .run(&[
            "decrypt", "--key", "bob.key", "--proof", "bob.ucan", "--in", "py.json",
        ])
        .ok();
    assert_eq!(opened.as_bytes(), plaintext);
}

fn python_envelope(network: &str, version: &str, public: &str, plaintext: &[u8]) -> Vec<u8> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/make_v1_envelope.py"
    );
    let mut child = Command::new("python3")
        .args([script, network, version, public])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(plaintext)
        .expect("plaintext written");
    let out = child.wait_with_output().expect("python3 exits");
    assert!(
        out.status.success(),
        "make_v1_envelope.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Whether python3 with `cryptography` is there; panics when it is not,
/// unless ENCNET_SKIP_PYTHON_INTEROP=1.
fn python_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import cryptography.hazmat.primitives.ciphers.aead"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    let skip = std::env::var("ENCNET_SKIP_PYTHON_INTEROP").is_ok_and(|v| v == "1");
    assert!(
        skip,
        "python3 with the `cryptography` package is needed \
         (python3 -m pip install cryptography), or set ENCNET_SKIP_PYTHON_INTEROP=1 to skip"
    );
    eprintln!("skipped: python3 with `cryptography` not found, ENCNET_SKIP_PYTHON_INTEROP=1");
    false
}
