//! Root key files, the environment variable and derivation.

use std::os::unix::fs::PermissionsExt;

use encnet_core::root_key::{CONTEXT_COLUMN, CONTEXT_NETWORK_SEAL, CONTEXT_NODE_IDENTITY};
use encnet_core::{LegacyPlaintext, RootKey, RootKeyError};

#[test]
fn create_load_and_refuse_readable_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("root.key");
    let (created, was_created) = RootKey::load_or_create(&path).expect("create");
    assert!(was_created);
    let meta = std::fs::metadata(&path).expect("metadata");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);
    let (loaded, was_created) = RootKey::load_or_create(&path).expect("load");
    assert!(!was_created);
    assert_eq!(*loaded.derive("x"), *created.derive("x"));
    assert!(RootKey::create(&path).is_err(), "create never overwrites");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let err = RootKey::load(&path).expect_err("group-readable");
    assert!(matches!(
        err,
        RootKeyError::InsecurePermissions { mode: 0o640, .. }
    ));
    assert!(
        err.to_string()
            .contains(&format!("run: chmod 600 {}", path.display())),
        "{err}"
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::write(&path, [0u8; 33]).expect("write");
    assert!(matches!(
        RootKey::load(&path),
        Err(RootKeyError::WrongLength { len: 33 })
    ));

    let other = RootKey::generate();
    other.write(&path).expect("write replaces");
    assert_eq!(
        *RootKey::load(&path).expect("load").derive("x"),
        *other.derive("x")
    );
}

#[test]
fn environment_and_base64() {
    // The only test that touches ENCNET_ROOT_KEY.
    std::env::remove_var("ENCNET_ROOT_KEY");
    assert!(RootKey::from_env().expect("unset").is_none());
    let key = RootKey::from_bytes([9u8; 32]);
    std::env::set_var("ENCNET_ROOT_KEY", key.to_base64().as_str());
    let loaded = RootKey::from_env().expect("set").expect("some");
    assert_eq!(*loaded.derive("x"), *key.derive("x"));
    std::env::set_var("ENCNET_ROOT_KEY", "AAAA");
    assert!(matches!(
        RootKey::from_env(),
        Err(RootKeyError::WrongLength { len: 3 })
    ));
    std::env::remove_var("ENCNET_ROOT_KEY");
    assert!(matches!(
        RootKey::from_base64("***"),
        Err(RootKeyError::Base64)
    ));

    // take_from_env reads the key once and leaves nothing behind, even
    // when the value is unusable.
    std::env::set_var("ENCNET_ROOT_KEY", key.to_base64().as_str());
    let taken = RootKey::take_from_env().expect("set").expect("some");
    assert_eq!(*taken.derive("x"), *key.derive("x"));
    assert!(std::env::var_os("ENCNET_ROOT_KEY").is_none());
    assert!(RootKey::take_from_env().expect("unset").is_none());
    std::env::set_var("ENCNET_ROOT_KEY", "AAAA");
    assert!(RootKey::take_from_env().is_err());
    assert!(std::env::var_os("ENCNET_ROOT_KEY").is_none());
}

/// A missing key file beside existing sealed data is an error that names
/// both and says to restore the key; no new key is made.
#[test]
fn a_missing_key_beside_sealed_data_is_not_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("root.key");
    let db = dir.path().join("encnet.db");
    let (_, created) = RootKey::load_or_create_guarded(&key, &[&db]).expect("fresh start");
    assert!(created, "no data yet: the key is made");
    std::fs::write(&db, b"").expect("database");
    let (_, created) = RootKey::load_or_create_guarded(&key, &[&db]).expect("both present");
    assert!(!created);

    std::fs::remove_file(&key).expect("key lost");
    let err = RootKey::load_or_create_guarded(&key, &[&db]).expect_err("key lost");
    assert!(
        matches!(err, RootKeyError::MissingWithData { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    for needle in [
        key.display().to_string(),
        db.display().to_string(),
        "restore".to_owned(),
    ] {
        assert!(text.contains(&needle), "{needle:?} not in {text}");
    }
    assert!(!key.exists(), "no new key was made");
}

#[test]
fn derivation_is_blake3_derive_key_and_debug_is_redacted() {
    let key = RootKey::from_bytes([42u8; 32]);
    for context in [CONTEXT_NETWORK_SEAL, CONTEXT_COLUMN, CONTEXT_NODE_IDENTITY] {
        assert_eq!(
            *key.derive(context),
            blake3::derive_key(context, &[42u8; 32])
        );
    }
    assert_eq!(
        *key.node_identity_seed(),
        *key.derive(CONTEXT_NODE_IDENTITY)
    );
    assert_eq!(format!("{key:?}"), "RootKey(<redacted>)");
    // Network-seal and column keys differ: one does not open the other.
    let seal = key.network_seal(LegacyPlaintext::Reject);
    let column = key.column(LegacyPlaintext::Reject);
    assert!(column.open(&seal.seal(b"x", b""), b"").is_err());
}

/// A symbolic link named `root.key` is refused, even one pointing to a
/// private key file: whoever can place the link chooses the key.
#[test]
fn a_symlinked_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let real = dir.path().join("elsewhere.key");
    RootKey::create(&real).expect("create");
    let link = dir.path().join("root.key");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let err = RootKey::load(&link).expect_err("a symlink is refused");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    let err = RootKey::load_or_create(&link).expect_err("and never replaced");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(std::fs::symlink_metadata(&link)
        .expect("link stays")
        .file_type()
        .is_symlink());
}

/// A directory (or device, FIFO …) named `root.key` is refused by name,
/// before anything is read from it.
#[test]
fn a_key_that_is_not_a_regular_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("root.key");
    std::fs::create_dir(&path).expect("mkdir");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let err = RootKey::load(&path).expect_err("a directory is refused");
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

/// A key file owned by another user is refused: that user could read or
/// replace it.
#[test]
fn a_key_owned_by_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("root.key");
    RootKey::create(&path).expect("create");
    let mine = std::fs::metadata(&path).expect("metadata").uid();
    // Only root can give a file away.
    if mine == 0 {
        std::os::unix::fs::chown(&path, Some(65534), None).expect("chown");
    } else {
        eprintln!("not root: cannot give a file away; skipping");
        return;
    }
    let err = RootKey::load(&path).expect_err("someone else's key is refused");
    let text = err.to_string();
    assert!(text.contains("owned by uid 65534"), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
}

/// Set by the parent run of [`creating_the_key_syncs_its_directory`]: the
/// directory in which the child creates a key.
const SYNC_CHILD_DIR: &str = "ENCNET_TEST_CREATE_KEY_IN";

/// The new directory entry is made durable: after the file is written and
/// synced, the directory holding it is opened and fsync'd. Observed with
/// strace on a child run of this test; skipped where strace cannot run.
#[test]
fn creating_the_key_syncs_its_directory() {
    if let Some(dir) = std::env::var_os(SYNC_CHILD_DIR) {
        RootKey::create(std::path::Path::new(&dir).join("root.key")).expect("create");
        return;
    }
    let usable = std::process::Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !usable {
        eprintln!("strace cannot run here; skipping");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("strace.log");
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).expect("mkdir");
    let status = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat,fsync,close", "-o"])
        .arg(&log)
        .arg(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "creating_the_key_syncs_its_directory",
            "--test-threads=1",
        ])
        .env(SYNC_CHILD_DIR, &keys)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("strace runs");
    assert!(status.success());
    assert!(keys.join("root.key").exists());

    // Follow which path each descriptor names, in order.
    let trace = std::fs::read_to_string(&log).expect("strace log");
    let key = format!("\"{}\"", keys.join("root.key").display());
    let directory = format!("\"{}\"", keys.display());
    let mut open: std::collections::HashMap<String, String> = Default::default();
    let (mut key_synced, mut dir_synced_after) = (false, false);
    for line in trace.lines() {
        let call = line
            .split_once(' ')
            .map_or(line, |(_, rest)| rest.trim_start());
        let result = call.rsplit_once(" = ").map(|(_, r)| r.trim().to_owned());
        if let (Some(args), Some(fd)) = (call.strip_prefix("openat("), result) {
            if let Some(path) = args.split(", ").nth(1) {
                open.insert(fd, path.to_owned());
            }
        } else if let Some(fd) = call
            .strip_prefix("fsync(")
            .and_then(|r| r.split(')').next())
        {
            match open.get(fd).map(String::as_str) {
                Some(p) if p == key => key_synced = true,
                Some(p) if p == directory && key_synced => dir_synced_after = true,
                _ => {}
            }
        } else if let Some(fd) = call
            .strip_prefix("close(")
            .and_then(|r| r.split(')').next())
        {
            open.remove(fd);
        }
    }
    assert!(key_synced, "the key file is fsync'd:\n{trace}");
    assert!(
        dir_synced_after,
        "its directory is fsync'd after it:\n{trace}"
    );
}
