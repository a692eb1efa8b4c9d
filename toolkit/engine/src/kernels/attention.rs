//! Attention with rotary positions as one CPU kernel, forward and backward, one (batch, head)
//! at a time and heads in parallel: no [B,H,S,S] tensors, no head transposes, no libm exp.
//!
//! Layout: q, k and v arrive as one [B, S, 3, H, Dh] tensor (the fused projection's output,
//! reshaped) and leave as one gradient of that shape; the output and its gradient are
//! [B, S, H, Dh]; cos and sin are [Bc, S, Dh/2] with Bc = 1 (raster positions) or B (one
//! position per token). Rotation: (x1, x2) -> (x1 cos - x2 sin, x1 sin + x2 cos) on the two
//! halves of each head. Scores are q.k / sqrt(Dh), causal ones masked above the diagonal.

use super::matmul::{Operand, matmul_into, matmul_to};
use super::vector::{dot, exp, max, multiversion, sum};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Sizes of one attention call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dims {
    /// Batch.
    pub b: usize,
    /// Sequence length.
    pub s: usize,
    /// Heads.
    pub h: usize,
    /// Head width (even).
    pub dh: usize,
    /// Rows of the cos/sin tables' batch dimension: 1 or b.
    pub rope_batch: usize,
    /// Mask keys after the query (AR) or not (diffusion).
    pub causal: bool,
}

impl Dims {
    /// Where q (part 0), k (1) or v (2) sit in the [B, S, 3, H, Dh] input.
    fn qkv(&self, part: usize) -> Rows {
        Rows { stride: 3 * self.h * self.dh, offset: part * self.h * self.dh }
    }
    /// The [B, S, H, Dh] output.
    fn heads(&self) -> Rows {
        Rows { stride: self.h * self.dh, offset: 0 }
    }
    fn rope_row(&self, b: usize, i: usize) -> usize {
        ((if self.rope_batch == 1 { 0 } else { b }) * self.s + i) * (self.dh / 2)
    }
}

/// Token rows of one of the tensors: token (b, i), head hh starts at (b S + i) stride + offset + hh Dh.
#[derive(Clone, Copy)]
struct Rows {
    stride: usize,
    offset: usize,
}

impl Rows {
    fn at(self, d: &Dims, b: usize, i: usize, hh: usize) -> usize {
        (b * d.s + i) * self.stride + self.offset + hh * d.dh
    }
    /// Head `hh` of batch `b` in `data`, read in place as an [S, Dh] operand.
    fn head<'a>(self, d: &Dims, data: &'a [f32], b: usize, hh: usize) -> Operand<'a> {
        Operand {
            data,
            offset: self.at(d, b, 0, hh),
            shape: [d.s, d.dh],
            strides: [self.stride, 1],
        }
    }
}

/// Per-thread buffers for one (batch, head).
struct Scratch {
    q: Vec<f32>,
    k: Vec<f32>,
    p: Vec<f32>,
    dp: Vec<f32>,
    dq: Vec<f32>,
    dk: Vec<f32>,
}

impl Scratch {
    fn new(d: &Dims, backward: bool) -> Self {
        let (sd, ss) = (d.s * d.dh, d.s * d.s);
        let bw = |n: usize| vec![0.0; if backward { n } else { 0 }];
        Scratch {
            q: vec![0.0; sd],
            k: vec![0.0; sd],
            p: vec![0.0; ss],
            dp: bw(ss),
            dq: bw(sd),
            dk: bw(sd),
        }
    }
}

/// A raw output pointer shared by the parallel heads, each writing only its own rows.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: an `Out` points into one output buffer that outlives the parallel loop using it, and
// the heads write disjoint element ranges through it (each call of `at` names its own head's
// rows) and never read them, so sending or sharing it between threads races on nothing.
unsafe impl Send for Out {}
// SAFETY: as for `Send`.
unsafe impl Sync for Out {}

impl Out {
    /// Where element `at` goes.
    ///
    /// # Safety
    /// `at` (and every element written from there) must lie within the buffer's capacity, and
    /// no two threads may write the same elements.
    unsafe fn at(self, at: usize) -> *mut f32 {
        // SAFETY: within the allocation, by the caller's contract.
        unsafe { self.0.add(at) }
    }
}

/// cos and sin tables and the factor applied after the rotation.
type Rope<'a> = (&'a [f32], &'a [f32], f32);

multiversion! {
    /// Gathers head `hh` of batch `b` from `rows` of `src` into a [S, Dh] block, rotated and scaled.
    fn gather(d: &Dims, src: &[f32], rows: Rows, b: usize, hh: usize, rope: Rope, dst: &mut [f32]) {
        let ((dh, half), (cos, sin, scale)) = ((d.dh, d.dh / 2), rope);
        for i in 0..d.s {
            let x = &src[rows.at(d, b, i, hh)..][..dh];
            let at = d.rope_row(b, i);
            let (c, s) = (&cos[at..at + half], &sin[at..at + half]);
            let ((o1, o2), (x1, x2)) = (dst[i * dh..][..dh].split_at_mut(half), x.split_at(half));
            // Indexed with every length known to be `half`, so the loop vectorises (zipped
            // iterators stayed scalar: 4% of a 10m training step).
            let (o2, x1, x2) = (&mut o2[..half], &x1[..half], &x2[..half]);
            for j in 0..half {
                o1[j] = (x1[j] * c[j] - x2[j] * s[j]) * scale;
                o2[j] = (x1[j] * s[j] + x2[j] * c[j]) * scale;
            }
        }
    }
}

multiversion! {
    /// The transpose of [`gather`]: writes the gradient `src` ([S, Dh]) of head `hh` back to
    /// `rows` of `dst`, rotated back and scaled.
    fn scatter(d: &Dims, src: &[f32], rows: Rows, b: usize, hh: usize, rope: Rope, dst: Out) {
        let ((dh, half), (cos, sin, scale)) = ((d.dh, d.dh / 2), rope);
        for i in 0..d.s {
            let g = &src[i * dh..][..dh];
            let at = d.rope_row(b, i);
            let (c, s) = (&cos[at..at + half], &sin[at..at + half]);
            // SAFETY: row (b, i) of head hh lies inside the output's capacity, and only this
            // head writes it. The row is not initialised yet, so it is viewed as MaybeUninit
            // (a `&mut [f32]` over it would assert initialised floats) and only written.
            let out: &mut [MaybeUninit<f32>] = unsafe {
                std::slice::from_raw_parts_mut(dst.at(rows.at(d, b, i, hh)).cast(), dh)
            };
            let ((t1, t2), (g1, g2)) = (out.split_at_mut(half), g.split_at(half));
            let (t2, g1, g2) = (&mut t2[..half], &g1[..half], &g2[..half]);
            for j in 0..half {
                t1[j] = MaybeUninit::new((g1[j] * c[j] + g2[j] * s[j]) * scale);
                t2[j] = MaybeUninit::new((g2[j] * c[j] - g1[j] * s[j]) * scale);
            }
        }
    }
}

/// Query rows per block of a causal head: block r0..r1 attends to keys 0..r1 only, so the
/// products skip the masked blocks above the diagonal (3/8 of the work at S = 128).
const BLOCK: usize = 32;

/// Row blocks (r0, r1) of a head: one block when not causal.
fn blocks(d: &Dims) -> impl Iterator<Item = (usize, usize)> {
    let step = if d.causal { BLOCK } else { d.s.max(1) };
    (0..d.s).step_by(step).map(move |r0| (r0, (r0 + step).min(d.s)))
}

/// Scores q k^T of one head into `sc.p` ([S, S]), the blocks a causal head needs.
fn scores(d: &Dims, sc: &mut Scratch) {
    let (s, dh) = (d.s, d.dh);
    let (q, k) =
        (Operand::block(&sc.q, dh, (0, s), (0, dh)), Operand::block(&sc.k, dh, (0, s), (0, dh)));
    for (r0, r1) in blocks(d) {
        matmul_into(&mut sc.p[r0 * s..], s, q.sub((r0, r1), (0, dh)), k.sub((0, r1), (0, dh)).t());
    }
}

/// dst (rows `ld` apart) = P x for P [S, S] (zero above the diagonal when causal), x [S, Dh].
///
/// # Safety
/// As [`matmul_to`] for S rows of Dh.
unsafe fn p_times(d: &Dims, p: Operand, x: Operand, dst: *mut f32, ld: usize) {
    for (r0, r1) in blocks(d) {
        // SAFETY: rows r0..r1 of the caller's output.
        unsafe {
            matmul_to(dst.add(r0 * ld), ld, p.sub((r0, r1), (0, r1)), x.sub((0, r1), (0, d.dh)))
        };
    }
}

/// dst (rows `ld` apart) = P^T x for P [S, S] (zero above the diagonal when causal), x [S, Dh].
///
/// # Safety
/// As [`matmul_to`] for S rows of Dh.
unsafe fn pt_times(d: &Dims, p: Operand, x: Operand, dst: *mut f32, ld: usize) {
    for (c0, c1) in blocks(d) {
        let rows = if d.causal { (c0, d.s) } else { (0, d.s) };
        // SAFETY: rows c0..c1 of the caller's output.
        unsafe {
            matmul_to(dst.add(c0 * ld), ld, p.sub(rows, (c0, c1)).t(), x.sub(rows, (0, d.dh)))
        };
    }
}

multiversion! {
    /// Softmax of each score row in place (keys after the query zeroed when causal); fills `lse`.
    fn softmax_rows(p: &mut [f32], s: usize, causal: bool, lse: &mut [f32]) {
        for (i, row) in p.chunks_exact_mut(s).enumerate() {
            let (live, masked) = row.split_at_mut(if causal { i + 1 } else { s });
            let m = max(live);
            for x in live.iter_mut() {
                *x = exp(*x - m);
            }
            let l = sum(live);
            let inv = 1.0 / l;
            for x in live.iter_mut() {
                *x *= inv;
            }
            masked.fill(0.0);
            lse[i] = m + l.ln();
        }
    }
}

multiversion! {
    /// Probabilities again from the scores and the saved log-sum-exp, in place.
    fn probabilities(p: &mut [f32], s: usize, causal: bool, lse: &[f32]) {
        for (i, row) in p.chunks_exact_mut(s).enumerate() {
            let (live, masked) = row.split_at_mut(if causal { i + 1 } else { s });
            let l = lse[i];
            for x in live.iter_mut() {
                *x = exp(*x - l);
            }
            masked.fill(0.0);
        }
    }
}

multiversion! {
    /// Score gradients in place: dS = P (dP - delta), row by row; 0 above the diagonal when
    /// causal (dP is not computed there).
    fn score_grads(dp: &mut [f32], p: &[f32], delta: &[f32], s: usize, causal: bool) {
        for (i, ((ds, p), &delta)) in dp.chunks_exact_mut(s).zip(p.chunks_exact(s)).zip(delta).enumerate() {
            let (live, masked) = ds.split_at_mut(if causal { i + 1 } else { s });
            for (x, &p) in live.iter_mut().zip(p) {
                *x = p * (*x - delta);
            }
            masked.fill(0.0);
        }
    }
}

/// Forward: returns the output [B,S,H,Dh] and the log-sum-exp of each score row [B,H,S].
pub fn forward(d: &Dims, qkv: &[f32], cos: &[f32], sin: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let n = d.b * d.s * d.h * d.dh;
    assert!(qkv.len() == 3 * n, "attention: qkv must be [B,S,3,H,Dh]");
    assert!(
        cos.len() == d.rope_batch * d.s * d.dh / 2 && sin.len() == cos.len(),
        "attention: rope tables"
    );
    let scale = 1.0 / (d.dh as f32).sqrt();
    let mut o = Vec::with_capacity(n);
    let mut lse = vec![0.0f32; d.b * d.h * d.s];
    let out = Out(o.as_mut_ptr());
    lse.par_chunks_mut(d.s).enumerate().for_each_init(
        || Scratch::new(d, false),
        |sc, (bh, lse)| {
            let (b, hh) = (bh / d.h, bh % d.h);
            gather(d, qkv, d.qkv(0), b, hh, (cos, sin, scale), &mut sc.q);
            gather(d, qkv, d.qkv(1), b, hh, (cos, sin, 1.0), &mut sc.k);
            scores(d, sc);
            softmax_rows(&mut sc.p, d.s, d.causal, lse);
            // O = P V, V read in place and O written straight into this head's output rows.
            let p = Operand::block(&sc.p, d.s, (0, d.s), (0, d.s));
            // SAFETY: head (b, hh)'s rows of the output, which no other head writes.
            unsafe {
                p_times(
                    d,
                    p,
                    d.qkv(2).head(d, qkv, b, hh),
                    out.at(d.heads().at(d, b, 0, hh)),
                    d.heads().stride,
                )
            };
        },
    );
    // SAFETY: every head wrote its S rows of Dh, together all n elements.
    unsafe { o.set_len(n) };
    (o, lse)
}

/// Backward: the gradient of qkv ([B,S,3,H,Dh]) from the output gradient `g`, recomputing the
/// scores from q, k and the saved log-sum-exp.
pub fn backward(
    d: &Dims, qkv: &[f32], o: &[f32], lse: &[f32], g: &[f32], cos: &[f32], sin: &[f32],
) -> Vec<f32> {
    let n = d.b * d.s * d.h * d.dh;
    assert!(qkv.len() == 3 * n && o.len() == n && g.len() == n && lse.len() == d.b * d.h * d.s);
    let (s, dh) = (d.s, d.dh);
    let scale = 1.0 / (dh as f32).sqrt();
    let mut dqkv = Vec::with_capacity(3 * n);
    let out = Out(dqkv.as_mut_ptr());
    lse.par_chunks(s).enumerate().for_each_init(
        || (Scratch::new(d, true), vec![0.0f32; s]),
        |(sc, delta), (bh, lse)| {
            let (b, hh) = (bh / d.h, bh % d.h);
            gather(d, qkv, d.qkv(0), b, hh, (cos, sin, scale), &mut sc.q);
            gather(d, qkv, d.qkv(1), b, hh, (cos, sin, 1.0), &mut sc.k);
            // V, dO and O are read in place.
            let (v, d_o) = (d.qkv(2).head(d, qkv, b, hh), d.heads().head(d, g, b, hh));
            // P from the saved log-sum-exp; masked entries are exactly 0.
            scores(d, sc);
            probabilities(&mut sc.p, s, d.causal, lse);
            for (i, delta) in delta.iter_mut().enumerate() {
                let at = d.heads().at(d, b, i, hh);
                *delta = dot(&g[at..][..dh], &o[at..][..dh]);
            }
            // dV = P^T dO, straight into dqkv; dP = dO V^T (the blocks P needs);
            // dS = P (dP - delta), 0 where masked.
            let p = Operand::block(&sc.p, s, (0, s), (0, s));
            // SAFETY: head (b, hh)'s v rows of dqkv, which no other head writes.
            unsafe { pt_times(d, p, d_o, out.at(d.qkv(2).at(d, b, 0, hh)), d.qkv(2).stride) };
            for (r0, r1) in blocks(d) {
                matmul_into(
                    &mut sc.dp[r0 * s..],
                    s,
                    d_o.sub((r0, r1), (0, dh)),
                    v.sub((0, r1), (0, dh)).t(),
                );
            }
            score_grads(&mut sc.dp, &sc.p, delta, s, d.causal);
            // Scores are (scale q_rot) . k_rot: dq_rot = scale dS k_rot, dk_rot = dS^T (scale q_rot).
            let ds = Operand::block(&sc.dp, s, (0, s), (0, s));
            let (q, k) = (
                Operand::block(&sc.q, dh, (0, s), (0, dh)),
                Operand::block(&sc.k, dh, (0, s), (0, dh)),
            );
            // SAFETY: the scratch buffers hold S rows of Dh.
            unsafe {
                p_times(d, ds, k, sc.dq.as_mut_ptr(), dh);
                pt_times(d, ds, q, sc.dk.as_mut_ptr(), dh);
            }
            scatter(d, &sc.dq, d.qkv(0), b, hh, (cos, sin, scale), out);
            scatter(d, &sc.dk, d.qkv(1), b, hh, (cos, sin, 1.0), out);
        },
    );
    // SAFETY: every head wrote its q, k and v rows (S x Dh each), together all 3n elements.
    unsafe { dqkv.set_len(3 * n) };
    dqkv
}
