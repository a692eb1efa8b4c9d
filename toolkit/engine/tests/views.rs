//! How results show themselves in a notebook: each view holds a plotly figure (valid JSON with
//! the result's data) and/or an HTML table, made by the same figure code as report.html.

use dclab::data::{TokenizerSpec, corpus_stats, prepare};
use dclab::model::{ModelConfig, select_device};
use dclab::scaling::crit::{CritOptions, critical_compute};
use dclab::scaling::law::LawParams;
use dclab::train::{TrainConfig, train};
use dclab::viz::views;
use dclab_types::{Blob, RunReport};
use serde_json::Value;

fn cache() -> std::path::PathBuf {
    std::env::temp_dir().join("dclab-test-cache")
}

fn plotly(blobs: &[Blob]) -> Value {
    let b = blobs.iter().find(|b| b.mime == Blob::PLOTLY).expect("a plotly blob");
    serde_json::from_str(&b.body).expect("plotly JSON parses")
}

fn html(blobs: &[Blob]) -> &str {
    &blobs.iter().find(|b| b.mime == Blob::HTML).expect("an HTML blob").body
}

#[test]
fn a_training_run_shows_its_curve_and_summary() {
    let data = prepare("sample", TokenizerSpec::Char, Some(40 * 17), 16, &cache()).unwrap();
    let model = ModelConfig::new(data.tokenizer.vocab_size(), 16, 2, 1, 16);
    let cfg = TrainConfig::for_objective(model, "ar")
        .unwrap()
        .with_batch_size(8)
        .with_epochs(2.0)
        .with_eval_every(2)
        .with_eval_sequences(4);
    let objective = cfg.build_objective().unwrap();
    let mut lines = 0;
    let r =
        train(&cfg, objective.as_ref(), &data, &select_device("cpu").unwrap(), None, &mut |e| {
            if matches!(e, dclab::train::Event::Eval { .. }) {
                lines += 1
            }
        })
        .unwrap();
    let report =
        RunReport { dir: "somewhere".into(), summary: r.summary.clone(), curve: r.metrics.clone() };
    let v = views::run(&report);
    let fig = plotly(&v.blobs);
    let traces = fig["data"].as_array().unwrap();
    assert_eq!(traces.len(), 2, "validation and training curves");
    let y: Vec<f64> =
        traces[0]["y"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(y, r.metrics.iter().map(|m| m.val_loss).collect::<Vec<_>>());
    assert_eq!(y.len(), lines, "one evaluation line per point");
    assert!(html(&v.blobs).contains(&format!("{:.4}", r.summary.best_val_loss)));
    assert!(
        v.text.contains(&format!("{:.4}", r.summary.best_val_loss)) && v.text.contains("somewhere")
    );
}

#[test]
fn laws_and_corpora_show_figures_and_tables() {
    let ar = LawParams::SDC_C4;
    let diffusion =
        LawParams { e: ar.e - 0.05, a: ar.a + 0.3, b: ar.b + 0.3, r_d_star: 500.0, ..ar };
    let rep = critical_compute(&ar, &diffusion, &[1e8, 1e9], &CritOptions::default());
    let v = views::crit(&rep);
    assert_eq!(
        plotly(&v.blobs)["data"].as_array().unwrap().len(),
        2,
        "fitted C_crit and DBA's line"
    );
    assert!(
        html(&v.blobs).contains("id=\"crit-rows\"") && html(&v.blobs).matches("<tr>").count() == 3
    );

    let stats = corpus_stats("sample", &[TokenizerSpec::Char], &cache()).unwrap();
    let v = views::corpus(&stats);
    assert!(!v.blobs.iter().any(|b| b.mime == Blob::PLOTLY));
    assert!(html(&v.blobs).contains(&stats.train_bytes.to_string()));
}
