//! `encnet ucan inspect|validate`: offline debugging of UCAN tokens and
//! containers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use encnet_ucan::container::Form;
use encnet_ucan::envelope::{cid_of, Envelope, TokenKind};
use encnet_ucan::{chain, Container, Delegation, Did, Invocation, Ipld, Signed, UcanError};
use serde_json::{json, Value};

use crate::error::CliError;

/// Most tokens read from one file (the node itself accepts 16).
const MAX_TOKENS: usize = 256;

/// UCAN debugging commands.
#[derive(Debug, Subcommand)]
pub(crate) enum UcanCommand {
    /// Print every token of a container or token file as JSON.
    Inspect {
        /// Container (any of the six forms) or a raw DAG-CBOR token.
        file: PathBuf,
    },
    /// Validate the invocation of a container against the delegations in
    /// it; prints `valid` (exit 0) or the error name (exit 1).
    Validate {
        /// Container (any of the six forms) or a raw invocation token.
        file: PathBuf,
        /// Validation time in Unix seconds (default: now).
        #[arg(long, value_name = "UNIX_SECONDS")]
        at: Option<i64>,
        /// The executor's DID (default: the invocation's `aud`, else `sub`).
        #[arg(long, value_name = "DID")]
        executor: Option<String>,
    },
}

pub(crate) fn run(cmd: UcanCommand) -> Result<ExitCode, CliError> {
    match cmd {
        UcanCommand::Inspect { file } => inspect(&file),
        UcanCommand::Validate { file, at, executor } => validate(&file, at, executor.as_deref()),
    }
}

fn inspect(file: &Path) -> Result<ExitCode, CliError> {
    let tokens = read_tokens(file)?.map_err(|e| usage(file, &e))?;
    let report: Vec<Value> = tokens.iter().map(|t| describe(t)).collect();
    let text = serde_json::to_string_pretty(&report).map_err(|e| CliError::Usage(e.to_string()))?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn validate(file: &Path, at: Option<i64>, executor: Option<&str>) -> Result<ExitCode, CliError> {
    let now = match at {
        Some(at) => at,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    };
    let executor = executor
        .map(str::parse::<Did>)
        .transpose()
        .map_err(|e| CliError::Usage(format!("--executor: {e}")))?;
    let outcome = read_tokens(file)?.and_then(|tokens| {
        let (inv, proofs) = Container::new(tokens).into_invocation()?;
        let executor = executor.unwrap_or_else(|| inv.payload.executor().clone());
        chain::validate(&inv, &proofs, now, &executor, &())
    });
    match outcome {
        Ok(_) => {
            println!("valid");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            println!("{}", err.name());
            eprintln!("error: {err}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The tokens of a file: a container in any form, or one raw token. The
/// outer result is I/O, the inner one the content.
fn read_tokens(file: &Path) -> Result<Result<Vec<Vec<u8>>, UcanError>, CliError> {
    let bytes = std::fs::read(file).map_err(|source| CliError::Io {
        path: file.display().to_string(),
        source,
    })?;
    // A raw token is a two-item CBOR array.
    if bytes.first() == Some(&0x82) {
        return Ok(Ok(vec![bytes]));
    }
    // Text forms may end with a newline; binary forms are taken as they are.
    let text_form = bytes
        .first()
        .and_then(|b| Form::from_header(*b))
        .is_some_and(|f| !matches!(f, Form::Raw | Form::RawGzip));
    let body = if text_form {
        bytes.trim_ascii()
    } else {
        &bytes[..]
    };
    Ok(Container::from_bytes(body, MAX_TOKENS).map(|c| c.tokens))
}

/// One token as JSON: CID, kind, issuer, signature status and payload.
fn describe(token: &[u8]) -> Value {
    let cid = cid_of(token).to_string();
    let envelope = match Envelope::from_bytes(token) {
        Ok(envelope) => envelope,
        Err(err) => return json!({"cid": cid, "error": err.name(), "message": err.to_string()}),
    };
    let verified = match envelope.kind {
        TokenKind::Delegation => Signed::<Delegation>::from_bytes(token).map(drop),
        TokenKind::Invocation => Signed::<Invocation>::from_bytes(token).map(drop),
    };
    let kind = match envelope.kind {
        TokenKind::Delegation => "delegation",
        TokenKind::Invocation => "invocation",
    };
    let issuer = match envelope.payload.get("iss") {
        Some(Ipld::String(iss)) => Value::String(iss.clone()),
        _ => Value::Null,
    };
    json!({
        "cid": cid,
        "kind": kind,
        "tag": envelope.tag,
        "issuer": issuer,
        "alg": envelope.header.alg.name(),
        "verified": verified.as_ref().map_or_else(|e| Value::String(e.name().to_owned()), |()| Value::Bool(true)),
        "payload": encnet_ucan::ipld::to_json(&Ipld::Map(envelope.payload)),
    })
}

fn usage(file: &Path, err: &UcanError) -> CliError {
    CliError::Usage(format!("{}: {} ({err})", file.display(), err.name()))
}
