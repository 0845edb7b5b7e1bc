//! Running external commands from the repository root with the project's `PATH`, and the one
//! error type of xtask: a message for a human plus the process exit code.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why xtask stops. Usage mistakes exit 2 (and print the usage), everything else exits 1.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub exit_code: u8,
    pub show_usage: bool,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            exit_code: 1,
            show_usage: false,
        }
    }

    /// A failure that has already been reported in full: exit non-zero without another line.
    pub fn reported() -> Self {
        Failure::new(String::new())
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            exit_code: 2,
            show_usage: true,
        }
    }
}

/// The repository and the `PATH` every child process gets.
pub struct Project {
    pub root: PathBuf,
    path: OsString,
}

impl Project {
    pub fn locate() -> Result<Self, Failure> {
        // xtask/ sits directly under the workspace root.
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir
            .parent()
            .ok_or_else(|| Failure::new("xtask's manifest directory has no parent"))?
            .to_path_buf();
        let cargo_bin = cargo_home().join("bin");
        let mut dirs = vec![root.join("node_modules").join(".bin"), cargo_bin];
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        let path = std::env::join_paths(dirs)
            .map_err(|e| Failure::new(format!("cannot build PATH: {e}")))?;
        Ok(Project { root, path })
    }

    /// A command that runs in the repository root with the project's `PATH`.
    pub fn command(&self, program: &str, args: &[&str]) -> Cmd {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(&self.root)
            .env("PATH", &self.path);
        Cmd { command }
    }

    pub fn cargo(&self, args: &[&str]) -> Cmd {
        // The cargo that runs xtask, so a rustup override or toolchain file is respected.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        self.command(&cargo, args)
    }

    pub fn trunk(&self, args: &[&str]) -> Cmd {
        self.command("trunk", args)
    }

    pub fn dist(&self) -> PathBuf {
        self.root.join("dist")
    }
}

fn cargo_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return PathBuf::from(home);
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cargo")
}

pub struct Cmd {
    command: Command,
}

impl Cmd {
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// The command as a shell-like line, for logs.
    pub fn display(&self) -> String {
        let mut line = self.command.get_program().to_string_lossy().into_owned();
        if line.ends_with("/cargo") {
            line = "cargo".to_string();
        }
        for arg in self.command.get_args() {
            line.push(' ');
            line.push_str(&arg.to_string_lossy());
        }
        line
    }

    /// Runs with inherited stdio; any non-zero exit is a failure naming `what`.
    pub fn run(mut self, what: &str) -> Result<(), Failure> {
        let line = self.display();
        let status = self
            .command
            .status()
            .map_err(|e| Failure::new(format!("{what}: cannot start `{line}`: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(Failure::new(format!(
                "{what}: `{line}` failed ({})",
                describe_status(status)
            )))
        }
    }

    /// Runs quietly and returns trimmed stdout, or `None` if the program is missing or fails.
    /// Used for probes like `trunk --version`, where absence is an answer, not an error.
    pub fn probe(mut self) -> Option<String> {
        let output = self
            .command
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }
}

pub fn describe_status(status: std::process::ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
    }
}
