//! HTTP calls to one node. Each gated call signs an invocation addressed to
//! the node's DID (from `/v1/info`), with a fresh nonce and a short `exp`.

use std::collections::BTreeMap;

use base64::Engine;
use encnet_core::api::command;
use encnet_core::api::{
    AuditPage, DecryptResult, DiscoveryRecord, ErrorCode, NetworkDescriptor, NodeInfo, Problem,
    RevocationReceipt,
};
use encnet_core::attestation::AttestationError;
use encnet_core::{InlineEnvelope, Zeroizing};
use encnet_ucan::{
    Cid, Container, Delegation, Did, Ed25519Signer, Invocation, InvocationBuilder, Ipld, Signed,
};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use crate::decrypt::{DecryptExchange, DecryptRequest};
use crate::ClientError;

/// Lifetime of the invocations this client signs, in seconds.
const INVOCATION_TTL_SECS: i64 = 120;

/// An administrative command on one network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCommand {
    /// New key version.
    Rotate,
    /// Raise `minDecryptionVersion` to the given version.
    Retire(u64),
    /// Deny every decrypt until restored.
    Revoke,
    /// Undo a revoke.
    Restore,
    /// Shred the keys for ever.
    Destroy,
}

impl AdminCommand {
    fn verb(self) -> &'static str {
        match self {
            Self::Rotate => "rotate",
            Self::Retire(_) => "retire",
            Self::Revoke => "revoke",
            Self::Restore => "restore",
            Self::Destroy => "destroy",
        }
    }
}

/// A client of one encnet node.
pub struct Client {
    base: String,
    http: reqwest::Client,
    node_did: OnceCell<Did>,
}

impl Client {
    /// A client of the node at `base_url` (e.g. `http://127.0.0.1:8700`).
    pub fn new(base_url: &str) -> Self {
        Self {
            base: base_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            node_did: OnceCell::new(),
        }
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// `GET /v1/info`.
    pub async fn info(&self) -> Result<NodeInfo, ClientError> {
        self.send(self.http.get(self.url_of("/v1/info"))).await
    }

    /// The node's DID, fetched once.
    pub async fn node_did(&self) -> Result<&Did, ClientError> {
        self.node_did
            .get_or_try_init(|| async {
                let info = self.info().await?;
                info.node_did
                    .parse()
                    .map_err(|_| ClientError::InvalidResponse("node DID does not parse".into()))
            })
            .await
    }

    /// `GET /v1/networks/{id}`; a descriptor of another network is refused.
    pub async fn network(&self, id: &str) -> Result<NetworkDescriptor, ClientError> {
        let descriptor: NetworkDescriptor = self
            .send(self.http.get(self.url_of(&format!("/v1/networks/{id}"))))
            .await?;
        if descriptor.network_id != id {
            return Err(ClientError::Attestation(AttestationError::WrongNetwork {
                requested: id.to_owned(),
                served: descriptor.network_id,
            }));
        }
        Ok(descriptor)
    }

    /// Signs the owner's attestation of the newest key of `descriptor` and
    /// hands it to the node; answers the descriptor with it.
    pub async fn attest_network(
        &self,
        owner: &Ed25519Signer,
        descriptor: &NetworkDescriptor,
    ) -> Result<NetworkDescriptor, ClientError> {
        let attestation = crate::attest::sign(owner, descriptor)?;
        let statement = attestation
            .statement
            .signing_bytes()
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| ClientError::Usage("statement is not canonical JSON".into()))?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(&attestation.signature)
            .map_err(|_| ClientError::Usage("signature is not base64".into()))?;
        let network = &descriptor.network_id;
        let mut args = network_args(network);
        args.insert("statement".to_owned(), Ipld::String(statement));
        args.insert("signature".to_owned(), Ipld::Bytes(signature));
        let header = self
            .invocation(owner, &owner.did(), command::NETWORK_ATTEST, args, &[])
            .await?
            .1;
        self.post(&format!("/v1/networks/{network}/attest"), &header)
            .await
    }

    /// Discovery by owner and name through `.well-known`.
    pub async fn discover(&self, owner: &Did, name: &str) -> Result<DiscoveryRecord, ClientError> {
        let url = self.url_of(&format!("/.well-known/encryption/network/{name}"));
        self.send(self.http.get(url).query(&[("ownerDid", owner.as_str())]))
            .await
    }

    /// Creates a one-of-one network owned by `owner`'s DID and attests its
    /// first key (two calls; see [`Client::attest_network`]). `alg` is a
    /// suite's wire name or its short name (`v1`, `v2`); the signed
    /// arguments always carry the wire name, the only one a node accepts.
    pub async fn create_network(
        &self,
        owner: &Ed25519Signer,
        name: &str,
        alg: Option<&str>,
    ) -> Result<NetworkDescriptor, ClientError> {
        let mut args = BTreeMap::from([("name".to_owned(), Ipld::String(name.to_owned()))]);
        if let Some(alg) = alg {
            let suite: encnet_core::suite::Suite = alg
                .parse()
                .map_err(|_| ClientError::Usage(format!("unknown suite {alg:?}")))?;
            args.insert("alg".to_owned(), Ipld::String(suite.as_str().to_owned()));
        }
        let header = self
            .invocation(owner, &owner.did(), command::NETWORK_CREATE, args, &[])
            .await?
            .1;
        let created: NetworkDescriptor = self.post("/v1/networks", &header).await?;
        self.attest_network(owner, &created).await
    }

    /// Runs an administrative command on `network` (owned by `owner`).
    pub async fn admin(
        &self,
        signer: &Ed25519Signer,
        owner: &Did,
        network: &str,
        command: AdminCommand,
        proofs: &[Signed<Delegation>],
    ) -> Result<NetworkDescriptor, ClientError> {
        let mut args = network_args(network);
        if let AdminCommand::Retire(version) = command {
            args.insert(
                "minDecryptionVersion".to_owned(),
                Ipld::Integer(i128::from(version)),
            );
        }
        let cmd = format!("{}/{}", command::NETWORK, command.verb());
        let header = self.invocation(signer, owner, &cmd, args, proofs).await?.1;
        let descriptor: NetworkDescriptor = self
            .post(
                &format!("/v1/networks/{network}/{}", command.verb()),
                &header,
            )
            .await?;
        // A new key version is attested at once when the owner rotates; a
        // delegate's rotation waits for the owner's `attest_network`.
        match command {
            AdminCommand::Rotate if signer.did().same_principal(owner) => {
                self.attest_network(signer, &descriptor).await
            }
            _ => Ok(descriptor),
        }
    }

    /// Decrypts `envelope` as `signer`, proving authority with `proofs`
    /// (root first; empty for the owner). The answer is verified first.
    pub async fn decrypt(
        &self,
        signer: &Ed25519Signer,
        envelope: &InlineEnvelope,
        proofs: &[Signed<Delegation>],
    ) -> Result<Zeroizing<Vec<u8>>, ClientError> {
        let request = DecryptRequest::new(envelope)?;
        self.request_decrypt(signer, envelope, request, proofs)
            .await?
            .open(envelope)
    }

    /// The network step of [`Client::decrypt`]: sends `request` for
    /// `envelope` and returns the node's answer unopened and unverified,
    /// with what it must echo. [`DecryptExchange::open`] verifies and opens.
    pub async fn request_decrypt(
        &self,
        signer: &Ed25519Signer,
        envelope: &InlineEnvelope,
        request: DecryptRequest,
        proofs: &[Signed<Delegation>],
    ) -> Result<DecryptExchange, ClientError> {
        let owner: Did =
            envelope.network_id.owner_did().parse().map_err(|_| {
                ClientError::Usage("the envelope's owner DID does not parse".into())
            })?;
        let (invocation, header) = self
            .invocation(
                signer,
                &owner,
                command::DECRYPT,
                request.args().clone(),
                proofs,
            )
            .await?;
        let path = format!("/v1/networks/{}/decrypt", envelope.network_id);
        let answer: DecryptResult = self.post(&path, &header).await?;
        Ok(DecryptExchange {
            request,
            node: self.node_did().await?.clone(),
            invocation,
            answer,
        })
    }

    /// Reads the network's audit entries after sequence `after`.
    pub async fn audit(
        &self,
        signer: &Ed25519Signer,
        owner: &Did,
        network: &str,
        after: u64,
        proofs: &[Signed<Delegation>],
    ) -> Result<AuditPage, ClientError> {
        let mut args = network_args(network);
        args.insert("after".to_owned(), Ipld::Integer(i128::from(after)));
        let header = self
            .invocation(signer, owner, command::AUDIT_READ, args, proofs)
            .await?
            .1;
        let url = self.url_of(&format!("/v1/networks/{network}/audit"));
        self.send(self.http.get(url).bearer_auth(header)).await
    }

    /// Revokes `target` (a delegation on a path that `signer` issued into);
    /// `path` holds the delegations from the root to `target`, root first.
    pub async fn revoke_delegation(
        &self,
        signer: &Ed25519Signer,
        target: &Signed<Delegation>,
        path: &[Signed<Delegation>],
    ) -> Result<RevocationReceipt, ClientError> {
        let mut args = BTreeMap::from([("revoke".to_owned(), Ipld::Link(target.cid))]);
        if !path.is_empty() {
            let cids = path.iter().map(|d| Ipld::Link(d.cid)).collect();
            args.insert("path".to_owned(), Ipld::List(cids));
        }
        let node = self.node_did().await?.clone();
        let invocation =
            InvocationBuilder::new(signer, signer.did(), command::UCAN_REVOKE.parse()?)
                .audience(node)
                .args(args)
                .expiration(now() + INVOCATION_TTL_SECS)
                .sign()?;
        let mut tokens = vec![invocation.bytes];
        tokens.extend(path.iter().chain([target]).map(|d| d.bytes.clone()));
        self.post("/v1/revocations", &Container::new(tokens).to_header())
            .await
    }

    /// Signs an invocation to this node; returns its CID and the container.
    async fn invocation(
        &self,
        signer: &Ed25519Signer,
        subject: &Did,
        command: &str,
        args: BTreeMap<String, Ipld>,
        proofs: &[Signed<Delegation>],
    ) -> Result<(Cid, String), ClientError> {
        let node = self.node_did().await?.clone();
        let invocation: Signed<Invocation> =
            InvocationBuilder::new(signer, subject.clone(), command.parse()?)
                .audience(node)
                .args(args)
                .proofs(proofs.iter().map(|p| p.cid).collect())
                .expiration(now() + INVOCATION_TTL_SECS)
                .sign()?;
        let mut tokens = vec![invocation.bytes];
        tokens.extend(proofs.iter().map(|p| p.bytes.clone()));
        Ok((invocation.cid, Container::new(tokens).to_header()))
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, header: &str) -> Result<T, ClientError> {
        self.send(self.http.post(self.url_of(path)).bearer_auth(header))
            .await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|err| ClientError::Unreachable {
                url: self.base.clone(),
                message: without_url(err),
            })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| ClientError::InvalidResponse(err.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|err| ClientError::InvalidResponse(err.to_string()));
        }
        Err(match serde_json::from_slice::<Problem>(&bytes) {
            Ok(problem) => ClientError::Node {
                status: status.as_u16(),
                code: problem.code,
                detail: problem.detail,
            },
            Err(_) => ClientError::Node {
                status: status.as_u16(),
                // Not from the node itself (a proxy, say): no code of ours.
                code: ErrorCode::Other("http_error".to_owned()),
                detail: status.canonical_reason().map(str::to_owned),
            },
        })
    }

    fn url_of(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn network_args(network: &str) -> BTreeMap<String, Ipld> {
    BTreeMap::from([("network".to_owned(), Ipld::String(network.to_owned()))])
}

/// The transport error and its causes, without repeating the URL.
fn without_url(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
