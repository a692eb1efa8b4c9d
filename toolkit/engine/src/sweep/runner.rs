//! Runs a sweep into a folder: every point not yet in the table, resuming an interrupted run
//! from its checkpoint, appending one row per finished run.
//!
//! Folder layout: `spec.toml` (the spec last run), `runs/<run_id>/` (each run's metrics.csv,
//! summary.json, checkpoints), `runs.parquet` and `runs.csv` (the table).

use super::point::{SweepPoint, points, shard};
use super::spec::SweepSpec;
use super::table::{self, RunRow};
use crate::data::{Prepared, prepare};
use crate::fsio::{write_atomic, write_json_atomic};
use crate::model::{DeviceChoice, ModelConfig, preset};
use crate::train::{Event, Summary, TrainConfig, train};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How to run a sweep (what is not in the spec).
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// The device every run trains on, resolved once by the caller.
    pub device: DeviceChoice,
    /// Data cache folder.
    pub cache: PathBuf,
    /// Run only shard (i, n) of the points.
    pub shard: Option<(usize, usize)>,
}

/// What a sweep reports while it runs.
#[derive(Debug)]
pub enum SweepEvent<'a> {
    /// A run starts (`index` of `total` in this invocation, 1-based).
    RunStart {
        /// The point about to train.
        point: &'a SweepPoint,
        /// Its place in this invocation's runs, 1-based.
        index: usize,
        /// Runs this invocation trains.
        total: usize,
    },
    /// An event of the run in progress.
    Train(Event<'a>),
    /// A run finished and its row is in the table; `eta_seconds` covers the runs left.
    RunDone {
        /// The finished run's row.
        row: &'a RunRow,
        /// Runs done, skipped ones (finished before) included.
        done: usize,
        /// Runs of the plan.
        total: usize,
        /// Estimated seconds to finish the runs left (from the FLOPs done so far).
        eta_seconds: f64,
    },
}

impl SweepEvent<'_> {
    /// The progress line of a run starting or finishing (runs done / total, ETA); None for
    /// events inside a run. The CLI and notebooks print these.
    pub fn line(&self) -> Option<String> {
        match self {
            SweepEvent::RunStart { point, index, total } => {
                Some(format!("[{index}/{total}] {} ...", point.run_id))
            }
            SweepEvent::RunDone { row, done, total, eta_seconds } => Some(format!(
                "[{done}/{total}] {}: best val {:.4} (final {:.4}) in {:.0}s; ETA {}",
                row.point.run_id,
                row.summary.best_val_loss,
                row.summary.final_val_loss,
                row.summary.wall_seconds,
                eta(*eta_seconds)
            )),
            SweepEvent::Train(_) => None,
        }
    }
}

/// Seconds as `12m05s` or `1h02m`.
fn eta(s: f64) -> String {
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// What a sweep leaves: the whole table of the folder and what this call did.
#[derive(Clone, Debug)]
pub struct SweepResult {
    /// The sweep folder.
    pub dir: PathBuf,
    /// Every row of the folder's table (also rows of other points it already held).
    pub rows: Vec<RunRow>,
    /// Runs trained (or recovered from a finished folder) by this call.
    pub ran: usize,
    /// Points skipped because their row was already there.
    pub skipped: usize,
}

/// Runs `spec` into `dir`; a second call with the same spec does nothing, and a call after a
/// kill resumes where it stopped.
pub fn run_sweep(
    spec: &SweepSpec, dir: &Path, opts: &SweepOptions, on_event: &mut dyn FnMut(SweepEvent),
) -> Result<SweepResult> {
    spec.validate()?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut rows = table::read(dir)?;
    let settings = spec.settings_json();
    if let Some(r) = rows.iter().find(|r| r.settings != settings) {
        bail!(
            "{} holds runs made with other settings ({}); use another --out",
            dir.display(),
            first_difference(&r.settings, &settings)
        );
    }
    let full = prepare(&spec.corpus, spec.tokenizer_spec()?, None, spec.seq_len, &opts.cache)?;
    let vocab = full.tokenizer.vocab_size();
    let mut todo = points(spec, vocab)?;
    if let Some((i, n)) = opts.shard {
        todo = shard(&todo, i, n);
    }
    let available = full.train.tokens.len();
    if let Some(p) = todo.iter().find(|p| p.requested_unique_tokens > available) {
        bail!(
            "unique-token budget {} (run {}) is larger than the training text of corpus '{}': {available} tokens with tokenizer {}",
            p.requested_unique_tokens,
            p.run_id,
            spec.corpus,
            spec.tokenizer
        );
    }
    write_atomic(&dir.join("spec.toml"), spec.to_toml().as_bytes())?;
    let mut plan =
        Plan { shard: opts.shard, runs: todo.iter().map(|p| p.run_id.clone()).collect() };
    // Doubling groups that stopped drop their later points from the plan.
    let exhausted = |p: &SweepPoint, rows: &[RunRow]| {
        p.kind == "doubling" && spec.doubling.as_ref().is_some_and(|d| group_done(d, p, rows))
    };
    plan.runs.retain(|id| {
        !todo.iter().any(|p| {
            &p.run_id == id && !rows.iter().any(|r| &r.point.run_id == id) && exhausted(p, &rows)
        })
    });
    write_json_atomic(&dir.join(PLAN_FILE), &plan)?;
    let device = &opts.device;
    let mut total = plan.runs.len();
    let skipped = todo.iter().filter(|p| rows.iter().any(|r| r.point.run_id == p.run_id)).count();
    todo.retain(|p| {
        !rows.iter().any(|r| r.point.run_id == p.run_id) && plan.runs.contains(&p.run_id)
    });
    let mut remaining_flops: f64 =
        todo.iter().map(|p| super::point::planned_flops(p, vocab, spec.seq_len)).sum();
    let (started, mut flops_done) = (Instant::now(), 0.0);
    let mut data: Option<(usize, Prepared)> = None;
    let mut k = 0;
    for point in todo.iter() {
        if exhausted(point, &rows) {
            // Cheapest first puts a group's smaller epoch counts before this one: it stopped.
            plan.runs.retain(|id| id != &point.run_id);
            write_json_atomic(&dir.join(PLAN_FILE), &plan)?;
            total -= 1;
            remaining_flops -= super::point::planned_flops(point, vocab, spec.seq_len);
            continue;
        }
        on_event(SweepEvent::RunStart { point, index: skipped + k + 1, total });
        let run_dir = dir.join("runs").join(&point.run_id);
        let mut curve = format!("runs/{}/metrics.csv", point.run_id);
        // A compute-matched point can be the very same training run as a grid point.
        let twin = rows
            .iter()
            .find(|r| r.point.same_training(point))
            .map(|r| (r.summary.clone(), r.curve.clone()));
        let finished = match twin {
            Some((s, c)) => {
                curve = c;
                Some(s)
            }
            None => read_finished(&run_dir)?,
        };
        let summary = match finished {
            Some(s) => s,
            None => {
                if data.as_ref().is_none_or(|(u, _)| *u != point.requested_unique_tokens) {
                    data = Some((
                        point.requested_unique_tokens,
                        full.with_budget(point.requested_unique_tokens)?,
                    ));
                }
                let prepared = &data.as_ref().expect("just set").1;
                let cfg = train_config(spec, point, vocab)?;
                let objective = cfg.build_objective()?;
                std::fs::create_dir_all(&run_dir)
                    .with_context(|| format!("creating {}", run_dir.display()))?;
                let mut fwd = |e: Event| on_event(SweepEvent::Train(e));
                train(&cfg, objective.as_ref(), prepared, device, Some(&run_dir), &mut fwd)
                    .with_context(|| format!("run {}", point.run_id))?
                    .summary
            }
        };
        let row = RunRow { point: point.clone(), curve, settings: settings.clone(), summary };
        rows.push(row);
        table::write(dir, &rows)?;
        let planned = super::point::planned_flops(point, vocab, spec.seq_len);
        flops_done += planned;
        remaining_flops -= planned;
        let rate = started.elapsed().as_secs_f64() / flops_done.max(1.0);
        let eta_seconds = rate * remaining_flops.max(0.0);
        on_event(SweepEvent::RunDone {
            row: rows.last().expect("just pushed"),
            done: skipped + k + 1,
            total,
            eta_seconds,
        });
        k += 1;
    }
    Ok(SweepResult { dir: dir.to_path_buf(), rows, ran: k, skipped })
}

/// Whether `point`'s doubling group stopped before it: its runs at fewer epochs (in the
/// table) meet the stop rule.
fn group_done(d: &super::spec::Doubling, point: &SweepPoint, rows: &[RunRow]) -> bool {
    let key = super::point::group_key(point);
    let mut earlier: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| {
            r.point.kind == "doubling"
                && r.point.requested_epochs < point.requested_epochs
                && super::point::group_key(&r.point) == key
        })
        .map(|r| (r.point.requested_epochs, r.summary.best_loss().0))
        .collect();
    earlier.sort_by(|a, b| a.0.total_cmp(&b.0));
    let Some(&(last, _)) = earlier.last() else { return false };
    let losses: Vec<f64> = earlier.iter().map(|e| e.1).collect();
    d.done(&losses, last)
}

/// The training config of one point.
pub fn train_config(
    spec: &SweepSpec, point: &SweepPoint, vocab_size: usize,
) -> Result<TrainConfig> {
    let (d, h, l) = preset(&point.model_spec)?;
    let t = &spec.train;
    let model = ModelConfig::new(vocab_size, d, h, l, spec.seq_len)
        .with_dropout(point.point_dropout.unwrap_or(t.dropout))
        .with_precision(Some(t.precision));
    Ok(t.config(model, &point.family)?
        .with_model_name(point.model_spec.clone())
        .with_epochs(point.requested_epochs)
        .with_weight_decay(point.point_weight_decay.unwrap_or(t.weight_decay))
        .with_seed(point.point_seed))
}

/// The summary of a run folder that finished (summary.json is its last write), if any.
fn read_finished(run_dir: &Path) -> Result<Option<Summary>> {
    let path = run_dir.join("summary.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let s = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a run summary", path.display()))?;
    Ok(Some(s))
}

/// Names the first key whose value differs between two flat-ish JSON settings texts.
fn first_difference(a: &str, b: &str) -> String {
    let (Ok(a), Ok(b)) = (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) else {
        return "unreadable settings".into();
    };
    fn walk(prefix: &str, a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
        match (a, b) {
            (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                keys.into_iter().find_map(|k| {
                    let null = serde_json::Value::Null;
                    let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&p, x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null))
                })
            }
            _ if a != b => Some(format!("`{prefix}` was {a}, the spec says {b}")),
            _ => None,
        }
    }
    walk("", &a, &b).unwrap_or_else(|| "formatting differs".into())
}

/// The file a sweep folder's [`Plan`] is written to.
const PLAN_FILE: &str = "plan.json";

/// What a sweep folder will hold when its sweep is done: merge compares it with the table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    /// `(i, n)` for shard i of n, None for a whole sweep.
    pub shard: Option<(usize, usize)>,
    /// Run ids of every point of the folder.
    pub runs: Vec<String>,
}

/// A sweep folder's plan, if it wrote one (folders of older versions did not).
pub fn read_plan(dir: &Path) -> Result<Option<Plan>> {
    let path = dir.join(PLAN_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&text)
        .map(Some)
        .with_context(|| format!("{} is not a sweep plan", path.display()))
}

#[cfg(test)]
mod tests_support {
    pub use super::*;

    pub fn point(family: &str, epochs: f64, weight_decay: Option<f64>) -> SweepPoint {
        SweepPoint {
            run_id: format!("{family}_E{epochs}_{weight_decay:?}"),
            kind: "doubling".into(),
            family: family.into(),
            model_spec: "0.1m".into(),
            requested_unique_tokens: 4096,
            requested_epochs: epochs,
            unique_fraction: None,
            point_seed: 0,
            point_dropout: None,
            point_weight_decay: weight_decay,
        }
    }

    /// A finished row of `p` whose precise best loss is `loss` (the rest of the summary is filler).
    pub fn row(p: &SweepPoint, loss: f64) -> RunRow {
        let mut v = serde_json::json!({
            "curve": "c.csv", "settings": "{}",
            "objective": p.family, "model": p.model_spec, "params_total": 1, "params_non_embedding": 1, "seq_len": 16,
            "batch_size": 4, "corpus": "x", "tokenizer": "char", "vocab_size": 10, "unique_tokens": 4096,
        });
        let rest = serde_json::json!({
            "epochs": p.requested_epochs, "steps": 1, "tokens_seen": 1, "flops": 1.0, "flops_with_attention": 1.0,
            "best_val_loss": loss + 1.0, "best_val_step": 1, "final_val_loss": loss, "final_val_loss_stderr": 0.0,
            "best_val_loss_precise": loss, "best_val_bits_per_byte": 1.0, "heldout_loss": 1.0,
            "heldout_bits_per_byte": 1.0, "tokens_per_second": 1.0, "wall_seconds": 1.0, "stopped_early": false,
            "dropout": 0.1, "weight_decay": 0.1, "device": "cpu", "seed": 0, "config": {}
        });
        for extra in [rest, serde_json::to_value(p).unwrap()] {
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        }
        serde_json::from_value(v).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;

    #[test]
    fn a_doubling_group_stops_on_its_own_precise_losses() {
        let d = crate::sweep::Doubling { start: 1.0, cap: 1024.0, patience: 2, min_points: 4 };
        // Group wd 0.1 bottoms out at E = 2 (the precise loss, not the curve's best, decides).
        let rows: Vec<RunRow> = [(1.0, 3.0), (2.0, 2.5), (4.0, 2.6), (8.0, 2.9)]
            .iter()
            .map(|&(e, l)| row(&point("ar", e, Some(0.1)), l))
            .collect();
        assert!(
            group_done(&d, &point("ar", 16.0, Some(0.1)), &rows),
            "two doublings without a new best after four runs"
        );
        assert!(
            !group_done(&d, &point("ar", 8.0, Some(0.1)), &rows[..3]),
            "three runs: below min_points"
        );
        // Another group (its own weight decay, or another family) does not inherit the stop.
        assert!(!group_done(&d, &point("ar", 16.0, Some(1.0)), &rows));
        assert!(!group_done(&d, &point("diffusion", 16.0, Some(0.1)), &rows));
    }
}

#[cfg(test)]
mod table_tests {
    use super::tests_support::*;

    /// A point's regularisation and the summary's are separate columns: a row with both reads
    /// back with both.
    #[test]
    fn a_regularised_point_round_trips_through_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = point("ar", 2.0, Some(1.0));
        p.point_dropout = Some(0.0);
        let mut r = row(&p, 2.5);
        r.summary.dropout = 0.25;
        super::table::write(dir.path(), &[r]).unwrap();
        let back = super::table::read(dir.path()).unwrap();
        assert_eq!(back[0].point, p);
        assert_eq!((back[0].summary.dropout, back[0].summary.weight_decay), (0.25, 0.1));
        assert_eq!(back[0].summary.best_val_loss_precise, Some(2.5));
    }
}
