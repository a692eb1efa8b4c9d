//! Merging the tables of shard folders into one, refusing rows that conflict.

use super::table::{self, RunRow};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Merges the tables of `dirs` into `out` (its own table, if any, is a source too). Rows of
/// the same run must agree in everything but timing and curve path; identical duplicates
/// collapse. Curve paths are rewritten relative to `out` (absolute if outside it).
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Vec<RunRow>> {
    if dirs.is_empty() {
        bail!("nothing to merge: give one or more sweep folders");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let out_abs = std::path::absolute(out)?;
    let mut rows: Vec<(RunRow, PathBuf)> = table::read(out)?.into_iter().map(|r| (r, out.to_path_buf())).collect();
    for dir in dirs {
        if !table::parquet_path(dir).exists() {
            bail!("{} has no runs.parquet: not a sweep folder (or no run finished there yet)", dir.display());
        }
        let src_abs = std::path::absolute(dir)?;
        for mut row in table::read(dir)? {
            let curve = src_abs.join(&row.curve);
            row.curve = match curve.strip_prefix(&out_abs) {
                Ok(rel) => rel.display().to_string(),
                Err(_) => curve.display().to_string(),
            };
            if let Some((prev, from)) = rows.iter().find(|(r, _)| r.point.run_id == row.point.run_id) {
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
    let settings = &rows[0].0.settings;
    if let Some((r, d)) = rows.iter().find(|(r, _)| &r.settings != settings) {
        bail!("run {} in {} was made with other settings than run {}: refusing to mix them", r.point.run_id, d.display(), rows[0].0.point.run_id);
    }
    let rows: Vec<RunRow> = rows.into_iter().map(|(r, _)| r).collect();
    table::write(out, &rows)?;
    for dir in dirs {
        let spec = dir.join("spec.toml");
        if spec.exists() && !out.join("spec.toml").exists() {
            std::fs::copy(&spec, out.join("spec.toml")).context("copying spec.toml")?;
        }
    }
    Ok(rows)
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
    x.iter().find(|(k, v)| y.get(*k) != Some(v)).map(|(k, v)| format!("`{k}` is {v} vs {}", y.get(k).unwrap_or(&serde_json::Value::Null)))
}
