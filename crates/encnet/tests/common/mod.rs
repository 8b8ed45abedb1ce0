//! A real `encnet serve` child on 127.0.0.1:0 and the `encnet` binary run
//! against it from a temporary working directory.

#![allow(dead_code)] // each test file uses part of this module

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};

/// A running `encnet serve` child on 127.0.0.1:0; killed when dropped.
pub(crate) struct ServeProcess {
    child: Child,
    pub(crate) url: String,
    pub(crate) did: String,
}

impl ServeProcess {
    /// `encnet serve --listen 127.0.0.1:0 ARGS…` with `env` set (a `None`
    /// value removes the variable); waits for the start-up line
    /// `encnet node <did> listening on <url>`.
    pub(crate) fn spawn<A: AsRef<OsStr>>(args: &[A], env: &[(&str, Option<&str>)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_encnet"));
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("ENCNET_ROOT_KEY")
            .env_remove("ENCNET_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, value) in env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let mut child = command.spawn().expect("encnet serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout piped"))
            .read_line(&mut line)
            .expect("start-up line");
        assert!(line.starts_with("encnet node did:key:z6Mk"), "{line}");
        let words: Vec<&str> = line.split_whitespace().collect();
        Self {
            url: words.last().expect("URL").to_string(),
            did: words.get(2).expect("DID").to_string(),
            child,
        }
    }

    /// SIGKILL, then reap.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM; answers the exit status once the node has drained.
    pub(crate) fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.expect("kill runs").success());
        self.child.wait().expect("exits")
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running node and a scratch directory for the client's files.
pub(crate) struct Node {
    _process: ServeProcess,
    pub(crate) url: String,
    pub(crate) dir: tempfile::TempDir,
}

impl Node {
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("node-data");
        let process = ServeProcess::spawn(&[OsStr::new("--data-dir"), data_dir.as_os_str()], &[]);
        Self {
            url: process.url.clone(),
            _process: process,
            dir,
        }
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
