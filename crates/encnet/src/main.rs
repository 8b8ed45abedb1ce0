//! `encnet`: the node (`encnet serve`) and every client command in one binary.

mod cli;
mod cmd;
mod error;

use std::process::ExitCode;

use clap::Parser;

// The node allocates a few small buffers per request on two threads that
// hand them to each other; mimalloc's per-thread free lists are cheaper
// there than glibc's arenas (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            err.report();
            ExitCode::FAILURE
        }
    }
}
