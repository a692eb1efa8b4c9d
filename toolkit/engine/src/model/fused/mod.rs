//! Fused CPU kernels for the hot parts of a block (attention with RoPE, SwiGLU's gate, RMSNorm,
//! 2-D matrix products) with their own backward passes, plugged into burn as a backend
//! extension on `flex`; other devices run the same maths composed of burn's tensor ops, as the
//! model did before the kernels (measured no slower on an H200 than before).

#[cfg(feature = "flex")]
mod adamw;
#[cfg(feature = "flex")]
mod attention;
#[cfg(feature = "flex")]
mod matmul;
#[cfg(feature = "flex")]
mod rms_norm;
#[cfg(feature = "flex")]
mod swiglu;
#[cfg(feature = "flex")]
mod vector;

use super::Precision;
use burn::nn::{Linear, RmsNorm};
use burn::prelude::*;
use burn::tensor::FloatDType;
use burn::tensor::activation::silu;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

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
/// exercised the fused path and not a silent fallback to burn's composed ops.
pub fn calls(kernel: Kernel) -> u64 {
    CALLS.with(|c| c[kernel as usize].get())
}

#[cfg(feature = "flex")]
fn count(kernel: Kernel) {
    CALLS.with(|c| c[kernel as usize].set(c[kernel as usize].get() + 1));
}

/// Self-attention of h [B,S,d] with the q, k, v projections `w`, before the output projection:
/// [B,S,d]. On the CPU in f32 one product makes q, k and v side by side for the fused kernel;
/// otherwise three products and burn's ops, as the model did before the kernels.
pub fn self_attention(
    h: Tensor<3>, w: [&Linear; 3], cos: Tensor<3>, sin: Tensor<3>, n_heads: usize, causal: bool,
    precision: Precision,
) -> Tensor<3> {
    let [b, s, d] = h.dims();
    #[cfg(feature = "flex")]
    if precision.is_f32() && on_flex(&h) {
        let qkv = project(h, side_by_side(&w), precision).reshape([b, s, 3, n_heads, d / n_heads]);
        return rope_attention(qkv, cos, sin, causal).reshape([b, s, d]);
    }
    let [q, k, v] = w.map(|l| {
        project(h.clone(), l.weight.val(), precision).reshape([b, s, n_heads, d / n_heads])
    });
    rope_attention_composed(q, k, v, cos, sin, causal, precision).reshape([b, s, d])
}

/// SwiGLU's gated hidden layer, silu(h W_gate) * (h W_up) for h [B,S,d]; the gate and up
/// products are one product on the CPU in f32.
pub fn swiglu_gate(
    h: Tensor<3>, w_gate: &Linear, w_up: &Linear, precision: Precision,
) -> Tensor<3> {
    #[cfg(feature = "flex")]
    if precision.is_f32() && on_flex(&h) {
        return swiglu(project(h, side_by_side(&[w_gate, w_up]), precision));
    }
    silu(project(h.clone(), w_gate.weight.val(), precision))
        * project(h, w_up.weight.val(), precision)
}

/// x [B,S,d_in] times w [d_in, d_out]. In bf16 the inputs are cast to bf16 and the result back
/// to f32 (mixed precision: the f32 weights stay the master copy, and the cast's gradient
/// returns to f32). In f32 on the CPU one [B*S, d_in] product straight into gemm (burn's linear
/// runs B small products for S a multiple of 64); elsewhere burn's linear op, which measured
/// faster on an H200 than the flattened product (0.23x against 0.33x PyTorch at 14M parameters).
pub fn project(x: Tensor<3>, w: Tensor<2>, precision: Precision) -> Tensor<3> {
    if precision == Precision::Bf16 {
        return burn::tensor::module::linear(
            x.cast(FloatDType::BF16),
            w.cast(FloatDType::BF16),
            None,
        )
        .cast(FloatDType::F32);
    }
    #[cfg(feature = "flex")]
    if on_flex(&x) {
        let [b, s, d_in] = x.dims();
        let d_out = w.dims()[1];
        return matmul(x.reshape([b * s, d_in]), w).reshape([b, s, d_out]);
    }
    burn::tensor::module::linear(x, w, None)
}

/// The weights of several layers side by side, [d_in, sum of d_out], for one product.
#[cfg(feature = "flex")]
fn side_by_side(layers: &[&Linear]) -> Tensor<2> {
    Tensor::cat(layers.iter().map(|l| l.weight.val()).collect(), 1)
}

/// Attention with rotary positions: qkv [B,S,3,H,Dh] (one projection's output reshaped, no
/// transpose), cos/sin [Bc,S,Dh/2] with Bc 1 or B; returns [B,S,H,Dh]. Fused on the CPU.
pub fn rope_attention(qkv: Tensor<5>, cos: Tensor<3>, sin: Tensor<3>, causal: bool) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if on_flex(&qkv) {
        use burn::backend::Dispatch;
        let out = <Dispatch as extension::FusedOps>::rope_attention(
            qkv.into_dispatch(),
            cos.into_dispatch(),
            sin.into_dispatch(),
            causal,
        );
        return Tensor::from_dispatch(out);
    }
    let [b, s, _, h, dh] = qkv.dims();
    let [q, k, v] = [0, 1, 2]
        .map(|i| qkv.clone().slice([0..b, 0..s, i..i + 1, 0..h, 0..dh]).reshape([b, s, h, dh]));
    rope_attention_composed(q, k, v, cos, sin, causal, Precision::F32)
}

/// silu(gate) * up for gate_up [.., 2F] holding gate then up in its last dimension; returns
/// [.., F]. Fused on the CPU.
pub fn swiglu(gate_up: Tensor<3>) -> Tensor<3> {
    #[cfg(feature = "flex")]
    if on_flex(&gate_up) {
        use burn::backend::Dispatch;
        return Tensor::from_dispatch(<Dispatch as extension::FusedOps>::swiglu(
            gate_up.into_dispatch(),
        ));
    }
    let [b, s, f2] = gate_up.dims();
    silu(gate_up.clone().slice([0..b, 0..s, 0..f2 / 2])) * gate_up.slice([0..b, 0..s, f2 / 2..f2])
}

/// a [m, k] times b [k, n]. Straight into gemm on the CPU.
pub fn matmul(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if on_flex(&a) {
        use burn::backend::Dispatch;
        return Tensor::from_dispatch(<Dispatch as extension::FusedOps>::matmul(
            a.into_dispatch(),
            b.into_dispatch(),
        ));
    }
    a.matmul(b)
}

/// RMSNorm of `x` over its last dimension with gain `norm.gamma`. Fused on the CPU.
pub fn rms_norm<const D: usize>(norm: &RmsNorm, x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if on_flex(&x) {
        use burn::backend::Dispatch;
        let out = <Dispatch as extension::FusedOps>::rms_norm(
            x.into_dispatch(),
            norm.gamma.val().into_dispatch(),
            norm.epsilon as f32,
        );
        return Tensor::from_dispatch(out);
    }
    norm.forward(x)
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
            Tensor::<1>::from_dispatch(<Dispatch as extension::FusedOps>::adamw(p, g, m, v, step))
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
        let s: Tensor<1> = Tensor::from_dispatch(<Dispatch as extension::FusedOps>::sum_squares(
            t.into_dispatch(),
        ));
        return s.into_scalar::<f32>() as f64;
    }
    t.square().sum().into_scalar::<f32>() as f64
}

#[cfg(feature = "flex")]
fn on_flex<const D: usize>(t: &Tensor<D>) -> bool {
    t.device().inner() == Device::flex()
}

/// [`rope_attention`] from burn's ops on q, k, v [B,S,H,Dh] (other devices; the reference the
/// fused kernel is tested against). The rotation is f32; in bf16 the attention's two products
/// and softmax run on bf16 copies and the result returns to f32.
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

/// Rotates the two halves of each head by its token's position: x [B,H,S,Dh], cos/sin [Bc,1,S,Dh/2].
fn apply_rope(x: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    let [b, h, s, dh] = x.dims();
    let x1 = x.clone().slice([0..b, 0..h, 0..s, 0..dh / 2]);
    let x2 = x.slice([0..b, 0..h, 0..s, dh / 2..dh]);
    Tensor::cat(vec![x1.clone() * cos.clone() - x2.clone() * sin.clone(), x1 * sin + x2 * cos], 3)
}

#[cfg(feature = "flex")]
mod extension {
    use super::{AdamWStep, adamw, attention, matmul, rms_norm, swiglu};
    use burn::backend::autodiff::Autodiff;
    use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Flex, backend_extension};
    use burn::tensor::TensorData;
    use burn_flex::FlexTensor;

    /// The fused operations; implemented for flex and for autodiff over flex.
    #[backend_extension(Flex, Autodiff)]
    pub trait FusedOps: burn::backend::Backend {
        /// See [`super::rope_attention`].
        fn rope_attention(
            qkv: FloatTensor<Self>, cos: FloatTensor<Self>, sin: FloatTensor<Self>, causal: bool,
        ) -> FloatTensor<Self>;
        /// See [`super::swiglu`].
        fn swiglu(gate_up: FloatTensor<Self>) -> FloatTensor<Self>;
        /// See [`super::matmul`].
        fn matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self>;
        /// See [`super::rms_norm`].
        fn rms_norm(
            x: FloatTensor<Self>, gamma: FloatTensor<Self>, epsilon: f32,
        ) -> FloatTensor<Self>;
        /// See [`super::adamw_step`]: [param | m | v], flattened.
        fn adamw(
            param: FloatTensor<Self>, grad: FloatTensor<Self>, m: FloatTensor<Self>,
            v: FloatTensor<Self>, step: AdamWStep,
        ) -> FloatTensor<Self>;
        /// See [`super::sum_squares`]: a one-element tensor.
        fn sum_squares(x: FloatTensor<Self>) -> FloatTensor<Self>;
    }

    /// The f32 elements of a contiguous tensor.
    fn f32s(t: &FlexTensor) -> &[f32] {
        t.as_slice::<f32>().expect("fused kernels train in f32 on contiguous tensors")
    }

    fn tensor(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
        FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
    }

    /// The tensor itself when its elements lie in row-major order in one stretch of its storage
    /// (an offset view such as an optimizer's moment is not copied, unlike `to_contiguous`),
    /// else a contiguous copy.
    fn contiguous(t: &FlexTensor) -> FlexTensor {
        if t.layout().is_contiguous() { t.clone() } else { t.to_contiguous() }
    }

    /// The tensor itself (views included) when its strides are non-negative, else a copy.
    fn readable(t: &FlexTensor) -> FlexTensor {
        if t.layout().strides().iter().all(|&s| s >= 0) { t.clone() } else { t.to_contiguous() }
    }

    /// A 2-D tensor with non-negative strides as a gemm operand, transposed if asked.
    fn operand(t: &FlexTensor, transpose: bool) -> matmul::Operand<'_> {
        let l = t.layout();
        assert_eq!(l.shape().len(), 2, "matmul: operands must be 2-D");
        let (shape, strides) = (l.shape(), l.strides());
        let op = matmul::Operand {
            data: t.storage::<f32>(),
            offset: l.start_offset(),
            shape: [shape[0], shape[1]],
            strides: [strides[0] as usize, strides[1] as usize],
        };
        if transpose { op.t() } else { op }
    }

    /// a (or its transpose) times b (or its transpose), as a new tensor.
    fn product(a: &FlexTensor, a_t: bool, b: &FlexTensor, b_t: bool) -> FlexTensor {
        let (a, b) = (readable(a), readable(b));
        let (a, b) = (operand(&a, a_t), operand(&b, b_t));
        tensor(matmul::matmul(a, b), &[a.shape[0], b.shape[1]])
    }

    /// A contiguous [.., 2F] tensor and the shape [.., F] of its halves.
    fn halved(t: &FlexTensor) -> (FlexTensor, Vec<usize>) {
        let mut shape = t.layout().shape().to_vec();
        let last = shape.last_mut().expect("swiglu: a tensor of rank >= 1");
        assert!(
            (*last).is_multiple_of(2),
            "swiglu: the last dimension must hold gate and up halves"
        );
        *last /= 2;
        (contiguous(t), shape)
    }

    fn dims(qkv: &FlexTensor, cos: &FlexTensor, causal: bool) -> attention::Dims {
        let (shape, rope) = (qkv.layout().shape(), cos.layout().shape());
        assert!(
            shape.len() == 5 && shape[2] == 3 && rope.len() == 3,
            "attention: qkv [B,S,3,H,Dh], cos [Bc,S,Dh/2]"
        );
        let d = attention::Dims {
            b: shape[0],
            s: shape[1],
            h: shape[3],
            dh: shape[4],
            rope_batch: rope[0],
            causal,
        };
        assert!(
            d.dh.is_multiple_of(2) && rope[1] == d.s && rope[2] == d.dh / 2,
            "attention: rope tables do not fit q"
        );
        assert!(
            d.rope_batch == 1 || d.rope_batch == d.b,
            "attention: rope tables' batch must be 1 or B"
        );
        d
    }

    /// Forward on contiguous inputs: (output, log-sum-exp).
    fn attention_forward(
        d: &attention::Dims, qkv: &FlexTensor, cos: &FlexTensor, sin: &FlexTensor,
    ) -> (FlexTensor, FlexTensor) {
        super::count(super::Kernel::RopeAttention);
        let (o, lse) = attention::forward(d, f32s(qkv), f32s(cos), f32s(sin));
        (tensor(o, &[d.b, d.s, d.h, d.dh]), tensor(lse, &[d.b, d.h, d.s]))
    }

    /// silu(gate) * up on a contiguous [.., 2F] tensor, shaped `shape` ([.., F]).
    fn swiglu_forward(gu: &FlexTensor, shape: &[usize]) -> FlexTensor {
        super::count(super::Kernel::Swiglu);
        tensor(swiglu::forward(f32s(gu), shape[shape.len() - 1]), shape)
    }

    /// RMSNorm on contiguous inputs: (output, 1/rms per row).
    fn rms_norm_forward(
        x: &FlexTensor, gamma: &FlexTensor, epsilon: f32,
    ) -> (FlexTensor, FlexTensor) {
        super::count(super::Kernel::RmsNorm);
        let (y, rstd) = rms_norm::forward(f32s(x), f32s(gamma), epsilon);
        let rows = rstd.len();
        (tensor(y, x.layout().shape()), tensor(rstd, &[rows]))
    }

    impl FusedOps for Flex {
        fn rope_attention(
            qkv: FlexTensor, cos: FlexTensor, sin: FlexTensor, causal: bool,
        ) -> FlexTensor {
            let d = dims(&qkv, &cos, causal);
            let [qkv, cos, sin] = [&qkv, &cos, &sin].map(contiguous);
            attention_forward(&d, &qkv, &cos, &sin).0
        }

        fn swiglu(gate_up: FlexTensor) -> FlexTensor {
            let (gu, shape) = halved(&gate_up);
            swiglu_forward(&gu, &shape)
        }

        fn matmul(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
            super::count(super::Kernel::Matmul);
            product(&lhs, false, &rhs, false)
        }

        fn rms_norm(x: FlexTensor, gamma: FlexTensor, epsilon: f32) -> FlexTensor {
            rms_norm_forward(&contiguous(&x), &contiguous(&gamma), epsilon).0
        }

        fn adamw(
            param: FlexTensor, grad: FlexTensor, m: FlexTensor, v: FlexTensor, step: AdamWStep,
        ) -> FlexTensor {
            let [p, m, v] = [&param, &m, &v].map(contiguous);
            let cols = p.layout().shape().last().copied().unwrap_or(1);
            let g = row_readable(grad, cols);
            let rows = rows_of(&g, cols).expect("row_readable");
            super::count(super::Kernel::AdamW);
            let out = adamw::step(f32s(&p), rows, f32s(&m), f32s(&v), &step);
            let n = out.len();
            tensor(out, &[n])
        }

        fn sum_squares(x: FlexTensor) -> FlexTensor {
            let (n, cols) =
                (x.layout().num_elements(), x.layout().shape().last().copied().unwrap_or(1));
            let x = row_readable(x, cols);
            let rows = rows_of(&x, cols).expect("row_readable");
            super::count(super::Kernel::SumSquares);
            tensor(vec![adamw::sum_squares(rows, n) as f32], &[1])
        }
    }

    /// `t` itself when [`rows_of`] can read it, else a contiguous copy (which it always can).
    fn row_readable(t: FlexTensor, cols: usize) -> FlexTensor {
        if rows_of(&t, cols).is_some() { t } else { contiguous(&t) }
    }

    /// `t` as rows of its last dimension (`cols` elements) when it is contiguous or a 2-D view
    /// whose rows are contiguous and evenly spaced.
    fn rows_of(t: &FlexTensor, cols: usize) -> Option<adamw::Rows<'_>> {
        let l = t.layout();
        if let Some(data) = t.as_slice::<f32>() {
            return Some(adamw::Rows { data, cols, stride: cols });
        }
        match (&l.shape()[..], l.strides()) {
            (&[_, c], &[s, 1]) if c == cols && s >= c as isize => Some(adamw::Rows {
                data: &t.storage::<f32>()[l.start_offset()..],
                cols,
                stride: s as usize,
            }),
            _ => None,
        }
    }

    #[derive(Debug)]
    struct AttentionBackward;

    impl Backward<Flex, 1> for AttentionBackward {
        /// dims, then qkv, output, log-sum-exp, cos, sin (all contiguous).
        type State = (attention::Dims, [FlexTensor; 5]);

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let (d, [qkv, o, lse, cos, sin]) = ops.state;
            let g = contiguous(&grads.consume::<Flex>(&ops.node));
            let dqkv = attention::backward(
                &d,
                f32s(&qkv),
                f32s(&o),
                f32s(&lse),
                f32s(&g),
                f32s(&cos),
                f32s(&sin),
            );
            if let [Some(node)] = ops.parents {
                grads.register::<Flex>(node.id, tensor(dqkv, &[d.b, d.s, 3, d.h, d.dh]));
            }
        }
    }

    #[derive(Debug)]
    struct SwigluBackward;

    impl Backward<Flex, 1> for SwigluBackward {
        /// gate_up (contiguous).
        type State = FlexTensor;

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let gu = ops.state;
            let dy = contiguous(&grads.consume::<Flex>(&ops.node));
            let shape = gu.layout().shape().to_vec();
            let dgu = swiglu::backward(f32s(&gu), f32s(&dy), shape[shape.len() - 1] / 2);
            if let [Some(node)] = ops.parents {
                grads.register::<Flex>(node.id, tensor(dgu, &shape));
            }
        }
    }

    #[derive(Debug)]
    struct MatmulBackward;

    impl Backward<Flex, 2> for MatmulBackward {
        /// The operands as given (views kept).
        type State = [FlexTensor; 2];

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
            let [a, b] = ops.state;
            let g = grads.consume::<Flex>(&ops.node);
            let [node_a, node_b] = ops.parents;
            if let Some(node) = node_a {
                grads.register::<Flex>(node.id, product(&g, false, &b, true));
            }
            if let Some(node) = node_b {
                grads.register::<Flex>(node.id, product(&a, true, &g, false));
            }
        }
    }

    #[derive(Debug)]
    struct RmsNormBackward;

    impl Backward<Flex, 2> for RmsNormBackward {
        /// x, gamma, 1/rms per row (contiguous).
        type State = [FlexTensor; 3];

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
            let [x, gamma, rstd] = ops.state;
            let dy = contiguous(&grads.consume::<Flex>(&ops.node));
            let [dx, dgamma] = rms_norm::backward(f32s(&x), f32s(&gamma), f32s(&rstd), f32s(&dy));
            let shapes = [x.layout().shape().to_vec(), gamma.layout().shape().to_vec()];
            for ((parent, grad), shape) in ops.parents.into_iter().zip([dx, dgamma]).zip(shapes) {
                if let Some(node) = parent {
                    grads.register::<Flex>(node.id, tensor(grad, &shape));
                }
            }
        }
    }

    impl<C: CheckpointStrategy> FusedOps for Autodiff<Flex, C> {
        /// Untracked: an optimizer's update is not differentiated.
        fn adamw(
            param: FloatTensor<Self>, grad: FloatTensor<Self>, m: FloatTensor<Self>,
            v: FloatTensor<Self>, step: AdamWStep,
        ) -> FloatTensor<Self> {
            use burn::backend::AutodiffBackend;
            let [p, g, m, v] = [param, grad, m, v].map(Self::inner);
            Self::from_inner(<Flex as FusedOps>::adamw(p, g, m, v, step))
        }

        /// Untracked: the gradient norm is not differentiated.
        fn sum_squares(x: FloatTensor<Self>) -> FloatTensor<Self> {
            use burn::backend::AutodiffBackend;
            Self::from_inner(<Flex as FusedOps>::sum_squares(Self::inner(x)))
        }

        fn rope_attention(
            qkv: FloatTensor<Self>, cos: FloatTensor<Self>, sin: FloatTensor<Self>, causal: bool,
        ) -> FloatTensor<Self> {
            let nodes = [qkv.node()];
            let [qkv, cos, sin] = [qkv, cos, sin].map(|t| contiguous(&t.into_primitive()));
            let d = dims(&qkv, &cos, causal);
            let (o, lse) = attention_forward(&d, &qkv, &cos, &sin);
            match AttentionBackward.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish((d, [qkv, o.clone(), lse, cos, sin]), o),
                OpsKind::UnTracked(prep) => prep.finish(o),
            }
        }

        fn swiglu(gate_up: FloatTensor<Self>) -> FloatTensor<Self> {
            let nodes = [gate_up.node()];
            let (gu, shape) = halved(&gate_up.into_primitive());
            let y = swiglu_forward(&gu, &shape);
            match SwigluBackward.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish(gu, y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            }
        }

        fn matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
            let nodes = [lhs.node(), rhs.node()];
            let (a, b) = (lhs.into_primitive(), rhs.into_primitive());
            super::count(super::Kernel::Matmul);
            let out = product(&a, false, &b, false);
            match MatmulBackward.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish([a, b], out),
                OpsKind::UnTracked(prep) => prep.finish(out),
            }
        }

        fn rms_norm(
            x: FloatTensor<Self>, gamma: FloatTensor<Self>, epsilon: f32,
        ) -> FloatTensor<Self> {
            let nodes = [x.node(), gamma.node()];
            let [x, gamma] = [x, gamma].map(|t| contiguous(&t.into_primitive()));
            let (y, rstd) = rms_norm_forward(&x, &gamma, epsilon);
            match RmsNormBackward.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish([x, gamma, rstd], y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            }
        }
    }
}
