//! Where fetched corpora and trained tokenizers live, and the hash that names what is cached.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The cache root: `$DCLAB_CACHE`, else `.cache/` in the checkout, else `~/.cache/dclab`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DCLAB_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(checkout) = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2)
        && checkout.join("Cargo.toml").is_file()
    {
        return checkout.join(".cache");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("dclab")
}

/// Lowercase hex SHA-256 of a byte slice: the identity of archives, texts and token streams.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
