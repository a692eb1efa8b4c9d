//! A Slurm job-array script that runs a sweep's shards on a cluster, one array task per shard.

use std::path::Path;

/// What the script asks of Slurm and where things are on the cluster.
#[derive(Clone, Debug)]
pub struct SlurmOptions {
    /// Number of shards (array tasks).
    pub shards: usize,
    /// The dclab binary (overridable at submit time with `DCLAB_BIN`).
    pub binary: String,
    /// Sweep spec path (`DCLAB_SPEC`).
    pub spec: String,
    /// Output folder; shard i writes `OUT/shard-i` (`DCLAB_OUT`).
    pub out: String,
    /// Data cache (`DCLAB_CACHE`).
    pub cache: String,
    /// Device per task (`BURN_DEVICE`).
    pub device: String,
    /// Wall-time limit per task, e.g. `04:00:00`.
    pub time: String,
    /// CPUs per task.
    pub cpus: usize,
    /// GPUs per task (0: none requested).
    pub gpus: usize,
    /// Partition, if the cluster needs one.
    pub partition: Option<String>,
    /// Job name.
    pub name: String,
}

/// The job-array script: `sbatch` it, then `dclab sweep merge OUT/shard-* --out OUT`.
///
/// ```
/// let o = dclab::sweep::SlurmOptions { shards: 4, binary: "/opt/dclab".into(), spec: "s.toml".into(),
///     out: "out".into(), cache: "cache".into(), device: "auto".into(), time: "01:00:00".into(),
///     cpus: 8, gpus: 1, partition: None, name: "demo".into() };
/// assert!(dclab::sweep::slurm_script(&o).unwrap().contains("#SBATCH --array=0-3"));
/// ```
pub fn slurm_script(o: &SlurmOptions) -> anyhow::Result<String> {
    // Slurm reads `#SBATCH --output` without a shell: no whitespace, and `%` is its pattern sign.
    if o.out.chars().any(|c| c.is_whitespace() || c == '%') {
        anyhow::bail!(
            "the output folder {:?} holds whitespace or '%', which an #SBATCH --output line cannot take: choose another --out",
            o.out
        );
    }
    let q = shell_quote;
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!(
        "# dclab sweep '{}' as a Slurm job array of {} shards (written by `dclab sweep slurm`).\n",
        o.name, o.shards
    ));
    s.push_str(
        "# Fetch the corpus into DCLAB_CACHE once before submitting (`dclab data fetch NAME`),\n",
    );
    s.push_str("# then: sbatch THIS_SCRIPT; rerun a failed or cancelled task i with sbatch --array=i THIS_SCRIPT\n");
    s.push_str(
        "# (it resumes from its checkpoint); merge at any time (unfinished shards are named):\n",
    );
    s.push_str(&format!("#   {} sweep merge {}/shard-* --out {}\n", o.binary, o.out, o.out));
    s.push_str(&format!("#SBATCH --job-name=dclab-{}\n", o.name.replace(char::is_whitespace, "-")));
    s.push_str(&format!("#SBATCH --array=0-{}\n", o.shards.saturating_sub(1)));
    s.push_str(&format!("#SBATCH --output={}/slurm-%A_%a.log\n", o.out));
    s.push_str(&format!("#SBATCH --cpus-per-task={}\n", o.cpus));
    s.push_str(&format!("#SBATCH --time={}\n", o.time));
    if o.gpus > 0 {
        s.push_str(&format!("#SBATCH --gres=gpu:{}\n", o.gpus));
    }
    if let Some(p) = &o.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    s.push_str("set -euo pipefail\n");
    s.push_str(&format!(
        "default_bin={}; default_spec={}; default_out={}; default_cache={}; default_device={}\n",
        q(&o.binary),
        q(&o.spec),
        q(&o.out),
        q(&o.cache),
        q(&o.device)
    ));
    s.push_str("DCLAB_BIN=\"${DCLAB_BIN:-$default_bin}\"\n");
    s.push_str("SPEC=\"${DCLAB_SPEC:-$default_spec}\"\n");
    s.push_str("OUT=\"${DCLAB_OUT:-$default_out}\"\n");
    s.push_str("export DCLAB_CACHE=\"${DCLAB_CACHE:-$default_cache}\"\n");
    s.push_str("export BURN_DEVICE=\"${BURN_DEVICE:-$default_device}\"\n");
    s.push_str(&format!(
        "export RAYON_NUM_THREADS=\"${{RAYON_NUM_THREADS:-${{SLURM_CPUS_PER_TASK:-{}}}}}\"\n",
        o.cpus
    ));
    s.push_str(
        "SHARD=\"${SLURM_ARRAY_TASK_ID:?submit with sbatch: SLURM_ARRAY_TASK_ID is not set}\"\n",
    );
    // What the node must have, checked before anything runs, each named when it is missing.
    s.push_str("fail() { echo \"dclab sweep task $SHARD on $(hostname): $1\" >&2; exit 2; }\n");
    s.push_str("[ -x \"$DCLAB_BIN\" ] || fail \"the dclab binary $DCLAB_BIN is missing or not executable on this node (set DCLAB_BIN)\"\n");
    s.push_str("[ -r \"$SPEC\" ] || fail \"the sweep spec $SPEC is missing on this node (set DCLAB_SPEC)\"\n");
    s.push_str("[ -d \"$DCLAB_CACHE\" ] || fail \"the data cache $DCLAB_CACHE is missing on this node (is its file system mounted here? set DCLAB_CACHE)\"\n");
    s.push_str("mkdir -p \"$OUT\" || fail \"cannot create the output folder $OUT\"\n");
    s.push_str(&format!(
        "exec \"$DCLAB_BIN\" sweep \"$SPEC\" --shard \"$SHARD/{}\" --out \"$OUT/shard-$SHARD\"\n",
        o.shards
    ));
    Ok(s)
}

/// A word for the shell: single-quoted, with each `'` written as `'\''`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Absolute form of a path for the script (relative paths break under Slurm's working dir).
pub fn absolute(p: &Path) -> String {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string()
}
