//! `encnet ucan inspect|validate` on containers built with encnet-ucan.

use std::path::PathBuf;

use assert_cmd::Command;
use encnet_ucan::container::Form;
use encnet_ucan::{Container, DelegationBuilder, Ed25519Signer, InvocationBuilder, Ipld};

const NOW: i64 = 1_800_000_000;

/// alice → bob delegation, bob invokes; returns the container in `form`
/// written to a file, and the temp dir keeping it alive.
fn container_file(form: Form, exp: i64) -> (tempfile::TempDir, PathBuf, String, String) {
    let alice = Ed25519Signer::from_seed([1; 32]);
    let bob = Ed25519Signer::from_seed([2; 32]);
    let cmd = |s: &str| s.parse().unwrap_or_else(|e| panic!("{e}"));
    let dlg = DelegationBuilder::new(&alice, bob.did(), Some(alice.did()), cmd("/msg"))
        .expiration(exp)
        .sign()
        .unwrap_or_else(|e| panic!("{e}"));
    let inv = InvocationBuilder::new(&bob, alice.did(), cmd("/msg/send"))
        .arg("to", Ipld::String("carol".into()))
        .proofs(vec![dlg.cid])
        .expiration(exp)
        .sign()
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes = Container::new(vec![dlg.bytes, inv.bytes]).to_bytes(form);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("container");
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
    (dir, path, dlg.cid.to_string(), inv.cid.to_string())
}

fn encnet() -> Command {
    Command::cargo_bin("encnet").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn validate_prints_valid_in_every_form() {
    for form in Form::ALL {
        let (_dir, path, _, _) = container_file(form, NOW + 60);
        encnet()
            .args(["ucan", "validate", "--at", &NOW.to_string()])
            .arg(&path)
            .assert()
            .success()
            .stdout("valid\n");
    }
}

#[test]
fn validate_prints_the_error_name() {
    let (_dir, path, _, _) = container_file(Form::Base64, NOW + 60);
    encnet()
        .args(["ucan", "validate", "--at", &(NOW + 61).to_string()])
        .arg(&path)
        .assert()
        .code(1)
        .stdout("Expired\n");
    let stranger = Ed25519Signer::from_seed([9; 32]).did();
    encnet()
        .args([
            "ucan",
            "validate",
            "--at",
            &NOW.to_string(),
            "--executor",
            stranger.as_str(),
        ])
        .arg(&path)
        .assert()
        .code(1)
        .stdout("InvalidAudience\n");
}

#[test]
fn inspect_prints_every_token() {
    let (_dir, path, dlg_cid, inv_cid) = container_file(Form::Base64Gzip, NOW + 60);
    let output = encnet()
        .args(["ucan", "inspect"])
        .arg(&path)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&output.get_output().stdout).into_owned();
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let tokens = report
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {stdout}"));
    assert_eq!(tokens.len(), 2);
    let find = |cid: &str| {
        tokens
            .iter()
            .find(|t| t["cid"] == cid)
            .unwrap_or_else(|| panic!("{cid} missing: {stdout}"))
    };
    let dlg = find(&dlg_cid);
    assert_eq!(dlg["kind"], "delegation");
    assert_eq!(dlg["verified"], true);
    assert_eq!(dlg["payload"]["cmd"], "/msg");
    assert_eq!(
        dlg["issuer"],
        Ed25519Signer::from_seed([1; 32]).did().as_str()
    );
    let inv = find(&inv_cid);
    assert_eq!(inv["kind"], "invocation");
    assert_eq!(inv["payload"]["args"]["to"], "carol");
    assert_eq!(inv["payload"]["prf"][0]["/"], dlg_cid.as_str());
}

#[test]
fn unreadable_input_fails() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("junk");
    std::fs::write(&path, "not a container").unwrap_or_else(|e| panic!("{e}"));
    encnet()
        .args(["ucan", "inspect"])
        .arg(&path)
        .assert()
        .failure();
    encnet()
        .args(["ucan", "validate"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout("InvalidContainer\n");
    encnet()
        .args(["ucan", "inspect"])
        .arg(dir.path().join("missing"))
        .assert()
        .failure();
}
