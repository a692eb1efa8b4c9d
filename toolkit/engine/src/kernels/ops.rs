//! The fused operations as a burn backend extension: the trait, flex's forward glue (tensors
//! in, slices to the kernels, tensors out), and the helpers the backward passes share.

use super::{AdamWStep, adamw, attention, matmul, rms_norm, swiglu};
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
    fn rms_norm(x: FloatTensor<Self>, gamma: FloatTensor<Self>, epsilon: f32) -> FloatTensor<Self>;
    /// See [`super::adamw_step`]: [param | m | v], flattened.
    fn adamw(
        param: FloatTensor<Self>, grad: FloatTensor<Self>, m: FloatTensor<Self>,
        v: FloatTensor<Self>, step: AdamWStep,
    ) -> FloatTensor<Self>;
    /// See [`super::sum_squares`]: a one-element tensor.
    fn sum_squares(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The f32 elements of a contiguous tensor.
pub(super) fn f32s(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("fused kernels train in f32 on contiguous tensors")
}

pub(super) fn tensor(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}

/// The tensor itself when its elements lie in row-major order in one stretch of its storage
/// (an offset view such as an optimizer's moment is not copied, unlike `to_contiguous`),
/// else a contiguous copy.
pub(super) fn contiguous(t: &FlexTensor) -> FlexTensor {
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
pub(super) fn product(a: &FlexTensor, a_t: bool, b: &FlexTensor, b_t: bool) -> FlexTensor {
    let (a, b) = (readable(a), readable(b));
    let (a, b) = (operand(&a, a_t), operand(&b, b_t));
    tensor(matmul::matmul(a, b), &[a.shape[0], b.shape[1]])
}

/// A contiguous [.., 2F] tensor and the shape [.., F] of its halves.
pub(super) fn halved(t: &FlexTensor) -> (FlexTensor, Vec<usize>) {
    let mut shape = t.layout().shape().to_vec();
    let last = shape.last_mut().expect("swiglu: a tensor of rank >= 1");
    assert!((*last).is_multiple_of(2), "swiglu: the last dimension must hold gate and up halves");
    *last /= 2;
    (contiguous(t), shape)
}

pub(super) fn dims(qkv: &FlexTensor, cos: &FlexTensor, causal: bool) -> attention::Dims {
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
pub(super) fn attention_forward(
    d: &attention::Dims, qkv: &FlexTensor, cos: &FlexTensor, sin: &FlexTensor,
) -> (FlexTensor, FlexTensor) {
    super::count(super::Kernel::RopeAttention);
    let (o, lse) = attention::forward(d, f32s(qkv), f32s(cos), f32s(sin));
    (tensor(o, &[d.b, d.s, d.h, d.dh]), tensor(lse, &[d.b, d.h, d.s]))
}

/// silu(gate) * up on a contiguous [.., 2F] tensor, shaped `shape` ([.., F]).
pub(super) fn swiglu_forward(gu: &FlexTensor, shape: &[usize]) -> FlexTensor {
    super::count(super::Kernel::Swiglu);
    tensor(swiglu::forward(f32s(gu), shape[shape.len() - 1]), shape)
}

/// RMSNorm on contiguous inputs: (output, 1/rms per row).
pub(super) fn rms_norm_forward(
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
