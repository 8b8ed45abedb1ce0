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
