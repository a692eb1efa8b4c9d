//! Everything a training run needs from the data layer in one call: the cached token streams
//! of the corpus split, the tokenizer trained on its training text, the packed budget,
//! validation and held-out sets.

use super::budget::Packed;
use super::streams;
use super::tokenizer::{Tokenizer, TokenizerSpec, bytes_per_token};
use anyhow::{Context, Result};
use std::path::Path;

/// Token data for one run: views of the memory-mapped streams (nothing is copied).
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Corpus name.
    pub corpus: String,
    /// The tokenizer (trained on the training split only).
    pub tokenizer: Tokenizer,
    /// The unique-token budget, packed.
    pub train: Packed,
    /// Every token the training split has (the largest possible budget).
    pub train_tokens_available: usize,
    /// The fixed validation set, packed.
    pub validation: Packed,
    /// The held-out domain, packed to the size of the validation set at most.
    pub heldout: Packed,
    /// Validation bytes per token (for bits per byte).
    pub validation_bytes_per_token: f64,
    /// Held-out bytes per token.
    pub heldout_bytes_per_token: f64,
}

/// Opens (encoding once, if not cached) and packs a corpus's streams; `unique_tokens` None
/// takes the whole training split.
pub fn prepare(
    corpus: &str, tokenizer: TokenizerSpec, unique_tokens: Option<usize>, seq_len: usize,
    cache: &Path,
) -> Result<Prepared> {
    let s = streams::open(corpus, tokenizer, cache)?;
    let train = Packed::budget(&s.train, unique_tokens.unwrap_or(s.train.len()), seq_len)
        .with_context(|| format!("corpus '{corpus}' with tokenizer {tokenizer}"))?;
    let validation = Packed::all(&s.validation, seq_len).context("validation set")?;
    let held = s.heldout(cache)?;
    let heldout =
        Packed::all(&held.tokens.prefix(held.tokens.len().min(s.validation.len())), seq_len)
            .context("held-out set")?;
    Ok(Prepared {
        corpus: s.meta.corpus.clone(),
        train_tokens_available: s.train.len(),
        validation_bytes_per_token: bytes_per_token(
            s.meta.validation_bytes, s.meta.validation_tokens,
        ),
        heldout_bytes_per_token: bytes_per_token(held.bytes, held.tokens.len()),
        tokenizer: s.tokenizer,
        train,
        validation,
        heldout,
    })
}

impl Prepared {
    /// The same data with a smaller unique-token budget (a prefix of this one's, so budgets
    /// nest); a sweep prepares once and takes every budget from it.
    pub fn with_budget(&self, unique_tokens: usize) -> Result<Prepared> {
        let train = Packed::budget(&self.train.tokens, unique_tokens, self.train.seq_len)
            .with_context(|| {
                format!("corpus '{}' with tokenizer {}", self.corpus, self.tokenizer.spec)
            })?;
        Ok(Prepared { train, ..self.clone() })
    }
}
