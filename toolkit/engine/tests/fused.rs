//! The fused CPU kernels (attention with RoPE, SwiGLU's gate, RMSNorm, 2-D products) against
//! the same maths composed of burn's ops: outputs and every input gradient, causal and not,
//! shared and per-token positions, sizes that fill no vector register.

use burn::module::Param;
use burn::nn::RmsNormConfig;
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::silu;
use dclab::kernels::{Kernel, calls, matmul, rms_norm, rope_attention, swiglu};
use dclab::model::Precision;
use dclab::model::layers::rope_attention_composed;

/// `f()`, asserting that it ran `kernel`'s fused path: were a composed path put back into a
/// kernel (as `sum_squares` keeps one), the test would compare the composition with itself.
fn ran<T>(kernel: Kernel, f: impl FnOnce() -> T) -> T {
    let before = calls(kernel);
    let out = f();
    assert!(calls(kernel) > before, "{kernel:?}: the fused kernel did not run");
    out
}

fn max_abs_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// cos/sin of random angles for `rows` position sets: [rows, s, half].
fn tables(rows: usize, s: usize, half: usize, device: &Device) -> (Tensor<3>, Tensor<3>) {
    let angle = random([rows, s, half], device) * 3.0;
    (angle.clone().cos(), angle.sin())
}

/// burn's composition on q, k, v sliced out of qkv.
fn composed(qkv: Tensor<5>, cos: Tensor<3>, sin: Tensor<3>, causal: bool) -> Tensor<4> {
    let [b, s, _, h, dh] = qkv.dims();
    let [q, k, v] = [0, 1, 2]
        .map(|i| qkv.clone().slice([0..b, 0..s, i..i + 1, 0..h, 0..dh]).reshape([b, s, h, dh]));
    rope_attention_composed(q, k, v, cos, sin, causal, Precision::F32)
}

/// Output and qkv gradient (flattened to [B*S, 3*H*Dh]) of `f` under a random linear read-out.
fn attention_with_grads(
    f: fn(Tensor<5>, Tensor<3>, Tensor<3>, bool) -> Tensor<4>, qkv: &Tensor<5>, w: &Tensor<4>,
    rope: &(Tensor<3>, Tensor<3>), causal: bool,
) -> [Tensor<2>; 2] {
    let [b, s, _, h, dh] = qkv.dims();
    let qkv = qkv.clone().require_grad();
    let out = f(qkv.clone(), rope.0.clone(), rope.1.clone(), causal);
    let grads = (out.clone() * w.clone()).sum().backward();
    [
        out.inner().reshape([b * s, h * dh]),
        qkv.grad(&grads).expect("gradient").reshape([b * s, 3 * h * dh]),
    ]
}

#[test]
fn fused_attention_equals_the_composed_one() {
    let device = Device::flex().autodiff();
    device.seed(7);
    for (b, s, h, dh) in [(2, 7, 3, 6), (1, 33, 2, 16), (3, 16, 4, 32), (1, 70, 2, 8)] {
        let (qkv, w) = (random([b, s, 3, h, dh], &device), random([b, s, h, dh], &device));
        for rope_rows in [1, b] {
            let rope = tables(rope_rows, s, dh / 2, &device);
            for causal in [true, false] {
                let fused = ran(Kernel::RopeAttention, || {
                    attention_with_grads(rope_attention, &qkv, &w, &rope, causal)
                });
                let composed = attention_with_grads(composed, &qkv, &w, &rope, causal);
                for (what, (f, c)) in ["output", "dqkv"].iter().zip(fused.into_iter().zip(composed))
                {
                    let diff = max_abs_diff(f, c);
                    assert!(
                        diff < 2e-5,
                        "{what} differs by {diff} (b {b}, s {s}, h {h}, dh {dh}, rope rows {rope_rows}, causal {causal})"
                    );
                }
            }
        }
    }
}

#[test]
fn causal_fused_attention_ignores_the_future() {
    // Changing the last position's key and value must not move any earlier output.
    let device = Device::flex();
    device.seed(3);
    let (b, s, h, dh) = (2, 9, 2, 8);
    let qkv = random([b, s, 3, h, dh], &device);
    let rope = tables(1, s, dh / 2, &device);
    let out = ran(Kernel::RopeAttention, || {
        rope_attention(qkv.clone(), rope.0.clone(), rope.1.clone(), true)
    });
    // New keys and values (parts 1 and 2) at the last position.
    let moved =
        qkv.slice_assign([0..b, s - 1..s, 1..3, 0..h, 0..dh], random([b, 1, 2, h, dh], &device));
    let moved = rope_attention(moved, rope.0, rope.1, true);
    let early = |t: Tensor<4>| t.slice([0..b, 0..s - 1, 0..h, 0..dh]);
    assert_eq!(max_abs_diff(early(out.clone()), early(moved.clone())), 0.0);
    assert!(max_abs_diff(out, moved) > 1e-3, "the last position's output must change");
}

/// silu(gate) * up from burn's ops, gate and up sliced out of gate_up.
fn swiglu_composed(gate_up: Tensor<3>) -> Tensor<3> {
    let [b, s, f2] = gate_up.dims();
    silu(gate_up.clone().slice([0..b, 0..s, 0..f2 / 2])) * gate_up.slice([0..b, 0..s, f2 / 2..f2])
}

#[test]
fn fused_swiglu_equals_the_composed_one() {
    let device = Device::flex().autodiff();
    device.seed(11);
    for [b, s, f] in [[2, 5, 7], [4, 64, 320], [1, 3, 70_001]] {
        let (gu, w) = (random([b, s, 2 * f], &device) * 4.0, random([b, s, f], &device));
        let run = |op: fn(Tensor<3>) -> Tensor<3>| {
            let gu = gu.clone().require_grad();
            let out = op(gu.clone());
            let grads = (out.clone() * w.clone()).sum().backward();
            [out.inner().reshape([b * s, f]), gu.grad(&grads).unwrap().reshape([b * s, 2 * f])]
        };
        let shape = [b, s, f];
        for (what, (f, c)) in ["output", "dgate_up"]
            .iter()
            .zip(ran(Kernel::Swiglu, || run(swiglu)).into_iter().zip(run(swiglu_composed)))
        {
            let scale = c.clone().abs().max().into_scalar::<f32>();
            let diff = max_abs_diff(f, c);
            assert!(
                diff <= 1e-6 * scale.max(1.0),
                "{what} differs by {diff} (scale {scale}, shape {shape:?})"
            );
        }
    }
}

#[test]
fn fused_rms_norm_equals_burns() {
    let device = Device::flex().autodiff();
    device.seed(5);
    for (rows, d) in [(3, 5), (130, 128), (7, 320)] {
        let mut norm = RmsNormConfig::new(d).init(&device);
        norm.gamma = Param::from_tensor(random([d], &device) + 1.0);
        let [x, w] = [0, 1].map(|_| random([2, rows, d], &device) * 3.0);
        let run = |fused: bool| {
            let x = x.clone().require_grad();
            let out = if fused { rms_norm(&norm, x.clone()) } else { norm.forward(x.clone()) };
            let grads = (out.clone() * w.clone()).sum().backward();
            [
                out.inner().reshape([2 * rows, d]),
                x.grad(&grads).unwrap().reshape([2 * rows, d]),
                norm.gamma.val().grad(&grads).unwrap().reshape([1, d]),
            ]
        };
        let (f, c) = (ran(Kernel::RmsNorm, || run(true)), run(false));
        let [fo, fx, fg] = f;
        let [co, cx, cg] = c;
        for (what, f, c) in [("output", fo, co), ("dx", fx, cx), ("dgamma", fg, cg)] {
            let scale = c.clone().abs().max().into_scalar::<f32>();
            let diff = max_abs_diff(f, c);
            assert!(
                diff <= 2e-6 * scale.max(1.0),
                "{what} differs by {diff} (scale {scale}, rows {rows}, d {d})"
            );
        }
    }
}

#[test]
fn fused_matmul_equals_burns_on_views() {
    // Plain operands, a transposed one and a row slice (the tied output projection's case).
    let device = Device::flex().autodiff();
    device.seed(9);
    for (m, k, n) in [(5, 3, 4), (300, 64, 75), (256, 200, 320)] {
        let (a, b) = (random([m, k], &device), random([n + 1, k], &device));
        let w = random([m, n], &device);
        let run = |fused: bool| {
            let (a, b) = (a.clone().require_grad(), b.clone().require_grad());
            let rhs = b.clone().slice([0..n, 0..k]).transpose();
            let out = if fused { matmul(a.clone(), rhs) } else { a.clone().matmul(rhs) };
            let grads = (out.clone() * w.clone()).sum().backward();
            [out.inner(), a.grad(&grads).unwrap(), b.grad(&grads).unwrap()]
        };
        for (what, (f, c)) in ["output", "da", "db"]
            .iter()
            .zip(ran(Kernel::Matmul, || run(true)).into_iter().zip(run(false)))
        {
            let scale = c.clone().abs().max().into_scalar::<f32>();
            let diff = max_abs_diff(f, c);
            assert!(
                diff <= 1e-5 * scale.max(1.0),
                "{what} differs by {diff} (scale {scale}, {m}x{k}x{n})"
            );
        }
    }
}

#[test]
fn fused_adamw_equals_burns_on_scaled_and_strided_gradients() {
    use burn::optim::{AdamWConfig, Optimizer};
    use dclab::kernels::{AdamWStep, adamw_step, sum_squares};
    let device = Device::flex();
    device.seed(11);
    let burns = AdamWConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.95)
        .with_epsilon(1e-8)
        .with_weight_decay(0.1)
        .build();
    // Clip factors of 1 and below; contiguous gradients and column slices of a wider one (as
    // q, k and v's weights get).
    for (grad_scale, strided) in [(1.0f32, false), (1.0, true), (0.3, false), (0.3, true)] {
        let (rows, cols) = (37, 129);
        let mut fused_p = random([rows, cols], &device);
        let mut burn_p = fused_p.clone();
        let (mut moments, mut state) = (None, None);
        for time in 1..=3 {
            let wide = random([rows, 3 * cols], &device);
            let grad = if strided {
                wide.slice([0..rows, cols..2 * cols])
            } else {
                wide.slice([0..rows, 0..cols]) * 1.0
            };
            let want = grad.clone().square().sum().into_scalar::<f32>() as f64;
            let got = ran(Kernel::SumSquares, || sum_squares(grad.clone()));
            assert!(
                (got - want).abs() <= 1e-5 * want,
                "sum of squares {got} vs {want} (strided {strided})"
            );
            let lr = 1e-3 * time as f64;
            let step = AdamWStep {
                lr,
                beta_1: 0.9,
                beta_2: 0.95,
                epsilon: 1e-8,
                weight_decay: 0.1,
                grad_scale,
                time,
            };
            let [p, m, v] = ran(Kernel::AdamW, || adamw_step(fused_p, grad.clone(), moments, step))
                .expect("flex runs the fused step");
            let (p2, s2) = burns.step(lr, burn_p, grad.mul_scalar(grad_scale), state);
            let s = s2.clone().expect("state").momentum;
            for (what, f, b) in [("param", &p, &p2), ("m", &m, &s.moment_1), ("v", &v, &s.moment_2)]
            {
                let tol = 1e-6 * b.clone().abs().max().into_scalar::<f32>().max(1e-6);
                let diff = max_abs_diff(f.clone(), b.clone());
                assert!(
                    diff <= tol,
                    "{what} after step {time} (grad x{grad_scale}, strided {strided}): {diff} > {tol}"
                );
            }
            (fused_p, burn_p, moments, state) = (p, p2, Some([m, v]), s2);
        }
    }
}
