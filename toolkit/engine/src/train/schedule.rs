//! The learning-rate schedule over the whole run: 1% linear warmup to the peak, then cosine
//! decay to 0.1x the peak at the last step (DBA).

/// Learning rate of optimizer step `step` (0-based) of `total`.
///
/// ```
/// use dclab::train::schedule::lr_at;
/// let (peak, total) = (1e-3, 1000);
/// assert!((lr_at(9, total, peak, 0.01, 0.1) - peak).abs() < 1e-15); // step 10 of 1000 = 1%
/// assert!((lr_at(999, total, peak, 0.01, 0.1) - 0.1 * peak).abs() < 1e-15);
/// ```
pub fn lr_at(
    step: usize, total: usize, peak: f64, warmup_fraction: f64, final_fraction: f64,
) -> f64 {
    let warmup = ((total as f64 * warmup_fraction).round() as usize).max(1);
    let s = step + 1;
    if s <= warmup {
        return peak * s as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let progress = ((s - warmup) as f64 / span).min(1.0);
    let min = peak * final_fraction;
    min + (peak - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}
