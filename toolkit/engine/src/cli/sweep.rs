//! `dclab sweep SPEC --out DIR`, `dclab sweep slurm SPEC`, `dclab sweep merge DIR...`.

use super::device::DeviceArg;
use super::out::Out;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use dclab::data::cache_dir;
use dclab::sweep::{
    self, SlurmOptions, SweepEvent, SweepOptions, SweepSpec, parse_shard, run_sweep,
    slurm::absolute,
};
use dclab::train::Event;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

/// `dclab sweep`: run a spec, or one of the subcommands.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SweepCommand {
    #[command(subcommand)]
    sub: Option<SweepSub>,
    #[command(flatten)]
    run: SweepArgs,
}

#[derive(Subcommand)]
enum SweepSub {
    /// Write a Slurm job-array script that runs the shards of a sweep on a cluster.
    Slurm(SlurmArgs),
    /// Merge the tables of shard folders into one folder, refusing conflicting rows.
    Merge(MergeArgs),
}

/// Running a sweep.
#[derive(Args)]
pub struct SweepArgs {
    /// The sweep spec (TOML).
    spec: Option<PathBuf>,
    /// The spec as TOML text instead of a file (what a notebook cell passes).
    #[arg(long, conflicts_with = "spec")]
    toml: Option<String>,
    /// Sweep folder: runs/, runs.parquet, runs.csv; rerunning resumes.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run only shard i of n (0-based), e.g. 0/4.
    #[arg(long)]
    shard: Option<String>,
    #[command(flatten)]
    device: DeviceArg,
    #[arg(long, env = "DCLAB_CACHE")]
    cache: Option<PathBuf>,
}

#[derive(Args)]
struct SlurmArgs {
    /// The sweep spec (TOML).
    spec: PathBuf,
    /// Number of shards (array tasks).
    #[arg(long)]
    shards: usize,
    /// Output folder of the shards (OUT/shard-i) and of the merge.
    #[arg(long)]
    out: PathBuf,
    /// Where to write the script (default: stdout).
    #[arg(long)]
    script: Option<PathBuf>,
    /// The dclab binary on the cluster (default: this one).
    #[arg(long)]
    binary: Option<String>,
    /// Wall time per task.
    #[arg(long, default_value = "04:00:00")]
    time: String,
    #[arg(long, default_value_t = 8)]
    cpus: usize,
    /// GPUs per task (0 for CPU-only tasks).
    #[arg(long, default_value_t = 1)]
    gpus: usize,
    #[arg(long)]
    partition: Option<String>,
    /// Device per task.
    #[arg(long, default_value = "auto")]
    device: String,
    #[arg(long, env = "DCLAB_CACHE")]
    cache: Option<PathBuf>,
}

#[derive(Args)]
struct MergeArgs {
    /// Shard folders.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// The merged folder.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(c: SweepCommand, out: Out) -> Result<()> {
    match (c.sub, c.run) {
        (Some(SweepSub::Slurm(a)), _) => slurm(a),
        (Some(SweepSub::Merge(a)), _) => {
            let merged = sweep::merge(&a.dirs, &a.out)?;
            for i in &merged.incomplete {
                out.line(&i.to_string());
            }
            for d in &merged.preparing {
                out.line(&format!("{}: no plan and no finished run yet (a sweep still preparing its data, or not a sweep folder): skipped", d.display()));
            }
            if !merged.missing_shards.is_empty() {
                out.line(&format!(
                    "shards not merged (not started yet, or not given): {}",
                    merged.missing_shards.join(", ")
                ));
            }
            let rows = merged.rows;
            out.line(&format!(
                "merged {} runs from {} folders into {}",
                rows.len(),
                a.dirs.len(),
                a.out.display()
            ));
            Ok(())
        }
        (None, a) => run_spec(a, out),
    }
}

fn run_spec(a: SweepArgs, o: Out) -> Result<()> {
    let spec = match (&a.spec, &a.toml) {
        (Some(p), _) => SweepSpec::read(p)?,
        (None, Some(t)) => SweepSpec::from_toml(t)?,
        (None, None) => anyhow::bail!(
            "give a spec and a folder (dclab sweep SPEC --out DIR) or a subcommand (slurm, merge)"
        ),
    };
    let Some(dir) = a.out else { anyhow::bail!("give the sweep folder: --out DIR") };
    let shard = a.shard.as_deref().map(parse_shard).transpose()?;
    let opts = SweepOptions {
        device: a.device.resolve()?,
        cache: a.cache.unwrap_or_else(cache_dir),
        shard,
    };
    let mut report = reporter(o);
    let r = run_sweep(&spec, &dir, &opts, &mut report)?;
    o.line(&format!(
        "{} runs trained, {} already done; table {}",
        r.ran,
        r.skipped,
        sweep::table::parquet_path(&r.dir).display()
    ));
    let rep = dclab_types::SweepReport {
        dir: r.dir.display().to_string(),
        rows: r.rows,
        ran: r.ran,
        skipped: r.skipped,
    };
    o.reply(&rep, || dclab::viz::views::sweep(&rep))
}

fn slurm(a: SlurmArgs) -> Result<()> {
    SweepSpec::read(&a.spec)?;
    anyhow::ensure!(a.shards > 0, "--shards must be at least 1");
    let binary = match a.binary {
        Some(b) => b,
        None => absolute(&std::env::current_exe().context("locating this binary")?),
    };
    let o = SlurmOptions {
        shards: a.shards,
        binary,
        spec: absolute(&a.spec),
        out: absolute(&a.out),
        cache: absolute(&a.cache.unwrap_or_else(cache_dir)),
        device: a.device,
        time: a.time,
        cpus: a.cpus,
        gpus: a.gpus,
        partition: a.partition,
        name: a
            .spec
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "sweep".into()),
    };
    // Slurm opens each task's `--output` log in OUT before the script runs: make OUT now, and
    // the cache the tasks check for (the sample needs no fetch, so nothing else creates it).
    std::fs::create_dir_all(&a.out).with_context(|| {
        format!("creating the sweep folder {} for the shard logs", a.out.display())
    })?;
    std::fs::create_dir_all(&o.cache)
        .with_context(|| format!("creating the data cache {}", o.cache))?;
    let script = sweep::slurm_script(&o)?;
    match a.script {
        Some(p) => {
            dclab::fsio::write_atomic(&p, script.as_bytes())?;
            println!("wrote {}: submit with `sbatch {}`", p.display(), p.display());
        }
        None => print!("{script}"),
    }
    Ok(())
}

/// Progress for sweeps and studies: a line per run (runs done / total, ETA) and, on a
/// terminal, a bar for the run in progress.
pub fn reporter(out: Out) -> impl FnMut(SweepEvent) {
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("  {bar:30} {pos}/{len} steps  {msg}").expect("template"),
        );
        b
    });
    move |e: SweepEvent| {
        if let (SweepEvent::Train(Event::Step { step, total, loss, tokens_per_second }), Some(b)) =
            (&e, &bar)
        {
            b.set_length(*total as u64);
            b.set_position(*step as u64);
            b.set_message(format!("loss {loss:.4}  {tokens_per_second:.0} tok/s"));
        }
        if let Some(line) = e.line() {
            match &bar {
                Some(b) => b.println(line),
                None => out.line(&line),
            }
        }
    }
}
