//! The transformer: embeddings -> L x (RMSNorm, attention with RoPE, RMSNorm, SwiGLU) -> RMSNorm
//! -> tied output projection.

mod legacy;

use super::Precision;
use super::layers::{Compute, project, rms_norm, self_attention, swiglu_gate};
use crate::flops::{self, ParamCount, backbone_params, swiglu_hidden};
use burn::module::{Param, ParamId};
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig, RmsNorm,
    RmsNormConfig,
};
use burn::prelude::*;
use burn::store::{ModuleRecord, RecordError};
use burn::tensor::Distribution;
use std::path::Path;

/// Shape and switches of the backbone; saved with every run.
#[derive(Config, Debug)]
pub struct ModelConfig {
    /// Tokenizer vocabulary; the model adds one MASK row (id = vocab_size).
    pub vocab_size: usize,
    /// Width d.
    pub d_model: usize,
    /// Attention heads (d_model must divide evenly).
    pub n_heads: usize,
    /// Layers L.
    pub n_layers: usize,
    /// Longest sequence (RoPE table length).
    pub seq_len: usize,
    /// Causal attention (AR) or full bidirectional attention (diffusion).
    #[config(default = true)]
    pub causal: bool,
    /// Dropout after attention and MLP (0 = off).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// RoPE base.
    #[config(default = 10000.0)]
    pub rope_theta: f64,
    /// Precision of the matrix products; None (configs saved before it existed) is f32.
    pub precision: Option<Precision>,
}

impl ModelConfig {
    /// The MASK token id used by masked diffusion.
    pub fn mask_id(&self) -> usize {
        self.vocab_size
    }

    /// Embedding rows: the vocabulary plus MASK.
    pub fn rows(&self) -> usize {
        self.vocab_size + 1
    }

    /// Total and non-embedding parameters by formula.
    pub fn params(&self) -> ParamCount {
        backbone_params(self.d_model, self.n_layers, self.rows())
    }

    /// Training FLOPs per input token for model FLOP utilisation
    /// ([`flops::mfu_flops_per_token`], PaLM's convention).
    pub fn train_flops_per_token(&self) -> f64 {
        flops::mfu_flops_per_token(
            self.params(),
            self.d_model,
            self.n_layers,
            self.vocab_size,
            self.seq_len,
        )
    }

    /// The model `seed` gives on every backend: weights drawn on the host (flex) and loaded
    /// onto `device`, since each backend's own generator draws different numbers.
    pub fn init_seeded(&self, seed: u64, device: &Device) -> Lm {
        #[cfg(feature = "flex")]
        let host = Device::flex();
        #[cfg(not(feature = "flex"))]
        let host = device.clone();
        host.seed(seed);
        // Device equality ignores autodiff: on the host itself, draw in place.
        if *device == host {
            return self.init(device);
        }
        let record = self.init(&host).into_record();
        self.init(device).load_record(record)
    }

    /// The model saved at `path` (by `Module::save_file`) on `device`, and the layout it was
    /// stored in: one written before q/k/v and gate/up were joined is converted on load (the
    /// file is read a second time only then, so today's checkpoints load without a copy).
    pub fn load(&self, path: &Path, device: &Device) -> Result<(Lm, Layout), RecordError> {
        match self.init(device).try_load_record(ModuleRecord::load(path)?) {
            Ok(model) => Ok((model, Layout::Joined)),
            // Report today's mismatch when the file is not the old layout either.
            Err(e) => legacy::load(self, ModuleRecord::load(path)?, device)
                .map(|m| (m, Layout::Separate))
                .map_err(|_| e),
        }
    }

    /// Builds the model with nanoGPT's initialisation (N(0, 0.02), output projections scaled
    /// by 1/sqrt(2L)).
    pub fn init(&self, device: &Device) -> Lm {
        assert!(
            self.d_model.is_multiple_of(self.n_heads),
            "d_model {} is not divisible by n_heads {}",
            self.d_model,
            self.n_heads
        );
        assert!(
            (self.d_model / self.n_heads).is_multiple_of(2),
            "head width must be even for RoPE"
        );
        let std = 0.02;
        let normal = |s: f64| Initializer::Normal { mean: 0.0, std: s };
        let proj_std = std / (2.0 * self.n_layers as f64).sqrt();
        let linear = |i: usize, o: usize, s: f64| {
            LinearConfig::new(i, o).with_bias(false).with_initializer(normal(s)).init(device)
        };
        let (d, h) = (self.d_model, swiglu_hidden(self.d_model));
        let blocks = (0..self.n_layers)
            .map(|_| Block {
                attn_norm: RmsNormConfig::new(d).init(device),
                w_qkv: side_by_side(d, d, 3, std, device),
                wo: linear(d, d, proj_std),
                mlp_norm: RmsNormConfig::new(d).init(device),
                w_gate_up: side_by_side(d, h, 2, std, device),
                w_down: linear(h, d, proj_std),
                dropout: DropoutConfig::new(self.dropout).init(),
            })
            .collect();
        // Positions run to seq_len: AR with orderings keeps original positions 0..=L.
        let (cos, sin) = rope_tables(self.seq_len + 1, d / self.n_heads, self.rope_theta, device);
        Lm {
            embedding: EmbeddingConfig::new(self.rows(), d)
                .with_initializer(normal(std))
                .init(device),
            blocks,
            final_norm: RmsNormConfig::new(d).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            rope_cos: cos,
            rope_sin: sin,
            n_heads: self.n_heads,
            causal: self.causal,
            vocab_size: self.vocab_size,
            bf16: self.precision == Some(Precision::Bf16),
            fused: crate::kernels::fused_on(device),
        }
    }
}

/// How a saved model stored its block weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// As today: q/k/v in one weight, gate/up in one.
    Joined,
    /// Nine layers a block (dclab until 2026-12-02), joined on load.
    Separate,
}

/// One transformer block. The weights are stored as the products use them: q, k and v side by
/// side in one [d, 3d] weight, SwiGLU's gate and up in one [d, 2H].
#[derive(Module, Debug)]
pub struct Block {
    attn_norm: RmsNorm,
    w_qkv: Linear,
    wo: Linear,
    mlp_norm: RmsNorm,
    w_gate_up: Linear,
    w_down: Linear,
    dropout: Dropout,
}

/// A bias-free layer of `parts` blocks [d_in, d_out] side by side, each drawn from N(0, std) in
/// turn when first used: the numbers, and their place in the generator's stream, are those of
/// `parts` separate layers, so a seed gives the weights it gave before q/k/v (and gate/up)
/// were stored as one.
fn side_by_side(d_in: usize, d_out: usize, parts: usize, std: f64, device: &Device) -> Linear {
    let draw = move |device: &Device, require_grad: bool| {
        device.memory_persistent_allocations((), |_| {
            let normal = Distribution::Normal(0.0, std);
            let blocks = (0..parts).map(|_| Tensor::<2>::random([d_in, d_out], normal, device));
            let w = Tensor::cat(blocks.collect(), 1);
            if require_grad { w.require_grad() } else { w }
        })
    };
    let shape = Shape::new([d_in, parts * d_out]);
    Linear {
        weight: Param::uninitialized(ParamId::new(), draw, device.clone(), true, shape),
        bias: None,
    }
}

/// The language model (either family).
#[derive(Module, Debug)]
pub struct Lm {
    embedding: Embedding,
    blocks: Vec<Block>,
    final_norm: RmsNorm,
    dropout: Dropout,
    rope_cos: Tensor<2>,
    rope_sin: Tensor<2>,
    n_heads: usize,
    causal: bool,
    vocab_size: usize,
    /// bf16 matrix products (a plain flag: a module field holds no enum).
    bf16: bool,
    /// The fused CPU kernels run: fixed when the model is built (or loaded) on flex. A plain
    /// field is no part of a record, so a checkpoint loaded elsewhere takes that device's.
    fused: bool,
}

/// cos and sin of position * theta^(-2i/d_head), shape [max_len, d_head/2].
fn rope_tables(
    max_len: usize, d_head: usize, theta: f64, device: &Device,
) -> (Tensor<2>, Tensor<2>) {
    let half = d_head / 2;
    let mut cos = Vec::with_capacity(max_len * half);
    let mut sin = Vec::with_capacity(max_len * half);
    for pos in 0..max_len {
        for i in 0..half {
            let angle = pos as f64 * theta.powf(-2.0 * i as f64 / d_head as f64);
            cos.push(angle.cos() as f32);
            sin.push(angle.sin() as f32);
        }
    }
    let t = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [max_len, half]), device);
    (t(cos), t(sin))
}

impl Block {
    /// x [B,S,d]; cos/sin [Bc,S,Dh/2] (Bc = 1 or B).
    fn forward(
        &self, x: Tensor<3>, cos: Tensor<3>, sin: Tensor<3>, n_heads: usize, causal: bool,
        c: Compute,
    ) -> Tensor<3> {
        let h = rms_norm(&self.attn_norm, x.clone(), c);
        let a = self_attention(h, self.w_qkv.weight.val(), cos, sin, n_heads, causal, c);
        let x = x + self.dropout.forward(project(a, self.wo.weight.val(), c));
        let h = rms_norm(&self.mlp_norm, x.clone(), c);
        let m =
            project(swiglu_gate(h, self.w_gate_up.weight.val(), c), self.w_down.weight.val(), c);
        x + self.dropout.forward(m)
    }
}

impl Lm {
    /// Logits [B, S, vocab] for token ids [B, S] (ids up to vocab, MASK included); `positions` [B, S] are the RoPE position
    /// ids (None = 0..S, raster order; AR-with-orderings passes the original positions).
    pub fn forward(&self, tokens: Tensor<2, Int>, positions: Option<Tensor<2, Int>>) -> Tensor<3> {
        let [b, s] = tokens.dims();
        let half = self.rope_cos.dims()[1];
        let (cos, sin) = match positions {
            None => {
                let c = self.rope_cos.clone().slice([0..s, 0..half]);
                let sn = self.rope_sin.clone().slice([0..s, 0..half]);
                (c.reshape([1, s, half]), sn.reshape([1, s, half]))
            }
            Some(pos) => {
                let flat = pos.reshape([b * s]);
                let c = self.rope_cos.clone().select(0, flat.clone());
                let sn = self.rope_sin.clone().select(0, flat);
                (c.reshape([b, s, half]), sn.reshape([b, s, half]))
            }
        };
        let c = Compute { precision: self.precision(), fused: self.fused };
        let mut x = self.dropout.forward(self.embedding.forward(tokens));
        for block in &self.blocks {
            x = block.forward(x, cos.clone(), sin.clone(), self.n_heads, self.causal, c);
        }
        let x = rms_norm(&self.final_norm, x, c);
        // Tied output projection over the vocabulary only: MASK is an input, never a prediction.
        let w = self.embedding.weight.val();
        let [rows, d] = w.dims();
        let w = w.slice([0..rows - 1, 0..d]);
        project(x, w.transpose(), c)
    }

    /// Precision of the matrix products.
    pub fn precision(&self) -> Precision {
        if self.bf16 { Precision::Bf16 } else { Precision::F32 }
    }

    /// Tokenizer vocabulary (the MASK id).
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// Whether attention is causal (AR) or bidirectional (diffusion).
    pub fn causal(&self) -> bool {
        self.causal
    }
}

#[cfg(test)]
mod tests {
    use super::{ModelConfig, Precision};
    use burn::prelude::*;
    use burn::tensor::DType;

    /// bf16 really runs (the logits move off f32's by more than rounding noise, not by more
    /// than bf16's), the logits come back f32, and the weights and their gradients stay f32.
    #[test]
    fn bf16_runs_the_products_in_bf16_on_f32_master_weights() {
        let device = Device::flex().autodiff();
        let cfg = ModelConfig::new(20, 32, 2, 2, 8);
        let f32_model = cfg.init(&device);
        // The same weights (flex's seed is process-global and other tests draw too).
        let bf16_model = cfg
            .with_precision(Some(Precision::Bf16))
            .init(&device)
            .load_record(f32_model.clone().into_record());
        assert_eq!(bf16_model.precision(), Precision::Bf16);
        let tokens = Tensor::<2, Int>::from_ints([[1, 5, 7, 2, 19, 20, 3, 3]], &device);
        let a = f32_model.forward(tokens.clone(), None);
        let b = bf16_model.forward(tokens, None);
        assert_eq!(b.dtype(), DType::F32);
        let gap = (a - b.clone()).abs().max().into_scalar::<f32>();
        assert!(gap > 1e-4 && gap < 0.05, "bf16 logits differ from f32 by {gap}");
        let grads = b.sum().backward();
        let w = &bf16_model.blocks[0].w_qkv.weight;
        assert_eq!(w.val().dtype(), DType::F32);
        assert_eq!(w.grad(&grads).expect("a gradient").dtype(), DType::F32);
        assert_eq!(
            bf16_model.embedding.weight.grad(&grads).expect("a gradient").dtype(),
            DType::F32
        );
    }
}
