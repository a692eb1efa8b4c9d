//! Corpus statistics: bytes, documents, the split, and tokens per tokenizer.

use super::corpus::{Corpus, VALIDATION_FRACTION};
use super::streams;
use super::tokenizer::{TokenizerSpec, bytes_per_token};
use anyhow::Result;
pub use dclab_types::corpus::{CorpusStats, TokenizerStats};
use std::path::Path;

/// Counts a corpus's documents and split, and its tokens under each tokenizer, from the cached
/// streams (encoding them once if they are not cached yet).
pub fn corpus_stats(corpus: &str, specs: &[TokenizerSpec], cache: &Path) -> Result<CorpusStats> {
    let mut tokenizers = Vec::new();
    let mut metas = Vec::new();
    for &spec in specs {
        let s = streams::open(corpus, spec, cache)?;
        tokenizers.push(TokenizerStats {
            tokenizer: spec.to_string(),
            vocab_size: s.meta.vocab_size,
            train_tokens: s.meta.train_tokens,
            validation_tokens: s.meta.validation_tokens,
            bytes_per_token: bytes_per_token(s.meta.train_bytes, s.meta.train_tokens),
        });
        metas.push(s.meta);
    }
    if let Some(m) = metas.into_iter().next() {
        return Ok(CorpusStats {
            corpus: m.corpus,
            works: m.works,
            documents: m.documents,
            bytes: m.bytes,
            train_documents: m.train_documents,
            train_bytes: m.train_bytes,
            validation_documents: m.validation_documents,
            validation_bytes: m.validation_bytes,
            tokenizers,
        });
    }
    // No tokenizer asked for: the split alone, from the corpus index.
    let c = Corpus::open(corpus, cache)?;
    let split = c.split(VALIDATION_FRACTION)?;
    Ok(CorpusStats {
        corpus: c.name.clone(),
        works: c.works_with_text,
        documents: c.documents.len(),
        bytes: c.bytes(0..c.documents.len()),
        train_documents: split.train.len(),
        train_bytes: c.bytes(split.train.clone()),
        validation_documents: split.validation.len(),
        validation_bytes: c.bytes(split.validation),
        tokenizers,
    })
}
