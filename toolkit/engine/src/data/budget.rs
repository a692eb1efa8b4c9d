//! Unique-token budgets and the epoch loader: U is a prefix of the training token stream,
//! packed into samples of `seq_len + 1` tokens; E epochs see every sample E times.

use super::shuffle::{mix, shuffle};
use super::tokens::Tokens;
use anyhow::{Result, bail};
use std::borrow::Cow;

/// Training samples of `seq_len + 1` tokens, stored back to back (a view of a stream).
#[derive(Clone, Debug)]
pub struct Packed {
    /// Tokens per sample minus one (the model's context).
    pub seq_len: usize,
    /// `n_samples * (seq_len + 1)` tokens.
    pub tokens: Tokens,
}

impl Packed {
    /// Packs the first `unique_tokens` tokens of `stream` (rounded down to whole samples, so at
    /// most `seq_len` tokens are dropped); a budget larger than the stream is an error.
    ///
    /// ```
    /// let stream = dclab::data::Tokens::from((0..100).collect::<Vec<u32>>());
    /// let p = dclab::data::Packed::budget(&stream, 50, 4).unwrap();
    /// assert_eq!(p.n_samples(), 10);
    /// assert_eq!(p.unique_tokens(), 50);
    /// assert_eq!(&*p.sample(1), &[5, 6, 7, 8, 9]);
    /// ```
    pub fn budget(stream: &Tokens, unique_tokens: usize, seq_len: usize) -> Result<Packed> {
        if seq_len == 0 {
            bail!("seq_len must be at least 1");
        }
        if unique_tokens > stream.len() {
            bail!(
                "unique-token budget {unique_tokens} is larger than the training text, which has {} tokens",
                stream.len()
            );
        }
        let n = unique_tokens / (seq_len + 1);
        if n == 0 {
            bail!(
                "unique-token budget {unique_tokens} is smaller than one sample of seq_len + 1 = {} tokens",
                seq_len + 1
            );
        }
        Ok(Packed { seq_len, tokens: stream.prefix(n * (seq_len + 1)) })
    }

    /// Packs a whole stream (validation, held-out) into as many samples as fit.
    pub fn all(stream: &Tokens, seq_len: usize) -> Result<Packed> {
        let usable = stream.len() - stream.len() % (seq_len + 1);
        Self::budget(stream, usable, seq_len)
    }

    /// Number of samples.
    pub fn n_samples(&self) -> usize {
        self.tokens.len() / (self.seq_len + 1)
    }

    /// Unique tokens actually packed: `n_samples * (seq_len + 1)`.
    pub fn unique_tokens(&self) -> usize {
        self.tokens.len()
    }

    /// Sample `i`, `seq_len + 1` tokens (borrowed from memory, or decoded from a mapped file).
    pub fn sample(&self, i: usize) -> Cow<'_, [u32]> {
        let w = self.seq_len + 1;
        self.tokens.get(i * w..(i + 1) * w)
    }
}

/// One batch: which samples, and how far through training it ends (in epochs).
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Sample indices into a [`Packed`].
    pub indices: Vec<usize>,
    /// Epochs completed once this batch is done (fractional).
    pub epoch: f64,
}

/// Exactly E passes over n samples, a fresh seeded shuffle each epoch, in batches; a fractional
/// E makes the last epoch partial. Samples flow across epoch boundaries so batches stay full.
#[derive(Clone, Debug)]
pub struct EpochLoader {
    n_samples: usize,
    batch_size: usize,
    seed: u64,
    total: usize,
    served: usize,
    order: Vec<usize>,
}

impl EpochLoader {
    /// A loader over `n_samples` for `epochs` passes (total samples rounded to the nearest).
    ///
    /// ```
    /// let batches: Vec<_> = dclab::data::EpochLoader::new(10, 3.0, 4, 1).unwrap().collect();
    /// assert_eq!(batches.iter().map(|b| b.indices.len()).sum::<usize>(), 30);
    /// ```
    pub fn new(n_samples: usize, epochs: f64, batch_size: usize, seed: u64) -> Result<EpochLoader> {
        if n_samples == 0 || batch_size == 0 {
            bail!(
                "epoch loader needs samples and a batch size (got {n_samples} samples, batch {batch_size})"
            );
        }
        if !(epochs.is_finite() && epochs > 0.0) {
            bail!("epochs must be a positive number, got {epochs}");
        }
        let total = (n_samples as f64 * epochs).round() as usize;
        Ok(EpochLoader {
            n_samples,
            batch_size,
            seed,
            total: total.max(1),
            served: 0,
            order: Vec::new(),
        })
    }

    /// Samples served over the whole run (`n_samples * E`).
    pub fn total_samples(&self) -> usize {
        self.total
    }

    /// Optimizer steps over the whole run.
    pub fn total_batches(&self) -> usize {
        self.total.div_ceil(self.batch_size)
    }

    /// Skips the first `batches` batches (resuming a run) without materialising them.
    pub fn skip_batches(&mut self, batches: usize) {
        self.served = (batches * self.batch_size).min(self.total);
        self.order.clear();
    }

    fn epoch_order(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.n_samples).collect();
        shuffle(&mut order, mix(self.seed, epoch as u64));
        order
    }
}

impl Iterator for EpochLoader {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.served >= self.total {
            return None;
        }
        let end = (self.served + self.batch_size).min(self.total);
        let mut indices = Vec::with_capacity(end - self.served);
        while self.served < end {
            let (epoch, pos) = (self.served / self.n_samples, self.served % self.n_samples);
            if pos == 0 || self.order.is_empty() {
                self.order = self.epoch_order(epoch);
            }
            indices.push(self.order[pos]);
            self.served += 1;
        }
        Some(Batch { indices, epoch: self.served as f64 / self.n_samples as f64 })
    }
}
