//! Corpora from package registries, tokenizers, unique-token budgets and epoch loaders.
//!
//! The study's data protocol (REFERENCE section 4): one fixed, seeded document order per corpus;
//! a validation set held out from every budget; a unique-token budget U is a prefix of the
//! training order, packed into samples of `seq_len + 1` tokens; an epoch loader makes exactly
//! E passes with a fresh seeded shuffle each epoch. A corpus is tokenized once per tokenizer
//! into compact cached streams ([`streams`]) that runs read memory-mapped.

pub mod budget;
pub mod cache;
pub mod catalog;
pub mod corpus;
pub mod prepare;
pub mod shuffle;
pub mod source;
pub mod stats;
pub mod streams;
pub mod text;
pub mod tokenizer;
pub mod tokens;

pub use budget::{Batch, EpochLoader, Packed};
pub use cache::cache_dir;
pub use catalog::CorpusName;
pub use corpus::{Corpus, Document, Split, Works};
pub use prepare::{Prepared, prepare};
pub use source::{FetchOptions, fetch};
pub use stats::{CorpusStats, corpus_stats};
pub use streams::Streams;
pub use tokenizer::{Tokenizer, TokenizerSpec};
pub use tokens::Tokens;
