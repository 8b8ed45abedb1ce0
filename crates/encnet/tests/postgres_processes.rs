//! Several `encnet serve` processes on one PostgreSQL database (issue 6):
//! one shared root key, nonce uniqueness and one linear audit chain across
//! processes, and no acknowledged decision lost when a process is killed.
//!
//! Ignored unless asked for: with a PostgreSQL server, run
//! `ENCNET_TEST_DATABASE_URL=postgres://… cargo test -p encnet --test postgres_processes -- --ignored`.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use encnet_client::decrypt::DecryptRequest;
use encnet_client::{encrypt, Client};
use encnet_core::InlineEnvelope;
use encnet_ucan::{Container, Ed25519Signer, InvocationBuilder};

use common::ServeProcess;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "not run: needs PostgreSQL (set ENCNET_TEST_DATABASE_URL, pass --ignored)"]
async fn postgres_two_processes_share_one_database() {
    let Cluster { db, a, b, _temp } = Cluster::start().await;
    assert_eq!(a.did, b.did, "one root key, one node DID");

    // A network created through A is usable through B.
    let owner = Ed25519Signer::generate();
    let descriptor = Client::new(&a.url)
        .create_network(&owner, "shared", None)
        .await
        .expect("create through A");
    let envelope = encrypt(&descriptor, b"across processes", None).expect("encrypt");
    let plaintext = Client::new(&b.url)
        .decrypt(&owner, &envelope, &[])
        .await
        .expect("decrypt through B");
    assert_eq!(plaintext.as_slice(), b"across processes");

    // One invocation, 20 times at once to each process: allowed once.
    let (cid, header) = decrypt_invocation(&owner, &a.did, &envelope);
    let http = reqwest::Client::new();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..40 {
        let node = if i % 2 == 0 { &a } else { &b };
        let url = decrypt_url(&node.url, &envelope);
        let (http, header) = (http.clone(), header.clone());
        sends.spawn(async move { post(&http, &url, &header).await });
    }
    let mut statuses = BTreeMap::new();
    while let Some(status) = sends.join_next().await {
        *statuses
            .entry(status.expect("task").expect("answer"))
            .or_insert(0) += 1;
    }
    assert_eq!(statuses, BTreeMap::from([(200, 1), (409, 39)]));
    let outcomes = db.outcomes_of(&cid).await;
    assert_eq!(outcomes.iter().filter(|o| *o == "allowed").count(), 1);
    assert_eq!(outcomes.len(), 40, "one audit entry per request");

    assert!(a.terminate().success());
    assert!(b.terminate().success());
    let verify = audit_verify(&db.url);
    assert!(verify.contains("audit chain ok"), "{verify}");
    db.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "not run: needs PostgreSQL (set ENCNET_TEST_DATABASE_URL, pass --ignored)"]
async fn postgres_sigkill_loses_no_acknowledged_decision() {
    let Cluster { db, a, b, _temp } = Cluster::start().await;
    let owner = Ed25519Signer::generate();
    let descriptor = Client::new(&a.url)
        .create_network(&owner, "load", None)
        .await
        .expect("create");
    let envelope = encrypt(&descriptor, b"under load", None).expect("encrypt");

    // 200 distinct decrypts, 16 at a time, to A; A is killed after 30 of
    // them were acknowledged, with the rest in flight or not yet sent.
    let requests: Vec<(String, String)> = (0..200)
        .map(|_| decrypt_invocation(&owner, &a.did, &envelope))
        .collect();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let http = reqwest::Client::new();
    let url = decrypt_url(&a.url, &envelope);
    for (cid, header) in requests.clone() {
        let (http, url, done_tx, permits) =
            (http.clone(), url.clone(), done_tx.clone(), permits.clone());
        tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let status = post(&http, &url, &header).await;
            let _ = done_tx.send((cid, status));
        });
    }
    drop(done_tx);
    let mut acknowledged = HashSet::new();
    let (mut failed, mut a) = (0, Some(a));
    while let Some((cid, status)) = done_rx.recv().await {
        match status {
            Some(200) => {
                acknowledged.insert(cid);
            }
            Some(other) => panic!("unexpected status {other} before the kill"),
            None => failed += 1,
        }
        if acknowledged.len() == 30 {
            if let Some(a) = a.take() {
                a.kill();
            }
        }
    }
    assert!(acknowledged.len() >= 30 && failed > 0, "killed mid-load");

    // Every acknowledged decision is in the chain, allowed, exactly once…
    let allowed = db.allowed_cids().await;
    for cid in &acknowledged {
        assert_eq!(
            allowed.iter().filter(|c| *c == cid).count(),
            1,
            "acknowledged {cid} is in the audit chain once"
        );
    }
    // …and its nonce still blocks a replay, through the other process.
    let url = decrypt_url(&b.url, &envelope);
    for (cid, header) in &requests {
        if acknowledged.contains(cid) {
            assert_eq!(
                post(&http, &url, header).await,
                Some(409),
                "replay of {cid}"
            );
        }
    }
    assert!(b.terminate().success());
    let verify = audit_verify(&db.url);
    assert!(verify.contains("audit chain ok"), "{verify}");
    db.drop_schema().await;
}

/// Two node processes A and B on one fresh schema, with one root key.
struct Cluster {
    db: TestDatabase,
    a: ServeProcess,
    b: ServeProcess,
    _temp: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Self {
        let db = TestDatabase::create().await;
        let root_key = root_key();
        let temp = tempfile::tempdir().expect("temp dir");
        let a = start_node(&temp.path().join("a"), &db.url, &root_key);
        let b = start_node(&temp.path().join("b"), &db.url, &root_key);
        Self {
            db,
            a,
            b,
            _temp: temp,
        }
    }
}

/// `encnet serve` on the shared database with the shared root key.
fn start_node(data_dir: &Path, database_url: &str, root_key: &str) -> ServeProcess {
    ServeProcess::spawn(
        &[
            OsStr::new("--database-url"),
            OsStr::new(database_url),
            OsStr::new("--data-dir"),
            data_dir.as_os_str(),
        ],
        &[("ENCNET_ROOT_KEY", Some(root_key))],
    )
}

/// A schema of its own in the database of `ENCNET_TEST_DATABASE_URL`.
struct TestDatabase {
    pool: sqlx::PgPool,
    schema: String,
    url: String,
}

impl TestDatabase {
    async fn create() -> Self {
        let admin_url = std::env::var("ENCNET_TEST_DATABASE_URL")
            .expect("set ENCNET_TEST_DATABASE_URL to the URL of a PostgreSQL database");
        let schema = format!("encnet_procs_{}", hex::encode(random_bytes::<8>()));
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-csearch_path%3D{schema}");
        let pool = sqlx::PgPool::connect(&url).await.expect("connect");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&pool)
            .await
            .expect("create schema");
        Self { pool, schema, url }
    }

    async fn outcomes_of(&self, cid: &str) -> Vec<String> {
        sqlx::query_scalar("SELECT outcome FROM audit WHERE invocation_cid = $1 ORDER BY seq")
            .bind(cid)
            .fetch_all(&self.pool)
            .await
            .expect("audit query")
    }

    async fn allowed_cids(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT invocation_cid FROM audit WHERE outcome = 'allowed'")
            .fetch_all(&self.pool)
            .await
            .expect("audit query")
    }

    async fn drop_schema(self) {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .execute(&self.pool)
            .await
            .expect("drop schema");
        self.pool.close().await;
    }
}

fn root_key() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(random_bytes::<32>())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    use std::io::Read;
    let mut bytes = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("random bytes");
    bytes
}

/// A decrypt invocation by the owner, as (CID, bearer container).
fn decrypt_invocation(
    owner: &Ed25519Signer,
    node_did: &str,
    envelope: &InlineEnvelope,
) -> (String, String) {
    let request = DecryptRequest::new(envelope).expect("request");
    let invocation = InvocationBuilder::new(
        owner,
        owner.did(),
        "/encryption/decrypt".parse().expect("command"),
    )
    .audience(node_did.parse().expect("node DID"))
    .args(request.args().clone())
    .expiration(now() + 120)
    .sign()
    .expect("signs");
    let header = Container::new(vec![invocation.bytes.clone()]).to_header();
    (invocation.cid.to_string(), header)
}

fn decrypt_url(node: &str, envelope: &InlineEnvelope) -> String {
    format!("{node}/v1/networks/{}/decrypt", envelope.network_id)
}

/// The status of a bare POST, or `None` when no answer came back.
async fn post(http: &reqwest::Client, url: &str, bearer: &str) -> Option<u16> {
    let response = http.post(url).bearer_auth(bearer).send().await.ok()?;
    Some(response.status().as_u16())
}

fn audit_verify(database_url: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_encnet"))
        .args(["audit", "verify", "--database-url", database_url])
        .output()
        .expect("audit verify runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}
