//! What the node checks and creates on start: the data directory, the root
//! key and the database files.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use encnet_node::{Config, Server};

/// Every test here opens a node, and opening reads `ENCNET_ROOT_KEY`: one
/// at a time, so the test that sets it changes no other test's start.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn config(data_dir: &Path) -> Config {
    Config {
        data_dir: data_dir.to_owned(),
        ..Config::default()
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Opening the node, then dropping it, which closes the database.
async fn open_and_close(config: &Config) -> String {
    let server = Server::open(config).await.expect("node opens");
    let did = server.node_did();
    drop(server);
    did
}

#[tokio::test]
async fn a_lost_root_key_beside_a_database_is_refused() {
    let _one = ONE_AT_A_TIME.lock().await;
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("data");
    let config = config(&data_dir);
    open_and_close(&config).await;

    let key = config.root_key_path();
    std::fs::remove_file(&key).expect("root.key removed");
    let err = match Server::open(&config).await {
        Ok(_) => panic!("a node started over a database without its root key"),
        Err(err) => err.to_string(),
    };
    assert!(err.contains(&key.display().to_string()), "{err}");
    assert!(
        err.contains(&config.sqlite_path().display().to_string()),
        "{err}"
    );
    assert!(err.contains("restore"), "{err}");
    assert!(!key.exists(), "no new key was made");
}

#[tokio::test]
async fn a_data_dir_open_to_group_or_others_is_refused() {
    let _one = ONE_AT_A_TIME.lock().await;
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("data");
    std::fs::create_dir(&data_dir).expect("mkdir");
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o750)).expect("chmod");
    let err = match Server::open(&config(&data_dir)).await {
        Ok(_) => panic!("a node started in a group-readable data directory"),
        Err(err) => err.to_string(),
    };
    assert!(err.contains(&data_dir.display().to_string()), "{err}");
    assert!(err.contains("chmod 700"), "{err}");
    assert!(!data_dir.join("root.key").exists(), "nothing created");
    assert!(!data_dir.join("encnet.db").exists(), "nothing created");

    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    open_and_close(&config(&data_dir)).await;
}

#[tokio::test]
async fn a_new_data_dir_and_its_database_files_are_private() {
    let _one = ONE_AT_A_TIME.lock().await;
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("data");
    let config = config(&data_dir);
    let server = Server::open(&config).await.expect("node opens");
    assert_eq!(mode(&data_dir), 0o700);
    assert_eq!(mode(&config.root_key_path()), 0o600);
    let db = config.sqlite_path();
    // WAL mode: the write-ahead log and the shared-memory index exist while
    // the database is open.
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.clone().into_os_string();
        path.push(suffix);
        assert_eq!(
            mode(Path::new(&path)),
            0o600,
            "{}",
            Path::new(&path).display()
        );
    }
    drop(server);
}

#[tokio::test]
async fn the_root_key_variable_is_removed_once_read() {
    let _one = ONE_AT_A_TIME.lock().await;
    let temp = tempfile::tempdir().expect("temp dir");
    let root = encnet_core::RootKey::generate();
    std::env::set_var("ENCNET_ROOT_KEY", root.to_base64().as_str());
    let opened = Server::open(&config(&temp.path().join("data"))).await;
    let left = std::env::var_os("ENCNET_ROOT_KEY");
    std::env::remove_var("ENCNET_ROOT_KEY");
    let server = opened.expect("node opens");
    assert!(
        left.is_none(),
        "ENCNET_ROOT_KEY is still in the environment"
    );
    // The node ran on the variable's key: no key file was made.
    assert!(!temp.path().join("data/root.key").exists());
    drop(server);
}

#[tokio::test]
async fn debug_masks_a_password_query_parameter() {
    let config = Config {
        database_url: Some("postgres://h/db?user=u&password=s3cret&sslmode=require".to_owned()),
        ..Config::default()
    };
    let text = format!("{config:?}");
    assert!(!text.contains("s3cret"), "{text}");
    assert!(
        text.contains("postgres://h/db?user=u&password=***&sslmode=require"),
        "{text}"
    );
}
