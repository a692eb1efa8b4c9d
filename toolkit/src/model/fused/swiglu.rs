//! SwiGLU's gate, silu(g) * u, as one CPU pass forward and one backward, in parallel chunks
//! (burn's composition makes five passes and a libm exp per element).

use super::vector::{multiversion, sigmoid};
use rayon::prelude::*;

const CHUNK: usize = 1 << 14;

/// silu(g) * u = g * sigmoid(g) * u, elementwise.
pub fn forward(g: &[f32], u: &[f32]) -> Vec<f32> {
    assert_eq!(g.len(), u.len(), "swiglu: gate and up differ in size");
    let mut y = vec![0.0f32; g.len()];
    y.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK).zip(u.par_chunks(CHUNK))).for_each(|(y, (g, u))| forward_chunk(y, g, u));
    y
}

/// Gradients of g and u from the output gradient `dy`:
/// dg = dy u s (1 + g (1 - s)), du = dy g s, with s = sigmoid(g).
pub fn backward(g: &[f32], u: &[f32], dy: &[f32]) -> [Vec<f32>; 2] {
    assert!(g.len() == u.len() && g.len() == dy.len(), "swiglu: sizes differ");
    let (mut dg, mut du) = (vec![0.0f32; g.len()], vec![0.0f32; g.len()]);
    let inputs = g.par_chunks(CHUNK).zip(u.par_chunks(CHUNK)).zip(dy.par_chunks(CHUNK));
    dg.par_chunks_mut(CHUNK).zip(du.par_chunks_mut(CHUNK)).zip(inputs).for_each(|((dg, du), ((g, u), dy))| backward_chunk(dg, du, g, u, dy));
    [dg, du]
}

multiversion! {
    fn forward_chunk(y: &mut [f32], g: &[f32], u: &[f32]) {
        for ((y, &g), &u) in y.iter_mut().zip(g).zip(u) {
            *y = g * sigmoid(g) * u;
        }
    }
}

multiversion! {
    fn backward_chunk(dg: &mut [f32], du: &mut [f32], g: &[f32], u: &[f32], dy: &[f32]) {
        let n = dg.len();
        let (du, g, u, dy) = (&mut du[..n], &g[..n], &u[..n], &dy[..n]);
        for i in 0..n {
            let s = sigmoid(g[i]);
            dg[i] = dy[i] * u[i] * s * (1.0 + g[i] * (1.0 - s));
            du[i] = dy[i] * g[i] * s;
        }
    }
}

#[cfg(test)]
mod timing {
    #[test]
    #[ignore]
    fn time_swiglu() {
        let n = 32 * 128 * 320;
        let g: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 100.0 - 5.0).collect();
        let (mut f, mut b) = (1e9f64, 1e9f64);
        for _ in 0..20 {
            let t = std::time::Instant::now();
            let y = super::forward(&g, &g);
            f = f.min(t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            let d = super::backward(&g, &g, &y);
            b = b.min(t.elapsed().as_secs_f64());
            assert!(d[0][0].is_finite());
        }
        eprintln!("swiglu forward {:.2} ms backward {:.2} ms", f * 1e3, b * 1e3);
    }
}
