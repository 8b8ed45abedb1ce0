//! The node root secret (DESIGN §2) and the subkeys derived from it.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use base64::{engine::general_purpose::STANDARD, Engine};
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::column::{ColumnEncryption, LegacyPlaintext};
use crate::error::RootKeyError;

/// Context for the `ColumnEncryption` of network private keys and key shares.
pub const CONTEXT_NETWORK_SEAL: &str = "encnet 2026-11 network seal v1";
/// Context for the `ColumnEncryption` of other sensitive columns.
pub const CONTEXT_COLUMN: &str = "encnet 2026-11 column v1";
/// Context for the seed of the node's Ed25519 signing key.
pub const CONTEXT_NODE_IDENTITY: &str = "encnet 2026-11 node identity v1";
/// Environment variable holding a base64 root key.
pub const ENV_ROOT_KEY: &str = "ENCNET_ROOT_KEY";

const KEY_LEN: usize = 32;

/// The node root secret: 32 random bytes, zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RootKey([u8; KEY_LEN]);

impl RootKey {
    /// A fresh random root key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A root key from its raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Decodes standard base64 (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, RootKeyError> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| RootKeyError::Base64)?,
        );
        Self::from_slice(&bytes)
    }

    /// Reads `ENCNET_ROOT_KEY`; `Ok(None)` when it is not set.
    pub fn from_env() -> Result<Option<Self>, RootKeyError> {
        match std::env::var(ENV_ROOT_KEY) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                Self::from_base64(&text).map(Some)
            }
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(RootKeyError::EnvNotUnicode),
        }
    }

    /// Loads the raw 32-byte key file at `path`, refusing a file that its
    /// group or other users may access.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, RootKeyError> {
        let path = path.as_ref();
        let io_err = |source| RootKeyError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = fs::File::open(path).map_err(io_err)?;
        check_private(path, &file.metadata().map_err(io_err)?)?;
        // Read one byte more than needed so an over-long file is detected.
        let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_LEN + 1));
        Read::by_ref(&mut file)
            .take(KEY_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
        Self::from_slice(&bytes)
    }

    /// Generates a key and writes it to a new file at `path` with mode 0600;
    /// fails if the file exists.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, RootKeyError> {
        let path = path.as_ref();
        let key = Self::generate();
        key.write_new(path)?;
        Ok(key)
    }

    /// Loads `path`, or creates it when it does not exist; the flag says
    /// whether the key was created.
    pub fn load_or_create(path: impl AsRef<Path>) -> Result<(Self, bool), RootKeyError> {
        let path = path.as_ref();
        match Self::create(path) {
            Ok(key) => Ok((key, true)),
            Err(RootKeyError::Io { source, .. })
                if source.kind() == io::ErrorKind::AlreadyExists =>
            {
                Self::load(path).map(|key| (key, false))
            }
            Err(e) => Err(e),
        }
    }

    /// Writes this key to `path` (mode 0600), replacing any existing file
    /// atomically through a temporary file beside it; used by `encnet rekey`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), RootKeyError> {
        let path = path.as_ref();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = Path::new(&tmp);
        // A stale temporary file from a crash is ours to replace.
        let _ = fs::remove_file(tmp);
        self.write_new(tmp)?;
        fs::rename(tmp, path).map_err(|source| RootKeyError::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// Standard base64 of the key, for `ENCNET_ROOT_KEY`. Handle with care.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0))
    }

    /// A subkey: `blake3::derive_key(context, root)`.
    pub fn derive(&self, context: &str) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(blake3::derive_key(context, &self.0))
    }

    /// Column encryption for network private keys and threshold key shares.
    pub fn network_seal(&self, legacy: LegacyPlaintext) -> ColumnEncryption {
        ColumnEncryption::new(self.derive(CONTEXT_NETWORK_SEAL), legacy)
    }

    /// Column encryption for the other sensitive columns.
    pub fn column(&self, legacy: LegacyPlaintext) -> ColumnEncryption {
        ColumnEncryption::new(self.derive(CONTEXT_COLUMN), legacy)
    }

    /// Seed of the node's Ed25519 signing key (its `did:key` is the node DID).
    pub fn node_identity_seed(&self) -> Zeroizing<[u8; 32]> {
        self.derive(CONTEXT_NODE_IDENTITY)
    }

    fn from_slice(bytes: &[u8]) -> Result<Self, RootKeyError> {
        let key: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| RootKeyError::WrongLength { len: bytes.len() })?;
        Ok(Self(key))
    }

    fn write_new(&self, path: &Path) -> Result<(), RootKeyError> {
        let io_err = |source| RootKeyError::Io {
            path: path.to_owned(),
            source,
        };
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io_err)?;
        file.write_all(&self.0).map_err(io_err)?;
        file.sync_all().map_err(io_err)
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

#[cfg(unix)]
fn check_private(path: &Path, metadata: &fs::Metadata) -> Result<(), RootKeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(RootKeyError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &fs::Metadata) -> Result<(), RootKeyError> {
    Ok(())
}
