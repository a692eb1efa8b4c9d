//! The block's maths, readable here: self-attention with rotary positions, SwiGLU's gate and
//! the projections, composed of burn's ops (the reference, any device) or, on the CPU, through
//! the fused kernels of [`crate::kernels`] (RMSNorm always; products, attention and gate in
//! f32). Which of the two runs is fixed when the
//! model is built ([`Compute`]), not re-decided per call.

use super::Precision;
use crate::kernels;
use burn::nn::RmsNorm;
use burn::prelude::*;
use burn::tensor::FloatDType;
use burn::tensor::activation::silu;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

/// How a model computes, fixed when it is built: the products' precision, and whether it runs
/// the fused CPU kernels (on flex; attention and SwiGLU's gate only in f32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compute {
    /// Precision of the matrix products.
    pub precision: Precision,
    /// The model lives on flex: its norms are fused, and in f32 its products, attention and
    /// gate too (bf16 products take burn's cast and linear).
    pub fused: bool,
}

impl Compute {
    /// The fused attention and gate: flex in f32.
    fn fused_f32(self) -> bool {
        self.fused && self.precision.is_f32()
    }
}

/// RMSNorm of `x` over its last dimension: fused on the CPU.
pub fn rms_norm<const D: usize>(norm: &RmsNorm, x: Tensor<D>, c: Compute) -> Tensor<D> {
    if c.fused { kernels::rms_norm(norm, x) } else { norm.forward(x) }
}

/// Self-attention of h [B,S,d] with `w_qkv` [d, 3d] (q, k and v side by side), before the output
/// projection: [B,S,d]. One product makes q, k and v; on the CPU in f32 the fused kernel takes
/// them as they lie, elsewhere burn's ops ([`rope_attention_composed`]).
pub fn self_attention(
    h: Tensor<3>, w_qkv: Tensor<2>, cos: Tensor<3>, sin: Tensor<3>, n_heads: usize, causal: bool,
    c: Compute,
) -> Tensor<3> {
    let [b, s, d] = h.dims();
    let qkv = project(h, w_qkv, c).reshape([b, s, 3, n_heads, d / n_heads]);
    if c.fused_f32() {
        return kernels::rope_attention(qkv, cos, sin, causal).reshape([b, s, d]);
    }
    let [q, k, v] = [0, 1, 2].map(|i| {
        qkv.clone().slice([0..b, 0..s, i..i + 1, 0..n_heads, 0..d / n_heads]).reshape([
            b,
            s,
            n_heads,
            d / n_heads,
        ])
    });
    rope_attention_composed(q, k, v, cos, sin, causal, c.precision).reshape([b, s, d])
}

/// SwiGLU's gated hidden layer silu(h W_gate) * (h W_up) for h [B,S,d], with `w_gate_up`
/// [d, 2H] (gate and up side by side): one product, then the fused gate on the CPU in f32.
pub fn swiglu_gate(h: Tensor<3>, w_gate_up: Tensor<2>, c: Compute) -> Tensor<3> {
    let gate_up = project(h, w_gate_up, c);
    if c.fused_f32() {
        return kernels::swiglu(gate_up);
    }
    let [b, s, two_h] = gate_up.dims();
    let gate = gate_up.clone().slice([0..b, 0..s, 0..two_h / 2]);
    silu(gate) * gate_up.slice([0..b, 0..s, two_h / 2..two_h])
}

/// x [B,S,d_in] times w [d_in, d_out]. In bf16 the inputs are cast to bf16 and the result back
/// to f32 (mixed precision: the f32 weights stay the master copy, and the cast's gradient
/// returns to f32). In f32 on the CPU one [B*S, d_in] product straight into gemm (burn's linear
/// runs B small products for S a multiple of 64); elsewhere burn's linear op, which measured
/// faster on an H200 than the flattened product (0.23x against 0.33x PyTorch at 14M parameters).
pub fn project(x: Tensor<3>, w: Tensor<2>, c: Compute) -> Tensor<3> {
    if c.precision == Precision::Bf16 {
        return burn::tensor::module::linear(
            x.cast(FloatDType::BF16),
            w.cast(FloatDType::BF16),
            None,
        )
        .cast(FloatDType::F32);
    }
    if c.fused {
        let [b, s, d_in] = x.dims();
        let d_out = w.dims()[1];
        return kernels::matmul(x.reshape([b * s, d_in]), w).reshape([b, s, d_out]);
    }
    burn::tensor::module::linear(x, w, None)
}

/// Attention with rotary positions from burn's ops on q, k, v [B,S,H,Dh] (any device; the
/// reference [`kernels::rope_attention`] is tested against). The rotation is f32; in bf16 the
/// attention's two products and softmax run on bf16 copies and the result returns to f32.
pub fn rope_attention_composed(
    q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, cos: Tensor<3>, sin: Tensor<3>, causal: bool,
    precision: Precision,
) -> Tensor<4> {
    let [bc, s, half] = cos.dims();
    let (cos, sin) = (cos.reshape([bc, 1, s, half]), sin.reshape([bc, 1, s, half]));
    let q = apply_rope(q.swap_dims(1, 2), cos.clone(), sin.clone());
    let k = apply_rope(k.swap_dims(1, 2), cos, sin);
    let options = AttentionModuleOptions { is_causal: causal, ..Default::default() };
    let v = v.swap_dims(1, 2);
    let out = match precision {
        Precision::F32 => attention(q, k, v, None, None, options),
        Precision::Bf16 => {
            let [q, k, v] = [q, k, v].map(|t| t.cast(FloatDType::BF16));
            attention(q, k, v, None, None, options).cast(FloatDType::F32)
        }
    };
    out.swap_dims(1, 2)
}

/// Rotates the two halves of each head by its token's position: x [B,H,S,Dh], cos/sin
/// [Bc,1,S,Dh/2].
fn apply_rope(x: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    let [b, h, s, dh] = x.dims();
    let x1 = x.clone().slice([0..b, 0..h, 0..s, 0..dh / 2]);
    let x2 = x.slice([0..b, 0..h, 0..s, dh / 2..dh]);
    Tensor::cat(vec![x1.clone() * cos.clone() - x2.clone() * sin.clone(), x1 * sin + x2 * cos], 3)
}
