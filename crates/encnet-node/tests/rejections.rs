//! The bad-request corpus (issue 23): each case of `tests/rejections/*.json`
//! (the fields are described in `rejections/README.md`) is a route's valid
//! request with something changed, sent to one real node per store. It must
//! answer its status and problem `code` as problem+json, change no state
//! (the tables and the network's descriptor), and add to the audit log what
//! DESIGN §4.10 says: one `denied:<code>` entry once the invocation's
//! signature verified, nothing before that or on a public route. Every case
//! runs; the failures are listed together at the end.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::*;
use encnet_core::api::NetworkDescriptor;
use encnet_core::attestation::NetworkKeyStatement;
use encnet_core::InlineEnvelope;
use encnet_ucan::container::Form;
use encnet_ucan::envelope::{cid_of, Payload};
use encnet_ucan::{
    Container, Delegation, DelegationBuilder, Did, Ed25519Signer, InvocationBuilder, Ipld, Policy,
    Signed, Signer, TokenKind, UcanError,
};
use serde::Deserialize;
use serde_json::{json, Value};

const TABLES: [(&str, &str); 4] = [
    ("decrypt", include_str!("rejections/decrypt.json")),
    ("admin", include_str!("rejections/admin.json")),
    ("revocation", include_str!("rejections/revocation.json")),
    ("public", include_str!("rejections/public.json")),
];

type Map = BTreeMap<String, Value>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Case {
    name: String,
    #[allow(dead_code)] // for the reader
    note: Option<String>,
    route: String,
    alg: Option<String>,
    before: Vec<String>,
    delegations: BTreeMap<String, Link>,
    chain: Vec<ChainItem>,
    signer: Option<String>,
    invocation: InvocationSpec,
    args: ArgsEdit,
    revoke: Option<String>,
    revoke_path: Vec<String>,
    attest: AttestSpec,
    token: TokenEdit,
    container: ContainerEdit,
    /// `missing`, `previous` (what `send` sent), `hex:…`, or the value.
    header: Option<String>,
    method: Option<String>,
    path: Option<String>,
    body_bytes: Option<usize>,
    expect: Expect,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Link {
    from: Option<String>,
    to: String,
    sub: Option<String>,
    cmd: Option<String>,
    policy: Option<Value>,
    exp: Option<Value>,
    nbf: Option<i64>,
    token: TokenEdit,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum ChainItem {
    Named(String),
    Inline(Box<Link>),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct InvocationSpec {
    aud: Option<String>,
    sub: Option<String>,
    cmd: Option<String>,
    exp: Option<Value>,
    iat: Option<i64>,
    nonce: Option<Value>,
    prf: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ArgsEdit {
    drop: Vec<String>,
    set: Map,
    splice: BTreeMap<String, (usize, String)>,
    xor: BTreeMap<String, (usize, String)>,
    truncate: BTreeMap<String, usize>,
    rehash: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AttestSpec {
    signer: Option<String>,
    key_version: Option<u64>,
    alg: Option<String>,
    public_key: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TokenEdit {
    drop: Vec<String>,
    set: Map,
    issuer_text: Option<String>,
    resign: Option<String>,
    flip_signature: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ContainerEdit {
    omit_proofs: bool,
    pad: usize,
    garbage_token: bool,
    second_invocation: bool,
    no_invocation: bool,
    empty: bool,
    form: Option<char>,
    gzip_bomb: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: u16,
    code: String,
    audited: bool,
}

/// Command, method and path of a route's valid request.
fn route(name: &str) -> (String, &'static str, String) {
    let on_network = |verb: &str| format!("/v1/networks/{{network}}/{verb}");
    match name {
        "decrypt" | "public" => (DECRYPT.into(), "POST", on_network("decrypt")),
        "create" => (
            "/encryption/network/create".into(),
            "POST",
            "/v1/networks".into(),
        ),
        "audit" => ("/encryption/audit/read".into(), "GET", on_network("audit")),
        "revocation" => ("/ucan/revoke".into(), "POST", "/v1/revocations".into()),
        verb => (
            format!("/encryption/network/{verb}"),
            "POST",
            on_network(verb),
        ),
    }
}

/// A request ready to send, and the nonce of its invocation.
struct Request {
    method: String,
    path: String,
    authorization: Option<Vec<u8>>,
    body: Option<Vec<u8>>,
    nonce: Vec<u8>,
}

/// One case's world on the shared node: a fresh owner, its network `n`
/// and an envelope in it.
struct Ctx {
    node: Arc<TestNode>,
    route: String,
    signers: HashMap<String, Ed25519Signer>,
    network: String,
    descriptor: NetworkDescriptor,
    envelope: InlineEnvelope,
    delegations: HashMap<String, Signed<Delegation>>,
    /// Authorization and nonce of the valid request `send` sent.
    previous: Option<(Vec<u8>, Vec<u8>)>,
}

impl Ctx {
    fn signer(&mut self, name: &str) -> &Ed25519Signer {
        self.signers
            .entry(name.to_owned())
            .or_insert_with(Ed25519Signer::generate)
    }

    fn owner(&self) -> Owner {
        Owner {
            signer: Ed25519Signer::from_seed(*self.signers["owner"].to_seed()),
        }
    }

    /// The principal `name` (made on first use), `node`, or a DID; each
    /// with an optional `#fragment`.
    fn did(&mut self, reference: &str) -> Did {
        let reference = self.expand(reference);
        let (base, fragment) = reference.split_once('#').unwrap_or((&reference, ""));
        let mut did = match base {
            "node" => self.node.did.to_string(),
            did if did.starts_with("did:") => did.to_owned(),
            name => self.signer(name).did().to_string(),
        };
        if !fragment.is_empty() {
            did = format!("{did}#{fragment}");
        }
        did.parse().expect("a DID the builders take")
    }

    /// The name of the principal whose DID is `did`.
    fn name_of(&self, did: &Did) -> String {
        let found = self.signers.iter().find(|(_, s)| s.did() == *did);
        found.map_or_else(|| did.to_string(), |(name, _)| name.clone())
    }

    /// `text` with its placeholders (innermost first) replaced.
    fn expand(&mut self, text: &str) -> String {
        let Some(start) = text.find('{') else {
            return text.to_owned();
        };
        let mut depth = 0;
        let close = |c| {
            depth += i32::from(c == '{') - i32::from(c == '}');
            depth == 0
        };
        let end = start + text[start..].find(close).expect("a closing brace");
        let inner = self.expand(&text[start + 1..end]);
        let hash = self.envelope.encrypted_symmetric_key_hash.clone();
        let value = match inner.split_once(':') {
            None if inner == "network" => self.network.clone(),
            None if inner == "keyhash" => hash,
            None if inner == "KEYHASH" => hash.to_uppercase(),
            Some(("network", name)) => self.owner().network_id(name),
            Some(("repeat", spec)) => {
                let (unit, n) = spec.rsplit_once(':').expect("repeat:TEXT:N");
                unit.repeat(n.parse().expect("a count"))
            }
            _ => self.did(&inner).to_string(),
        };
        let rest = self.expand(&text[end + 1..]);
        format!("{}{value}{rest}", &text[..start])
    }

    fn ipld(&mut self, value: &Value) -> Ipld {
        let Value::Object(object) = value else {
            return match value {
                Value::String(s) => Ipld::String(self.expand(s)),
                Value::Array(items) => Ipld::List(items.iter().map(|v| self.ipld(v)).collect()),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => Ipld::Integer(i.into()),
                    None => Ipld::Integer(n.as_u64().expect("an integer").into()),
                },
                Value::Bool(b) => Ipld::Bool(*b),
                _ => Ipld::Null,
            };
        };
        let (key, inner) = object.iter().next().expect("a helper");
        match (key.as_str(), inner) {
            ("bytes", Value::String(hex)) => Ipld::Bytes(hex::decode(hex).expect("hex")),
            ("zeros", n) => Ipld::Bytes(vec![0; count(n)]),
            ("int", Value::String(n)) => Ipld::Integer(n.parse().expect("an integer")),
            ("link", Value::String(name)) => Ipld::Link(self.delegations[name].cid),
            ("repeat", Value::Array(pair)) => {
                Ipld::List(vec![self.ipld(&pair[0]); count(&pair[1])])
            }
            ("wrap", Value::Array(spec)) => {
                let mut nested = self.ipld(&spec[2]);
                for _ in 0..count(&spec[1]) {
                    let Ipld::List(mut outer) = self.ipld(&spec[0]) else {
                        panic!("wrap takes a list prefix")
                    };
                    outer.push(nested);
                    nested = Ipld::List(outer);
                }
                nested
            }
            ("map", Value::Object(fields)) => Ipld::Map(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), self.ipld(v)))
                    .collect(),
            ),
            _ => panic!("unknown IPLD helper {value}"),
        }
    }

    fn delegation(&mut self, link: &Link, default_from: &str) -> Signed<Delegation> {
        let from = link.from.clone().unwrap_or_else(|| default_from.to_owned());
        let to = self.did(&link.to);
        let sub = match link.sub.as_deref() {
            Some("none") => None,
            sub => Some(self.did(sub.unwrap_or("owner"))),
        };
        let command = cmd(link.cmd.as_deref().unwrap_or(&route(&self.route).0));
        let statements = self.ipld(link.policy.as_ref().unwrap_or(&json!([])));
        let policy = Policy::from_ipld(&statements).expect("a policy the builder takes");
        let now = now();
        let mut builder =
            DelegationBuilder::new(self.signer(&from), to, sub, command).policy(policy);
        if let Some(exp) = relative(link.exp.as_ref(), 3600, now) {
            builder = builder.expiration(exp);
        }
        if let Some(nbf) = link.nbf {
            builder = builder.not_before(now + nbf);
        }
        let signed = builder.sign().expect("delegation signs");
        let payload = signed.payload.to_ipld();
        let bytes = self.edit::<false>(&from, &signed.bytes, payload, &link.token);
        // Edited, a proof is not verified here: that is the node's to do.
        Signed {
            cid: cid_of(&bytes),
            bytes,
            ..signed
        }
    }

    /// `bytes`, a token signed by `signer` with `payload`, after `edit`.
    fn edit<const INVOCATION: bool>(
        &mut self,
        signer: &str,
        bytes: &[u8],
        payload: Ipld,
        edit: &TokenEdit,
    ) -> Vec<u8> {
        let mut bytes = bytes.to_vec();
        let Ipld::Map(mut map) = payload else {
            panic!("a payload is a map")
        };
        if !edit.drop.is_empty() || !edit.set.is_empty() {
            for key in &edit.drop {
                map.remove(key);
            }
            for (key, value) in &edit.set {
                map.insert(key.clone(), self.ipld(value));
            }
            let raw = Raw::<INVOCATION>(map, self.signer(signer).did());
            bytes = Signed::sign(&raw, self.signer(signer))
                .expect("signs")
                .bytes;
        }
        if let Some(prefix) = &edit.issuer_text {
            let did = self.signer(signer).did().to_string();
            let at = bytes.windows(did.len()).position(|w| w == did.as_bytes());
            let at = at.expect("the issuer's DID");
            let text = format!("{prefix:a<width$}", width = did.len());
            bytes[at..at + did.len()].copy_from_slice(text.as_bytes());
        }
        // An envelope is [signature (0x58 0x40, 64 bytes), SigPayload].
        if let Some(other) = &edit.resign {
            let signature = self.signer(other).sign(&bytes[67..]);
            bytes[3..67].copy_from_slice(&signature);
        }
        if edit.flip_signature {
            bytes[5] ^= 0x01;
        }
        bytes
    }

    /// The route's valid arguments, after the case's edits.
    fn args(&mut self, case: &Case) -> BTreeMap<String, Ipld> {
        let network = text(&self.network);
        let mut a = match case.route.as_str() {
            "decrypt" => DecryptRequest::new(&self.envelope).args,
            "create" => args(vec![
                ("name", text("created")),
                ("alg", text("x25519-hkdf-sha256-aes256gcm/v2")),
            ]),
            "retire" => args(vec![
                ("network", network),
                ("minDecryptionVersion", Ipld::Integer(1)),
            ]),
            "attest" => {
                let mut statement = NetworkKeyStatement::for_descriptor(&self.descriptor);
                statement.key_version = case.attest.key_version.unwrap_or(statement.key_version);
                statement.alg = case.attest.alg.clone().unwrap_or(statement.alg);
                let key = case.attest.public_key.clone();
                statement.public_encryption_key = key.unwrap_or(statement.public_encryption_key);
                let bytes = statement.signing_bytes().expect("canonical");
                let signer = case.attest.signer.as_deref().unwrap_or("owner");
                let signature = Ipld::Bytes(self.signer(signer).sign(&bytes));
                let statement = text(&String::from_utf8(bytes).expect("UTF-8"));
                args(vec![
                    ("network", network),
                    ("statement", statement),
                    ("signature", signature),
                ])
            }
            "revocation" => {
                let target = case.revoke.as_deref().unwrap_or("target");
                let mut a = args(vec![("revoke", Ipld::Link(self.delegations[target].cid))]);
                let path = case.revoke_path.iter();
                let path: Vec<_> = path.map(|d| Ipld::Link(self.delegations[d].cid)).collect();
                if !path.is_empty() {
                    a.insert("path".into(), Ipld::List(path));
                }
                a
            }
            _ => args(vec![("network", network)]),
        };
        let edit = &case.args;
        for key in &edit.drop {
            a.remove(key);
        }
        for (key, value) in &edit.set {
            a.insert(key.clone(), self.ipld(value));
        }
        for (key, (at, hex)) in &edit.splice {
            let patch = hex::decode(hex).expect("hex");
            bytes_arg(&mut a, key)[*at..at + patch.len()].copy_from_slice(&patch);
        }
        for (key, (at, hex)) in &edit.xor {
            let bytes = bytes_arg(&mut a, key);
            for (i, mask) in hex::decode(hex).expect("hex").into_iter().enumerate() {
                bytes[at + i] ^= mask;
            }
        }
        for (key, len) in &edit.truncate {
            bytes_arg(&mut a, key).truncate(*len);
        }
        if edit.rehash {
            let hash = encnet_core::key_hash(&BASE64.encode(bytes_arg(&mut a, "wrappedKey")));
            a.insert("keyHash".into(), text(&hash));
        }
        a
    }

    /// The `Bearer` container of the case's invocation, and its nonce.
    fn container(&mut self, case: &Case) -> (String, Vec<u8>) {
        let mut chain = Vec::new();
        let mut holder = "owner".to_owned();
        for (i, item) in case.chain.iter().enumerate() {
            let name = match item {
                ChainItem::Named(name) => name.clone(),
                ChainItem::Inline(link) => {
                    let delegation = self.delegation(link, &holder);
                    self.delegations.insert(format!("chain{i}"), delegation);
                    format!("chain{i}")
                }
            };
            let aud = self.delegations[&name].payload.aud.clone();
            holder = self.name_of(&aud);
            chain.push(name);
        }
        let spec = &case.invocation;
        let signer = case.signer.clone().unwrap_or(holder);
        let sub = self.did(spec.sub.as_deref().unwrap_or("owner"));
        let command = spec.cmd.clone().unwrap_or_else(|| route(&case.route).0);
        let a = self.args(case);
        let cited = spec.prf.as_ref().unwrap_or(&chain).iter();
        let cited: Vec<_> = cited.map(|name| self.delegations[name].cid).collect();
        let aud = match spec.aud.as_deref() {
            Some("none") => None,
            aud => Some(self.did(aud.unwrap_or("node"))),
        };
        let nonce = match &spec.nonce {
            Some(Value::String(_)) => Some(self.previous.clone().expect("a request sent").1),
            n => n.as_ref().map(|n| vec![7; count(n)]),
        };
        let mut builder = InvocationBuilder::new(self.signer(&signer), sub, cmd(&command))
            .args(a)
            .proofs(cited);
        if let Some(aud) = aud {
            builder = builder.audience(aud);
        }
        if let Some(exp) = relative(spec.exp.as_ref(), 120, now()) {
            builder = builder.expiration(exp);
        }
        if let Some(iat) = spec.iat {
            builder = builder.issued_at(now() + iat);
        }
        if let Some(nonce) = nonce {
            builder = builder.nonce(nonce);
        }
        let invocation = builder.sign().expect("invocation signs");
        let payload = invocation.payload.to_ipld();
        let mut tokens = vec![self.edit::<true>(&signer, &invocation.bytes, payload, &case.token)];
        let edit = &case.container;
        if case.route == "revocation" {
            chain.push(case.revoke.clone().unwrap_or_else(|| "target".into()));
            chain.extend(case.revoke_path.iter().cloned());
        }
        let carried = chain.iter().filter(|_| !edit.omit_proofs);
        tokens.extend(carried.map(|name| self.delegations[name].bytes.clone()));
        // Tokens of their own: a container holds no duplicates.
        let owner = self.owner();
        let padding = || delegate(&owner.signer, &owner.did(), &owner.did(), "/", json!([])).bytes;
        tokens.extend((0..edit.pad).map(|_| padding()));
        if edit.no_invocation {
            tokens[0] = padding();
        }
        if edit.garbage_token {
            tokens.push(b"not a token".to_vec());
        }
        if edit.second_invocation {
            let empty = BTreeMap::new();
            let other = invoke(
                &owner.signer,
                &owner.did(),
                &self.node.did,
                &command,
                empty,
                &[],
            );
            tokens.push(other.bytes);
        }
        if edit.empty {
            tokens.clear();
        }
        if edit.gzip_bomb {
            tokens = vec![vec![0; 8 << 20]];
        }
        let form = edit.form.unwrap_or(if edit.gzip_bomb { 'O' } else { 'B' });
        let form = Form::from_header(form as u8).expect("a container form");
        let header = String::from_utf8(Container::new(tokens).to_bytes(form)).expect("ASCII");
        (format!("Bearer {header}"), invocation.payload.nonce)
    }

    fn request(&mut self, case: &Case) -> Request {
        let (_, method, path) = route(&case.route);
        let mut nonce = Vec::new();
        let authorization = match case.header.as_deref() {
            Some("missing") => None,
            None if case.route == "public" => None,
            Some("previous") => Some(self.previous.clone().expect("a request sent").0),
            Some(hex) if hex.starts_with("hex:") => Some(hex::decode(&hex[4..]).expect("hex")),
            Some(raw) => Some(self.expand(raw).into_bytes()),
            None => {
                let (container, used) = self.container(case);
                nonce = used;
                Some(container.into_bytes())
            }
        };
        Request {
            method: case.method.clone().unwrap_or(method.into()),
            path: self.expand(case.path.as_deref().unwrap_or(&path)),
            authorization,
            body: case.body_bytes.map(|n| vec![b'x'; n]),
            nonce,
        }
    }

    async fn send(&self, request: &Request) -> (u16, String, Value) {
        let method: reqwest::Method = request.method.parse().expect("a method");
        let url = format!("{}{}", self.node.url, request.path);
        let mut builder = reqwest::Client::new().request(method, url);
        if let Some(value) = &request.authorization {
            let value = reqwest::header::HeaderValue::from_bytes(value).expect("a header value");
            builder = builder.header(reqwest::header::AUTHORIZATION, value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let response = builder.send().await.expect("request sent");
        let status = response.status().as_u16();
        let content_type = response.headers().get(reqwest::header::CONTENT_TYPE);
        let content_type = content_type
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response.bytes().await.expect("body");
        (
            status,
            content_type,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }

    /// The owner's `verb` on the network, which must be allowed.
    async fn admin(&mut self, verb: &str, extra: Option<(&str, Ipld)>) {
        let owner = self.owner();
        let mut a = args(vec![("network", text(&self.network))]);
        a.extend(extra.map(|(k, v)| (k.to_owned(), v)));
        let (command, _, path) = route(verb);
        let inv = invoke(
            &owner.signer,
            &owner.did(),
            &self.node.did,
            &command,
            a,
            &[],
        );
        let path = self.expand(&path);
        let (status, body) = self.node.post(&path, Some(&container(&inv, &[]))).await;
        assert_eq!(status, 200, "{verb} before the case: {body}");
    }

    async fn before(&mut self, case: &Case, step: &str) {
        match step.split_once(':') {
            None if step == "send" => {
                // The valid request: the case without its edits.
                let valid = Case {
                    route: case.route.clone(),
                    revoke: case.revoke.clone(),
                    revoke_path: case.revoke_path.clone(),
                    ..Case::default()
                };
                let request = self.request(&valid);
                let (status, _, body) = self.send(&request).await;
                assert_eq!(status, 200, "the valid request: {body}");
                self.previous = Some((request.authorization.expect("sent"), request.nonce));
            }
            None if step == "rotate" => self.admin("rotate", None).await,
            None if step == "retire" => {
                self.admin("rotate", None).await;
                let min = ("minDecryptionVersion", Ipld::Integer(2));
                self.admin("retire", Some(min)).await;
            }
            None if step == "revoke-network" => self.admin("revoke", None).await,
            None if step == "destroy-network" => {
                self.admin("revoke", None).await;
                self.admin("destroy", None).await;
            }
            None if step == "create-other" => {
                create_network(&self.node, &self.owner(), "other", "v2").await;
            }
            Some(("revoke", name)) => {
                let target = self.delegations[name].clone();
                let issuer = &self.signers[&self.name_of(&target.payload.iss)];
                let revoke = args(vec![("revoke", Ipld::Link(target.cid))]);
                let inv = invoke(
                    issuer,
                    &issuer.did(),
                    &self.node.did,
                    "/ucan/revoke",
                    revoke,
                    &[],
                );
                let header = container(&inv, &[target]);
                let (status, body) = self.node.post("/v1/revocations", Some(&header)).await;
                assert_eq!(status, 200, "revoking {name}: {body}");
            }
            _ => panic!("unknown step {step}"),
        }
    }
}

/// A payload map signed as it is, for the tokens the builders refuse
/// (unknown fields, short nonces, policies over the limits).
struct Raw<const INVOCATION: bool>(BTreeMap<String, Ipld>, Did);

impl<const INVOCATION: bool> Payload for Raw<INVOCATION> {
    const KIND: TokenKind = match INVOCATION {
        true => TokenKind::Invocation,
        false => TokenKind::Delegation,
    };

    fn from_map(map: BTreeMap<String, Ipld>) -> Result<Self, UcanError> {
        let issuer = match map.get("iss") {
            Some(Ipld::String(iss)) => iss.parse()?,
            _ => return Err(UcanError::Malformed("no iss".into())),
        };
        Ok(Self(map, issuer))
    }

    fn to_ipld(&self) -> Ipld {
        Ipld::Map(self.0.clone())
    }

    fn issuer(&self) -> &Did {
        &self.1
    }
}

fn bytes_arg<'a>(a: &'a mut BTreeMap<String, Ipld>, key: &str) -> &'a mut Vec<u8> {
    match a.get_mut(key) {
        Some(Ipld::Bytes(bytes)) => bytes,
        other => panic!("args.{key} is not bytes: {other:?}"),
    }
}

fn count(value: &Value) -> usize {
    value.as_u64().expect("a count") as usize
}

/// `now + value` seconds; `now + default` when absent; none for `"none"`.
fn relative(value: Option<&Value>, default: i64, now: i64) -> Option<i64> {
    match value {
        None => Some(now + default),
        Some(Value::String(s)) if s == "none" => None,
        Some(v) => Some(now + v.as_i64().expect("seconds")),
    }
}

/// Runs one case; `Err` says what differed.
async fn run(node: Arc<TestNode>, db: Arc<Db>, case: Case) -> Result<(), String> {
    let owner = Owner::new();
    let alg = case.alg.as_deref().unwrap_or("v2");
    let descriptor = create_network(&node, &owner, "n", alg).await;
    let mut ctx = Ctx {
        network: descriptor.network_id.clone(),
        envelope: encrypt(&descriptor, b"the plaintext"),
        descriptor,
        signers: HashMap::from([("owner".to_owned(), owner.signer)]),
        delegations: HashMap::new(),
        previous: None,
        node,
        route: case.route.clone(),
    };
    let mut links = case.delegations.clone();
    if case.route == "revocation" && !links.contains_key("target") {
        let to_bob = Link {
            to: "bob".into(),
            cmd: Some(DECRYPT.into()),
            ..Link::default()
        };
        links.insert("target".into(), to_bob);
    }
    for (name, link) in &links {
        let delegation = ctx.delegation(link, "owner");
        ctx.delegations.insert(name.clone(), delegation);
    }
    for step in &case.before {
        ctx.before(&case, step).await;
    }
    let request = ctx.request(&case);
    let descriptor_path = format!("/v1/networks/{}", ctx.network);
    let (state, audit) = (db.state_snapshot().await, db.audit_outcomes().await);
    let descriptor = ctx.node.get(&descriptor_path, None).await;
    let (status, content_type, body) = ctx.send(&request).await;

    let expect = &case.expect;
    let mut wrong = Vec::new();
    if (status, &body["code"]) != (expect.status, &json!(expect.code)) {
        wrong.push(format!(
            "answered {status} {body}, not {} {}",
            expect.status, expect.code
        ));
    }
    if content_type != "application/problem+json" {
        wrong.push(format!("content type {content_type:?}"));
    }
    let after = db.audit_outcomes().await;
    let added = after.get(audit.len()..).unwrap_or_default();
    let denial = [format!("denied:{}", expect.code)];
    let wanted = if expect.audited { &denial[..] } else { &[] };
    if added != wanted {
        wrong.push(format!("the audit gained {added:?}, not {wanted:?}"));
    }
    if db.state_snapshot().await != state {
        wrong.push("the state changed".to_owned());
    }
    if ctx.node.get(&descriptor_path, None).await != descriptor {
        wrong.push("the descriptor changed".to_owned());
    }
    match wrong.is_empty() {
        true => Ok(()),
        false => Err(wrong.join("; ")),
    }
}

async fn every_bad_request_is_refused(backend: Backend) {
    let started = std::time::Instant::now();
    let node = Arc::new(TestNode::start(backend).await);
    let db = Arc::new(node.db().await);
    let (mut failures, mut groups, mut names) = (Vec::new(), BTreeMap::new(), HashSet::new());
    for (group, table) in TABLES {
        let cases: Vec<Case> = serde_json::from_str(table)
            .unwrap_or_else(|err| panic!("rejections/{group}.json: {err}"));
        groups.insert(group, cases.len());
        for case in cases {
            let name = case.name.clone();
            assert!(names.insert(name.clone()), "two cases are named {name}");
            // A case that panics while it is built fails alone.
            match tokio::spawn(run(node.clone(), db.clone(), case)).await {
                Ok(Ok(())) => {}
                Ok(Err(wrong)) => failures.push(format!("{name}: {wrong}")),
                Err(err) => {
                    let panic = err.into_panic();
                    let text = panic.downcast_ref::<String>().map(String::as_str);
                    let text = text.or_else(|| panic.downcast_ref::<&str>().copied());
                    failures.push(format!("{name}: panicked: {}", text.unwrap_or("")));
                }
            }
        }
    }
    let total = names.len();
    println!(
        "{backend:?}: {total} cases {groups:?} in {:.1?}",
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

store_tests! {
    every_bad_request_is_refused,
}
