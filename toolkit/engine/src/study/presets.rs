//! Named study presets: `quick` (the README's command, minutes on a laptop CPU) and
//! `paper-small` (the grid a GPU user runs to identify both laws).

use crate::sweep::SweepSpec;
use anyhow::{bail, Result};

/// Preset names and their TOML.
pub const PRESETS: [(&str, &str); 2] = [("quick", include_str!("../../presets/quick.toml")), ("paper-small", include_str!("../../presets/paper-small.toml"))];

/// The spec of a named preset.
///
/// ```
/// let quick = dclab::study::preset("quick").unwrap();
/// assert!(quick.objectives.contains(&"diffusion".to_string()));
/// ```
pub fn preset(name: &str) -> Result<SweepSpec> {
    match PRESETS.iter().find(|p| p.0 == name) {
        Some((_, toml)) => SweepSpec::from_toml(toml),
        None => bail!("unknown study preset '{name}' (one of: {})", PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")),
    }
}
