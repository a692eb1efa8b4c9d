//! Corpus statistics: bytes, documents, the split, and tokens per tokenizer.

use super::corpus::{Corpus, VALIDATION_FRACTION};
use super::tokenizer::{bytes_per_token, encode_stream, Tokenizer, TokenizerSpec};
use anyhow::Result;
use std::path::Path;
pub use dclab_types::corpus::{CorpusStats, TokenizerStats};

/// Splits the corpus, trains (or loads cached) tokenizers on its training text, counts tokens.
pub fn corpus_stats(corpus: &Corpus, specs: &[TokenizerSpec], cache: &Path) -> Result<CorpusStats> {
    let split = corpus.split(VALIDATION_FRACTION)?;
    let bytes = |docs: &[super::Document]| docs.iter().map(|d| d.text.len()).sum::<usize>();
    let (train_bytes, validation_bytes) = (bytes(&split.train), bytes(&split.validation));
    let mut tokenizers = Vec::new();
    for &spec in specs {
        let tok = Tokenizer::load_or_train(spec, &split.train, cache)?;
        let train_tokens = encode_stream(&tok, &split.train)?.len();
        let validation_tokens = encode_stream(&tok, &split.validation)?.len();
        tokenizers.push(TokenizerStats {
            tokenizer: spec.to_string(),
            vocab_size: tok.vocab_size(),
            train_tokens,
            validation_tokens,
            bytes_per_token: bytes_per_token(train_bytes, train_tokens),
        });
    }
    Ok(CorpusStats {
        corpus: corpus.name.clone(),
        works: corpus.works,
        documents: corpus.documents.len(),
        bytes: corpus.bytes(),
        train_documents: split.train.len(),
        train_bytes,
        validation_documents: split.validation.len(),
        validation_bytes,
        tokenizers,
    })
}
