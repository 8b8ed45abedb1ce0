//! `encnet decrypt`: one capability-gated request with a fresh receiver key,
//! nonce and a 120 s `exp`; the node's signed answer and every echoed
//! binding are verified before anything is opened.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use encnet_client::decrypt::DecryptRequest;
use encnet_client::delegate::chain_fits;
use encnet_core::InlineEnvelope;
use encnet_ucan::{Command, Did, Ipld};

use crate::cmd::client::{
    block_on, client, display_name, now, read_input, write_output, Input, KeyArg, ProofArg,
};
use crate::error::CliError;

/// Flags of `encnet decrypt`.
#[derive(Debug, Args)]
pub(crate) struct DecryptArgs {
    #[command(flatten)]
    key: KeyArg,
    #[command(flatten)]
    proofs: ProofArg,
    /// Envelope file (JSON) [default: standard input].
    #[arg(long = "in", value_name = "FILE")]
    input: Option<PathBuf>,
    /// Plaintext file [default: standard output].
    #[arg(long = "out", value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(crate) fn run(args: DecryptArgs, node: &str) -> Result<ExitCode, CliError> {
    let client = client(node)?;
    let signer = args.key.load()?;
    let chains = args.proofs.load()?;
    let source = args.input.as_deref();
    let envelope =
        InlineEnvelope::from_json(&read_input(source, Input::Envelope)?).map_err(|e| {
            let name = display_name(source.unwrap_or(std::path::Path::new("-")));
            CliError::Usage(format!("{name}: not an encnet envelope: {e}"))
        })?;
    let request = DecryptRequest::new(&envelope)?;
    let owner: Did = envelope
        .network_id
        .owner_did()
        .parse()
        .map_err(|e| CliError::Usage(format!("the envelope's owner: {e}")))?;
    // The node decides; a chain that fits locally is only the better guess.
    let command: Command = encnet_core::api::command::DECRYPT
        .parse()
        .map_err(|e| CliError::Usage(format!("{e}")))?;
    let call_args = Ipld::Map(request.args().clone());
    let holder = signer.did();
    let chain = chains
        .iter()
        .find(|c| chain_fits(c, &holder, &owner, &command, &call_args, now()))
        .or(chains.first())
        .cloned()
        .unwrap_or_default();
    let exchange = block_on(client.request_decrypt(&signer, &envelope, request, &chain))??;
    let plaintext = exchange.open(&envelope)?;
    write_output(args.output.as_deref(), &plaintext)?;
    Ok(ExitCode::SUCCESS)
}
