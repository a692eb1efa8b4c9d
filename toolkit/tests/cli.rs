//! The `dclab` binary end to end: a tiny run, sampling, and clear errors with non-zero exits.

use std::process::{Command, Output};

fn dclab(args: &[&str], cache: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dclab")).args(args).env("DCLAB_CACHE", cache).output().expect("run dclab")
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
            &["train", "--objective", objective, "--model", "0.1m", "--unique-tokens", "6000", "--seq-len", "32", "--batch-size", "8",
              "--eval-every", "10", "--eval-sequences", "4", "--eval-draws", "2", "--out", run.to_str().unwrap()],
            cache.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["objective"], objective);
        assert_eq!(summary["unique_tokens"], 6000 / 33 * 33);
        let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        assert!(metrics.starts_with("step,epoch,tokens_seen,flops,lr,train_loss,val_loss,val_loss_stderr\n"));
        assert!(metrics.lines().count() >= 3, "{metrics}");
        let s = dclab(&["sample", "--run", run.to_str().unwrap(), "--tokens", "20", "--steps", "5"], cache.path());
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
    let cases: [(&[&str], &str); 6] = [
        (&["train", "--unique-tokens", "999999999", "--out", o], "larger than the training text"),
        (&["train", "--model", "huge", "--out", o], "unknown model"),
        (&["train", "--objective", "gan", "--out", o], "unknown objective"),
        (&["train", "--device", "tpu", "--unique-tokens", "5000", "--out", o], "unknown device"),
        (&["data", "stats", "nonexistent-corpus"], "unknown corpus"),
        (&["data", "stats", "pdlit"], "dclab data fetch pdlit"),
    ];
    for (args, expected) in cases {
        let r = dclab(args, cache.path());
        assert!(!r.status.success(), "{args:?} should fail");
        assert!(stderr(&r).contains(expected), "{args:?}: {}", stderr(&r));
    }
}
