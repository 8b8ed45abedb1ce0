//! `encnet delegate` and `encnet revoke-delegation`. A delegation file holds
//! the new delegation and the chain it extends (see `client`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use encnet_client::delegate::{delegate, Grant};
use encnet_core::api::command;
use encnet_core::InlineEnvelope;
use encnet_ucan::Did;

use crate::cmd::client::{
    block_on, chain_text, client, now, parse_duration, read_chain, read_input, write_output, Input,
    KeyArg,
};
use crate::cmd::network::owner_of;
use crate::error::CliError;

/// Flags of `encnet delegate`.
#[derive(Debug, Args)]
pub(crate) struct DelegateArgs {
    #[command(flatten)]
    key: KeyArg,
    /// The DID receiving the right.
    #[arg(long, value_name = "DID")]
    to: String,
    /// The network the right is limited to.
    #[arg(long, value_name = "NETWORK_ID")]
    network: String,
    /// What to delegate: decrypt, rotate, retire, revoke, audit, network
    /// (every delegable administrative command), or a UCAN command path such
    /// as /encryption/decrypt. Restore and destroy are the owner's alone.
    #[arg(long, value_name = "COMMAND", default_value = "decrypt")]
    command: String,
    /// Lifetime: a number and a unit, s, m, h, d or w (e.g. 90m, 24h, 7d).
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    expires: String,
    /// Only these envelopes (files; decrypt only): limits the delegation to
    /// their key hashes.
    #[arg(long, value_name = "ENVELOPE", num_args = 1..)]
    only: Vec<PathBuf>,
    /// A delegation file the issuer holds, to re-delegate from.
    #[arg(long, value_name = "FILE")]
    proof: Option<PathBuf>,
    /// Delegation file to write [default: standard output].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Flags of `encnet revoke-delegation`.
#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    key: KeyArg,
    /// Delegation file: its last delegation is revoked; the ones above it
    /// are the path from the owner [`-`: standard input].
    delegation_file: PathBuf,
}

pub(crate) fn run(args: DelegateArgs) -> Result<ExitCode, CliError> {
    let signer = args.key.load()?;
    let audience: Did = args
        .to
        .parse()
        .map_err(|e| CliError::Usage(format!("--to: {e}")))?;
    let owner = owner_of(&args.network)?;
    let cmd = command_path(&args.command)?;
    if !args.only.is_empty() && cmd != command::DECRYPT {
        return Err(CliError::Usage(
            "--only limits decrypt delegations; drop it or use --command decrypt".into(),
        ));
    }
    let only = args
        .only
        .iter()
        .map(|path| {
            let envelope = InlineEnvelope::from_json(&read_input(Some(path), Input::Envelope)?)
                .map_err(|e| {
                    CliError::Usage(format!("{}: not an encnet envelope: {e}", path.display()))
                })?;
            if envelope.network_id.to_string() != args.network {
                return Err(CliError::Usage(format!(
                    "{}: the envelope belongs to another network ({})",
                    path.display(),
                    envelope.network_id
                )));
            }
            Ok(envelope)
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let mut chain = match &args.proof {
        Some(path) => read_chain(path)?,
        None => Vec::new(),
    };
    if let (Some(path), Some(leaf)) = (&args.proof, chain.last()) {
        if !leaf.payload.aud.same_principal(&signer.did()) {
            return Err(CliError::Usage(format!(
                "{}: delegates to {}, not to this identity ({})",
                path.display(),
                leaf.payload.aud,
                signer.did()
            )));
        }
    }
    let grant = Grant {
        owner: &owner,
        network: &args.network,
        command: &cmd,
        expires_at: now().saturating_add(expires_in(&args.expires)?),
        only: &only,
    };
    chain.push(delegate(&signer, &audience, &grant)?);
    write_output(args.out.as_deref(), chain_text(&chain).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn revoke(args: RevokeArgs, node: &str) -> Result<ExitCode, CliError> {
    let client = client(node)?;
    let signer = args.key.load()?;
    let mut path = read_chain(&args.delegation_file)?;
    let target = path.pop().ok_or_else(|| {
        CliError::Usage(format!(
            "{}: holds no delegation",
            args.delegation_file.display()
        ))
    })?;
    let receipt = block_on(client.revoke_delegation(&signer, &target, &path))??;
    println!("revoked {}", receipt.revoked);
    Ok(ExitCode::SUCCESS)
}

/// The UCAN command for a short name, or the path itself.
fn command_path(name: &str) -> Result<String, CliError> {
    let path = match name {
        "decrypt" => command::DECRYPT,
        "rotate" => command::NETWORK_ROTATE,
        "retire" => command::NETWORK_RETIRE,
        "revoke" => command::NETWORK_REVOKE,
        "restore" | "destroy" => {
            return Err(CliError::Usage(format!(
                "--command {name}: only the network owner may {name}, so it cannot be delegated"
            )))
        }
        "audit" => command::AUDIT_READ,
        "network" => command::NETWORK,
        path if path.starts_with('/') => path,
        other => {
            return Err(CliError::Usage(format!(
                "--command {other:?}: not a command name or a path starting with /"
            )))
        }
    };
    Ok(path.to_owned())
}

/// `--expires` (`90m`, `24h`, `7d`, …) in seconds.
fn expires_in(text: &str) -> Result<i64, CliError> {
    let duration =
        parse_duration(text).map_err(|err| CliError::Usage(format!("--expires {err}")))?;
    i64::try_from(duration.as_secs())
        .ok()
        .filter(|secs| *secs > 0)
        .ok_or_else(|| CliError::Usage(format!("--expires {text:?}: out of range")))
}
