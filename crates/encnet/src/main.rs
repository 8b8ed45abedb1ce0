//! `encnet`: the node (`encnet serve`) and every client command in one binary.

mod cli;
mod cmd;
mod error;

use std::process::ExitCode;

use clap::Parser;

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
