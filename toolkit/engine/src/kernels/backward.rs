//! The fused operations on autodiff over flex: each forward records its backward pass, which
//! runs the kernels' own gradients.

use super::ops::{
    FusedOps, attention_forward, contiguous, dims, f32s, halved, product, rms_norm_forward,
    swiglu_forward, tensor,
};
use super::{AdamWStep, attention, rms_norm, swiglu};
use burn::backend::Flex;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::{base::Checkpointer, strategy::CheckpointStrategy};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn_flex::FlexTensor;

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

    fn rms_norm(x: FloatTensor<Self>, gamma: FloatTensor<Self>, epsilon: f32) -> FloatTensor<Self> {
        let nodes = [x.node(), gamma.node()];
        let [x, gamma] = [x, gamma].map(|t| contiguous(&t.into_primitive()));
        let (y, rstd) = rms_norm_forward(&x, &gamma, epsilon);
        match RmsNormBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish([x, gamma, rstd], y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}
