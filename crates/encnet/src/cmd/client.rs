//! What the client commands share: the node to talk to, identity and
//! delegation files, and standard input/output defaults.
//!
//! Identity file (`encnet id new`): text, mode 0600, comment lines starting
//! with `#` (the DID, for people) and one key line
//! `ENCNET-ED25519-SECRET-KEY-1 <standard base64 of the 32-byte seed>`.
//! Delegation file (`encnet delegate`): a UCAN container in form `B` (as in
//! an `Authorization` header) holding the delegation and the chain above it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use clap::Args;
use encnet_client::delegate::chain_from_tokens;
use encnet_client::Client;
use encnet_core::Zeroizing;
use encnet_ucan::{Container, Delegation, Ed25519Signer, Signed};

use crate::error::CliError;

/// The key line's label in an identity file.
pub(crate) const KEY_LABEL: &str = "ENCNET-ED25519-SECRET-KEY-1";

/// Most tokens read from one delegation file.
const MAX_TOKENS: usize = 16;

/// What an input file holds, and so the most of it that is read into memory.
/// An input over its limit is refused whole, never cut.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input {
    /// A plaintext to put in one inline envelope.
    Plaintext,
    /// An inline envelope (JSON, the plaintext in base64).
    Envelope,
    /// An identity or delegation file.
    Small,
}

impl Input {
    /// The most plaintext one inline envelope holds: 64 MiB.
    pub(crate) const MAX_PLAINTEXT: u64 = 64 << 20;

    /// The limit in bytes.
    pub(crate) const fn limit(self) -> u64 {
        match self {
            Self::Plaintext => Self::MAX_PLAINTEXT,
            // The base64 of the largest plaintext and 1 MiB for the JSON around it.
            Self::Envelope => Self::MAX_PLAINTEXT.div_ceil(3) * 4 + (1 << 20),
            Self::Small => 1 << 20,
        }
    }

    fn too_large(self, path: &Path) -> CliError {
        let limit = self.limit();
        let what = match self {
            Self::Plaintext => format!(
                "larger than {} MiB, the most one inline envelope holds; nothing was written \
                 (streaming envelopes for larger inputs are not built yet: split the input)",
                limit >> 20
            ),
            Self::Envelope => format!(
                "larger than {} bytes, the largest inline envelope; not read",
                limit
            ),
            Self::Small => format!("larger than {} bytes; not an encnet file", limit),
        };
        CliError::Usage(format!("{}: {what}", display_name(path)))
    }
}

/// `--key FILE`: the identity that signs.
#[derive(Debug, Args)]
pub(crate) struct KeyArg {
    /// Identity file written by `encnet id new` [env: ENCNET_KEY].
    #[arg(long, value_name = "FILE", env = "ENCNET_KEY")]
    pub(crate) key: PathBuf,
}

impl KeyArg {
    pub(crate) fn load(&self) -> Result<Ed25519Signer, CliError> {
        load_identity(&self.key)
    }
}

/// `--proof FILE…`: delegation files proving authority of a non-owner.
#[derive(Debug, Args)]
pub(crate) struct ProofArg {
    /// Delegation file from `encnet delegate` (repeatable; the first chain
    /// that fits the request is used).
    #[arg(long = "proof", value_name = "FILE")]
    pub(crate) proofs: Vec<PathBuf>,
}

impl ProofArg {
    /// Each file's chain, root first.
    pub(crate) fn load(&self) -> Result<Vec<Vec<Signed<Delegation>>>, CliError> {
        self.proofs.iter().map(|p| read_chain(p)).collect()
    }
}

/// A client of `--node` (checked to be an http(s) URL).
pub(crate) fn client(node: &str) -> Result<Client, CliError> {
    if !(node.starts_with("http://") || node.starts_with("https://")) {
        return Err(CliError::Usage(format!(
            "--node {node:?} is not an http:// or https:// URL"
        )));
    }
    Ok(Client::new(node))
}

/// Runs a client future on a small runtime.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    Ok(runtime.block_on(future))
}

/// The identity text written to a file: the DID as a comment, then the key.
pub(crate) fn identity_text(signer: &Ed25519Signer) -> Zeroizing<String> {
    let seed = signer.to_seed();
    Zeroizing::new(format!(
        "# encnet identity (Ed25519); keep this file secret\n# did: {}\n{KEY_LABEL} {}\n",
        signer.did(),
        BASE64.encode(seed.as_slice()),
    ))
}

/// Reads an identity file (`-` is standard input). A file that group or
/// others may read is refused.
pub(crate) fn load_identity(path: &Path) -> Result<Ed25519Signer, CliError> {
    if !is_stdin(path) {
        check_private(path)?;
    }
    let text = Zeroizing::new(read_text(path)?);
    parse_identity(&text).map_err(|reason| {
        CliError::Usage(format!(
            "{}: not an encnet identity file: {reason}",
            path.display()
        ))
    })
}

fn parse_identity(text: &str) -> Result<Ed25519Signer, &'static str> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let line = lines.next().ok_or("no key line")?;
    if lines.next().is_some() {
        return Err("more than one key line");
    }
    let encoded = line
        .strip_prefix(KEY_LABEL)
        .and_then(|rest| rest.strip_prefix(' '))
        .ok_or("the key line does not start with ENCNET-ED25519-SECRET-KEY-1")?;
    let seed = Zeroizing::new(
        BASE64
            .decode(encoded.trim())
            .map_err(|_| "the key is not base64")?,
    );
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| "the key is not 32 bytes")?;
    Ok(Ed25519Signer::from_seed(seed))
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| io_error(path, source))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(CliError::KeyExposed {
            path: path.display().to_string(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), CliError> {
    Ok(())
}

/// Writes a new file readable by its owner only; never overwrites.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|source| io_error(path, source))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|source| io_error(path, source))
}

/// Reads a delegation file into its chain, root first.
pub(crate) fn read_chain(path: &Path) -> Result<Vec<Signed<Delegation>>, CliError> {
    let text = read_text(path)?;
    let bad = |what: String| CliError::Usage(format!("{}: {what}", path.display()));
    let container = Container::from_header(&text, MAX_TOKENS)
        .map_err(|e| bad(format!("not a UCAN container ({e})")))?;
    chain_from_tokens(&container.tokens).map_err(|e| bad(e.to_string()))
}

/// The text of a delegation file for `chain`.
pub(crate) fn chain_text(chain: &[Signed<Delegation>]) -> String {
    let tokens = chain.iter().map(|d| d.bytes.clone()).collect();
    format!("{}\n", Container::new(tokens).to_header())
}

/// Reads `--in` (absent or `-`: standard input) whole, or fails when it is
/// larger than `kind` allows.
pub(crate) fn read_input(path: Option<&Path>, kind: Input) -> Result<Vec<u8>, CliError> {
    let path = path.unwrap_or(Path::new("-"));
    let mut bytes = Vec::new();
    // One byte past the limit tells "exactly the limit" from "more".
    let cap = kind.limit() + 1;
    let result = if is_stdin(path) {
        std::io::stdin().take(cap).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(cap).read_to_end(&mut bytes))
    };
    result.map_err(|source| io_error(path, source))?;
    if bytes.len() as u64 > kind.limit() {
        return Err(kind.too_large(path));
    }
    Ok(bytes)
}

/// A path as the user named it; `-` is standard input.
pub(crate) fn display_name(path: &Path) -> String {
    if is_stdin(path) {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

fn read_text(path: &Path) -> Result<String, CliError> {
    let bytes = read_input(Some(path), Input::Small)?;
    String::from_utf8(bytes)
        .map_err(|_| CliError::Usage(format!("{}: not UTF-8 text", path.display())))
}

/// Writes `--out` (absent or `-`: standard output). A new file is created
/// readable by its owner only (mode 0600): what the commands write —
/// plaintexts, delegations (bearer capabilities) — is secret. An existing
/// file is replaced in place and keeps its mode. Output meant to be shared
/// goes through [`write_public_output`].
pub(crate) fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<(), CliError> {
    write_output_with_mode(path, bytes, 0o600)
}

/// [`write_output`] for output meant to be shared, such as an envelope
/// (ciphertext only): a new file gets the usual mode, 0666 less the umask.
pub(crate) fn write_public_output(path: Option<&Path>, bytes: &[u8]) -> Result<(), CliError> {
    write_output_with_mode(path, bytes, 0o666)
}

/// Writes `bytes` to a file created with `mode` (less the umask) or
/// replaced in place, or to standard output.
#[cfg_attr(not(unix), allow(unused_variables))]
fn write_output_with_mode(path: Option<&Path>, bytes: &[u8], mode: u32) -> Result<(), CliError> {
    match path {
        Some(path) if !is_stdin(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
            options
                .open(path)
                .and_then(|mut file| file.write_all(bytes))
                .map_err(|source| io_error(path, source))
        }
        _ => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .map_err(|source| io_error(Path::new("standard output"), source))
        }
    }
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> CliError {
    CliError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The current time in Unix seconds.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Parses a whole number of ms, s, m, h, d or w (`30s`, `24h`, `7d`).
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    match parse_duration_or_zero(text)? {
        zero if zero.is_zero() => Err(format!("{text:?}: must be more than zero")),
        duration => Ok(duration),
    }
}

/// As [`parse_duration`], zero allowed (`0s` turns a phase off).
pub(crate) fn parse_duration_or_zero(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{text:?}: expected a whole number and ms, s, m, h, d or w");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let millis_per_unit = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(bad()),
    };
    number
        .checked_mul(millis_per_unit)
        .map(std::time::Duration::from_millis)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{parse_duration, parse_duration_or_zero};

    #[test]
    fn durations_parse_whole_units_only() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(1_209_600)));
        for bad in [
            "",
            "s",
            "30",
            "0s",
            "1.5h",
            "-1m",
            "3y",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_duration_or_zero("0s"), Ok(Duration::ZERO));
        for bad in ["", "0", "0x", "-1s"] {
            assert!(parse_duration_or_zero(bad).is_err(), "{bad:?}");
        }
    }
}
