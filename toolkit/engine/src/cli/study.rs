//! `dclab study --preset quick --out DIR`: the main job.

use super::device::DeviceArg;
use super::out::Out;
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
    /// quick (minutes on a CPU), crossover (an hour on a CPU: epochs doubled past DBA's C_crit)
    /// or paper-small (a GPU grid).
    #[arg(long, default_value = "quick", conflicts_with_all = ["spec", "toml"])]
    preset: String,
    /// A sweep spec (TOML) instead of a preset.
    #[arg(long, conflicts_with = "toml")]
    spec: Option<PathBuf>,
    /// A sweep spec as TOML text (what a notebook cell passes).
    #[arg(long)]
    toml: Option<String>,
    /// Study folder (the sweep's runs, report.html, summary.md); rerunning resumes.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    device: DeviceArg,
    #[arg(long, env = "DCLAB_CACHE")]
    cache: Option<PathBuf>,
}

pub fn run(a: StudyArgs, out: Out) -> Result<()> {
    let (spec, command) = match (&a.spec, &a.toml) {
        (Some(p), _) => (
            SweepSpec::read(p)?,
            format!("dclab study --spec {} --out {}", p.display(), a.out.display()),
        ),
        (None, Some(t)) => {
            let spec = SweepSpec::from_toml(t)?;
            let command =
                format!("dclab study --toml '<spec {}>' --out {}", spec.name, a.out.display());
            (spec, command)
        }
        (None, None) => (
            preset(&a.preset)?,
            format!("dclab study --preset {} --out {}", a.preset, a.out.display()),
        ),
    };
    let opts = SweepOptions {
        device: a.device.resolve()?,
        cache: a.cache.unwrap_or_else(cache_dir),
        shard: None,
    };
    let mut report = reporter(out);
    let study = run_study(&spec, &a.out, &opts, &command, &mut report)?;
    if !out.json {
        println!("\n{}", study.summary);
    }
    out.line(&format!(
        "wrote {} and {} ({:.0} s)",
        study.report.display(),
        a.out.join("summary.md").display(),
        study.wall_seconds
    ));
    let rep = dclab_types::StudyReport {
        dir: a.out.display().to_string(),
        rows: study.rows,
        analysis: study.analysis,
        summary: study.summary,
        report: study.report.display().to_string(),
        wall_seconds: study.wall_seconds,
    };
    out.reply(&rep, || dclab::study::view::view(&rep))
}
