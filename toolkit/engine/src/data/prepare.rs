//! Everything a training run needs from the data layer in one call: the corpus split, the
//! tokenizer trained on its training text, the packed budget, validation and held-out sets.

use super::budget::Packed;
use super::corpus::{Corpus, VALIDATION_FRACTION};
use super::tokenizer::{bytes_per_token, encode_stream, Tokenizer, TokenizerSpec};
use anyhow::{Context, Result};
use std::path::Path;

/// Token data for one run.
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

/// Splits, tokenizes and packs a corpus; `unique_tokens` None takes the whole training split.
pub fn prepare(corpus: &str, tokenizer: TokenizerSpec, unique_tokens: Option<usize>, seq_len: usize, cache: &Path) -> Result<Prepared> {
    let c = Corpus::open(corpus, cache)?;
    let split = c.split(VALIDATION_FRACTION)?;
    let tok = Tokenizer::load_or_train(tokenizer, &split.train, cache)?;
    let stream = encode_stream(&tok, &split.train)?;
    let train = Packed::budget(&stream, unique_tokens.unwrap_or(stream.len()), seq_len)
        .with_context(|| format!("corpus '{corpus}' with tokenizer {tokenizer}"))?;
    let val_stream = encode_stream(&tok, &split.validation)?;
    let validation = Packed::all(&val_stream, seq_len).context("validation set")?;
    let held = c.heldout_domain(cache)?;
    let held_stream = encode_stream(&tok, &held.documents)?;
    let heldout = Packed::all(&held_stream[..held_stream.len().min(val_stream.len())], seq_len).context("held-out set")?;
    let bytes = |docs: &[super::Document]| docs.iter().map(|d| d.text.len()).sum::<usize>();
    Ok(Prepared {
        corpus: c.name.clone(),
        train_tokens_available: stream.len(),
        validation_bytes_per_token: bytes_per_token(bytes(&split.validation), val_stream.len()),
        heldout_bytes_per_token: bytes_per_token(bytes(&held.documents), held_stream.len()),
        tokenizer: tok,
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
            .with_context(|| format!("corpus '{}' with tokenizer {}", self.corpus, self.tokenizer.spec))?;
        Ok(Prepared { train, ..self.clone() })
    }
}
