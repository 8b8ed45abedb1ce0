//! `encnet-bench`: lab tooling for encnet, kept out of the product binary
//! (docs/decisions.md, 2026-12). `decrypt` drives a running node with
//! prepared invocations over raw keep-alive connections and compares it
//! with the in-process floor; `host` measures how much CPU this machine
//! takes away; `seed` fills a data directory for growth tests.

mod connection;
mod decrypt;
mod duration;
mod error;
mod host;
mod pacer;
mod report;
mod seed;
mod slot_timer;
mod steal;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// As the `encnet` binary: the generator shares the node's cores, and with
// the same allocator its own cost compares across runs (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// encnet-bench: load, host noise, the decrypt floor and seeding, for the
/// lab (not part of the encnet product).
#[derive(Debug, Parser)]
#[command(name = "encnet-bench", version, about)]
struct Cli {
    /// The node's URL, for `decrypt`.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "ENCNET_NODE",
        default_value = "http://127.0.0.1:8700"
    )]
    node: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decrypt throughput and latency of a running node, against the
    /// in-process floor.
    Decrypt(decrypt::DecryptBenchArgs),
    /// How much of each CPU this machine takes away from a busy thread.
    Host(host::HostBenchArgs),
    /// Fill a data directory with networks and audit entries (growth tests).
    Seed(seed::SeedArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decrypt(args) => decrypt::run(&args, &cli.node),
        Command::Host(args) => host::run(&args),
        Command::Seed(args) => seed::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            err.report();
            ExitCode::FAILURE
        }
    }
}
