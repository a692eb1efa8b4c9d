//! Where a command's words go. Plain: lines and results on stdout, as a terminal user reads
//! them. `--json` (what the notebook bindings pass): stdout holds exactly one JSON reply (the
//! value and the figure and table that show it) and every progress line goes to stderr.

use anyhow::Result;
use dclab::viz::views::View;
use dclab_types::Reply;
use serde::Serialize;

/// How this invocation prints.
#[derive(Clone, Copy)]
pub struct Out {
    /// Reply in JSON on stdout, lines on stderr.
    pub json: bool,
}

impl Out {
    /// A human line: a progress line or a result in words.
    pub fn line(&self, s: &str) {
        if self.json { eprintln!("{s}") } else { println!("{s}") }
    }

    /// The command's result: its JSON reply, or (plain) nothing more than the lines printed.
    pub fn reply<T: Serialize>(&self, value: &T, view: impl FnOnce() -> View) -> Result<()> {
        if self.json {
            let v = view();
            println!("{}", serde_json::to_string(&Reply { value, views: v.blobs, text: v.text })?);
        }
        Ok(())
    }
}

/// With `DCLAB_EXIT_WITH_STDIN` set (the notebook bindings set it), the process exits when
/// its stdin closes: the notebook that started it was interrupted or died, and no orphan
/// keeps the CPU. Files are written atomically, so a rerun resumes from the last checkpoint.
pub fn exit_with_stdin() {
    if std::env::var_os("DCLAB_EXIT_WITH_STDIN").is_none() {
        return;
    }
    std::thread::spawn(|| {
        use std::io::Read;
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    // The notebook's end of stderr may be gone too: eprintln! would panic on
                    // the broken pipe and this thread would die without exiting.
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "dclab: stdin closed (the notebook stopped): exiting"
                    );
                    std::process::exit(130);
                }
                Ok(_) => {}
            }
        }
    });
}
