//! A node served in this test process on 127.0.0.1:0 (through
//! `encnet_node::Server`, as `encnet serve` does), and the `encnet-bench`
//! binary run against it.

#![allow(dead_code)] // each test file uses part of this module

use std::process::Output;

use encnet_node::{Config, Server};
use tokio::sync::oneshot;

/// A running node; stopped when dropped.
pub(crate) struct Node {
    pub(crate) url: String,
    pub(crate) dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Node {
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            data_dir: dir.path().join("node-data"),
            ..Config::default()
        };
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let (tx, rx) = oneshot::channel::<()>();
        let url = runtime.block_on(async {
            let server = Server::open(&config).await.expect("node opens");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            let url = format!("http://{}", listener.local_addr().expect("local addr"));
            tokio::spawn(server.serve(listener, async {
                let _ = rx.await;
            }));
            url
        });
        Self {
            url,
            dir,
            shutdown: Some(tx),
            runtime: Some(runtime),
        }
    }

    /// `encnet-bench ARGS…` in the scratch directory, talking to this node.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let output = bench()
            .args(args)
            .current_dir(self.dir.path())
            .env("ENCNET_NODE", &self.url)
            .output()
            .expect("encnet-bench runs");
        Run {
            args: args.join(" "),
            output,
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }
}

/// The `encnet-bench` binary of this build.
pub(crate) fn bench() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_encnet-bench"))
}

/// One finished `encnet-bench` run.
pub(crate) struct Run {
    args: String,
    pub(crate) output: Output,
}

impl Run {
    /// Asserts exit 0; answers stdout.
    pub(crate) fn ok(&self) -> String {
        assert_eq!(
            self.output.status.code(),
            Some(0),
            "encnet-bench {} failed: {}",
            self.args,
            self.stderr()
        );
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Asserts exit `code`, a first stderr line `error: …` containing
    /// `needle`, and nothing on stdout.
    pub(crate) fn fails(&self, code: i32, needle: &str) {
        let stderr = self.stderr();
        assert_eq!(
            self.output.status.code(),
            Some(code),
            "encnet-bench {}: {stderr}",
            self.args
        );
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: "),
            "encnet-bench {}: {stderr}",
            self.args
        );
        assert!(
            stderr.contains(needle),
            "encnet-bench {}: {needle:?} not in {stderr}",
            self.args
        );
        assert!(
            self.output.stdout.is_empty(),
            "encnet-bench {}: stdout",
            self.args
        );
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}
