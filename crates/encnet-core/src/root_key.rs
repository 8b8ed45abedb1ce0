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

    /// Reads `ENCNET_ROOT_KEY`; `Ok(None)` when it is not set. The variable
    /// stays set: a node uses [`take_from_env`](Self::take_from_env).
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

    /// Reads `ENCNET_ROOT_KEY` like [`from_env`](Self::from_env), then removes
    /// it from this process's environment (valid or not), so no child
    /// process inherits it and no later code reads it.
    ///
    /// Call it at start-up, before other threads read the environment:
    /// `std::env::remove_var` is safe to call in edition 2021, but C code
    /// reading the environment meanwhile (`getenv`) is not synchronised with
    /// it. The kernel keeps the environment the process started with, so
    /// `/proc/<pid>/environ` still shows the variable to the same user and
    /// to root; a `root.key` file avoids that.
    pub fn take_from_env() -> Result<Option<Self>, RootKeyError> {
        let read = Self::from_env();
        if std::env::var_os(ENV_ROOT_KEY).is_some() {
            std::env::remove_var(ENV_ROOT_KEY);
        }
        read
    }

    /// Loads the raw 32-byte key file at `path`. Refused: a symbolic link
    /// (never followed: the file is opened with `O_NOFOLLOW`), anything but
    /// a regular file, a file owned by another user than this process's
    /// effective one, and a file its group or other users may access.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, RootKeyError> {
        let path = path.as_ref();
        let mut file = open_private(path)?;
        // Read one byte more than needed so an over-long file is detected.
        let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_LEN + 1));
        Read::by_ref(&mut file)
            .take(KEY_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| RootKeyError::Io {
                path: path.to_owned(),
                source,
            })?;
        Self::from_slice(&bytes)
    }

    /// Generates a key and writes it to a new file at `path` with mode 0600,
    /// then syncs the file and the directory holding it, so that the key and
    /// its name survive a crash; fails if the file exists.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, RootKeyError> {
        let path = path.as_ref();
        let key = Self::generate();
        key.write_new(path)?;
        sync_parent(path)?;
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

    /// [`load_or_create`](Self::load_or_create), except that when the key
    /// file is missing while one of `sealed_data` exists (a database whose
    /// values are sealed under a root key), nothing is created and the
    /// answer is [`RootKeyError::MissingWithData`]: a new key would leave
    /// every sealed value unreadable, so the key must be restored instead.
    pub fn load_or_create_guarded(
        path: impl AsRef<Path>,
        sealed_data: &[&Path],
    ) -> Result<(Self, bool), RootKeyError> {
        let path = path.as_ref();
        if exists(path)?.is_none() {
            for data in sealed_data {
                if exists(data)?.is_some() {
                    return Err(RootKeyError::MissingWithData {
                        key: path.to_owned(),
                        data: data.to_path_buf(),
                    });
                }
            }
        }
        Self::load_or_create(path)
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
        })?;
        sync_parent(path)
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

    /// Writes the key to a new file (mode 0600) and syncs it; a file left
    /// incomplete by a failed write is removed.
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
        let written = file.write_all(&self.0).and_then(|()| file.sync_all());
        if let Err(source) = written {
            drop(file);
            let _ = fs::remove_file(path);
            return Err(io_err(source));
        }
        Ok(())
    }
}

/// The metadata of `path` itself (a link is not followed), or `None` when
/// nothing is there.
fn exists(path: &Path) -> Result<Option<fs::Metadata>, RootKeyError> {
    match fs::symlink_metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(source) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RootKeyError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Syncs the directory holding `path`, so a name just created or renamed
/// there survives a crash.
fn sync_parent(path: &Path) -> Result<(), RootKeyError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    sync_dir(dir).map_err(|source| RootKeyError::SyncDir {
        dir: dir.to_owned(),
        source,
    })
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Elsewhere a directory cannot be opened as a file; its entries are
/// written through by the file system.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Opens the key file for reading after checking what it is: the path must
/// name a regular file (a symbolic link is refused, and `O_NOFOLLOW` keeps
/// one swapped in meanwhile from being followed), the file opened must be
/// the one checked, owned by this process's effective user, and private.
#[cfg(unix)]
fn open_private(path: &Path) -> Result<fs::File, RootKeyError> {
    use rustix::fs::OFlags;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

    let io_err = |source| RootKeyError::Io {
        path: path.to_owned(),
        source,
    };
    let symlink = || RootKeyError::Symlink {
        path: path.to_owned(),
    };
    let not_regular = || RootKeyError::NotRegularFile {
        path: path.to_owned(),
    };
    let checked = fs::symlink_metadata(path).map_err(io_err)?;
    if checked.file_type().is_symlink() {
        return Err(symlink());
    }
    if !checked.is_file() {
        return Err(not_regular());
    }
    // NONBLOCK: a FIFO swapped in after the check cannot hang the open.
    // The flags are C `int` bits; the cast only changes the type.
    let flags = (OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|source| match source.raw_os_error() {
            Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => symlink(),
            _ => io_err(source),
        })?;
    let opened = file.metadata().map_err(io_err)?;
    if (opened.dev(), opened.ino()) != (checked.dev(), checked.ino()) {
        return Err(RootKeyError::Replaced {
            path: path.to_owned(),
        });
    }
    if !opened.is_file() {
        return Err(not_regular());
    }
    let euid = rustix::process::geteuid().as_raw();
    if opened.uid() != euid {
        return Err(RootKeyError::WrongOwner {
            path: path.to_owned(),
            owner: opened.uid(),
            euid,
        });
    }
    check_private(path, &opened)?;
    Ok(file)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> Result<fs::File, RootKeyError> {
    let file = fs::File::open(path).map_err(|source| RootKeyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let metadata = file.metadata().map_err(|source| RootKeyError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !metadata.is_file() {
        return Err(RootKeyError::NotRegularFile {
            path: path.to_owned(),
        });
    }
    Ok(file)
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
