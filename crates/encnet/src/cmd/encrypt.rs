//! `encnet encrypt`: fetch the network's descriptor, encrypt locally with
//! its suite, write an InlineEnvelope as JSON. The plaintext never leaves
//! the process.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use encnet_core::api::NetworkState;
use encnet_core::suite::Suite;

use crate::cmd::client::{block_on, client, read_input, write_public_output, Input};
use crate::cmd::network::find;
use crate::error::CliError;

/// Flags of `encnet encrypt`.
#[derive(Debug, Args)]
pub(crate) struct EncryptArgs {
    /// The network id to encrypt to.
    #[arg(long, value_name = "NETWORK_ID", required_unless_present = "owner")]
    network: Option<String>,
    /// Or discover the network by its owner's DID (with --name).
    #[arg(
        long,
        value_name = "DID",
        requires = "name",
        conflicts_with = "network"
    )]
    owner: Option<String>,
    /// The network's name (with --owner).
    #[arg(long, requires = "owner")]
    name: Option<String>,
    /// Additional authenticated data, kept in the envelope and bound to the
    /// ciphertext (v2 networks only: v1 cannot bind it, so it is refused).
    #[arg(long, value_name = "TEXT")]
    aad: Option<String>,
    /// Plaintext file [default: standard input].
    #[arg(long = "in", value_name = "FILE")]
    input: Option<PathBuf>,
    /// Envelope file [default: standard output].
    #[arg(long = "out", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Encrypt even if the owner has not attested the key (networks made
    /// before attestations): the key is then only as trustworthy as the node.
    #[arg(long)]
    allow_unattested: bool,
}

/// Says loudly what `--allow-unattested` skips, unless the key is attested.
fn warn_unattested(descriptor: &encnet_core::api::NetworkDescriptor) {
    if let Err(err) = encnet_client::attest::verify(descriptor) {
        eprintln!(
            "warning: --allow-unattested: encrypting to a key its owner has not attested ({err}); \
             a node or proxy that swapped it could read this"
        );
    }
}

pub(crate) fn run(args: EncryptArgs, node: &str) -> Result<ExitCode, CliError> {
    // Read first: an input too large for an envelope fails before any call.
    let plaintext =
        encnet_core::Zeroizing::new(read_input(args.input.as_deref(), Input::Plaintext)?);
    let client = client(node)?;
    let lookup = find(
        &client,
        args.network.as_deref(),
        args.owner.as_deref(),
        args.name.as_deref(),
    );
    let descriptor = block_on(lookup)??;
    if !matches!(
        descriptor.state,
        NetworkState::Active | NetworkState::Rotating
    ) {
        return Err(CliError::Usage(format!(
            "network {} is {}: nothing encrypted to it could be decrypted",
            descriptor.network_id,
            descriptor.state.as_str()
        )));
    }
    // v1 (TinyCloud's format) carries `aad` in the envelope without
    // authenticating it: refuse rather than suggest a binding that is not.
    if args.aad.is_some() && descriptor.alg.parse::<Suite>().ok() == Some(Suite::V1) {
        return Err(CliError::Usage(format!(
            "network {} uses {}, which cannot bind AAD (it would travel in the envelope \
             unauthenticated); nothing was written: use a v2 network (network create --alg v2) \
             for --aad",
            descriptor.network_id, descriptor.alg
        )));
    }
    let aad = args.aad.as_deref().map(str::as_bytes);
    let envelope = if args.allow_unattested {
        warn_unattested(&descriptor);
        encnet_client::encrypt_unattested(&descriptor, &plaintext, aad)?
    } else {
        encnet_client::encrypt(&descriptor, &plaintext, aad)?
    };
    let mut json = envelope
        .to_json()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    json.push(b'\n');
    write_public_output(args.output.as_deref(), &json)?;
    Ok(ExitCode::SUCCESS)
}
