//! evcxr bindings: each result type yields a plotly figure (valid JSON with its data) and/or an
//! HTML table; DataFrames get an HTML table through the prelude's trait.

use dclab::data::{corpus_stats, prepare, Corpus, TokenizerSpec};
use dclab::model::{select_device, ModelConfig};
use dclab::objective::parse_objective;
use dclab::scaling::crit::{critical_compute, CritOptions};
use dclab::scaling::law::LawParams;
use dclab::train::{train, TrainConfig};
use polars::prelude::*;
use serde_json::Value;

fn cache() -> std::path::PathBuf {
    std::env::temp_dir().join("dclab-test-cache")
}

fn plotly(blobs: &[(&str, String)]) -> Value {
    let (_, json) = blobs.iter().find(|(m, _)| *m == "application/vnd.plotly.v1+json").expect("a plotly blob");
    serde_json::from_str(json).expect("plotly JSON parses")
}

fn html<'a>(blobs: &'a [(&str, String)]) -> &'a str {
    &blobs.iter().find(|(m, _)| *m == "text/html").expect("an HTML blob").1
}

#[test]
fn a_training_run_shows_its_curve_and_summary() {
    let data = prepare("sample", TokenizerSpec::Char, Some(40 * 17), 16, &cache()).unwrap();
    let model = ModelConfig::new(data.tokenizer.vocab_size(), 16, 2, 1, 16);
    let cfg = TrainConfig::new(model, "ar".into()).with_batch_size(8).with_epochs(2.0).with_eval_every(2).with_eval_sequences(4);
    let objective = parse_objective("ar", 16, 0, 2).unwrap();
    let mut lines = 0;
    let r = train(&cfg, objective.as_ref(), &data, &select_device("cpu").unwrap(), None, &mut |e| {
        if matches!(e, dclab::train::Event::Eval { .. }) {
            lines += 1
        }
    })
    .unwrap();
    let blobs = r.rich();
    let fig = plotly(&blobs);
    let traces = fig["data"].as_array().unwrap();
    assert_eq!(traces.len(), 2, "validation and training curves");
    let y: Vec<f64> = traces[0]["y"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(y, r.metrics.iter().map(|m| m.val_loss).collect::<Vec<_>>());
    assert_eq!(y.len(), lines, "one evaluation line per point");
    assert!(html(&blobs).contains(&format!("{:.4}", r.summary.best_val_loss)));
}

#[test]
fn laws_corpora_and_frames_show_tables() {
    let ar = LawParams::SDC_C4;
    let diffusion = LawParams { e: ar.e - 0.05, a: ar.a + 0.3, b: ar.b + 0.3, r_d_star: 500.0, ..ar };
    let rep = critical_compute(&ar, &diffusion, &[1e8, 1e9], &CritOptions::default());
    let blobs = rep.rich();
    assert_eq!(plotly(&blobs)["data"].as_array().unwrap().len(), 2, "fitted C_crit and DBA's line");
    assert!(html(&blobs).contains("id=\"crit-rows\"") && html(&blobs).matches("<tr>").count() == 3);

    let corpus = Corpus::open("sample", &cache()).unwrap();
    let stats = corpus_stats(&corpus, &[TokenizerSpec::Char], &cache()).unwrap();
    let blobs = stats.rich();
    assert!(!blobs.iter().any(|(m, _)| m.contains("plotly")));
    assert!(html(&blobs).contains(&stats.train_bytes.to_string()));

    let df = df!("run" => ["a<b", "c"], "loss" => [1.5, 2.25]).unwrap();
    let h = dclab::notebook::frame_html(&df, 1);
    assert!(h.contains("<th>run</th>") && h.contains("a&lt;b") && !h.contains(">c<"), "{h}");
    assert!(h.contains("2 rows x 2 columns, first 1 shown"));
}
