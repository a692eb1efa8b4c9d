//! Sweeps and the study: spec validation, SIGKILL + resume, refusing corrupt tables,
//! shard/slurm/merge, and a micro study that writes every figure and the summary.

use dclab::study::report::{FIGURE_IDS, RUNS_TABLE_ID};
use dclab::study::run_study;
use dclab::sweep::{SweepOptions, SweepSpec, table};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dclab");

/// A sweep small enough to run in seconds, long enough per run to be killed mid-run.
const MICRO: &str = r#"
name = "micro"
corpus = "sample"
tokenizer = "char"
seq_len = 16
objectives = ["ar", "diffusion"]
models = ["16,2,1", "32,2,1"]
unique_tokens = [2040, 6120]
epochs = [1, 3]

[train]
batch_size = 8
lr = 3e-3
eval_every = 5
eval_sequences = 4
eval_draws = 2
precise_eval_sequences = 8
precise_eval_draws = 2

[compute_matched]
tokens = 4080
unique_fractions = [1.0, 0.25]
models = ["16,2,1"]
"#;

fn cache() -> PathBuf {
    std::env::temp_dir().join("dclab-test-cache")
}

fn write_spec(dir: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join("spec.in.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn sweep_cmd(spec: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("sweep")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("DCLAB_CACHE", cache())
        .env("BURN_DEVICE", "cpu");
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

fn run_ok(mut c: Command) {
    let out = c.output().unwrap();
    assert!(out.status.success(), "command failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Rows of a folder, comparable (timing removed, curve path kept), sorted by run id.
fn rows_of(dir: &Path) -> Vec<Value> {
    let mut rows: Vec<Value> = table::read(dir).unwrap().iter().map(|r| r.comparable()).collect();
    rows.sort_by_key(|r| r["run_id"].as_str().unwrap().to_string());
    rows
}

/// The uninterrupted, unsharded sweep every other run is compared with.
fn baseline() -> &'static Vec<Value> {
    static B: OnceLock<Vec<Value>> = OnceLock::new();
    B.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let spec = write_spec(&dir, MICRO);
        run_ok(sweep_cmd(&spec, &dir.join("out"), &[]));
        let rows = rows_of(&dir.join("out"));
        assert_eq!(rows.len(), 20, "2 objectives x (2 models x 2 U x 2 E + 2 matched)");
        rows
    })
}

#[test]
fn spec_errors_name_the_key() {
    let base = "objectives = [\"ar\"]\nmodels = [\"0.1m\"]\nunique_tokens = [5000]\nepochs = [1]\n";
    let cases: [(&str, &str); 10] = [
        ("epoch = [2]\n", "epoch"),
        ("[train]\nlearning_rate = 1.0\n", "learning_rate"),
        ("[train]\nlr = -1.0\n", "train.lr"),
        ("[train]\nbatch_size = 0\n", "train.batch_size"),
        ("seq_len = 1\n", "seq_len"),
        ("tokenizer = \"words\"\n", "tokenizer"),
        (
            "[compute_matched]\ntokens = 10000\nunique_fractions = [1.5]\n",
            "compute_matched.unique_fractions[0]",
        ),
        (
            "[compute_matched]\ntokens = 10000\nflops = 1e12\nunique_fractions = [0.5]\n",
            "compute_matched",
        ),
        ("[compute_matched]\nunique_fractions = [0.5]\nextra = 1\n", "extra"),
        ("seeds = []\n", "seeds"),
    ];
    for (extra, key) in cases {
        let text = if extra.starts_with('[') {
            format!("{base}{extra}")
        } else {
            format!("{extra}{base}")
        };
        let err = format!("{:#}", SweepSpec::from_toml(&text).expect_err(extra));
        assert!(err.contains(key), "error for {extra:?} does not name `{key}`: {err}");
    }
    let bad = |field: &str, value: &str, key: &str| {
        let text = base.replace(&format!("{field} = "), &format!("{field} = {value} #"));
        let err = format!("{:#}", SweepSpec::from_toml(&text).expect_err(field));
        assert!(err.contains(key), "error for {field} = {value} does not name `{key}`: {err}");
    };
    bad("epochs", "[0]", "epochs[0]");
    bad("epochs", "[1, 1]", "epochs");
    bad("objectives", "[\"ar\", \"autoregressive\"]", "objectives[1]");
    bad("models", "[\"7,2,1\"]", "models[0]");
    bad("unique_tokens", "[10]", "unique_tokens[0]");
    // A compute-matched spec needs no grid.
    let matched = "objectives = [\"ar\"]\nmodels = [\"0.1m\"]\n[compute_matched]\ntokens = 10000\nunique_fractions = [1.0, 0.5]\n";
    let spec = SweepSpec::from_toml(matched).unwrap();
    assert_eq!(dclab::sweep::points(&spec, 70).unwrap().len(), 2);
    // The CLI exits non-zero with the same message.
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), &format!("{base}[train]\nlr = 0.0\n"));
    let out = sweep_cmd(&spec, &dir.path().join("out"), &[]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("train.lr"));
    // A budget larger than the corpus is refused before any training.
    let spec = write_spec(dir.path(), &base.replace("[5000]", "[900000000]"));
    let out = sweep_cmd(&spec, &dir.path().join("big"), &[]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than the training text"));
}

/// A child process killed and waited for when it goes out of scope, so a failed assertion
/// never leaves a sweep running.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigkill_then_resume_gives_the_uninterrupted_rows() {
    let want = baseline();
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), MICRO);
    let out = dir.path().join("out");
    // First kill: mid-run, after at least one row is in the table and a later run has a
    // checkpoint but no summary.
    let mut child = Reaped(sweep_cmd(&spec, &out, &[]).spawn().unwrap());
    let child = &mut child.0;
    let started = Instant::now();
    let mut killed_mid_run = false;
    while started.elapsed() < Duration::from_secs(300) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let in_table = table::read(&out).map(|r| r.len()).unwrap_or(0);
        let mid = std::fs::read_dir(out.join("runs")).into_iter().flatten().flatten().any(|e| {
            e.path().join("checkpoints/last/state.json").exists()
                && !e.path().join("summary.json").exists()
        });
        if in_table >= 1 && mid {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            killed_mid_run = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(killed_mid_run, "the sweep finished before it could be killed mid-run");
    let partial = table::read(&out).unwrap();
    assert!(!partial.is_empty() && partial.len() < want.len());
    // A merge of the stopped folder takes its finished rows and names it as incomplete.
    let early = dir.path().join("early");
    let merged = dclab::sweep::merge(std::slice::from_ref(&out), &early).unwrap();
    assert_eq!(merged.rows.len(), partial.len());
    assert_eq!(
        merged.incomplete,
        vec![dclab::sweep::Incomplete {
            dir: out.clone(),
            finished: partial.len(),
            planned: want.len()
        }]
    );
    assert!(merged.incomplete[0].to_string().contains("still running or stopped"));
    // More kills at arbitrary moments, then a run to the end.
    for delay in [150u64, 40, 400, 90] {
        let mut child = sweep_cmd(&spec, &out, &[]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        child.wait().unwrap();
        table::read(&out).expect("the table stays readable after a SIGKILL");
    }
    run_ok(sweep_cmd(&spec, &out, &[]));
    let got = rows_of(&out);
    assert_eq!(got.len(), want.len(), "no row lost or duplicated");
    assert_eq!(&got, want, "resumed rows differ from the uninterrupted sweep");
    let csv = table::read_file(&table::csv_path(&out)).unwrap();
    assert_eq!(csv.len(), want.len(), "runs.csv holds the same rows");
    // A finished sweep does nothing more.
    let before = std::fs::read(table::parquet_path(&out)).unwrap();
    run_ok(sweep_cmd(&spec, &out, &[]));
    assert_eq!(before, std::fs::read(table::parquet_path(&out)).unwrap());
}

#[test]
fn corrupt_or_foreign_tables_are_refused_untouched() {
    let spec = SweepSpec::from_toml(MICRO).unwrap();
    let opts = SweepOptions {
        device: dclab::model::select_device("cpu").unwrap(),
        cache: cache(),
        shard: None,
    };
    let foreign =
        dclab::scaling::runs::Runs::new(vec![1e6], vec![1e8], vec![1e7], vec![3.0]).unwrap();
    type Corrupt = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Corrupt)> = vec![
        (
            "garbage parquet",
            Box::new(|p: &Path| {
                std::fs::write(p.join("runs.parquet"), b"PAR1 this is not parquet").unwrap()
            }),
        ),
        (
            "foreign parquet",
            Box::new(move |p: &Path| foreign.write(&p.join("runs.parquet")).unwrap()),
        ),
        (
            "csv without parquet",
            Box::new(|p: &Path| std::fs::write(p.join("runs.csv"), "a,b\n1,2\n").unwrap()),
        ),
    ];
    for (what, make) in cases {
        let dir = tempfile::tempdir().unwrap();
        make(dir.path());
        let files: Vec<(PathBuf, Vec<u8>)> = ["runs.parquet", "runs.csv"]
            .iter()
            .map(|f| dir.path().join(f))
            .filter(|p| p.exists())
            .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
            .collect();
        let err = format!(
            "{:#}",
            dclab::sweep::run_sweep(&spec, dir.path(), &opts, &mut |_| {}).expect_err(what)
        );
        assert!(err.contains("refusing"), "{what}: {err}");
        for (p, bytes) in files {
            assert_eq!(std::fs::read(&p).unwrap(), bytes, "{what}: {} was changed", p.display());
        }
        assert!(!dir.path().join("runs").exists(), "{what}: nothing was trained");
    }
}

#[test]
fn slurm_shards_merged_equal_the_unsharded_sweep() {
    let want = baseline();
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), MICRO);
    let out = dir.path().join("cluster");
    let script = dir.path().join("job.sh");
    let made = Command::new(BIN)
        .args(["sweep", "slurm"])
        .arg(&spec)
        .args(["--shards", "3", "--gpus", "0", "--device", "cpu", "--out"])
        .arg(&out)
        .arg("--script")
        .arg(&script)
        .arg("--binary")
        .arg(BIN)
        .env("DCLAB_CACHE", cache())
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(
        text.contains("#SBATCH --array=0-2") && text.contains("--shard \"$SHARD/3\""),
        "{text}"
    );
    assert!(
        out.is_dir(),
        "Slurm opens the shard logs in the output folder before the script runs: it must exist"
    );
    // A node that lacks the binary, the spec or the cache: the task says which, before anything runs.
    for (var, value, said) in [
        ("DCLAB_BIN", "/nonexistent/dclab", "dclab binary"),
        ("DCLAB_SPEC", "/nonexistent/s.toml", "sweep spec"),
        ("DCLAB_CACHE", "/nonexistent/cache", "data cache"),
    ] {
        let o = Command::new("bash")
            .arg(&script)
            .env("SLURM_ARRAY_TASK_ID", "0")
            .env(var, value)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success()
                && err.contains(said)
                && err.contains(value)
                && err.contains("missing"),
            "{var}: {err}"
        );
    }
    // Each array task, as Slurm would run it, on a node whose cache is the one the data was
    // prepared in (not the caller's DCLAB_CACHE, which on a cold machine may not exist yet).
    for task in 0..3 {
        let out = Command::new("bash")
            .arg(&script)
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("DCLAB_CACHE", cache())
            .output()
            .unwrap();
        assert!(out.status.success(), "task {task}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let shards: Vec<Vec<Value>> =
        (0..3).map(|i| rows_of(&out.join(format!("shard-{i}")))).collect();
    let ids: Vec<&str> = shards.iter().flatten().map(|r| r["run_id"].as_str().unwrap()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "shards are disjoint");
    let mut merge = Command::new(BIN);
    merge
        .args(["sweep", "merge"])
        .args((0..3).map(|i| out.join(format!("shard-{i}"))))
        .arg("--out")
        .arg(&out);
    run_ok(merge);
    let merged = rows_of(&out);
    let strip = |v: &Vec<Value>| -> Vec<Value> {
        v.iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("curve");
                r
            })
            .collect()
    };
    assert_eq!(strip(&merged), strip(want), "merged shards differ from the unsharded sweep");
    for r in table::read(&out).unwrap() {
        assert!(out.join(&r.curve).exists(), "curve {} resolves from the merged folder", r.curve);
    }
    // A conflicting row is refused and nothing is written.
    let shard0 = out.join("shard-0");
    let mut rows = table::read(&shard0).unwrap();
    rows[0].summary.final_val_loss += 0.5;
    let conflict = dir.path().join("conflict");
    std::fs::create_dir_all(&conflict).unwrap();
    table::write(&conflict, &rows).unwrap();
    let before = std::fs::read(table::parquet_path(&out)).unwrap();
    let mut bad = Command::new(BIN);
    bad.args(["sweep", "merge"]).arg(&shard0).arg(&conflict).arg("--out").arg(&out);
    let res = bad.output().unwrap();
    assert!(!res.status.success());
    assert!(
        String::from_utf8_lossy(&res.stderr).contains("conflicting rows"),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert_eq!(before, std::fs::read(table::parquet_path(&out)).unwrap());
}

#[test]
fn micro_study_writes_every_figure_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SweepSpec::from_toml(MICRO).unwrap();
    let opts = SweepOptions {
        device: dclab::model::select_device("cpu").unwrap(),
        cache: cache(),
        shard: None,
    };
    let study = run_study(&spec, dir.path(), &opts, "test", &mut |_| {}).unwrap();
    assert_eq!(study.rows.len(), 20);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    for id in FIGURE_IDS.iter().chain([&RUNS_TABLE_ID]) {
        assert!(html.contains(&format!("id=\"{id}\"")), "report.html lacks #{id}");
    }
    assert!(html.contains("Plotly.newPlot") && html.len() > 4_000_000, "plotly.js is inlined");
    assert!(!html.contains("<script src="), "no external scripts");
    for r in &study.rows {
        assert!(html.contains(&r.point.run_id), "runs table lists {}", r.point.run_id);
    }
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    for must in [
        "## Findings",
        "Did AR's loss turn up with epochs?",
        "Did diffusion's loss turn up with epochs?",
        "Which family is best at the largest compute",
        "Where do the fitted laws put the crossover?",
        "**Verdict**",
        "## Runs",
    ] {
        assert!(md.contains(must), "summary.md lacks `{must}`:\n{md}");
    }
    // The winner named in the summary is the family with the lowest loss at the common compute.
    let a = &study.analysis;
    let c = a.largest_common_flops.unwrap();
    // Compared on the precise estimates, which every run of this version has.
    assert!(study.rows.iter().all(|r| r.summary.best_val_loss_precise.is_some()));
    let best = |f: &str| {
        study
            .rows
            .iter()
            .filter(|r| r.point.family == f && r.summary.flops <= c * 1.01)
            .map(|r| r.summary.best_loss().0)
            .fold(f64::INFINITY, f64::min)
    };
    let winner = if best("ar") <= best("diffusion") { "ar" } else { "diffusion" };
    assert_eq!(a.best_at_largest[0].family, winner);
    // Best against best at each U (the grid's two and the matched family's two), Delta the difference of the two
    // families' lowest precise losses there.
    assert_eq!(
        a.frontier.iter().map(|f| f.unique_tokens).collect::<Vec<_>>(),
        vec![1020, 2040, 4080, 6120]
    );
    for f in &a.frontier {
        let at_u = |fam: &str| {
            study
                .rows
                .iter()
                .filter(|r| r.point.family == fam && r.summary.unique_tokens == f.unique_tokens)
                .map(|r| r.summary.best_loss().0)
                .fold(f64::INFINITY, f64::min)
        };
        assert!((f.delta - (at_u("diffusion") - at_u("ar"))).abs() < 1e-12);
        assert!(f.stderr > 0.0, "diffusion's precise estimate has a standard error");
        assert!(md.contains(&format!("Best against best at U = {} tokens?", f.unique_tokens)));
    }
    assert_eq!(a.fit_choices.len(), 2);
}
