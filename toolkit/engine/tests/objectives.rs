//! The objectives of REFERENCE section 3, checked against known answers.

use burn::prelude::*;
use dclab::data::shuffle::SplitMix64;
use dclab::model::{Lm, ModelConfig};
use dclab::objective::{Ar, ArOrderings, LogitModel, MaskedDiffusion, Objective, OrderingKind};

/// A "model" that emits the same logits at every position.
struct Fixed {
    logits: Vec<f32>,
}

impl LogitModel for Fixed {
    fn logits(&self, tokens: Tensor<2, Int>, _positions: Option<Tensor<2, Int>>) -> Tensor<3> {
        let [b, s] = tokens.dims();
        let v = self.logits.len();
        let data: Vec<f32> = (0..b * s).flat_map(|_| self.logits.iter().copied()).collect();
        Tensor::from_data(TensorData::new(data, [b, s, v]), &tokens.device())
    }
    fn mask_id(&self) -> usize {
        self.logits.len()
    }
}

fn random_samples(n: usize, len: usize, vocab: usize, seed: u64) -> Vec<Vec<u32>> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| (0..len).map(|_| rng.below(vocab) as u32).collect()).collect()
}

fn refs(v: &[Vec<u32>]) -> Vec<&[u32]> {
    v.iter().map(Vec::as_slice).collect()
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

#[test]
fn uniform_logits_give_ln_v_for_both_objectives() {
    let dev = Device::flex();
    let v = 50;
    let model = Fixed { logits: vec![0.0; v] };
    let samples = random_samples(200, 33, v, 1);
    let ln_v = (v as f64).ln();
    let ar = scalar(Ar.loss(&model, &refs(&samples), &mut SplitMix64::new(0), &dev));
    assert!((ar - ln_v).abs() < 1e-5, "AR {ar} vs ln V {ln_v}");
    let diff = MaskedDiffusion::default();
    let evals = diff.eval(&model, &refs(&samples), 7, &dev);
    let mean = evals.iter().map(|e| e.loss).sum::<f64>() / evals.len() as f64;
    assert!((mean - ln_v).abs() / ln_v < 0.01, "diffusion bound {mean} vs ln V {ln_v}");
}

#[test]
fn unigram_model_diffusion_loss_equals_unigram_nll() {
    let dev = Device::flex();
    let v = 20;
    let mut rng = SplitMix64::new(3);
    let weights: Vec<f64> = (0..v).map(|_| 0.05 + rng.uniform()).collect();
    let z: f64 = weights.iter().sum();
    let logq: Vec<f64> = weights.iter().map(|w| (w / z).ln()).collect();
    let model = Fixed { logits: logq.iter().map(|&l| l as f32).collect() };
    let samples = random_samples(128, 65, v, 4);
    let exact: f64 =
        samples.iter().flat_map(|s| s[..64].iter()).map(|&t| -logq[t as usize]).sum::<f64>()
            / (128.0 * 64.0);
    let diff = MaskedDiffusion::default();
    // The K = 32 stratified estimate is within 1%.
    let evals = diff.eval(&model, &refs(&samples), 11, &dev);
    let est = evals.iter().map(|e| e.loss).sum::<f64>() / evals.len() as f64;
    assert!((est - exact).abs() / exact < 0.01, "K=32 estimate {est} vs unigram NLL {exact}");
    // Its expectation is the unigram NLL: the training loss averaged over many draws.
    let mut r = SplitMix64::new(5);
    let draws = 400;
    let avg = (0..draws)
        .map(|_| scalar(diff.loss(&model, &refs(&samples[..16]), &mut r, &dev)))
        .sum::<f64>()
        / draws as f64;
    let exact16: f64 =
        samples[..16].iter().flat_map(|s| s[..64].iter()).map(|&t| -logq[t as usize]).sum::<f64>()
            / (16.0 * 64.0);
    assert!((avg - exact16).abs() / exact16 < 0.02, "mean training loss {avg} vs {exact16}");
}

#[test]
fn masked_fraction_matches_p_within_three_sigma_and_p_is_at_least_eps() {
    let diff = MaskedDiffusion::default();
    assert_eq!(diff.p(0.0), diff.eps);
    let samples = random_samples(10_000, 64, 10, 9);
    let mut rng = SplitMix64::new(10);
    let ts: Vec<f64> = (0..samples.len()).map(|_| rng.uniform()).collect();
    assert!(ts.iter().all(|&t| diff.p(t) >= diff.eps));
    let masked = diff.mask(&refs(&samples), &ts, 10, &mut rng);
    let count = masked.inputs.iter().flatten().filter(|&&t| t == 10).count() as f64;
    let expected: f64 = ts.iter().map(|&t| diff.p(t) * 64.0).sum();
    let sigma: f64 = ts.iter().map(|&t| diff.p(t) * (1.0 - diff.p(t)) * 64.0).sum::<f64>().sqrt();
    assert!(
        (count - expected).abs() < 3.0 * sigma,
        "masked {count}, expected {expected} ± {sigma}"
    );
    // Weights are 1/p exactly where a token was masked.
    for (row, (input, &t)) in masked.inputs.iter().zip(&ts).enumerate().take(50) {
        for (i, &tok) in input.iter().enumerate() {
            let w = masked.weights[row * 64 + i];
            if tok == 10 {
                assert!((w as f64 - 1.0 / diff.p(t)).abs() < 1e-3 * w as f64);
            } else {
                assert_eq!(w, 0.0);
            }
        }
    }
}

#[test]
fn diffusion_loss_is_normalised_by_b_times_l_not_by_the_masked_count() {
    let dev = Device::flex();
    let v = 12;
    let model = Fixed { logits: (0..v).map(|i| (i as f32) * 0.1).collect() };
    let logp: Vec<f64> = {
        let m: Vec<f64> = (0..v).map(|i| i as f64 * 0.1).collect();
        let lse = m.iter().map(|x| x.exp()).sum::<f64>().ln();
        m.iter().map(|x| x - lse).collect()
    };
    let samples = random_samples(8, 17, v, 21);
    let diff = MaskedDiffusion::default();
    let rng = SplitMix64::new(99);
    let loss = scalar(diff.loss(&model, &refs(&samples), &mut rng.clone(), &dev));
    // Recompute by hand with the same draws: t per sequence first, then the Bernoulli masks.
    let mut r = rng.clone();
    let xs: Vec<&[u32]> = samples.iter().map(|s| &s[..16]).collect();
    let ts: Vec<f64> = xs.iter().map(|_| r.uniform()).collect();
    let masked = diff.mask(&xs, &ts, v as u32, &mut r);
    let (mut sum, mut n_masked) = (0.0, 0);
    for (b, x) in xs.iter().enumerate() {
        for (i, &tok) in x.iter().enumerate() {
            if masked.inputs[b][i] == v as u32 {
                sum += -logp[tok as usize] / diff.p(ts[b]);
                n_masked += 1;
            }
        }
    }
    let by_bl = sum / (8.0 * 16.0);
    assert!((loss - by_bl).abs() < 1e-4 * by_bl, "loss {loss} vs sum/(B*L) {by_bl}");
    assert!(
        n_masked != 8 * 16 && (loss - sum / n_masked as f64).abs() > 1e-3,
        "must not divide by the masked count"
    );
}

fn tiny_model(causal: bool, vocab: usize) -> (Lm, Device) {
    let dev = Device::flex();
    dev.seed(0);
    let cfg = ModelConfig::new(vocab, 32, 2, 2, 16).with_causal(causal);
    (cfg.init(&dev), dev)
}

#[test]
fn orderings_worked_example_and_n1_equals_plain_ar_bit_for_bit() {
    let sample: Vec<u32> = (0..7).collect();
    let (tokens, positions) = ArOrderings::permute(&sample, &[2, 0, 1, 4, 5, 3]);
    assert_eq!(&tokens[..6], &[0, 3, 1, 2, 5, 6]);
    assert_eq!(&tokens[1..], &[3, 1, 2, 5, 6, 4]);
    assert_eq!(&positions[..6], &[0, 3, 1, 2, 5, 6]);

    let (model, dev) = tiny_model(true, 30);
    let samples = random_samples(4, 17, 30, 2);
    let ar = Ar.loss(&model, &refs(&samples), &mut SplitMix64::new(1), &dev).into_data();
    let one = ArOrderings::new(1, 16, OrderingKind::Random, 3);
    let ord = one.loss(&model, &refs(&samples), &mut SplitMix64::new(1), &dev).into_data();
    let (a, o): (Vec<f32>, Vec<f32>) = (ar.iter::<f32>().collect(), ord.iter::<f32>().collect());
    assert_eq!(a[0].to_bits(), o[0].to_bits(), "N=1 orderings {} vs AR {}", o[0], a[0]);
    // With N > 1 the orders differ from the identity and the loss changes.
    let many = ArOrderings::new(4, 16, OrderingKind::Random, 3);
    assert!(many.orders[1..].iter().all(|o| o != &many.orders[0]));
    let noisy = ArOrderings::new(3, 16, OrderingKind::NoisyArgsort(1.0), 3);
    let displaced: usize = noisy.orders[1].iter().enumerate().map(|(i, &p)| i.abs_diff(p)).sum();
    assert!(
        displaced > 0 && displaced < 16 * 4,
        "noisy argsort should shuffle locally: {displaced}"
    );
}

#[test]
fn parameter_formula_equals_the_module_count() {
    let dev = Device::flex();
    for (v, d, h, l) in [(74, 64, 4, 2), (256, 128, 4, 5), (4096, 192, 6, 3), (50, 96, 4, 1)] {
        let cfg = ModelConfig::new(v, d, h, l, 32);
        let model = cfg.init(&dev);
        let p = cfg.params();
        assert_eq!(p.total, model.num_params(), "V={v} d={d} L={l}");
        assert_eq!(p.total - p.non_embedding, (v + 1) * d);
    }
}

#[test]
fn bidirectional_and_causal_models_differ_only_in_the_mask() {
    let (causal, dev) = tiny_model(true, 30);
    let tokens =
        Tensor::<2, Int>::from_data(TensorData::new((0..16i64).collect::<Vec<_>>(), [1, 16]), &dev);
    // Changing the last token cannot change a causal model's first 15 outputs.
    let mut changed: Vec<i64> = (0..16).collect();
    changed[15] = 29;
    let changed = Tensor::<2, Int>::from_data(TensorData::new(changed, [1, 16]), &dev);
    let a: Vec<f32> = causal
        .forward(tokens.clone(), None)
        .slice([0..1, 0..15, 0..30])
        .into_data()
        .iter::<f32>()
        .collect();
    let b: Vec<f32> = causal
        .forward(changed.clone(), None)
        .slice([0..1, 0..15, 0..30])
        .into_data()
        .iter::<f32>()
        .collect();
    assert_eq!(a, b);
    let (bidi, _) = tiny_model(false, 30);
    let a: Vec<f32> =
        bidi.forward(tokens, None).slice([0..1, 0..15, 0..30]).into_data().iter::<f32>().collect();
    let b: Vec<f32> =
        bidi.forward(changed, None).slice([0..1, 0..15, 0..30]).into_data().iter::<f32>().collect();
    assert_ne!(a, b, "a bidirectional model must see the future");
}

/// The precise evaluation's standard error against a direct computation: the spread of the
/// same estimate over independent evaluation seeds. The per-sequence variance treats the K
/// stratified draws as independent, which can only overstate the stratified mean's variance,
/// so the reported SE must be at least the measured spread (less sampling slack) and not
/// wildly above it; and 0 sequences means the whole split.
#[test]
fn precise_evaluation_stderr_matches_the_spread_over_seeds() {
    use dclab::data::{Packed, Tokens};
    use dclab::train::evaluate;
    let dev = Device::flex();
    let v = 12;
    let mut rng = SplitMix64::new(11);
    let logits: Vec<f32> = (0..v).map(|_| (rng.uniform() * 3.0) as f32).collect();
    let model = Fixed { logits };
    let stream: Vec<u32> = random_samples(1, 40 * 17, v, 5).remove(0);
    let set = Packed::all(&Tokens::from(stream), 16).unwrap();
    let objective = MaskedDiffusion { eval_draws: 32, ..Default::default() };
    let results: Vec<_> =
        (0..40).map(|seed| evaluate(&objective, &model, &set, 0, 8, 1000 + seed, &dev)).collect();
    assert!(
        results.iter().all(|r| r.sequences == set.n_samples()),
        "0 sequences must evaluate the whole split"
    );
    let mean = results.iter().map(|r| r.loss).sum::<f64>() / results.len() as f64;
    let spread = (results.iter().map(|r| (r.loss - mean).powi(2)).sum::<f64>()
        / (results.len() - 1) as f64)
        .sqrt();
    let reported = results.iter().map(|r| r.stderr).sum::<f64>() / results.len() as f64;
    assert!(spread > 0.0 && reported > 0.0, "spread {spread}, reported {reported}");
    assert!(
        reported >= 0.75 * spread,
        "reported SE {reported} understates the spread over seeds {spread}"
    );
    assert!(
        reported <= 4.0 * spread,
        "reported SE {reported} is far above the spread over seeds {spread}"
    );
    // More draws per sequence shrink it about as 1/sqrt(K).
    let k8 = MaskedDiffusion { eval_draws: 8, ..Default::default() };
    let se8 =
        (0..10).map(|s| evaluate(&k8, &model, &set, 0, 8, 50 + s, &dev).stderr).sum::<f64>() / 10.0;
    let ratio = se8 / reported;
    assert!((1.4..2.9).contains(&ratio), "SE(K=8)/SE(K=32) = {ratio}, expected about 2");
}
