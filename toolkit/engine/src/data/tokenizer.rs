//! Tokenizers (`bytes`, `char`, `bpe:<vocab>`), all `tokenizers`-crate tokenizers saved as a
//! `tokenizer.json` that Python's `tokenizers` loads; BPE is trained on training text only and
//! cached by the training text's hash and the vocabulary size.

use super::corpus::Corpus;
use crate::fsio::write_atomic;
use anyhow::{Context, Result, anyhow, bail};
use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;

/// Which tokenizer: raw bytes (256), characters of the training text, or byte-level BPE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenizerSpec {
    /// One token per byte, vocabulary 256, no training.
    Bytes,
    /// One token per character seen in the training text, plus `<unk>`.
    Char,
    /// Byte-level BPE with this total vocabulary (at least 257).
    Bpe(usize),
}

impl fmt::Display for TokenizerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes => f.write_str("bytes"),
            Self::Char => f.write_str("char"),
            Self::Bpe(v) => write!(f, "bpe:{v}"),
        }
    }
}

impl FromStr for TokenizerSpec {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "bytes" => Ok(Self::Bytes),
            "char" => Ok(Self::Char),
            _ => {
                let v = s
                    .strip_prefix("bpe:")
                    .and_then(|v| v.parse::<usize>().ok())
                    .with_context(|| format!("unknown tokenizer '{s}' (use bytes, char or bpe:<vocab>, e.g. bpe:4096)"))?;
                if v <= 256 {
                    bail!("bpe vocabulary must exceed the 256 byte symbols, got {v}");
                }
                Ok(Self::Bpe(v))
            }
        }
    }
}

/// A trained tokenizer and where its `tokenizer.json` lives.
#[derive(Clone, Debug)]
pub struct Tokenizer {
    /// What it is.
    pub spec: TokenizerSpec,
    /// The `tokenizers` crate tokenizer.
    pub inner: tokenizers::Tokenizer,
    /// Its saved `tokenizer.json`, when cached.
    pub path: Option<PathBuf>,
}

fn tk<T>(r: tokenizers::Result<T>) -> Result<T> {
    r.map_err(|e| anyhow!("tokenizers: {e}"))
}

const UNK: &str = "<unk>";

impl Tokenizer {
    /// Trains a tokenizer on training texts only (deterministic for a given multiset of texts:
    /// the character set and BPE's word counts do not depend on their order).
    pub fn train<I>(spec: TokenizerSpec, texts: I) -> Result<Tokenizer>
    where
        I: Iterator<Item = String> + Send,
    {
        let inner = match spec {
            TokenizerSpec::Bytes => byte_level(256, std::iter::empty(), false)?,
            TokenizerSpec::Bpe(vocab) => byte_level(vocab, texts, true)?,
            TokenizerSpec::Char => {
                let mut chars = BTreeSet::new();
                texts.for_each(|t| chars.extend(t.chars()));
                if chars.is_empty() {
                    bail!("cannot build a char tokenizer from empty training text");
                }
                let mut vocab: ahash::AHashMap<String, u32> =
                    chars.iter().enumerate().map(|(i, c)| (c.to_string(), i as u32)).collect();
                vocab.insert(UNK.to_owned(), chars.len() as u32);
                let bpe = tk(BPE::builder()
                    .vocab_and_merges(vocab, vec![])
                    .unk_token(UNK.into())
                    .build())?;
                let mut t = tokenizers::Tokenizer::new(bpe);
                t.with_decoder(Some(Fuse::new()));
                t
            }
        };
        Ok(Tokenizer { spec, inner, path: None })
    }

    /// The cached tokenizer for a corpus's training documents `train`, training and saving it
    /// if absent; training reads the texts one work at a time.
    pub fn load_or_train(
        spec: TokenizerSpec, corpus: &Corpus, train: Range<usize>, cache: &Path,
    ) -> Result<Tokenizer> {
        let path = Self::cache_path(spec, corpus, train.clone(), cache);
        if path.is_file() {
            let mut t = Self::load(&path)?;
            t.spec = spec;
            return Ok(t);
        }
        let failed: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        let texts =
            corpus.by_work(train).into_iter().flat_map(|(_, docs)| match corpus.texts(&docs) {
                Ok(texts) => texts,
                Err(e) => {
                    failed.lock().unwrap().get_or_insert(e);
                    Vec::new()
                }
            });
        let mut t = Self::train(spec, texts)?;
        if let Some(e) = failed.into_inner().unwrap() {
            return Err(e.context(format!("training the {spec} tokenizer")));
        }
        t.save(&path)?;
        t.path = Some(path);
        Ok(t)
    }

    /// Where the tokenizer for a corpus's training documents `train` is cached (keyed by the
    /// documents' hashes in order).
    pub fn cache_path(
        spec: TokenizerSpec, corpus: &Corpus, train: Range<usize>, cache: &Path,
    ) -> PathBuf {
        let key = match spec {
            TokenizerSpec::Bytes => "any".to_owned(),
            _ => corpus.identity_of(train)[..16].to_owned(),
        };
        let dir = format!("{}-{key}", spec.to_string().replace(':', "-"));
        cache.join("tokenizers").join(dir).join("tokenizer.json")
    }

    /// Loads a `tokenizer.json` written by [`Tokenizer::save`] (or by Python's `tokenizers`).
    pub fn load(path: &Path) -> Result<Tokenizer> {
        let inner = tk(tokenizers::Tokenizer::from_file(path))
            .with_context(|| format!("loading {}", path.display()))?;
        let is_char =
            inner.get_decoder().is_some_and(|d| matches!(d, tokenizers::DecoderWrapper::Fuse(_)));
        let spec = match inner.get_vocab_size(true) {
            _ if is_char => TokenizerSpec::Char,
            256 => TokenizerSpec::Bytes,
            v => TokenizerSpec::Bpe(v),
        };
        Ok(Tokenizer { spec, inner, path: Some(path.to_owned()) })
    }

    /// Saves `tokenizer.json` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_json()?.as_bytes())
    }

    /// Its `tokenizer.json` text (what [`Tokenizer::save`] writes).
    pub fn to_json(&self) -> Result<String> {
        tk(self.inner.to_string(true))
    }

    /// Vocabulary size (the model's embedding rows, before any MASK token).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Token ids of a text.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(tk(self.inner.encode_fast(text, false))?.get_ids().to_vec())
    }

    /// Token ids of many texts, encoded in parallel.
    pub fn encode_texts(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        let encodings = tk(self.inner.encode_batch_fast(texts.to_vec(), false))?;
        Ok(encodings.into_iter().map(|e| e.get_ids().to_vec()).collect())
    }

    /// Text of token ids.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        tk(self.inner.decode(ids, false))
    }
}

/// A byte-level BPE tokenizer trained to `vocab` symbols (256 = plain bytes, no merges).
fn byte_level(
    vocab: usize, texts: impl Iterator<Item = String> + Send, use_regex: bool,
) -> Result<tokenizers::Tokenizer> {
    let mut t = tokenizers::Tokenizer::new(BPE::default());
    let byte_level = ByteLevel::default().add_prefix_space(false).use_regex(use_regex);
    t.with_pre_tokenizer(Some(byte_level));
    t.with_decoder(Some(byte_level));
    let mut trainer = TrainerWrapper::BpeTrainer(
        BpeTrainerBuilder::new()
            .vocab_size(vocab)
            .min_frequency(2)
            .show_progress(false)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build(),
    );
    tk(t.train(&mut trainer, texts))?;
    Ok(t)
}

/// Average bytes of text per token (bits/byte = nats/token / (ln 2 * bytes per token)).
pub fn bytes_per_token(bytes: usize, tokens: usize) -> f64 {
    bytes as f64 / tokens.max(1) as f64
}
