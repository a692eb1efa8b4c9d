//! Merging the tables of shard folders into one, refusing rows that conflict; a shard that is
//! still running (or stopped) gives its finished rows and is named.

use super::runner::read_plan;
use super::table::{self, RunRow};
use anyhow::{Context, Result, bail};
use std::fmt;
use std::path::{Path, PathBuf};

/// A folder whose plan has runs its table does not hold yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incomplete {
    /// The folder.
    pub dir: PathBuf,
    /// Runs in its table.
    pub finished: usize,
    /// Runs its sweep planned (`plan.json`).
    pub planned: usize,
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} of {} runs finished, the others still running or stopped: taking the {} finished (merge again when it is done)",
            self.dir.display(),
            self.finished,
            self.planned,
            self.finished
        )
    }
}

/// What a merge wrote: every row of the merged table, and the folders that were not done.
#[derive(Clone, Debug)]
pub struct Merged {
    /// The merged table's rows.
    pub rows: Vec<RunRow>,
    /// Source folders with planned runs not finished yet.
    pub incomplete: Vec<Incomplete>,
    /// Shards (`i/n`) of the merged shards' sweeps that were not among the folders (not started
    /// yet, or not given).
    pub missing_shards: Vec<String>,
    /// Folders with neither a table nor a plan: a sweep still preparing its data there, or not
    /// a sweep folder at all; they contribute nothing.
    pub preparing: Vec<PathBuf>,
}

/// Merges the tables of `dirs` into `out` (its own table, if any, is a source too). Rows of
/// the same run must agree in everything but timing and curve path; identical duplicates
/// collapse. Curve paths are rewritten relative to `out` (absolute if outside it). Only finished
/// rows exist in a table, so a shard still running contributes those and is listed as incomplete.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Merged> {
    if dirs.is_empty() {
        bail!("nothing to merge: give one or more sweep folders");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let out_abs = std::path::absolute(out)?;
    let mut rows: Vec<(RunRow, PathBuf)> =
        table::read(out)?.into_iter().map(|r| (r, out.to_path_buf())).collect();
    let mut incomplete = Vec::new();
    let mut preparing = Vec::new();
    let mut shards_seen: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for dir in dirs {
        let plan = read_plan(dir)?;
        if !table::parquet_path(dir).exists() && plan.is_none() {
            if !dir.is_dir() {
                bail!("{} does not exist", dir.display());
            }
            // A sweep writes its plan once its data is prepared: this one may be starting.
            preparing.push(dir.clone());
            continue;
        }
        let src = if table::parquet_path(dir).exists() { table::read(dir)? } else { Vec::new() };
        if let Some(plan) = plan {
            let finished =
                plan.runs.iter().filter(|id| src.iter().any(|r| &r.point.run_id == *id)).count();
            if finished < plan.runs.len() {
                incomplete.push(Incomplete {
                    dir: dir.clone(),
                    finished,
                    planned: plan.runs.len(),
                });
            }
            if let Some((i, n)) = plan.shard {
                shards_seen.entry(n).or_default().push(i);
            }
        }
        let src_abs = std::path::absolute(dir)?;
        for mut row in src {
            let curve = src_abs.join(&row.curve);
            row.curve = match curve.strip_prefix(&out_abs) {
                Ok(rel) => rel.display().to_string(),
                Err(_) => curve.display().to_string(),
            };
            if let Some((prev, from)) =
                rows.iter().find(|(r, _)| r.point.run_id == row.point.run_id)
            {
                if let Some(diff) = conflict(prev, &row) {
                    bail!(
                        "conflicting rows for run {} in {} and {}: {diff}; nothing was written",
                        row.point.run_id,
                        from.display(),
                        dir.display()
                    );
                }
                continue;
            }
            rows.push((row, dir.clone()));
        }
    }
    let Some(first) = rows.first() else {
        bail!(
            "no run has finished in {} yet: nothing to merge (or these are not sweep folders)",
            dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    };
    let settings = &first.0.settings;
    if let Some((r, d)) = rows.iter().find(|(r, _)| &r.settings != settings) {
        bail!(
            "run {} in {} was made with other settings than run {}: refusing to mix them",
            r.point.run_id,
            d.display(),
            rows[0].0.point.run_id
        );
    }
    let rows: Vec<RunRow> = rows.into_iter().map(|(r, _)| r).collect();
    let missing_shards: Vec<String> = shards_seen
        .iter()
        .flat_map(|(&n, seen)| {
            (0..n).filter(|i| !seen.contains(i)).map(move |i| format!("{i}/{n}"))
        })
        .collect();
    table::write(out, &rows)?;
    for dir in dirs {
        let spec = dir.join("spec.toml");
        if spec.exists() && !out.join("spec.toml").exists() {
            std::fs::copy(&spec, out.join("spec.toml")).context("copying spec.toml")?;
        }
    }
    Ok(Merged { rows, incomplete, missing_shards, preparing })
}

/// The first field two rows of one run disagree on (timing and curve path aside).
fn conflict(a: &RunRow, b: &RunRow) -> Option<String> {
    let (mut x, mut y) = (a.comparable(), b.comparable());
    for v in [&mut x, &mut y] {
        if let Some(m) = v.as_object_mut() {
            m.remove("curve");
        }
    }
    let (x, y) = (x.as_object()?, y.as_object()?);
    x.iter()
        .find(|(k, v)| y.get(*k) != Some(v))
        .map(|(k, v)| format!("`{k}` is {v} vs {}", y.get(k).unwrap_or(&serde_json::Value::Null)))
}
