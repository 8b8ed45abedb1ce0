//! `encnet serve` as a child process: start-up, graceful shutdown, and
//! durability across SIGKILL.

mod common;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use encnet_client::{encrypt, Client};
use encnet_ucan::Ed25519Signer;

use common::ServeProcess;

/// `encnet serve` on `data_dir`, with neither a root key nor a config from
/// the environment.
fn start_node(data_dir: &Path) -> ServeProcess {
    ServeProcess::spawn(&[OsStr::new("--data-dir"), data_dir.as_os_str()], &[])
}

/// Runs `encnet serve` on `data_dir`, expects it to refuse to start, and
/// answers its one-line error.
fn serve_refusal(data_dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_encnet"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("ENCNET_ROOT_KEY")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn audit_verify(data_dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_encnet"))
        .args(["audit", "verify", "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("audit verify runs")
}

#[tokio::test]
async fn decisions_survive_sigkill() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("data");
    let owner = Ed25519Signer::generate();

    let node = start_node(&data_dir);
    let client = Client::new(&node.url);
    let descriptor = client
        .create_network(&owner, "durable", None)
        .await
        .expect("create");
    let envelope = encrypt(&descriptor, b"kept", None).expect("encrypt");

    // One decrypt, captured as raw bytes so it can be replayed verbatim.
    let request = encnet_client::decrypt::DecryptRequest::new(&envelope).expect("request");
    let node_did = client.node_did().await.expect("node DID").clone();
    let invocation = encnet_ucan::InvocationBuilder::new(
        &owner,
        owner.did(),
        "/encryption/decrypt".parse().expect("command"),
    )
    .audience(node_did)
    .args(request.args().clone())
    .expiration(now() + 120)
    .sign()
    .expect("signs");
    let header = encnet_ucan::Container::new(vec![invocation.bytes.clone()]).to_header();
    let path = format!("{}/v1/networks/{}/decrypt", node.url, descriptor.network_id);
    assert_eq!(post_status(&path, &header).await, 200);
    node.kill();

    let node = start_node(&data_dir);
    let path = format!("{}/v1/networks/{}/decrypt", node.url, descriptor.network_id);
    assert_eq!(
        post_status(&path, &header).await,
        409,
        "replay after restart"
    );
    let client = Client::new(&node.url);
    let plaintext = client
        .decrypt(&owner, &envelope, &[])
        .await
        .expect("still decrypts");
    assert_eq!(plaintext.as_slice(), b"kept");
    let status = node.terminate();
    assert!(status.success(), "graceful exit on SIGTERM: {status}");

    let verify = audit_verify(&data_dir);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(out.contains("audit chain ok"), "{out}");

    // Editing one audit row makes `encnet audit verify` name that entry.
    let db =
        rusqlite::Connection::open(data_dir.join("encnet.db")).expect("open the node's database");
    // Entries: create, attest, decrypt, replay refused, decrypt.
    db.execute(
        "UPDATE audit SET outcome = 'denied:replay' WHERE seq = 3",
        [],
    )
    .expect("tamper with entry 3");
    drop(db);
    let verify = audit_verify(&data_dir);
    assert!(!verify.status.success());
    let err = String::from_utf8_lossy(&verify.stderr);
    assert!(
        err.starts_with("error: audit chain broken at entry 3"),
        "{err}"
    );
}

#[test]
fn a_second_node_on_the_same_data_dir_refuses_to_start() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("data");
    let node = start_node(&data_dir);
    let stderr = serve_refusal(&data_dir);
    assert!(
        stderr.contains("in use by another encnet process"),
        "{stderr}"
    );
    // Offline readers are not locked out.
    assert!(audit_verify(&data_dir).status.success());
    assert!(node.terminate().success());
}

#[test]
fn serve_creates_a_private_root_key_and_audit_verify_fails_cleanly() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("data");
    let node = start_node(&data_dir);
    let mode = std::fs::metadata(data_dir.join("root.key"))
        .expect("root.key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(node.terminate().success());

    // A world-readable key is refused with a fix in the message.
    std::fs::set_permissions(
        data_dir.join("root.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let stderr = serve_refusal(&data_dir);
    assert!(stderr.contains("chmod 600"), "{stderr}");

    let missing = audit_verify(&temp.path().join("nothing"));
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).starts_with("error: "));
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A bare POST with a bearer token; answers the status.
async fn post_status(url: &str, bearer: &str) -> u16 {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(bearer)
        .send()
        .await
        .expect("request sent")
        .status()
        .as_u16()
}

#[test]
fn sigterm_sent_on_the_listening_line_is_a_clean_shutdown() {
    // The handlers are installed before the line is printed, so a signal
    // sent the moment it appears stops the node gracefully (exit 0) rather
    // than killing it.
    let temp = tempfile::tempdir().expect("temp dir");
    for round in 0..10 {
        let node = start_node(&temp.path().join(format!("data-{round}")));
        assert!(node.terminate().success(), "round {round}");
    }
}
