//! `encnet network create|show|rotate|retire|revoke|restore|destroy|attest`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use encnet_client::{AdminCommand, Client};
use encnet_core::api::NetworkDescriptor;
use encnet_ucan::{Delegation, Did, Signed};

use crate::cmd::client::{block_on, client, KeyArg, ProofArg};
use crate::error::CliError;

/// Network commands.
#[derive(Debug, Subcommand)]
pub(crate) enum NetworkCommand {
    /// Create a one-of-one network owned by the identity; prints its id.
    Create {
        #[command(flatten)]
        key: KeyArg,
        /// The network's name: 1-64 of [A-Za-z0-9._-].
        #[arg(long)]
        name: String,
        /// Envelope suite (node default: v2).
        #[arg(long, value_parser = ["v1", "v2"])]
        alg: Option<String>,
    },
    /// Print a network's descriptor as JSON, by id or discovered by owner
    /// and name through `.well-known`.
    Show {
        #[command(flatten)]
        network: NetworkRef,
    },
    /// New key version; older versions keep decrypting until retired.
    Rotate(AdminArgs),
    /// Stop decrypting key versions below --min-version.
    Retire {
        #[command(flatten)]
        admin: AdminArgs,
        /// The oldest key version that still decrypts.
        #[arg(long, value_name = "N")]
        min_version: u64,
    },
    /// Deny every decrypt until restored.
    Revoke(AdminArgs),
    /// Undo a revoke.
    Restore(AdminArgs),
    /// Shred the network's keys: its envelopes become unreadable for ever.
    Destroy(AdminArgs),
    /// Sign, as the owner, the newest key version (create and an owner's
    /// rotate do this themselves; needed after a delegate's rotate).
    Attest {
        #[command(flatten)]
        key: KeyArg,
        /// The network id.
        network_id: String,
    },
}

/// A network named by id, or by owner and name (discovery).
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub(crate) struct NetworkRef {
    /// The network id (urn:tinycloud:encryption:<ownerDid>:<name>).
    #[arg(conflicts_with_all = ["owner", "name"])]
    network_id: Option<String>,
    /// Discover the network of this owner DID (with --name).
    #[arg(long, value_name = "DID", requires = "name")]
    owner: Option<String>,
    /// Discover the network with this name (with --owner).
    #[arg(long, requires = "owner")]
    name: Option<String>,
}

impl NetworkRef {
    async fn descriptor(&self, client: &Client) -> Result<NetworkDescriptor, CliError> {
        let (id, owner, name) = (&self.network_id, &self.owner, &self.name);
        find(client, id.as_deref(), owner.as_deref(), name.as_deref()).await
    }
}

/// A network's descriptor by id, or by owner and name (discovered first).
pub(crate) async fn find(
    client: &Client,
    id: Option<&str>,
    owner: Option<&str>,
    name: Option<&str>,
) -> Result<NetworkDescriptor, CliError> {
    let id = match (id, owner, name) {
        (Some(id), _, _) => id.to_owned(),
        (None, Some(owner), Some(name)) => {
            let owner: Did = owner
                .parse()
                .map_err(|e| CliError::Usage(format!("--owner: {e}")))?;
            client.discover(&owner, name).await?.network_id
        }
        _ => {
            return Err(CliError::Usage(
                "name a network: by its id, or by --owner DID and --name NAME".into(),
            ))
        }
    };
    Ok(client.network(&id).await?)
}

/// `--key FILE [--proof FILE…] NETWORK_ID`.
#[derive(Debug, Args)]
pub(crate) struct AdminArgs {
    #[command(flatten)]
    key: KeyArg,
    #[command(flatten)]
    proofs: ProofArg,
    /// The network id.
    network_id: String,
}

pub(crate) fn run(cmd: NetworkCommand, node: &str) -> Result<ExitCode, CliError> {
    let client = client(node)?;
    let descriptor = match cmd {
        NetworkCommand::Create { key, name, alg } => {
            let signer = key.load()?;
            let created = block_on(client.create_network(&signer, &name, alg.as_deref()))??;
            println!("{}", created.network_id);
            return Ok(ExitCode::SUCCESS);
        }
        NetworkCommand::Show { network } => block_on(network.descriptor(&client))??,
        NetworkCommand::Rotate(a) => admin(&client, a, AdminCommand::Rotate)?,
        NetworkCommand::Retire {
            admin: a,
            min_version,
        } => admin(&client, a, AdminCommand::Retire(min_version))?,
        NetworkCommand::Revoke(a) => admin(&client, a, AdminCommand::Revoke)?,
        NetworkCommand::Restore(a) => admin(&client, a, AdminCommand::Restore)?,
        NetworkCommand::Destroy(a) => admin(&client, a, AdminCommand::Destroy)?,
        NetworkCommand::Attest { key, network_id } => {
            let signer = key.load()?;
            let owner = owner_of(&network_id)?;
            if !signer.did().same_principal(&owner) {
                return Err(CliError::Usage(format!(
                    "only the network's owner ({owner}) attests its keys; {} holds {}",
                    key.key.display(),
                    signer.did()
                )));
            }
            let descriptor = block_on(client.network(&network_id))??;
            block_on(client.attest_network(&signer, &descriptor))??
        }
    };
    println!("{}", shown(&descriptor)?);
    Ok(ExitCode::SUCCESS)
}

/// The descriptor as pretty JSON, with `keyVersions`: whether the owner
/// attested each version, as this client checked it.
fn shown(descriptor: &NetworkDescriptor) -> Result<String, CliError> {
    let mut json = serde_json::to_value(descriptor).map_err(|e| CliError::Usage(e.to_string()))?;
    let versions: Vec<serde_json::Value> = encnet_client::attest::attested_versions(descriptor)
        .into_iter()
        .map(|(version, attested)| serde_json::json!({"keyVersion": version, "attested": attested}))
        .collect();
    if let Some(object) = json.as_object_mut() {
        object.insert("keyVersions".to_owned(), serde_json::Value::Array(versions));
    }
    serde_json::to_string_pretty(&json).map_err(|e| CliError::Usage(e.to_string()))
}

fn admin(
    client: &Client,
    args: AdminArgs,
    command: AdminCommand,
) -> Result<NetworkDescriptor, CliError> {
    let signer = args.key.load()?;
    let owner = owner_of(&args.network_id)?;
    let chain = first_chain(args.proofs.load()?);
    Ok(block_on(client.admin(
        &signer,
        &owner,
        &args.network_id,
        command,
        &chain,
    ))??)
}

/// The owner DID embedded in a network id.
pub(crate) fn owner_of(network_id: &str) -> Result<Did, CliError> {
    let id: encnet_core::NetworkId = network_id
        .parse()
        .map_err(|e| CliError::Usage(format!("{network_id:?} is not a network id: {e}")))?;
    id.owner_did()
        .parse()
        .map_err(|e| CliError::Usage(format!("the owner of {network_id}: {e}")))
}

/// Administrative commands take the first chain given.
pub(crate) fn first_chain(chains: Vec<Vec<Signed<Delegation>>>) -> Vec<Signed<Delegation>> {
    chains.into_iter().next().unwrap_or_default()
}
