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

/// A node serving on 127.0.0.1:<random port>.
pub struct TestNode {
    pub url: String,
    pub did: Did,
    pub data_dir: PathBuf,
    _temp: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    http: reqwest::Client,
}

impl TestNode {
    pub async fn start() -> Self {
        let temp = tempfile::tempdir().expect("temp dir");
        let data_dir = temp.path().join("data");
        let config = Config {
            data_dir: data_dir.clone(),
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
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await
                .expect("node serves");
        });
        Self {
            url,
            did,
            data_dir,
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
    pub async fn db(&self) -> sqlx::SqlitePool {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(self.db_path());
        sqlx::SqlitePool::connect_with(options)
            .await
            .expect("open db")
    }

    /// Everything but the audit log, as text, to show a request changed nothing.
    pub async fn state_snapshot(&self) -> String {
        let db = self.db().await;
        let mut out = String::new();
        for query in [
            "SELECT network_id || state || key_version || min_decryption_version || hex(public_key) FROM networks ORDER BY network_id",
            "SELECT network_id || key_version || hex(sealed_private_key) FROM network_keys ORDER BY network_id, key_version",
            "SELECT issuer || hex(nonce) || expires_at FROM nonces ORDER BY issuer, nonce",
            "SELECT cid FROM revocations ORDER BY cid",
        ] {
            let rows: Vec<(String,)> = sqlx::query_as(query).fetch_all(&db).await.expect("query");
            for (row,) in rows {
                out.push_str(&row);
                out.push('\n');
            }
            out.push_str("--\n");
        }
        db.close().await;
        out
    }

    /// Outcomes of the audit log, oldest first.
    pub async fn audit_outcomes(&self) -> Vec<String> {
        let db = self.db().await;
        let rows: Vec<(String,)> = sqlx::query_as("SELECT outcome FROM audit ORDER BY seq")
            .fetch_all(&db)
            .await
            .expect("audit query");
        db.close().await;
        rows.into_iter().map(|(o,)| o).collect()
    }
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
        args(vec![("name", text(name)), ("alg", text(alg))]),
        &[],
    );
    let (status, body) = node.post("/v1/networks", Some(&container(&inv, &[]))).await;
    assert_eq!(status, 200, "create failed: {body}");
    serde_json::from_value(body).expect("descriptor")
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
