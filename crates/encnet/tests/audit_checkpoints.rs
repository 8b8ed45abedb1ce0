//! Signed audit checkpoints through the real `encnet` binary (DESIGN
//! §4.10): `audit show --verify` follows every page and ends at the node's
//! checkpoint; a cut tail is truncation offline and at start-up; a rewrite
//! relinked after it passes a blind `audit verify` but not `--since` an
//! exported checkpoint.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use encnet_client::Client;
use encnet_core::api::AuditEntry;
use encnet_ucan::{Container, Did, Ed25519Signer, InvocationBuilder, Ipld};
use rusqlite::{params, Connection};

use common::ServeProcess;

/// Audited requests in flight at once while filling a log.
const IN_FLIGHT: usize = 32;

/// A node on a data dir of its own, an owner with a key file beside it,
/// and one network of that owner's.
struct Scene {
    dir: tempfile::TempDir,
    node: Option<ServeProcess>,
    url: String,
    owner: Arc<Ed25519Signer>,
    network: String,
}

impl Scene {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let node =
            ServeProcess::spawn(&[OsStr::new("--data-dir"), data_dir(&dir).as_os_str()], &[]);
        let owner = Arc::new(Ed25519Signer::generate());
        write_identity(&dir.path().join("owner.key"), &owner);
        let client = Client::new(&node.url);
        let network = client
            .create_network(&owner, "audited", None)
            .await
            .expect("network created")
            .network_id;
        Self {
            url: node.url.clone(),
            node: Some(node),
            dir,
            owner,
            network,
        }
    }

    fn data_dir(&self) -> PathBuf {
        data_dir(&self.dir)
    }

    /// `count` audited requests on the network: decrypt invocations that
    /// verify but carry no envelope, each recorded as denied.
    async fn fill(&self, count: usize) {
        let client = Client::new(&self.url);
        let node = client.node_did().await.expect("node DID").clone();
        let http = reqwest::Client::new();
        let url = format!("{}/v1/networks/{}/decrypt", self.url, self.network);
        let mut done = 0;
        while done < count {
            let mut batch = tokio::task::JoinSet::new();
            for _ in done..count.min(done + IN_FLIGHT) {
                let (http, url) = (http.clone(), url.clone());
                let header = self.bare_decrypt(&node);
                batch.spawn(async move {
                    let sent = http.post(url).bearer_auth(header).send().await;
                    sent.expect("request sent").status().as_u16()
                });
            }
            for status in batch.join_all().await {
                assert_eq!(status, 400, "a decrypt without an envelope is refused");
            }
            done = count.min(done + IN_FLIGHT);
        }
    }

    fn bare_decrypt(&self, node: &Did) -> String {
        let args = [("network".to_owned(), Ipld::String(self.network.clone()))];
        let invocation = InvocationBuilder::new(
            &*self.owner,
            self.owner.did(),
            "/encryption/decrypt".parse().expect("command"),
        )
        .audience(node.clone())
        .args(args.into_iter().collect())
        .expiration(now() + 120)
        .sign()
        .expect("signs");
        Container::new(vec![invocation.bytes]).to_header()
    }

    /// `encnet ARGS…` in the scene's directory, talking to its node.
    fn encnet(&self, args: &[&str]) -> Output {
        encnet(self.dir.path(), &self.url, args)
    }

    /// `audit show --verify` as the owner; answers stdout and stderr.
    fn show_verified(&self) -> (String, String) {
        let out = self.encnet(&[
            "audit",
            "show",
            "--key",
            "owner.key",
            &self.network,
            "--verify",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    }

    /// Stops the node gracefully.
    fn stop(&mut self) {
        if let Some(node) = self.node.take() {
            assert!(node.terminate().success());
        }
    }

    /// The node's database, for reading and tampering.
    fn db(&self) -> Connection {
        Connection::open(self.data_dir().join("encnet.db")).expect("database opens")
    }

    /// The sequence of the first denied entry.
    async fn first_denied(&self) -> i64 {
        self.db()
            .query_row(
                "SELECT MIN(seq) FROM audit WHERE outcome LIKE 'denied:%'",
                [],
                |row| row.get(0),
            )
            .expect("a denial")
    }

    async fn head(&self) -> u64 {
        let head: i64 = self
            .db()
            .query_row("SELECT MAX(seq) FROM audit", [], |row| row.get(0))
            .expect("head");
        head as u64
    }
}

fn data_dir(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("node-data")
}

fn encnet(dir: &Path, node: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_encnet"))
        .args(args)
        .current_dir(dir)
        .env("ENCNET_NODE", node)
        .env_remove("ENCNET_KEY")
        .env_remove("ENCNET_ROOT_KEY")
        .env_remove("ENCNET_DATABASE_URL")
        .output()
        .expect("encnet runs")
}

/// An identity file as `encnet id new` writes it (mode 0600).
fn write_identity(path: &Path, signer: &Ed25519Signer) {
    use std::os::unix::fs::OpenOptionsExt;
    let text = format!(
        "# did: {}\nENCNET-ED25519-SECRET-KEY-1 {}\n",
        signer.did(),
        BASE64.encode(signer.to_seed().as_slice())
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true).mode(0o600);
    std::io::Write::write_all(&mut options.open(path).expect("key file"), text.as_bytes())
        .expect("key written");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// The number in "audit log ok: N entries checked".
fn entries_checked(stderr: &str) -> u64 {
    let rest = stderr
        .split("audit log ok: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    rest.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_show_verify_checks_every_one_of_5000_entries() {
    let scene = Scene::start().await;
    scene.fill(5000).await;
    let (stdout, stderr) = scene.show_verified();
    let checked = entries_checked(&stderr);
    assert_eq!(stdout.lines().count() as u64, checked);

    // Every entry of the network, the reads of each page included: the
    // last page ended at the checkpoint of its own read.
    let stored: i64 = scene
        .db()
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE network = ?1",
            [&scene.network],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(checked, stored as u64);
    assert!(checked > 5000, "{checked}");
    let head = scene.head().await;
    assert!(
        stderr.contains(&format!("covered by checkpoint {head} (")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_tail_is_truncation_offline_and_the_node_refuses_to_start() {
    let mut scene = Scene::start().await;
    scene.fill(10).await;
    scene.show_verified();
    scene.stop();
    let head = scene.head().await;
    scene
        .db()
        .execute("DELETE FROM audit WHERE seq > ?1", [head as i64 - 3])
        .expect("tail deleted");

    let data_dir = scene.data_dir();
    let data_dir = data_dir.to_str().expect("UTF-8 path");
    let verify = scene.encnet(&["audit", "verify", "--data-dir", data_dir]);
    assert!(!verify.status.success());
    let stderr = text(&verify.stderr);
    let expected = format!(
        "error: audit log truncated: entries {}\u{2013}{head} are missing; the checkpoint (sequence {head}, ",
        head - 2
    );
    assert!(stderr.starts_with(&expected), "{stderr}");

    let serve = Command::new(env!("CARGO_BIN_EXE_encnet"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir])
        .env_remove("ENCNET_ROOT_KEY")
        .output()
        .expect("runs");
    assert!(!serve.status.success());
    let stderr = text(&serve.stderr);
    assert!(stderr.starts_with("error: audit log truncated"), "{stderr}");
    assert!(stderr.contains("refusing to start"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewrite_relinked_after_it_fails_verify_since_an_exported_checkpoint() {
    let mut scene = Scene::start().await;
    scene.fill(10).await;
    scene.show_verified();
    scene.stop();
    let head = scene.head().await;
    let data_dir = scene.data_dir();
    let data_dir = data_dir.to_str().expect("UTF-8 path");
    let offline = |extra: &[&str]| {
        let mut args = vec!["audit", "verify", "--data-dir", data_dir];
        args.extend(extra);
        scene.encnet(&args)
    };

    let export = scene.encnet(&[
        "audit",
        "checkpoint",
        "--data-dir",
        data_dir,
        "--out",
        "cp.json",
    ]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    let exported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(scene.dir.path().join("cp.json")).expect("file"))
            .expect("JSON");
    assert_eq!(exported["sequence"], head);
    assert_eq!(exported["type"], "encnet.audit-checkpoint/v1");
    let since = offline(&["--since", "cp.json"]);
    assert!(since.status.success(), "{}", text(&since.stderr));
    let stdout = text(&since.stdout);
    assert!(stdout.contains(&format!("extends the exported checkpoint: sequence {head}")));
    assert!(stdout.contains("(the root key's node DID)"), "{stdout}");

    // A denial now says "allowed", and every hash after it is recomputed.
    rewrite_and_relink(&scene, scene.first_denied().await).await;
    let stored = offline(&[]);
    assert!(!stored.status.success(), "the stored checkpoints catch it");
    assert!(text(&stored.stderr).contains("audit log rewritten"));

    // With the stored checkpoints gone too, only the exported one can tell.
    scene
        .db()
        .execute("DELETE FROM audit_checkpoints", [])
        .expect("checkpoints deleted");
    let blind = offline(&[]);
    assert!(blind.status.success(), "{}", text(&blind.stderr));
    let since = offline(&["--since", "cp.json"]);
    assert!(!since.status.success());
    let stderr = text(&since.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: audit log rewritten: entry {head} no longer has the hash of the checkpoint"
        )),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_show_verify_names_an_entry_edited_under_a_running_node() {
    let scene = Scene::start().await;
    scene.fill(3).await;
    let other = Ed25519Signer::generate().did().to_string();
    let pinned = scene.encnet(&[
        "audit",
        "show",
        "--key",
        "owner.key",
        &scene.network,
        "--verify",
        "--node-did",
        &other,
    ]);
    assert!(!pinned.status.success());
    assert!(text(&pinned.stderr).contains(&format!("not the --node-did {other}")));

    let denied = scene.first_denied().await;
    scene
        .db()
        .execute(
            "UPDATE audit SET outcome = 'allowed' WHERE seq = ?1",
            [denied],
        )
        .expect("entry edited");
    let out = scene.encnet(&[
        "audit",
        "show",
        "--key",
        "owner.key",
        &scene.network,
        "--verify",
    ]);
    assert!(
        !out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: audit chain broken at entry {denied}: entryHash does not match"
        )),
        "{stderr}"
    );
    // The entries before it verified and were printed; nothing after it.
    assert_eq!(text(&out.stdout).lines().count() as i64, denied - 1);
}

/// Sets entry `seq`'s outcome to "allowed" and recomputes every hash from
/// it to the head, as someone hiding a denial would.
async fn rewrite_and_relink(scene: &Scene, seq: i64) {
    let db = scene.db();
    db.execute("UPDATE audit SET outcome = 'allowed' WHERE seq = ?1", [seq])
        .expect("entry edited");
    let mut statement = db
        .prepare(
            "SELECT seq, time, network, requester, command, invocation_cid, outcome, prev_hash \
             FROM audit WHERE seq >= ?1 ORDER BY seq",
        )
        .expect("query");
    let rows: Vec<(AuditEntry, String)> = statement
        .query_map([seq], |row| {
            let entry = AuditEntry {
                sequence: row.get::<_, i64>(0)? as u64,
                time: row.get(1)?,
                network: row.get(2)?,
                requester: row.get(3)?,
                command: row.get(4)?,
                invocation_cid: row.get(5)?,
                outcome: row.get(6)?,
            };
            Ok((entry, row.get(7)?))
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut prev = [0u8; 32];
    hex::decode_to_slice(&rows[0].1, &mut prev).expect("hex");
    for (entry, _) in rows {
        let hash = entry.chain_hash(&prev).expect("hash");
        db.execute(
            "UPDATE audit SET prev_hash = ?1, entry_hash = ?2 WHERE seq = ?3",
            params![hex::encode(prev), hex::encode(hash), entry.sequence as i64],
        )
        .expect("relinked");
        prev = hash;
    }
}
