//! Corpus statistics: bytes, documents, the split and tokens per tokenizer.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Token counts of one tokenizer on a corpus's split.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenizerStats {
    /// Tokenizer spec, e.g. `bpe:4096`.
    pub tokenizer: String,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Tokens of the training text (the largest possible budget).
    pub train_tokens: usize,
    /// Tokens of the validation set.
    pub validation_tokens: usize,
    /// Training bytes per token.
    pub bytes_per_token: f64,
}

/// Everything `dclab data stats` prints, as plain data.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CorpusStats {
    /// Corpus name.
    pub corpus: String,
    /// Works (files).
    pub works: usize,
    /// Unique documents.
    pub documents: usize,
    /// Bytes of text.
    pub bytes: usize,
    /// Training documents.
    pub train_documents: usize,
    /// Training bytes.
    pub train_bytes: usize,
    /// Validation documents.
    pub validation_documents: usize,
    /// Validation bytes.
    pub validation_bytes: usize,
    /// One row per tokenizer.
    pub tokenizers: Vec<TokenizerStats>,
}

impl fmt::Display for CorpusStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "corpus {}: {} bytes, {} works, {} documents",
            self.corpus, self.bytes, self.works, self.documents
        )?;
        writeln!(
            f,
            "  train      {:>6} documents {:>11} bytes",
            self.train_documents, self.train_bytes
        )?;
        writeln!(
            f,
            "  validation {:>6} documents {:>11} bytes",
            self.validation_documents, self.validation_bytes
        )?;
        writeln!(
            f,
            "  {:<10} {:>7} {:>12} {:>12} {:>10}",
            "tokenizer", "vocab", "train tok", "val tok", "bytes/tok"
        )?;
        for t in &self.tokenizers {
            writeln!(
                f,
                "  {:<10} {:>7} {:>12} {:>12} {:>10.3}",
                t.tokenizer, t.vocab_size, t.train_tokens, t.validation_tokens, t.bytes_per_token
            )?;
        }
        Ok(())
    }
}
