//! Fused CPU kernels, below the model and the optimizer that use them: the hot parts of a block
//! (attention with RoPE, SwiGLU's gate, RMSNorm, 2-D matrix products) with their own backward
//! passes, and AdamW's update and the gradient norm, plugged into burn as a backend extension
//! on `flex` (burn's `examples/custom-cubecl-kernel` layout: this facade, the forward glue in
//! `ops.rs`, the backward passes in `backward.rs`, the kernels as plain slice code beside them).
//! The model decides when it is built whether to call the block kernels ([`fused_on`]; the
//! composed maths, and the reference attention they are tested against, are in
//! `model/layers.rs`); off flex they panic. The optimizer's two run on every device: off
//! flex `adamw_step` returns None and `sum_squares` uses burn's ops.

#[cfg(feature = "flex")]
mod adamw;
#[cfg(feature = "flex")]
mod attention;
#[cfg(feature = "flex")]
mod backward;
#[cfg(feature = "flex")]
mod matmul;
#[cfg(feature = "flex")]
mod ops;
#[cfg(feature = "flex")]
mod rms_norm;
#[cfg(feature = "flex")]
mod swiglu;
#[cfg(feature = "flex")]
mod vector;

use burn::nn::RmsNorm;
use burn::prelude::*;

/// A fused kernel, named for [`calls`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// [`rope_attention`].
    RopeAttention,
    /// [`swiglu`].
    Swiglu,
    /// [`matmul`].
    Matmul,
    /// [`rms_norm`].
    RmsNorm,
    /// [`adamw_step`].
    AdamW,
    /// [`sum_squares`].
    SumSquares,
}

thread_local! {
    static CALLS: [std::cell::Cell<u64>; 6] = Default::default();
}

/// How many times `kernel`'s fused forward ran on this thread, so a test can assert that it
/// reached the kernel (not a composed path: `sum_squares` has one, and a model off flex).
pub fn calls(kernel: Kernel) -> u64 {
    CALLS.with(|c| c[kernel as usize].get())
}

#[cfg(feature = "flex")]
fn count(kernel: Kernel) {
    CALLS.with(|c| c[kernel as usize].set(c[kernel as usize].get() + 1));
}

/// Attention with rotary positions: qkv [B,S,3,H,Dh] (one projection's output reshaped, no
/// transpose), cos/sin [Bc,S,Dh/2] with Bc 1 or B; returns [B,S,H,Dh]. Flex only.
pub fn rope_attention(qkv: Tensor<5>, cos: Tensor<3>, sin: Tensor<3>, causal: bool) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if on_flex(&qkv) {
        use burn::backend::Dispatch;
        let out = <Dispatch as ops::FusedOps>::rope_attention(
            qkv.into_dispatch(),
            cos.into_dispatch(),
            sin.into_dispatch(),
            causal,
        );
        return Tensor::from_dispatch(out);
    }
    off_flex("rope_attention", (qkv, cos, sin, causal))
}

/// The model calls the block kernels only where [`fused_on`] holds (elsewhere it composes
/// burn's ops, `model/layers.rs`): reaching one off flex is a caller's bug.
fn off_flex<T>(kernel: &str, _inputs: impl Sized) -> T {
    panic!("{kernel}: the fused kernel runs on flex only (model::layers composes it elsewhere)")
}

/// silu(gate) * up for gate_up [.., 2F] holding gate then up in its last dimension; returns
/// [.., F]. Flex only (the model composes it elsewhere).
pub fn swiglu(gate_up: Tensor<3>) -> Tensor<3> {
    #[cfg(feature = "flex")]
    if on_flex(&gate_up) {
        use burn::backend::Dispatch;
        return Tensor::from_dispatch(<Dispatch as ops::FusedOps>::swiglu(gate_up.into_dispatch()));
    }
    off_flex("swiglu", gate_up)
}

/// a [m, k] times b [k, n], straight into gemm. Flex only.
pub fn matmul(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if on_flex(&a) {
        use burn::backend::Dispatch;
        return Tensor::from_dispatch(<Dispatch as ops::FusedOps>::matmul(
            a.into_dispatch(),
            b.into_dispatch(),
        ));
    }
    off_flex("matmul", (a, b))
}

/// RMSNorm of `x` over its last dimension with gain `norm.gamma`. Flex only.
pub fn rms_norm<const D: usize>(norm: &RmsNorm, x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if on_flex(&x) {
        use burn::backend::Dispatch;
        let out = <Dispatch as ops::FusedOps>::rms_norm(
            x.into_dispatch(),
            norm.gamma.val().into_dispatch(),
            norm.epsilon as f32,
        );
        return Tensor::from_dispatch(out);
    }
    off_flex("rms_norm", (norm, x))
}

/// The hyperparameters and step count of one AdamW update (burn's AdamW on a scaled gradient).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWStep {
    /// Learning rate of this step.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta_1: f32,
    /// Decay of the second moment.
    pub beta_2: f32,
    /// Added to the second moment's root.
    pub epsilon: f32,
    /// Decoupled weight decay (times the learning rate).
    pub weight_decay: f32,
    /// The gradient is multiplied by this first (the global-norm clip's factor, at most 1).
    pub grad_scale: f32,
    /// Updates made so far, this one included (1 on the first).
    pub time: i32,
}

/// One AdamW update of `param` from `grad` and the moments `[m, v]` (none before the first
/// update): the new parameter, m and v. One parallel pass on the CPU; `None` on other
/// devices, which compose burn's optimizer instead.
pub fn adamw_step<const D: usize>(
    param: Tensor<D>, grad: Tensor<D>, moments: Option<[Tensor<D>; 2]>, step: AdamWStep,
) -> Option<[Tensor<D>; 3]> {
    #[cfg(feature = "flex")]
    if on_flex(&param) {
        use burn::backend::Dispatch;
        let (dims, n) = (param.dims(), param.shape().num_elements());
        let [m, v] = moments.unwrap_or_else(|| [param.zeros_like(), param.zeros_like()]);
        let [p, g, m, v] = [param, grad, m, v].map(|t| t.into_dispatch());
        let out: Tensor<2> =
            Tensor::<1>::from_dispatch(<Dispatch as ops::FusedOps>::adamw(p, g, m, v, step))
                .reshape([3, n]);
        return Some([0, 1, 2].map(|i| out.clone().slice([i..i + 1, 0..n]).reshape(dims)));
    }
    let _ = (param, grad, moments, step);
    None
}

/// The sum of the squared elements of `t`, for the global gradient norm: one parallel pass on
/// the CPU (column slices such as q, k and v's gradients read in place), burn's ops elsewhere.
pub fn sum_squares<const D: usize>(t: Tensor<D>) -> f64 {
    #[cfg(feature = "flex")]
    if on_flex(&t) {
        use burn::backend::Dispatch;
        let s: Tensor<1> =
            Tensor::from_dispatch(<Dispatch as ops::FusedOps>::sum_squares(t.into_dispatch()));
        return s.into_scalar::<f32>() as f64;
    }
    t.square().sum().into_scalar::<f32>() as f64
}

/// Whether a model on `device` runs the fused kernels: flex only.
pub fn fused_on(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    return device.clone().inner() == Device::flex();
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}

/// Whether `t` lives on flex, where the kernels run.
#[cfg(feature = "flex")]
fn on_flex<const D: usize>(t: &Tensor<D>) -> bool {
    fused_on(&t.device())
}
