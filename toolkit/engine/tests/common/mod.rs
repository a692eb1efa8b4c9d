//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::PathBuf;

/// Relative difference |a/b - 1|.
pub fn rel(a: f64, b: f64) -> f64 {
    (a / b - 1.0).abs()
}

/// A published run table vendored in `datasets/published/` (credited in `datasets/README.md`);
/// a missing file fails the test that needs it.
pub fn fixture(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/published").join(name);
    assert!(p.is_file(), "fixture {} is missing: it is part of the repository", p.display());
    p
}
