//! Error types, one `#[non_exhaustive]` enum per operation family.
//!
//! None of them knows about HTTP; the node maps them to status codes.

use std::path::PathBuf;

/// Loading, creating or decoding a [`RootKey`](crate::RootKey).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RootKeyError {
    /// The key file could not be read, created or written.
    #[error("root key file {}: {source}", .path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The key file can be read by its group or by other users.
    #[error(
        "root key file {path} is readable by group or others (mode {mode:03o}); run: chmod 600 {path}",
        path = .path.display()
    )]
    InsecurePermissions {
        /// The file concerned.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key is not exactly 32 bytes long.
    #[error("root key must be 32 bytes, got {len}")]
    WrongLength {
        /// The length found.
        len: usize,
    },
    /// The base64 text (e.g. `ENCNET_ROOT_KEY`) does not decode.
    #[error("root key is not valid base64")]
    Base64,
    /// `ENCNET_ROOT_KEY` is set but is not valid Unicode.
    #[error("ENCNET_ROOT_KEY is not valid Unicode")]
    EnvNotUnicode,
    /// The key file path is a symbolic link; it is never followed.
    #[error(
        "root key file {path} is a symbolic link; refusing to follow it (put the key file itself there)",
        path = .path.display()
    )]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// The key file path names a directory, device, FIFO or socket.
    #[error("root key file {} is not a regular file", .path.display())]
    NotRegularFile {
        /// The path concerned.
        path: PathBuf,
    },
    /// The key file belongs to another user, who could read or replace it.
    #[error(
        "root key file {path} is owned by uid {owner}, not by this process's user (uid {euid}); run: chown {euid} {path}",
        path = .path.display()
    )]
    WrongOwner {
        /// The file concerned.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The effective uid of this process.
        euid: u32,
    },
    /// The file opened is not the one checked a moment before: the path was
    /// replaced meanwhile.
    #[error("root key file {} was replaced while it was being opened", .path.display())]
    Replaced {
        /// The file concerned.
        path: PathBuf,
    },
    /// The directory of a new key file could not be synced, so the new name
    /// might not survive a crash.
    #[error("cannot sync directory {} after writing the root key: {source}", .dir.display())]
    SyncDir {
        /// The directory.
        dir: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The key file is missing but data sealed under a root key exists:
    /// a new key would leave every sealed value unreadable.
    #[error(
        "root key file {key} is missing but the database {data} exists, and its sealed keys open only \
         with the root key they were sealed under; restore {key} from your backup (or set ENCNET_ROOT_KEY) \
         rather than starting with a new key",
        key = .key.display(),
        data = .data.display()
    )]
    MissingWithData {
        /// Where the key file should be.
        key: PathBuf,
        /// The existing data that needs it.
        data: PathBuf,
    },
}

/// Opening a value sealed by [`ColumnEncryption`](crate::ColumnEncryption).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ColumnError {
    /// The value carries the sealed marker but is shorter than marker, nonce and tag.
    #[error("sealed value is too short ({len} bytes)")]
    TooShort {
        /// The length found.
        len: usize,
    },
    /// Authentication failed: wrong key, wrong AAD or modified bytes.
    #[error("sealed value failed authentication (tampered, wrong key or wrong AAD)")]
    Tampered,
    /// The value is legacy plaintext and `legacy_plaintext = "reject"`.
    #[error("legacy plaintext value rejected (at_rest.legacy_plaintext = \"reject\")")]
    LegacyPlaintextRejected,
    /// AES-256-GCM refused to seal the value (longer than 2^36 - 32 bytes).
    #[error("value too long to seal with AES-256-GCM")]
    SealFailed,
}

/// Parsing or building a [`NetworkId`](crate::NetworkId).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkIdError {
    /// The name segment is empty.
    #[error("network name is empty")]
    EmptyName,
    /// The name contains a character outside `[A-Za-z0-9._-]`.
    #[error("network name contains {ch:?}; allowed: A-Z a-z 0-9 . _ -")]
    InvalidNameChar {
        /// The first offending character.
        ch: char,
    },
    /// The owner DID is `did:key:` or `did:pkh:eip155:` but its identifier is malformed.
    #[error("owner DID {did:?} is malformed")]
    MalformedOwnerDid {
        /// The owner DID as given.
        did: String,
    },
    /// The owner DID is longer than [`MAX_OWNER_DID_LEN`](crate::network_id::MAX_OWNER_DID_LEN).
    #[error("owner DID is {len} bytes long; at most 256 are allowed")]
    OwnerDidTooLong {
        /// The length found.
        len: usize,
    },
    /// There is no `:` separating owner DID and name.
    #[error("network id has no owner DID")]
    MissingOwner,
    /// The string does not start with `urn:tinycloud:encryption:`.
    #[error("network id must start with \"urn:tinycloud:encryption:\"")]
    MissingPrefix,
    /// The name is longer than 64 characters.
    #[error("network name is {len} characters long; at most 64 are allowed")]
    NameTooLong {
        /// The length found.
        len: usize,
    },
    /// The owner DID is neither `did:key:` nor `did:pkh:eip155:`.
    #[error("owner DID must be did:key or did:pkh:eip155")]
    UnsupportedOwnerDid,
}

/// Key handling, wrapping and payload operations of the envelope suites.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SuiteError {
    /// Base64 text does not decode.
    #[error("{what} is not valid base64")]
    Base64 {
        /// What was being decoded.
        what: &'static str,
    },
    /// A v1 wrapped key does not carry the `0x01` marker after the ephemeral key.
    #[error("wrapped key has marker byte {found:#04x}, expected 0x01")]
    BadMarker {
        /// The byte found.
        found: u8,
    },
    /// An input has the wrong length.
    #[error("{what} must be {expected} bytes, got {actual}")]
    BadLength {
        /// What was being decoded.
        what: &'static str,
        /// The length required (the minimum for payloads).
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// A public key is of low order, so the X25519 output would be all zero.
    #[error("public key is a low-order point (all-zero X25519 output)")]
    LowOrderPoint,
    /// An ephemeral key is not canonical (`u ≥ 2^255 - 19` or bit 255 set).
    #[error("ephemeral public key is not canonical")]
    NonCanonicalPoint,
    /// A payload failed authentication (tampered, wrong data key or wrong AAD).
    #[error("payload failed authentication (tampered, wrong key or wrong AAD)")]
    PayloadTampered,
    /// The suite name is not one this crate knows.
    #[error("unknown suite {0:?}")]
    UnknownSuite(String),
    /// A wrapped key failed authentication (wrong secret key, context or bytes).
    #[error("wrapped key failed to unwrap (wrong key, wrong context or tampered)")]
    UnwrapFailed,
    /// AES-256-GCM refused to seal (a plaintext longer than 2^36 - 32 bytes).
    #[error("plaintext too long to seal with AES-256-GCM")]
    SealFailed,
}

/// Building, validating or opening an [`InlineEnvelope`](crate::InlineEnvelope).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// A base64 field does not decode.
    #[error("envelope field {field} is not valid base64")]
    Base64 {
        /// The JSON field name.
        field: &'static str,
    },
    /// Canonical JSON could not be produced.
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    /// `encryptedSymmetricKeyHash` does not match `encryptedSymmetricKey`.
    #[error("encryptedSymmetricKeyHash does not match encryptedSymmetricKey")]
    KeyHashMismatch,
    /// The JSON is malformed or misses a required field.
    #[error("envelope JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A suite operation failed (bad key length, tampered payload, …).
    #[error(transparent)]
    Suite(#[from] SuiteError),
    /// `v` is not 1.
    #[error("unsupported envelope version {0}")]
    UnsupportedVersion(u64),
}

/// Producing canonical (RFC 8785) JSON.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// The value cannot be serialized as JSON (e.g. a non-string map key).
    #[error("cannot serialize canonical JSON: {0}")]
    Serialize(#[from] serde_json::Error),
}
