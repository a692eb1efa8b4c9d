//! The `dclab` binary end to end: a tiny run, sampling, and clear errors with non-zero exits.

use std::process::{Command, Output};

fn dclab(args: &[&str], cache: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dclab"))
        .args(args)
        .env("DCLAB_CACHE", cache)
        .output()
        .expect("run dclab")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn train_then_sample_writes_the_run_files() {
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    for objective in ["diffusion", "ar"] {
        let o = dclab(
            &[
                "train",
                "--objective",
                objective,
                "--model",
                "0.1m",
                "--unique-tokens",
                "6000",
                "--seq-len",
                "32",
                "--batch-size",
                "8",
                "--eval-every",
                "10",
                "--eval-sequences",
                "4",
                "--eval-draws",
                "2",
                "--precise-eval-sequences",
                "8",
                "--precise-eval-draws",
                "2",
                "--out",
                run.to_str().unwrap(),
            ],
            cache.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["objective"], objective);
        assert_eq!(summary["unique_tokens"], 6000 / 33 * 33);
        let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        assert!(
            metrics.starts_with(
                "step,epoch,tokens_seen,flops,lr,train_loss,val_loss,val_loss_stderr\n"
            )
        );
        assert!(metrics.lines().count() >= 3, "{metrics}");
        let s = dclab(
            &["sample", "--run", run.to_str().unwrap(), "--tokens", "20", "--steps", "5"],
            cache.path(),
        );
        assert!(s.status.success(), "{}", stderr(&s));
        assert!(!String::from_utf8_lossy(&s.stdout).trim().is_empty());
        std::fs::remove_dir_all(&run).unwrap();
    }
}

#[test]
fn bad_input_is_a_clear_error_with_a_non_zero_exit() {
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let cases: [(&[&str], &str); 11] = [
        (&["train", "--unique-tokens", "999999999", "--out", o], "larger than the training text"),
        // Every command that takes --device parses it beside its own flags (a clash of
        // argument names panics in clap) and resolves it before its own work.
        (&["study", "--spec", "/nonexistent.toml", "--out", o], "reading sweep spec"),
        (&["sample", "--device", "tpu", "--run", o], "unknown device"),
        (&["diffusion", "bound", "--device", "tpu", "--run", o], "unknown device"),
        // Training values are checked by the run itself, not only in sweep specs: burn's dropout
        // panics at 1, and an early stop after 0 evaluations would end every run at once.
        (
            &["train", "--dropout", "1", "--unique-tokens", "5000", "--out", o],
            "dropout must be in [0, 1)",
        ),
        (
            &["train", "--early-stopping", "0", "--unique-tokens", "5000", "--out", o],
            "early_stopping must be at least 1",
        ),
        (&["train", "--model", "huge", "--out", o], "unknown model"),
        (&["train", "--objective", "gan", "--out", o], "unknown objective"),
        (&["train", "--device", "tpu", "--unique-tokens", "5000", "--out", o], "unknown device"),
        (&["data", "stats", "nonexistent-corpus"], "unknown corpus"),
        (&["data", "stats", "pdlit"], "dclab data fetch pdlit"),
    ];
    for (args, expected) in cases {
        let r = dclab(args, cache.path());
        assert_eq!(r.status.code(), Some(1), "{args:?} should fail with an error, not a panic");
        assert!(stderr(&r).contains(expected), "{args:?}: {}", stderr(&r));
    }
}

/// `--device cuda` on a machine without an NVIDIA driver (CI, the build machine): a CUDA build
/// says there is no driver, another build says it has no CUDA backend; neither panics.
#[test]
fn device_cuda_without_a_driver_is_a_clear_error_not_a_panic() {
    if std::path::Path::new("/proc/driver/nvidia/version").exists() {
        eprintln!("an NVIDIA driver is loaded here: this test is for machines without one");
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = dclab(
        &[
            "train",
            "--device",
            "cuda",
            "--unique-tokens",
            "5000",
            "--out",
            out.path().to_str().unwrap(),
        ],
        cache.path(),
    );
    let e = stderr(&r);
    assert!(!r.status.success(), "{e}");
    let expected = if cfg!(feature = "cuda") {
        "no NVIDIA driver: libcuda.so.1 cannot be loaded"
    } else {
        "this build has no cuda backend"
    };
    assert!(e.contains(expected) && !e.contains("panicked"), "{e}");
    let r = dclab(
        &[
            "bench", "throughput", "--device", "auto", "--models", "32:2:1", "--seq-len", "8",
            "--batch-size", "2", "--vocab", "20", "--warmup", "0", "--steps", "1",
        ],
        cache.path(),
    );
    let e = stderr(&r);
    assert!(r.status.success(), "{e}");
    assert!(
        e.contains("device auto: the CPU (flex); no CUDA GPU (")
            || e.contains("device auto: wgpu:"),
        "auto says what it chose and why: {e}"
    );
}

#[test]
fn bench_throughput_prints_one_json_line_per_model_and_objective() {
    let cache = tempfile::tempdir().unwrap();
    let base = [
        "bench", "throughput", "--device", "cpu", "--models", "0.1m,32:2:1", "--seq-len", "16",
        "--batch-size", "4", "--vocab", "50",
    ];
    let o = dclab(
        &[&base[..], &["--warmup", "1", "--steps", "3", "--loss-every", "2"]].concat(),
        cache.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "two models x two objectives");
    for (v, (model, objective)) in lines.iter().zip([
        ("0.1m", "ar"),
        ("0.1m", "diffusion"),
        ("32:2:1", "ar"),
        ("32:2:1", "diffusion"),
    ]) {
        assert_eq!((v["model"].as_str(), v["objective"].as_str()), (Some(model), Some(objective)));
        assert_eq!(v["tokens_per_step"], 4 * 16);
        assert!(
            v["tokens_per_second"].as_f64().unwrap() > 0.0
                && v["last_loss"].as_f64().unwrap().is_finite()
        );
        let m = dclab::model::ModelConfig::new(
            50,
            v["d_model"].as_u64().unwrap() as usize,
            2,
            v["n_layers"].as_u64().unwrap() as usize,
            16,
        );
        assert_eq!(v["flops_per_token"].as_f64().unwrap(), m.train_flops_per_token());
    }
    let bad = dclab(&[&base[..], &["--loss-every", "0"]].concat(), cache.path());
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("loss_every must be positive"), "{}", stderr(&bad));
}
