//! `dclab study --preset quick --out DIR`: the main job.

use super::sweep::reporter;
use anyhow::Result;
use clap::Args;
use dclab::data::cache_dir;
use dclab::study::{preset, run_study};
use dclab::sweep::{SweepOptions, SweepSpec};
use std::path::PathBuf;

/// Arguments of `dclab study`.
#[derive(Args)]
pub struct StudyArgs {
    /// quick (minutes on a CPU) or paper-small (a GPU grid that identifies both laws).
    #[arg(long, default_value = "quick", conflicts_with = "spec")]
    preset: String,
    /// A sweep spec (TOML) instead of a preset.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Study folder (the sweep's runs, report.html, summary.md); rerunning resumes.
    #[arg(long)]
    out: PathBuf,
    /// auto, cpu, wgpu or cuda.
    #[arg(long, env = "BURN_DEVICE", default_value = "cpu")]
    device: String,
    #[arg(long, env = "DCLAB_CACHE")]
    cache: Option<PathBuf>,
}

pub fn run(a: StudyArgs) -> Result<()> {
    let (spec, command) = match &a.spec {
        Some(p) => (SweepSpec::read(p)?, format!("dclab study --spec {} --out {}", p.display(), a.out.display())),
        None => (preset(&a.preset)?, format!("dclab study --preset {} --out {}", a.preset, a.out.display())),
    };
    let opts = SweepOptions { device: a.device, cache: a.cache.unwrap_or_else(cache_dir), shard: None };
    let mut report = reporter();
    let study = run_study(&spec, &a.out, &opts, &command, &mut report)?;
    println!("\n{}", study.summary);
    println!("wrote {} and {} ({:.0} s)", study.report.display(), a.out.join("summary.md").display(), study.wall_seconds);
    Ok(())
}
