//! Starting the engine: finding the `dclab` binary, running one command with `--json`,
//! streaming its progress lines into the cell and reading its reply.

use crate::show::Shown;
use dclab_types::Reply;
use serde::de::DeserializeOwned;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What went wrong, in words (a notebook shows it as the cell's error).
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

// Debug is what evcxr and `unwrap` print: the message itself, not a struct dump.
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// One engine command: its arguments (after `dclab`) and the value its `--json` reply holds.
pub trait Job {
    /// The result's type, as the engine writes it.
    type Value: DeserializeOwned;
    /// The command line after `dclab`, without `--json`.
    fn args(&self) -> Vec<String>;
}

/// The engine a notebook drives: a prebuilt `dclab` binary and the settings every job shares.
#[derive(Clone, Debug)]
pub struct Lab {
    bin: PathBuf,
    device: Option<String>,
}

/// The command that builds the engine where the bindings look for it.
const BUILD: &str = "cargo build --release -p dclab";

impl Lab {
    /// Finds the engine: `$DCLAB_BIN`, else the workspace's release build
    /// (`$CARGO_TARGET_DIR/release/dclab`, else `target/release/dclab` in the checkout).
    pub fn new() -> Result<Lab, Error> {
        Self::find().inspect_err(say)
    }

    fn find() -> Result<Lab, Error> {
        match std::env::var_os("DCLAB_BIN") {
            Some(b) => Lab::at(Path::new(&b)).map_err(|e| Error(format!("DCLAB_BIN: {e}"))),
            None => match Self::workspace_build() {
                Some(b) => Lab::at(&b),
                None => Err(Error(format!(
                    "the dclab engine is not built: run `{BUILD}` in {} (or set DCLAB_BIN to a dclab binary)",
                    workspace().display()
                ))),
            },
        }
    }

    /// The engine at `bin`.
    pub fn at(bin: &Path) -> Result<Lab, Error> {
        if !bin.is_file() {
            return Err(Error(format!(
                "{} is not a file: build the engine with `{BUILD}` (it lands in target/release/dclab)",
                bin.display()
            )));
        }
        Ok(Lab { bin: bin.to_path_buf(), device: None })
    }

    /// The workspace's release build of the engine, if there is one.
    fn workspace_build() -> Option<PathBuf> {
        let mut dirs = vec![];
        if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
            dirs.push(PathBuf::from(t));
        }
        dirs.push(workspace().join("target"));
        dirs.into_iter().map(|d| d.join("release").join("dclab")).find(|b| b.is_file())
    }

    /// Trains on this device (`auto`, `cpu`, `wgpu`, `cuda`; the engine's build decides which
    /// exist) in every job that trains or scores a model.
    pub fn device(mut self, device: &str) -> Lab {
        self.device = Some(device.to_string());
        self
    }

    /// The engine binary this lab runs.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// Runs one job in the engine: its progress lines print as they come; the reply comes
    /// back with its figure and table. Interrupting the cell stops the engine (it exits when
    /// its stdin closes); running the cell again resumes what it had written.
    pub fn run<J: Job>(&self, job: J) -> Result<Shown<J::Value>, Error> {
        let mut args = job.args();
        // The lab's device applies to jobs that train or score a model and chose none.
        if let Some(d) = self
            .device
            .as_ref()
            .filter(|_| takes_device(&args) && !args.iter().any(|a| a == "--device"))
        {
            args.extend(["--device".to_string(), d.clone()]);
        }
        let reply: Reply<J::Value> = self.call(&args).inspect_err(say)?;
        Ok(Shown { value: reply.value, text: reply.text, views: reply.views })
    }

    fn call<T: DeserializeOwned>(&self, args: &[String]) -> Result<T, Error> {
        let what = format!("dclab {}", args.first().map(String::as_str).unwrap_or(""));
        let started = std::time::SystemTime::now();
        let mut child = Command::new(&self.bin)
            .args(args)
            .arg("--json")
            .env("DCLAB_EXIT_WITH_STDIN", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error(format!("cannot start the engine {}: {e}", self.bin.display())))?;
        // The engine's stdin stays open (never written) for as long as this process lives.
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().expect("piped stdout");
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).map(|_| s)
        });
        let mut tail: Vec<String> = vec![];
        for line in BufReader::new(child.stderr.take().expect("piped stderr")).lines() {
            let Ok(line) = line else { break };
            println!("{line}");
            tail.push(line);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
        let status = child.wait().map_err(|e| Error(format!("{what}: {e}")))?;
        drop(stdin);
        log_call(&what, started);
        let out = reader
            .join()
            .expect("reader thread")
            .map_err(|e| Error(format!("{what}: reading its output: {e}")))?;
        if !status.success() {
            let reason = tail
                .iter()
                .rev()
                .find(|l| l.starts_with("error"))
                .or(tail.last())
                .cloned()
                .unwrap_or_else(|| format!("exit status {status}"));
            return Err(Error(format!("{what} failed: {reason}")));
        }
        serde_json::from_str(out.trim()).map_err(|e| Error(format!("{what}: the engine's reply is not what this crate reads ({e}); is {} from this checkout?", self.bin.display())))
    }
}

/// Prints an error where the cell shows it: evcxr turns a `?` on an error into a quiet early
/// return (the cell still ends "ok" and its own message does not reach the notebook).
fn say(e: &Error) {
    println!("Error: {e}");
}

/// The commands that take `--device`.
fn takes_device(args: &[String]) -> bool {
    matches!(args.first().map(String::as_str), Some("train" | "sweep" | "study" | "sample"))
        || (args.first().map(String::as_str) == Some("diffusion")
            && args.get(1).map(String::as_str) == Some("bound"))
}

/// The checkout this crate was compiled in.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// With `DCLAB_LAB_LOG` set, appends one JSON line per engine call (command, start and end in
/// Unix seconds): the notebook runner subtracts the engine's time from each cell's to report
/// what the bindings and evcxr add.
fn log_call(what: &str, started: std::time::SystemTime) {
    let Some(path) = std::env::var_os("DCLAB_LAB_LOG") else { return };
    let secs = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
    };
    let line = serde_json::json!({ "command": what, "start": secs(started), "end": secs(std::time::SystemTime::now()) });
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "{line}");
    }
}
