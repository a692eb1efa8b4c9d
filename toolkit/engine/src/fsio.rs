//! File-system writes that never leave half a file, below every layer: a crash or an error
//! leaves the old file (or folder) or the new one, never a mix.

use anyhow::{Context, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A temporary sibling path, unique to this process, that `rename` can move into place.
pub fn temp_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    path.with_file_name(format!(".{name}.tmp-{}-{nonce}", std::process::id()))
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers see all or nothing.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let tmp = temp_sibling(path);
    let result = (|| -> Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Fills a fresh temporary folder with `fill`, then renames it over `dir` (replacing an old one
/// whole), so readers see the old folder or the new one, never a half-written mix.
pub fn replace_dir_atomic(dir: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = temp_sibling(dir);
    let result = (|| -> Result<()> {
        fs::create_dir_all(&tmp)?;
        fill(&tmp)?;
        if dir.exists() {
            let old = temp_sibling(dir);
            fs::rename(dir, &old)?;
            fs::rename(&tmp, dir)?;
            fs::remove_dir_all(&old)?;
        } else {
            fs::rename(&tmp, dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result.with_context(|| format!("writing {}", dir.display()))
}

/// `value` as pretty JSON (with a final newline) through [`write_atomic`].
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    write_atomic(path, text.as_bytes())
}
