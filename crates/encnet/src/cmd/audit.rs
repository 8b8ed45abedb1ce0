//! `encnet audit show`: a network's entries through the node, every page to
//! the end, checked against the node's signed checkpoint with `--verify`;
//! `encnet audit verify`: offline check of a node's whole chain and its
//! stored checkpoints, optionally against an exported one (`--since`);
//! `encnet audit checkpoint`: export the latest stored checkpoint, offline.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use encnet_client::audit::{follow_log, verify_log, LogError, LogRead};
use encnet_client::Client;
use encnet_core::api::AuditRecord;
use encnet_core::audit::SignedCheckpoint;
use encnet_node::{AuditReport, CheckpointSigner, VerifyOptions};
use encnet_ucan::Did;

use crate::cmd::client::{
    block_on, client, read_input, write_public_output, Input, KeyArg, ProofArg,
};
use crate::cmd::network::{first_chain, owner_of};
use crate::error::CliError;

/// Audit log commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Print a network's audit entries (one JSON object a line) through the
    /// node, following every page to the end; --verify checks each entry's
    /// hash, the links between consecutive entries (across pages too), and
    /// that the log ends at the checkpoint the node signs at the last read.
    Show {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        proofs: ProofArg,
        /// The network id.
        network_id: String,
        /// Only entries after this sequence number.
        #[arg(long, value_name = "N", default_value_t = 0)]
        after: u64,
        /// Verify the entries served; a broken one is an error. Entries are
        /// printed as they verify, so a failure leaves those before it.
        #[arg(long)]
        verify: bool,
        /// The node DID the checkpoints must be signed by; default: the DID
        /// the node announces at /v1/info, which every invocation is
        /// addressed to. A node announcing another DID is refused.
        #[arg(long, value_name = "DID", requires = "verify")]
        node_did: Option<String>,
    },
    /// Recompute the hash chain of a node's database (offline), check every
    /// stored checkpoint, and name the first broken or missing entry.
    Verify {
        #[command(flatten)]
        database: DatabaseArgs,
        /// A checkpoint exported earlier (`encnet audit checkpoint`): prove
        /// the log still extends it.
        #[arg(long, value_name = "FILE")]
        since: Option<PathBuf>,
    },
    /// Export the latest stored checkpoint (offline) as JSON, after checking
    /// its signature and that the chain still has its hash; keep it
    /// somewhere the node cannot write, for `audit verify --since`.
    Checkpoint {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Output file (default: standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// Where an offline command finds the node's database.
#[derive(Debug, Args)]
pub(crate) struct DatabaseArgs {
    /// The node's data directory.
    #[arg(long, value_name = "DIR", default_value = "./encnet-data")]
    data_dir: PathBuf,
    /// The node's database instead (sqlite://PATH or postgres://…).
    #[arg(
        long,
        value_name = "URL",
        env = "ENCNET_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// The node DID checkpoints must be signed by; default: the one derived
    /// from the root key (ENCNET_ROOT_KEY or DIR/root.key), when readable.
    #[arg(long, value_name = "DID")]
    node_did: Option<String>,
}

pub(crate) fn run(cmd: AuditCommand, node: &str) -> Result<ExitCode, CliError> {
    match cmd {
        AuditCommand::Show {
            key,
            proofs,
            network_id,
            after,
            verify,
            node_did,
        } => {
            let client = client(node)?;
            let (signer, chain) = (key.load()?, first_chain(proofs.load()?));
            let owner = owner_of(&network_id)?;
            let read = LogRead {
                signer: &signer,
                owner: &owner,
                network: &network_id,
                after,
                proofs: &chain,
            };
            match verify {
                true => show_verified(&client, &read, node_did.as_deref()),
                false => show(&client, &read),
            }
        }
        AuditCommand::Verify { database, since } => verify(&database, since.as_deref()),
        AuditCommand::Checkpoint { database, out } => export(&database, out.as_deref()),
    }
}

fn show(client: &Client, read: &LogRead<'_>) -> Result<ExitCode, CliError> {
    let mut out = std::io::stdout().lock();
    block_on(follow_log(client, read, |record| {
        print_record(&mut out, record)
    }))?
    .map_err(log_error)?;
    Ok(ExitCode::SUCCESS)
}

fn show_verified(
    client: &Client,
    read: &LogRead<'_>,
    pinned: Option<&str>,
) -> Result<ExitCode, CliError> {
    let mut out = std::io::stdout().lock();
    let verified = block_on(async {
        let node = signing_node(client, pinned).await?;
        let log = verify_log(client, read, &node, |record| print_record(&mut out, record)).await?;
        Ok::<_, LogError>((node, log))
    })?;
    let (node, log) = verified.map_err(log_error)?;
    eprintln!(
        "audit log ok: {} entries checked; the last is covered by checkpoint {} ({}) signed by {node}",
        log.checked, log.checkpoint.sequence, log.checkpoint.time
    );
    Ok(ExitCode::SUCCESS)
}

/// The DID the node's checkpoints must verify under: the one it announces,
/// which must be `pinned` when given.
async fn signing_node(client: &Client, pinned: Option<&str>) -> Result<Did, LogError> {
    let announced = client.node_did().await?.clone();
    match pinned {
        Some(pinned) if pinned != announced.as_str() => Err(LogError::Client(
            encnet_client::ClientError::Usage(format!(
                "the node at {} is {announced}, not the --node-did {pinned}",
                client.url()
            )),
        )),
        _ => Ok(announced),
    }
}

/// One JSON line per entry; a closed standard output only loses lines.
fn print_record(out: &mut impl Write, record: &AuditRecord) {
    if let Ok(line) = serde_json::to_string(record) {
        let _ = writeln!(out, "{line}");
    }
}

fn log_error(err: LogError) -> CliError {
    match err {
        LogError::Client(err) => CliError::Client(err),
        LogError::Broken(broken) => CliError::AuditPage(broken),
    }
}

fn verify(database: &DatabaseArgs, since: Option<&Path>) -> Result<ExitCode, CliError> {
    database.check_exists()?;
    let options = VerifyOptions {
        since: since.map(read_checkpoint).transpose()?,
        node_did: database.node_did.clone(),
    };
    let report = runtime()?.block_on(encnet_node::verify_database_with(
        database.database_url.as_deref(),
        &database.data_dir,
        &options,
    ))?;
    let report = report.map_err(CliError::AuditBroken)?;
    println!("{}", report_text(&report));
    Ok(ExitCode::SUCCESS)
}

/// What `audit verify` proved, in a few lines.
fn report_text(report: &AuditReport) -> String {
    let mut text = format!(
        "audit chain ok: {} entries, head at sequence {}",
        report.entries, report.head
    );
    match &report.latest_checkpoint {
        Some(latest) => text.push_str(&format!(
            "\nlatest checkpoint: sequence {} ({}); {} stored checkpoints checked",
            latest.sequence, latest.time, report.checkpoints
        )),
        None => text.push_str("\nno checkpoint stored: a truncated tail cannot be told"),
    }
    text.push_str(&match &report.signer {
        CheckpointSigner::RootKey(did) => format!("\nsigned by {did} (the root key's node DID)"),
        CheckpointSigner::Given(did) => format!("\nsigned by {did} (--node-did)"),
        CheckpointSigner::OwnNodeId => {
            "\nsignatures checked against each checkpoint's own nodeId (no root key or --node-did)"
                .to_owned()
        }
    });
    if let Some(since) = &report.since {
        text.push_str(&format!(
            "\nextends the exported checkpoint: sequence {} ({})",
            since.sequence, since.time
        ));
    }
    text
}

fn export(database: &DatabaseArgs, out: Option<&Path>) -> Result<ExitCode, CliError> {
    database.check_exists()?;
    let checkpoint = runtime()?.block_on(encnet_node::export_checkpoint(
        database.database_url.as_deref(),
        &database.data_dir,
        database.node_did.as_deref(),
    ))?;
    let checkpoint = checkpoint.map_err(CliError::AuditBroken)?;
    let mut json =
        serde_json::to_vec_pretty(&checkpoint).map_err(|err| CliError::Usage(err.to_string()))?;
    json.push(b'\n');
    write_public_output(out, &json)?;
    if out.is_some_and(|path| path != Path::new("-")) {
        eprintln!(
            "checkpoint of entry {} ({}) written",
            checkpoint.body.sequence, checkpoint.body.time
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn read_checkpoint(path: &Path) -> Result<SignedCheckpoint, CliError> {
    let bytes = read_input(Some(path), Input::Small)?;
    serde_json::from_slice(&bytes).map_err(|err| {
        CliError::Usage(format!(
            "{}: not an exported audit checkpoint: {err}",
            path.display()
        ))
    })
}

impl DatabaseArgs {
    fn check_exists(&self) -> Result<(), CliError> {
        if self.database_url.is_none() && !self.data_dir.join("encnet.db").exists() {
            return Err(CliError::Usage(format!(
                "{} holds no encnet.db",
                self.data_dir.display()
            )));
        }
        Ok(())
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}
