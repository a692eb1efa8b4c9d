//! RMSNorm over the last dimension as one CPU pass forward and one backward, rows in parallel
//! (burn's composition makes six passes forward, each a new tensor).

use super::vector::{dot, par_written};
use rayon::prelude::*;

/// Rows per parallel task.
const ROWS: usize = 64;

/// y = x / sqrt(mean(x^2) + eps) * w over rows of width w.len(); returns y and 1/rms per row.
pub fn forward(x: &[f32], w: &[f32], eps: f32) -> (Vec<f32>, Vec<f32>) {
    let d = w.len();
    assert!(d > 0 && x.len().is_multiple_of(d), "rms_norm: input is not rows of the gain's width");
    let rstd: Vec<f32> =
        x.par_chunks(d).map(|x| 1.0 / (dot(x, x) / d as f32 + eps).sqrt()).collect();
    // SAFETY: each row of d outputs is written; the rows tile the chunk.
    let (y, _) = unsafe {
        par_written(x.len(), ROWS * d, |t, y| {
            let (x, rstd) = (&x[t * ROWS * d..][..y.len()], &rstd[t * ROWS..]);
            for ((y, &r), x) in y.chunks_exact_mut(d).zip(rstd).zip(x.chunks_exact(d)) {
                for ((y, &x), &w) in y.iter_mut().zip(x).zip(w) {
                    y.write(x * r * w);
                }
            }
        })
    };
    (y, rstd)
}

/// Gradients of x and w from dy: with xh = x r and g = dy w,
/// dx = r (g - xh mean(g xh)), dw = sum over rows of dy xh.
pub fn backward(x: &[f32], w: &[f32], rstd: &[f32], dy: &[f32]) -> [Vec<f32>; 2] {
    let d = w.len();
    assert!(x.len() == dy.len() && x.len() == rstd.len() * d, "rms_norm: sizes differ");
    // One partial dw per task, summed in task order so the result does not depend on scheduling.
    // SAFETY: each row of d gradients is written; the rows tile the chunk.
    let (dx, partials) = unsafe {
        par_written(x.len(), ROWS * d, |t, dx| {
            let (x, dy, rstd) = (
                &x[t * ROWS * d..][..dx.len()],
                &dy[t * ROWS * d..][..dx.len()],
                &rstd[t * ROWS..],
            );
            let (mut dw, mut xh, mut g) = (vec![0.0f32; d], vec![0.0f32; d], vec![0.0f32; d]);
            for (((dx, x), dy), &r) in
                dx.chunks_exact_mut(d).zip(x.chunks_exact(d)).zip(dy.chunks_exact(d)).zip(rstd)
            {
                for j in 0..d {
                    xh[j] = x[j] * r;
                    g[j] = dy[j] * w[j];
                    dw[j] += dy[j] * xh[j];
                }
                let mean = dot(&g, &xh) / d as f32;
                for j in 0..d {
                    dx[j].write(r * (g[j] - xh[j] * mean));
                }
            }
            dw
        })
    };
    let mut dw = vec![0.0f32; d];
    for p in &partials {
        for (a, b) in dw.iter_mut().zip(p) {
            *a += b;
        }
    }
    [dx, dw]
}
