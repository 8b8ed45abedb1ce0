//! Cryptographic core of encnet: pure, synchronous, no I/O beyond reading and
//! writing the root key file.
//!
//! Where to start:
//! - A node loads its [`RootKey`] ([`RootKey::load_or_create`] or
//!   [`RootKey::from_env`]) and derives a [`ColumnEncryption`] per purpose
//!   ([`RootKey::network_seal`], [`RootKey::column`]) to seal database cells.
//! - Encryption networks use a [`Suite`]: a client builds an
//!   [`InlineEnvelope::seal`] to a network [`PublicKey`]; the node
//!   [`Suite::rewrap`]s the [`DataKey`] to a requester's receiver key.
//! - [`NetworkId`] parses `urn:tinycloud:encryption:<ownerDid>:<name>`;
//!   [`canonical`] provides RFC 8785 JSON and SHA-256 helpers.
//!
//! Every secret type zeroizes on drop and prints no secret in `Debug`.
#![forbid(unsafe_code)]
#![deny(missing_docs, clippy::unwrap_used)]

mod aead;
pub mod api;
pub mod attestation;
pub mod audit;
pub mod canonical;
pub mod column;
pub mod envelope;
pub mod error;
pub mod network_id;
pub mod root_key;
pub mod suite;

pub use column::{column_aad, is_sealed, ColumnEncryption, LegacyPlaintext};
pub use envelope::{key_hash, InlineEnvelope};
pub use error::{
    CanonicalError, ColumnError, EnvelopeError, NetworkIdError, RootKeyError, SuiteError,
};
pub use network_id::NetworkId;
pub use root_key::RootKey;
pub use suite::{DataKey, PublicKey, SecretKey, Suite, WrapContext};
pub use zeroize::Zeroizing;
