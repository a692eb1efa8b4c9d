//! `dclab data fetch | list | stats`.

use clap::Subcommand;

/// Subcommands of `dclab data`.
#[derive(Subcommand)]
pub enum DataCommand {
    /// List the corpora.
    List,
}

pub fn run(_c: DataCommand) -> anyhow::Result<()> {
    Ok(())
}
