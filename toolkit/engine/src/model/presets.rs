//! The preset ladder, from about 0.1M to about 30M non-embedding parameters.

/// Named (d_model, n_heads, n_layers); sizes are non-embedding parameters (see the README).
pub const PRESETS: [(&str, usize, usize, usize); 6] = [
    ("0.1m", 64, 4, 2),
    ("0.3m", 96, 4, 3),
    ("1m", 128, 4, 5),
    ("3m", 192, 6, 6),
    ("10m", 320, 5, 8),
    ("30m", 512, 8, 9),
];

/// (d_model, n_heads, n_layers) of a preset, or of a custom `d,heads,layers` triple.
///
/// ```
/// assert_eq!(dclab::model::preset("1m").unwrap(), (128, 4, 5));
/// assert_eq!(dclab::model::preset("256,8,4").unwrap(), (256, 8, 4));
/// ```
pub fn preset(name: &str) -> anyhow::Result<(usize, usize, usize)> {
    if let Some(&(_, d, h, l)) = PRESETS.iter().find(|p| p.0 == name) {
        return Ok((d, h, l));
    }
    let parts: Vec<usize> = name.split(',').filter_map(|p| p.trim().parse().ok()).collect();
    match parts[..] {
        [d, h, l] if d > 0 && h > 0 && l > 0 && d % h == 0 && (d / h) % 2 == 0 => Ok((d, h, l)),
        _ => anyhow::bail!(
            "unknown model '{name}': use a preset ({}) or d,heads,layers with d divisible by heads into even head widths",
            PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
        ),
    }
}
