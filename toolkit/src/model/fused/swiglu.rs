//! SwiGLU's gate, silu(g) * u, as one CPU pass forward and one backward, in parallel chunks
//! (burn's composition makes five passes and a libm exp per element).

use super::exp::sigmoid;
use rayon::prelude::*;

const CHUNK: usize = 1 << 14;

/// silu(g) * u = g * sigmoid(g) * u, elementwise.
pub fn forward(g: &[f32], u: &[f32]) -> Vec<f32> {
    assert_eq!(g.len(), u.len(), "swiglu: gate and up differ in size");
    let mut y = vec![0.0f32; g.len()];
    y.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK).zip(u.par_chunks(CHUNK))).for_each(|(y, (g, u))| {
        for ((y, &g), &u) in y.iter_mut().zip(g).zip(u) {
            *y = g * sigmoid(g) * u;
        }
    });
    y
}

/// Gradients of g and u from the output gradient `dy`:
/// dg = dy u s (1 + g (1 - s)), du = dy g s, with s = sigmoid(g).
pub fn backward(g: &[f32], u: &[f32], dy: &[f32]) -> [Vec<f32>; 2] {
    assert!(g.len() == u.len() && g.len() == dy.len(), "swiglu: sizes differ");
    let (mut dg, mut du) = (vec![0.0f32; g.len()], vec![0.0f32; g.len()]);
    let inputs = g.par_chunks(CHUNK).zip(u.par_chunks(CHUNK)).zip(dy.par_chunks(CHUNK));
    dg.par_chunks_mut(CHUNK).zip(du.par_chunks_mut(CHUNK)).zip(inputs).for_each(|((dg, du), ((g, u), dy))| {
        for i in 0..g.len().min(dg.len()).min(du.len()).min(u.len()).min(dy.len()) {
            let s = sigmoid(g[i]);
            dg[i] = dy[i] * u[i] * s * (1.0 + g[i] * (1.0 - s));
            du[i] = dy[i] * g[i] * s;
        }
    });
    [dg, du]
}
