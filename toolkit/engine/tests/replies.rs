//! `dclab ... --json`, what the notebook bindings read: one reply on stdout (the value, its
//! figure and table), progress on stderr; and an engine whose stdin closes stops.

use dclab_types::{Blob, BoundPoint, MaskDraw, Reply, RunReport, Sample, ValueCurve};
use serde::de::DeserializeOwned;
use std::process::{Command, Output, Stdio};

fn dclab(args: &[&str], cache: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dclab"))
        .args(args)
        .arg("--json")
        .env("DCLAB_CACHE", cache)
        .output()
        .expect("run dclab")
}

fn reply<T: DeserializeOwned>(o: &Output) -> Reply<T> {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.trim().lines().count(), 1, "exactly one reply line on stdout: {out}");
    serde_json::from_str(out.trim()).expect("a reply")
}

fn plotly_traces<T>(r: &Reply<T>) -> Vec<serde_json::Value> {
    let b = r.views.iter().find(|b| b.mime == Blob::PLOTLY).expect("a figure");
    serde_json::from_str::<serde_json::Value>(&b.body).unwrap()["data"].as_array().unwrap().clone()
}

#[test]
fn train_sample_and_bound_reply_with_data_and_views() {
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    let run_s = run.to_str().unwrap();
    let args = [
        "train", "--objective", "diffusion", "--model", "0.1m", "--unique-tokens", "6000",
        "--seq-len", "32", "--batch-size", "8", "--eval-every", "10", "--eval-sequences", "4",
        "--eval-draws", "2", "--precise-eval-sequences", "8", "--precise-eval-draws", "2", "--out",
        run_s,
    ];
    let o = dclab(&args, cache.path());
    let r: Reply<RunReport> = reply(&o);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("step ")).count(),
        r.value.curve.len(),
        "one progress line per evaluation: {stderr}"
    );
    assert_eq!(r.value.dir, run_s);
    assert_eq!(r.value.summary.objective, "diffusion");
    let traces = plotly_traces(&r);
    let y: Vec<f64> =
        traces[0]["y"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(y, r.value.curve.iter().map(|m| m.val_loss).collect::<Vec<_>>());
    assert!(r.text.contains("upper bound"), "{}", r.text);

    // Rerunning the same command resumes the finished run: same curve, nothing retrained.
    let again: Reply<RunReport> = reply(&dclab(&args, cache.path()));
    assert_eq!(again.value.curve, r.value.curve);
    assert_eq!(again.value.summary.best_val_loss, r.value.summary.best_val_loss);

    let s: Reply<Vec<Sample>> = reply(&dclab(
        &[
            "sample", "--run", run_s, "--tokens", "10", "--steps", "4", "--temperature", "0.5,1",
            "--order", "confidence,random",
        ],
        cache.path(),
    ));
    assert_eq!(s.value.len(), 4, "two temperatures x two orders");
    assert!(s.value.iter().all(|x| x.objective == "diffusion" && !x.text.is_empty()));
    assert!(s.views.iter().any(|b| b.mime == Blob::HTML && b.body.matches("<tr>").count() == 5));

    let b: Reply<Vec<BoundPoint>> = reply(&dclab(
        &["diffusion", "bound", "--run", run_s, "--draws", "2,8", "--sequences", "6"],
        cache.path(),
    ));
    assert_eq!(b.value.iter().map(|p| p.draws).collect::<Vec<_>>(), vec![2, 8]);
    assert!(b.value.iter().all(|p| p.loss.is_finite() && p.stderr > 0.0 && p.sequences == 6));
    assert_eq!(plotly_traces(&b).len(), 2, "the standard error and the 1/sqrt(K) line");
}

#[test]
fn masks_and_law_curves_reply_with_what_they_show() {
    let cache = tempfile::tempdir().unwrap();
    let m: Reply<Vec<MaskDraw>> =
        reply(&dclab(&["diffusion", "masks", "--t", "0,1"], cache.path()));
    assert_eq!(m.value.len(), 2);
    assert!(
        m.value[0].masked <= 2 && m.value[1].masked == m.value[1].tokens,
        "t = 0 masks about eps of the tokens, t = 1 all of them: {:?}",
        m.value
    );
    assert_eq!(m.value[1].shown, "_".repeat(m.value[1].tokens));

    let v: Reply<Vec<ValueCurve>> = reply(&dclab(
        &["law", "value-left", "--curve", "AR=15.387756", "--curve", "diffusion=512.85"],
        cache.path(),
    ));
    let at = |c: &ValueCurve, e: f64| {
        c.epochs
            .iter()
            .zip(&c.value_left)
            .find(|(x, _)| (**x - e).abs() < 1e-9)
            .map(|(_, y)| *y)
            .unwrap()
    };
    assert!(
        (at(&v.value[0], 100.0) - 0.164).abs() < 1e-3,
        "REFERENCE 5: D'/D at E = 100 with R_D* = 15.39"
    );
    assert!((at(&v.value[1], 100.0) - 0.910).abs() < 1e-3);
    assert!(plotly_traces(&v).len() >= 2);

    let bad = dclab(&["law", "value-left", "--curve", "AR=-1"], cache.path());
    assert!(
        !bad.status.success()
            && String::from_utf8_lossy(&bad.stderr).contains("R_D* must be positive")
    );
}

#[test]
fn fit_reads_a_sweep_family_and_the_vendored_runs() {
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let csv =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/published/datablations_c4_runs.csv");
    let fit = out.path().join("fit.json");
    let r: Reply<dclab_types::FitReport> = reply(&dclab(
        &[
            "fit",
            csv,
            "--stage1",
            "sdc-c4",
            "--grid",
            "sdc",
            "--no-profile",
            "--out",
            fit.to_str().unwrap(),
        ],
        cache.path(),
    ));
    assert_eq!(r.value.n_runs, 182);
    assert!(
        (15.0..15.8).contains(&r.value.params.r_d_star),
        "REFERENCE 7: R_D* in [15.0, 15.8], got {}",
        r.value.params.r_d_star
    );
    assert!(fit.is_file(), "fit.json written too");
    assert_eq!(
        plotly_traces(&r)[0]["x"].as_array().unwrap().len(),
        182,
        "observed against fitted, one point per run"
    );

    let folder = dclab(&["fit", out.path().to_str().unwrap()], cache.path());
    assert!(
        !folder.status.success()
            && String::from_utf8_lossy(&folder.stderr).contains("holds no sweep table")
    );
}

/// Starts a long training run as the bindings do (stdin a pipe, DCLAB_EXIT_WITH_STDIN) and
/// waits until it is training.
fn long_run(out: &std::path::Path, cache: &std::path::Path) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dclab"))
        .args([
            "train",
            "--model",
            "0.3m",
            "--epochs",
            "50",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ])
        .env("DCLAB_CACHE", cache)
        .env("DCLAB_EXIT_WITH_STDIN", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "still training after 1.5 s");
    child
}

fn exits_with_130(child: &mut std::process::Child) {
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(started.elapsed().as_secs() < 20, "the engine kept running after its stdin closed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(child.wait().unwrap().code(), Some(130));
}

#[test]
fn an_engine_whose_stdin_closes_exits() {
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut child = long_run(&out.path().join("r"), cache.path());
    drop(child.stdin.take());
    exits_with_130(&mut child);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("stdin closed"), "{err}");
}

#[test]
fn an_engine_whose_notebook_died_exits() {
    // A killed notebook worker closes both ends it held: the engine's stderr is a broken pipe
    // when it notices its stdin closed (measured: the engine kept training until this was fixed).
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut child = long_run(&out.path().join("r"), cache.path());
    drop(child.stderr.take());
    drop(child.stdin.take());
    exits_with_130(&mut child);
}
