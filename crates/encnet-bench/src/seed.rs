//! `encnet-bench seed`: fill a data directory for growth tests.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use encnet_node::lab::{seed, SeedPlan};
use encnet_node::Config;
use indicatif::{ProgressBar, ProgressStyle};

use crate::error::Error;

/// Flags of `encnet-bench seed`.
#[derive(Debug, Args)]
pub(crate) struct SeedArgs {
    /// Networks to add (each with a sealed key).
    #[arg(long, default_value_t = 0)]
    networks: u64,
    /// Audit entries to add (hash-chained as usual).
    #[arg(long, default_value_t = 0)]
    audit_rows: u64,
    /// The node's data directory (stop the node first).
    #[arg(long, value_name = "DIR", default_value = "./encnet-data")]
    data_dir: PathBuf,
    /// Database URL, when not the data directory's SQLite file.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

pub(crate) fn run(args: SeedArgs) -> Result<ExitCode, Error> {
    let config = Config {
        data_dir: args.data_dir,
        database_url: args.database_url,
        ..Config::default()
    };
    let plan = SeedPlan {
        networks: args.networks,
        audit_rows: args.audit_rows,
    };
    let bar = ProgressBar::new(plan.networks + plan.audit_rows);
    if let Ok(style) = ProgressStyle::with_template(
        "[{elapsed_precise}] {bar:30} {pos}/{len} rows ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    let runtime = tokio::runtime::Runtime::new().map_err(Error::Runtime)?;
    runtime.block_on(seed(&config, plan, |done, _| bar.set_position(done)))?;
    bar.finish_and_clear();
    println!(
        "seeded {} networks and {} audit entries into {}",
        plan.networks,
        plan.audit_rows,
        config.data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
