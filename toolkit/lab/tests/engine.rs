//! The bindings against the real engine (`$DCLAB_BIN`, else the workspace's release build;
//! `tests/run` builds it first): every job runs, replies with its value and the figure and
//! table that show it, resumes on a rerun, and fails with the engine's own message.

use dclab_lab::*;

fn lab() -> Lab {
    Lab::new().unwrap_or_else(|e| panic!("{e}"))
}

fn has_figure<T>(s: &Shown<T>) -> bool {
    s.views.iter().any(|b| b.mime == types::Blob::PLOTLY && b.body.contains("\"data\""))
}

#[test]
fn a_run_trains_shows_itself_and_resumes() {
    let dir = std::env::temp_dir().join(format!("dclab-lab-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let job = Train::ar()
        .model("0.1m")
        .unique_tokens(4000)
        .seq_len(32)
        .batch_size(8)
        .eval_every(5)
        .eval_sequences(4)
        .out(dir.to_str().unwrap());
    let first = lab().run(job.clone()).unwrap();
    assert_eq!(first.summary.objective, "ar");
    assert_eq!(first.summary.unique_tokens, 4000 / 33 * 33);
    assert!(first.curve.len() >= 2 && has_figure(&first));
    assert!(first.text.contains(&format!("{:.4}", first.summary.best_val_loss)));
    let again = lab().run(job).unwrap();
    assert_eq!(again.curve, first.curve, "a rerun returns the finished run");

    let s = lab().run(Samples::from(&first.dir).tokens(12).temperatures(&[0.0, 1.0])).unwrap();
    assert_eq!(s.len(), 2);
    assert!(s.iter().all(|x| x.decoding == "left to right"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn data_law_and_masks_jobs_reply() {
    let stats = lab().run(DataStats::corpus("sample").tokenizers(&["char"])).unwrap();
    assert_eq!(stats.tokenizers.len(), 1);
    assert!(stats.views.iter().any(|b| b.body.contains(&stats.train_bytes.to_string())));

    let v = lab().run(ValueLeft::new().curve("AR", 15.387756)).unwrap();
    assert_eq!(v[0].name, "AR");
    assert!(has_figure(&v));

    let m = lab().run(Masks::new().t(&[0.5]).seq_len(32)).unwrap();
    assert_eq!(m[0].tokens, 33);

    let sdc =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/published/datablations_c4_runs.csv");
    let out = std::env::temp_dir().join(format!("dclab-lab-fit-{}.json", std::process::id()));
    let fit =
        lab().run(Fit::runs(sdc).stage1("sdc-c4").grid("sdc").out(out.to_str().unwrap())).unwrap();
    assert_eq!(fit.n_runs, 182);
    let crit = lab()
        .run(Crit::between(&LawParams::SDC_C4, &fit.params).unique_tokens(&[1e8, 1e9]))
        .unwrap();
    assert_eq!(crit.rows.len(), 2);
    let map = lab().run(Map::between(&LawParams::SDC_C4, &fit.params).log10_c(10.0, 12.0)).unwrap();
    assert_eq!(map.delta.len(), map.log10_u.len());
    assert_eq!((map.log10_c[0], *map.log10_c.last().unwrap()), (10.0, 12.0));
    std::fs::remove_file(&out).ok();
}

#[test]
fn an_engine_error_comes_back_as_its_message() {
    // (It is also printed as `Error: ...`: in evcxr a `?` on it would otherwise be silent.)
    let e = lab().run(Train::ar().model("huge").out("/tmp/dclab-lab-never")).unwrap_err();
    assert!(
        e.to_string().contains("dclab train failed") && e.to_string().contains("unknown model"),
        "{e}"
    );
}

#[test]
fn a_missing_engine_says_how_to_build_it() {
    let e = Lab::at(std::path::Path::new("/nonexistent/dclab")).unwrap_err().to_string();
    assert!(
        e.contains("/nonexistent/dclab is not a file")
            && e.contains("cargo build --release -p dclab"),
        "{e}"
    );
}
