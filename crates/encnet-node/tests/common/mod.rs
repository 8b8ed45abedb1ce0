//! A real node on a loopback port with a temp data dir, and helpers that mint
//! invocations with encnet-ucan and talk HTTP to it.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use encnet_core::api::{DecryptResult, NetworkDescriptor};
use encnet_core::suite::{PublicKey, SecretKey, Suite, WrapContext};
use encnet_core::{InlineEnvelope, NetworkId};
use encnet_node::{Config, Server};
use encnet_ucan::{
    Cid, Command, Container, Delegation, DelegationBuilder, Did, Ed25519Signer, Invocation,
    InvocationBuilder, Ipld, Policy, Signed,
};
use serde_json::Value;
use tokio::sync::oneshot;

pub const DECRYPT: &str = "/encryption/decrypt";

/// The store a test node runs on. Each test of `decrypt.rs` and `admin.rs`
/// is written once over a `Backend` and run on both by [`store_tests!`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the node's temp data dir.
    Sqlite,
    /// A fresh schema in the database of `ENCNET_TEST_DATABASE_URL`.
    Postgres,
}

/// Names the variable holding the URL of a PostgreSQL server for the tests.
pub const TEST_DATABASE_URL: &str = "ENCNET_TEST_DATABASE_URL";

/// Generates, for each `async fn NAME(backend: Backend)` listed, the tests
/// `sqlite::NAME` and `postgres::NAME`. The PostgreSQL ones are ignored
/// unless asked for (`-- --ignored postgres`), so without a server
/// `cargo test` passes and lists each of them, by name, as not run.
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                #[ignore = "not run: needs PostgreSQL (set ENCNET_TEST_DATABASE_URL, pass --ignored)"]
                async fn $name() {
                    super::$name(super::common::Backend::Postgres).await
                }
            )*
        }
    };
}
pub(crate) use store_tests;

/// A node serving on 127.0.0.1:<random port>.
pub struct TestNode {
    pub url: String,
    pub did: Did,
    pub data_dir: PathBuf,
    pub backend: Backend,
    /// The node's `database_url` (PostgreSQL only).
    pub database_url: Option<String>,
    _database: Option<TestDatabase>,
    _temp: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    http: reqwest::Client,
}

impl TestNode {
    pub async fn start(backend: Backend) -> Self {
        Self::launch(backend, encnet_node::HttpLimits::default()).await
    }

    /// A node on `backend` serving under `limits`.
    async fn launch(backend: Backend, limits: encnet_node::HttpLimits) -> Self {
        let temp = tempfile::tempdir().expect("temp dir");
        let data_dir = temp.path().join("data");
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await),
        };
        let database_url = database.as_ref().map(|db| db.url.clone());
        let config = Config {
            data_dir: data_dir.clone(),
            database_url: database_url.clone(),
            ..Config::default()
        };
        let server = Server::open(&config).await.expect("node opens");
        let did: Did = server.node_did().parse().expect("node DID parses");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .serve_with_limits(
                    listener,
                    async {
                        let _ = rx.await;
                    },
                    limits,
                )
                .await
                .expect("node serves");
        });
        Self {
            url,
            did,
            data_dir,
            backend,
            database_url,
            _database: database,
            _temp: temp,
            shutdown: Some(tx),
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }

    /// Stops the node and waits for in-flight requests to finish.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.url));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.expect("request sent")).await
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("encnet.db")
    }

    /// Opens the node's database for inspection.
    pub async fn db(&self) -> Db {
        match &self.database_url {
            None => {
                let conn = rusqlite::Connection::open(self.db_path()).expect("open db");
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .expect("busy timeout");
                Db::Sqlite(std::sync::Mutex::new(conn))
            }
            Some(url) => Db::Postgres(sqlx::PgPool::connect(url).await.expect("open db")),
        }
    }

    /// Verifies the node's audit chain offline, as `encnet audit verify` does.
    pub async fn verify_audit(&self) -> Result<encnet_node::AuditReport, encnet_node::ChainBreak> {
        encnet_node::verify_database(self.database_url.as_deref(), &self.data_dir)
            .await
            .expect("database opens")
    }

    /// Everything but the audit log, as text, to show a request changed nothing.
    pub async fn state_snapshot(&self) -> String {
        let db = self.db().await;
        let out = db.state_snapshot().await;
        db.close().await;
        out
    }

    /// Outcomes of the audit log, oldest first.
    pub async fn audit_outcomes(&self) -> Vec<String> {
        let db = self.db().await;
        let rows = db.audit_outcomes().await;
        db.close().await;
        rows
    }

    /// Whether any 16-byte window of `value` is still stored: on SQLite in
    /// the database file or its WAL, on PostgreSQL in any live row.
    pub async fn stores_bytes(&self, value: &[u8]) -> bool {
        match self.backend {
            Backend::Sqlite => ["", "-wal"].iter().any(|suffix| {
                let path = format!("{}{suffix}", self.db_path().display());
                let bytes = std::fs::read(&path).unwrap_or_default();
                value
                    .windows(16)
                    .step_by(8)
                    .any(|window| bytes.windows(window.len()).any(|w| w == window))
            }),
            Backend::Postgres => {
                let db = self.db().await;
                let tables = db
                    .strings(
                        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
                    )
                    .await;
                let mut found = false;
                for table in tables {
                    // A row's text form shows bytea columns as hex.
                    let rows = db
                        .strings(&format!("SELECT t::text FROM \"{table}\" t"))
                        .await;
                    found |= rows.iter().any(|row| {
                        value
                            .windows(16)
                            .step_by(8)
                            .any(|window| row.contains(&hex::encode(window)))
                    });
                }
                db.close().await;
                found
            }
        }
    }
}

/// A node's database opened for inspection.
pub enum Db {
    Sqlite(std::sync::Mutex<rusqlite::Connection>),
    Postgres(sqlx::PgPool),
}

/// Every row's first column, from an SQLite connection.
fn sqlite_column<T: rusqlite::types::FromSql>(
    conn: &std::sync::Mutex<rusqlite::Connection>,
    query: &str,
) -> Vec<T> {
    let conn = conn.lock().expect("db lock");
    let mut statement = conn.prepare(query).expect("query");
    let rows = statement.query_map([], |row| row.get(0)).expect("query");
    rows.collect::<Result<_, _>>().expect("rows")
}

impl Db {
    /// The first column of every row, as text.
    pub async fn strings(&self, query: &str) -> Vec<String> {
        let rows: Vec<(String,)> = match self {
            Self::Sqlite(conn) => return sqlite_column(conn, query),
            Self::Postgres(pool) => sqlx::query_as(query).fetch_all(pool).await,
        }
        .expect("query");
        rows.into_iter().map(|(row,)| row).collect()
    }

    /// The first column of every row, as bytes.
    pub async fn blobs(&self, query: &str) -> Vec<Vec<u8>> {
        let rows: Vec<(Vec<u8>,)> = match self {
            Self::Sqlite(conn) => return sqlite_column(conn, query),
            Self::Postgres(pool) => sqlx::query_as(query).fetch_all(pool).await,
        }
        .expect("query");
        rows.into_iter().map(|(row,)| row).collect()
    }

    pub async fn execute(&self, statement: &str) {
        match self {
            Self::Sqlite(conn) => conn
                .lock()
                .expect("db lock")
                .execute_batch(statement)
                .expect("statement"),
            Self::Postgres(pool) => sqlx::query(statement)
                .execute(pool)
                .await
                .map(drop)
                .expect("statement"),
        }
    }

    /// Everything but the audit log, as text: networks (with their
    /// descriptor's fields), key versions, attestations, nonces and
    /// revocations.
    pub async fn state_snapshot(&self) -> String {
        let mut out = String::new();
        for query in [
            format!(
                "SELECT network_id || state || key_version || min_decryption_version || alg || updated_at || {} FROM networks ORDER BY network_id",
                self.hex("public_key")
            ),
            format!(
                "SELECT network_id || key_version || {} FROM network_keys ORDER BY network_id, key_version",
                self.hex("sealed_private_key")
            ),
            "SELECT network_id || key_version || statement || signature FROM attestations ORDER BY network_id, key_version".to_owned(),
            format!(
                "SELECT issuer || {} || expires_at FROM nonces ORDER BY issuer, nonce",
                self.hex("nonce")
            ),
            "SELECT cid FROM revocations ORDER BY cid".to_owned(),
        ] {
            for row in self.strings(&query).await {
                out.push_str(&row);
                out.push('\n');
            }
            out.push_str("--\n");
        }
        out
    }

    /// Outcomes of the audit log, oldest first.
    pub async fn audit_outcomes(&self) -> Vec<String> {
        self.strings("SELECT outcome FROM audit ORDER BY seq").await
    }

    /// SQL for the hex text of a bytes column.
    pub fn hex(&self, column: &str) -> String {
        match self {
            Self::Sqlite(_) => format!("lower(hex({column}))"),
            Self::Postgres(_) => format!("encode({column}, 'hex')"),
        }
    }

    pub async fn close(self) {
        match self {
            Self::Sqlite(conn) => drop(conn),
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// A schema of its own on the test server (the node's tables, and its
/// migrations table, are created there), dropped with the node. A schema is
/// much quicker to create than a database, and isolates tests as well.
struct TestDatabase {
    admin_url: String,
    schema: String,
    url: String,
}

impl TestDatabase {
    async fn create() -> Self {
        let admin_url = std::env::var(TEST_DATABASE_URL).unwrap_or_else(|_| {
            panic!("set {TEST_DATABASE_URL} to the URL of a PostgreSQL database")
        });
        let schema = format!("encnet_test_{}", hex::encode(rand::random::<[u8; 8]>()));
        let admin = sqlx::PgPool::connect(&admin_url)
            .await
            .expect("connect to ENCNET_TEST_DATABASE_URL");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .expect("create test schema");
        admin.close().await;
        let url = with_schema(&admin_url, &schema);
        Self {
            admin_url,
            schema,
            url,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, schema) = (self.admin_url.clone(), self.schema.clone());
        // Drop runs inside the test's runtime: use a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                use sqlx::Connection;
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                // The node may still hold a transaction open on the test's
                // runtime, which this drop is blocking: end its sessions.
                sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = $1",
                )
                .bind(&schema)
                .execute(&mut admin)
                .await?;
                sqlx::query("SET lock_timeout = '10s'")
                    .execute(&mut admin)
                    .await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await?;
                Ok::<_, sqlx::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}", self.schema);
        }
    }
}

/// `url` with `schema` first on the search path of every connection, whose
/// sessions are named after it.
pub fn with_schema(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-csearch_path%3D{schema}&application_name={schema}")
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body");
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, value)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

pub fn cmd(text: &str) -> Command {
    text.parse().expect("valid command")
}

/// A network owner with an identity.
pub struct Owner {
    pub signer: Ed25519Signer,
}

impl Owner {
    pub fn new() -> Self {
        Self {
            signer: Ed25519Signer::generate(),
        }
    }

    pub fn did(&self) -> Did {
        self.signer.did()
    }

    pub fn network_id(&self, name: &str) -> String {
        NetworkId::new(self.did().as_str(), name)
            .expect("valid network id")
            .to_string()
    }
}

/// Builds a container header: one invocation and its proofs.
pub fn container(invocation: &Signed<Invocation>, proofs: &[Signed<Delegation>]) -> String {
    let mut tokens = vec![invocation.bytes.clone()];
    tokens.extend(proofs.iter().map(|p| p.bytes.clone()));
    Container::new(tokens).to_header()
}

/// An invocation signed by `signer`, `sub` = `owner`, addressed to `node`.
pub fn invoke(
    signer: &Ed25519Signer,
    owner: &Did,
    node: &Did,
    command: &str,
    args: BTreeMap<String, Ipld>,
    proofs: &[Signed<Delegation>],
) -> Signed<Invocation> {
    InvocationBuilder::new(signer, owner.clone(), cmd(command))
        .audience(node.clone())
        .args(args)
        .proofs(proofs.iter().map(|p| p.cid).collect::<Vec<Cid>>())
        .expiration(now() + 120)
        .sign()
        .expect("invocation signs")
}

/// The owner decrypting `envelope` on their own authority: the request and
/// its container header, addressed to `node`.
pub fn owner_decrypt(
    owner: &Owner,
    node: &Did,
    envelope: &InlineEnvelope,
) -> (DecryptRequest, String) {
    let request = DecryptRequest::new(envelope);
    let inv = invoke(
        &owner.signer,
        &owner.did(),
        node,
        DECRYPT,
        request.args.clone(),
        &[],
    );
    (request, container(&inv, &[]))
}

/// A delegation of `command` on `owner`'s authority from `from` to `to`.
pub fn delegate(
    from: &Ed25519Signer,
    to: &Did,
    owner: &Did,
    command: &str,
    policy: Value,
) -> Signed<Delegation> {
    DelegationBuilder::new(from, to.clone(), Some(owner.clone()), cmd(command))
        .policy(Policy::from_json(&policy).expect("valid policy"))
        .expiration(now() + 3600)
        .sign()
        .expect("delegation signs")
}

pub fn args(pairs: Vec<(&str, Ipld)>) -> BTreeMap<String, Ipld> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

pub fn text(s: &str) -> Ipld {
    Ipld::String(s.to_owned())
}

/// Creates `name` as the owner; returns the descriptor.
pub async fn create_network(
    node: &TestNode,
    owner: &Owner,
    name: &str,
    alg: &str,
) -> NetworkDescriptor {
    let inv = invoke(
        &owner.signer,
        &owner.did(),
        &node.did,
        "/encryption/network/create",
        args(vec![("name", text(name)), ("alg", text(wire_name(alg)))]),
        &[],
    );
    let (status, body) = node.post("/v1/networks", Some(&container(&inv, &[]))).await;
    assert_eq!(status, 200, "create failed: {body}");
    serde_json::from_value(body).expect("descriptor")
}

/// The wire name of a suite given by wire or short name (`v1`, `v2`).
pub fn wire_name(alg: &str) -> &'static str {
    alg.parse::<Suite>().expect("a suite").as_str()
}

/// Encrypts `plaintext` locally to the network's current key.
pub fn encrypt(descriptor: &NetworkDescriptor, plaintext: &[u8]) -> InlineEnvelope {
    let key = BASE64
        .decode(&descriptor.public_encryption_key)
        .expect("base64 key");
    let public = PublicKey::from_bytes(&key).expect("network key");
    let suite: Suite = descriptor.alg.parse().expect("suite");
    let network: NetworkId = descriptor.network_id.parse().expect("network id");
    InlineEnvelope::seal(
        network,
        suite,
        descriptor.key_version,
        &public,
        plaintext,
        Some(b"record-7"),
        None,
    )
    .expect("seal")
}

/// A decrypt request under construction: the arguments can be tampered with.
pub struct DecryptRequest {
    pub receiver: SecretKey,
    pub args: BTreeMap<String, Ipld>,
}

impl DecryptRequest {
    pub fn new(envelope: &InlineEnvelope) -> Self {
        let receiver = SecretKey::generate();
        let wrapped = envelope.wrapped_key().expect("wrapped key");
        let args = args(vec![
            ("network", text(&envelope.network_id.to_string())),
            ("alg", text(envelope.alg.as_str())),
            (
                "keyVersion",
                Ipld::Integer(i128::from(envelope.key_version)),
            ),
            ("wrappedKey", Ipld::Bytes(wrapped)),
            ("keyHash", text(&envelope.encrypted_symmetric_key_hash)),
            (
                "receiverKey",
                Ipld::Bytes(receiver.public_key().to_bytes().to_vec()),
            ),
        ]);
        Self { receiver, args }
    }
}

/// Opens a decrypt answer: checks the node signature, unwraps the data key
/// with the receiver secret and opens the envelope.
pub fn open_answer(
    node: &Did,
    answer: &Value,
    request: &DecryptRequest,
    envelope: &InlineEnvelope,
) -> Vec<u8> {
    let result: DecryptResult = serde_json::from_value(answer.clone()).expect("decrypt result");
    let bytes = result.body.signing_bytes().expect("canonical");
    let signature = BASE64.decode(&result.node_signature).expect("base64 sig");
    let key = match node.public_key().expect("node key") {
        encnet_ucan::PublicKey::Ed25519(key) => key,
        #[allow(unreachable_patterns)]
        _ => panic!("node key is Ed25519"),
    };
    let signature = ed25519_dalek::Signature::from_slice(&signature).expect("signature bytes");
    key.verify_strict(&bytes, &signature)
        .expect("node signature verifies");
    let cid: Cid = result.body.invocation_cid.parse().expect("cid");
    let wrapped = BASE64.decode(&result.body.wrapped_key).expect("base64");
    let network_id = envelope.network_id.to_string();
    let cid_bytes = cid.to_bytes();
    let ctx = WrapContext {
        network_id: &network_id,
        key_version: envelope.key_version,
        invocation_cid: Some(&cid_bytes),
    };
    let data_key = envelope
        .alg
        .unwrap(&wrapped, &request.receiver, &ctx)
        .expect("unwrap with receiver key");
    envelope.open(&data_key).expect("open payload").to_vec()
}

impl TestNode {
    /// A node on SQLite serving under `limits` instead of the defaults.
    pub async fn start_with_limits(limits: encnet_node::HttpLimits) -> Self {
        Self::launch(Backend::Sqlite, limits).await
    }

    /// `host:port` of the node, for raw TCP connections.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }
}
