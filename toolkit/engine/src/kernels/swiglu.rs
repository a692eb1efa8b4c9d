//! SwiGLU's gate, silu(g) * u, as one CPU pass forward and one backward, in parallel chunks
//! (burn's composition makes five passes and a libm exp per element).

use super::vector::{multiversion, par_written, sigmoid};
use std::mem::MaybeUninit;

/// Elements of output per parallel task (about).
const CHUNK: usize = 1 << 14;

/// Rows of width `f` per parallel task.
fn rows_per_task(f: usize) -> usize {
    (CHUNK / f.max(1)).max(1)
}

/// silu(g) * u for each row [g | u] of `gu` (rows of width 2f); returns rows of width f.
pub fn forward(gu: &[f32], f: usize) -> Vec<f32> {
    assert!(
        f > 0 && gu.len().is_multiple_of(2 * f),
        "swiglu: rows are not [gate | up] of width {f}"
    );
    let rows = rows_per_task(f);
    // SAFETY: `forward_row` writes each row of f outputs; the rows tile the chunk.
    unsafe {
        par_written(gu.len() / 2, rows * f, |t, y| {
            let gu = &gu[t * rows * 2 * f..][..2 * y.len()];
            for (y, gu) in y.chunks_exact_mut(f).zip(gu.chunks_exact(2 * f)) {
                let (g, u) = gu.split_at(f);
                forward_row(y, g, u);
            }
        })
    }
    .0
}

/// The gradient of `gu` from dy: dg = dy u s (1 + g (1 - s)), du = dy g s, s = sigmoid(g).
pub fn backward(gu: &[f32], dy: &[f32], f: usize) -> Vec<f32> {
    assert!(
        f > 0 && gu.len() == 2 * dy.len() && dy.len().is_multiple_of(f),
        "swiglu: sizes differ"
    );
    let rows = rows_per_task(f);
    // SAFETY: `backward_row` writes both halves of each row of 2f; the rows tile the chunk.
    unsafe {
        par_written(gu.len(), rows * 2 * f, |t, dgu| {
            let (gu, dy) =
                (&gu[t * rows * 2 * f..][..dgu.len()], &dy[t * rows * f..][..dgu.len() / 2]);
            for ((dgu, gu), dy) in
                dgu.chunks_exact_mut(2 * f).zip(gu.chunks_exact(2 * f)).zip(dy.chunks_exact(f))
            {
                let ((dg, du), (g, u)) = (dgu.split_at_mut(f), gu.split_at(f));
                backward_row(dg, du, g, u, dy);
            }
        })
    }
    .0
}

multiversion! {
    fn forward_row(y: &mut [MaybeUninit<f32>], g: &[f32], u: &[f32]) {
        for ((y, &g), &u) in y.iter_mut().zip(g).zip(u) {
            y.write(g * sigmoid(g) * u);
        }
    }
}

multiversion! {
    fn backward_row(dg: &mut [MaybeUninit<f32>], du: &mut [MaybeUninit<f32>], g: &[f32], u: &[f32], dy: &[f32]) {
        let n = dg.len();
        let (du, g, u, dy) = (&mut du[..n], &g[..n], &u[..n], &dy[..n]);
        for i in 0..n {
            let s = sigmoid(g[i]);
            dg[i].write(dy[i] * u[i] * s * (1.0 + g[i] * (1.0 - s)));
            du[i].write(dy[i] * g[i] * s);
        }
    }
}
