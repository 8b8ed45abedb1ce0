//! `local-one-of-one`: this node holds the whole network key, sealed at rest
//! under the network-seal key with an AAD naming its row.

use encnet_core::column::ColumnEncryption;
use encnet_core::suite::{PublicKey, SecretKey, Suite, WrapContext};

use super::BackendError;
use crate::store::{NewKey, SealedKey};

/// One-of-one custody.
pub(crate) struct LocalBackend {
    seal: ColumnEncryption,
}

/// What one decrypt asks of custody.
pub(crate) struct Rewrap<'a> {
    pub(crate) network_id: &'a str,
    pub(crate) key_version: u64,
    pub(crate) suite: Suite,
    pub(crate) wrapped_key: &'a [u8],
    pub(crate) receiver: &'a PublicKey,
    /// Binary CID of the invocation; v2 binds it into the receiver wrap.
    pub(crate) invocation_cid: &'a [u8],
}

impl LocalBackend {
    pub(crate) fn new(seal: ColumnEncryption) -> Self {
        Self { seal }
    }

    /// A fresh key pair for `version`, the private half sealed.
    pub(crate) fn generate(&self, network_id: &str, version: u64) -> Result<NewKey, BackendError> {
        let secret = SecretKey::generate();
        let aad = sealed_key_aad(network_id, version);
        let sealed_private_key = self
            .seal
            .try_seal(secret.to_bytes().as_slice(), &aad)
            .map_err(|err| BackendError::Sealed(err.to_string()))?;
        Ok(NewKey {
            key_version: version,
            public_key: secret.public_key().to_bytes().to_vec(),
            sealed_private_key,
        })
    }

    /// Opens the sealed key, unwraps the data key and wraps it to the
    /// receiver. The data key and private key are zeroized on return.
    pub(crate) fn rewrap(
        &self,
        key: &SealedKey,
        req: &Rewrap<'_>,
    ) -> Result<Vec<u8>, BackendError> {
        let aad = sealed_key_aad(req.network_id, req.key_version);
        let opened = self
            .seal
            .open(&key.sealed_private_key, &aad)
            .map_err(|err| BackendError::Sealed(err.to_string()))?;
        let secret = SecretKey::from_bytes_with_public(opened.as_slice(), &key.public_key)
            .map_err(|err| BackendError::Sealed(err.to_string()))?;
        let network_ctx = WrapContext {
            network_id: req.network_id,
            key_version: req.key_version,
            invocation_cid: None,
        };
        let receiver_ctx = WrapContext {
            invocation_cid: Some(req.invocation_cid),
            ..network_ctx
        };
        Ok(req.suite.rewrap(
            req.wrapped_key,
            &secret,
            &network_ctx,
            req.receiver,
            &receiver_ctx,
        )?)
    }
}

/// AAD of a sealed private key: names the table, column, network and version,
/// so a sealed value copied into another row does not open.
fn sealed_key_aad(network_id: &str, version: u64) -> Vec<u8> {
    format!("network_keys.sealed_private_key|{network_id}|{version}").into_bytes()
}
