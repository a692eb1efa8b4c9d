//! Named study presets: `quick` (the README's command, minutes on a laptop CPU), `crossover`
//! (epochs to exhaustion at budgets where DBA's C_crit falls inside the grid, about 80 minutes
//! on a 2-core CPU) and `paper-small` (the grid a GPU user runs to identify both laws).

use crate::sweep::SweepSpec;
use anyhow::{Result, bail};

/// Preset names and their TOML.
pub const PRESETS: [(&str, &str); 3] = [
    ("quick", include_str!("../../presets/quick.toml")),
    ("crossover", include_str!("../../presets/crossover.toml")),
    ("paper-small", include_str!("../../presets/paper-small.toml")),
];

/// The spec of a named preset.
///
/// ```
/// let quick = dclab::study::preset("quick").unwrap();
/// assert!(quick.objectives.contains(&"diffusion".to_string()));
/// ```
pub fn preset(name: &str) -> Result<SweepSpec> {
    match PRESETS.iter().find(|p| p.0 == name) {
        Some((_, toml)) => SweepSpec::from_toml(toml),
        None => bail!(
            "unknown study preset '{name}' (one of: {})",
            PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
        ),
    }
}
