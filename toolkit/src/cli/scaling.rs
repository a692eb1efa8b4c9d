//! `dclab fit`, `dclab law eval`, `dclab crit`.

use clap::{Args, Subcommand};

/// Arguments of `dclab fit`.
#[derive(Args)]
pub struct FitArgs {}

/// Subcommands of `dclab law`.
#[derive(Subcommand)]
pub enum LawCommand {
    /// Print R-squared and the Huber objective at given constants.
    Eval {},
}

/// Arguments of `dclab crit`.
#[derive(Args)]
pub struct CritArgs {}

pub fn fit(_a: FitArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet implemented")
}
pub fn law(_c: LawCommand) -> anyhow::Result<()> {
    anyhow::bail!("not yet implemented")
}
pub fn crit(_a: CritArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet implemented")
}
