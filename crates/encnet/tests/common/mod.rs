//! A real `encnet serve` child on 127.0.0.1:0 and the `encnet` binary run
//! against it from a temporary working directory.

#![allow(dead_code)] // each test file uses part of this module

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A running node and a scratch directory for the client's files.
pub(crate) struct Node {
    child: Child,
    pub(crate) url: String,
    pub(crate) dir: tempfile::TempDir,
}

impl Node {
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_encnet"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("node-data"))
            .env_remove("ENCNET_ROOT_KEY")
            .env_remove("ENCNET_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("encnet serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout piped"))
            .read_line(&mut line)
            .expect("start-up line");
        assert!(line.starts_with("encnet node did:key:"), "{line}");
        let url = line.split_whitespace().last().expect("URL").to_owned();
        Self { child, url, dir }
    }

    /// `encnet ARGS…` in the scratch directory, talking to this node.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, b"")
    }

    pub(crate) fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let output = assert_cmd::Command::new(env!("CARGO_BIN_EXE_encnet"))
            .args(args)
            .current_dir(self.dir.path())
            .env("ENCNET_NODE", &self.url)
            .env_remove("ENCNET_KEY")
            .write_stdin(stdin.to_vec())
            .output()
            .expect("encnet runs");
        Run {
            args: args.join(" "),
            output,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn write(&self, name: &str, contents: &[u8]) {
        std::fs::write(self.path(name), contents).expect("write");
    }

    pub(crate) fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).expect("read")
    }

    /// `id new --out NAME`; answers the DID.
    pub(crate) fn identity(&self, name: &str) -> String {
        self.run(&["id", "new", "--out", name])
            .ok()
            .trim()
            .to_owned()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One finished `encnet` run.
pub(crate) struct Run {
    args: String,
    pub(crate) output: Output,
}

impl Run {
    /// Asserts exit 0 and an empty stderr; answers stdout.
    pub(crate) fn ok(&self) -> String {
        assert_eq!(
            self.output.status.code(),
            Some(0),
            "encnet {} failed: {}",
            self.args,
            self.stderr()
        );
        self.stdout()
    }

    /// Asserts exit `code` and a first stderr line `error: …` containing
    /// `needle`; answers stderr.
    pub(crate) fn fails(&self, code: i32, needle: &str) -> String {
        let stderr = self.stderr();
        assert_eq!(
            self.output.status.code(),
            Some(code),
            "encnet {}: {stderr}",
            self.args
        );
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: "),
            "encnet {}: {stderr}",
            self.args
        );
        assert!(
            stderr.contains(needle),
            "encnet {}: {needle:?} not in {stderr}",
            self.args
        );
        assert!(
            self.output.stdout.is_empty(),
            "encnet {}: stdout on failure",
            self.args
        );
        stderr
    }

    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}

pub(crate) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}
