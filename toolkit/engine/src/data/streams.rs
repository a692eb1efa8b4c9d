//! The token streams of a (corpus, tokenizer) pair, encoded once and cached: training and
//! validation streams (documents in the fixed order) and the held-out domain's, as verified,
//! memory-mapped token files. Every run, sweep point and study rerun reads these instead of
//! tokenizing again.
//!
//! Cache layout: `<cache>/streams/<corpus>-<tokenizer>-<key>/` with `meta.json`,
//! `tokenizer.json`, `train.tok`, `validation.tok`, and `heldout.tok` + `heldout.json` once a run
//! needs them. The key covers the corpus's identity, the tokenizer and the data protocol
//! (document order seed, document size, validation share, file format); the files' own key adds
//! the tokenizer's SHA-256. A folder that fails any check is rebuilt, never trusted.

use super::cache::sha256_hex;
use super::corpus::{
    Corpus, DOCUMENT_ORDER_SEED, MIN_DOCUMENT_BYTES, VALIDATION_FRACTION, Works, heldout_works,
};
use super::tokenizer::{Tokenizer, TokenizerSpec};
use super::tokens::{self, FORMAT_VERSION, Tokens, file_bytes, width_for};
use crate::fsio::{replace_dir_atomic, temp_sibling, write_json_atomic};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a cached pair of streams holds: the corpus split and the token counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamMeta {
    /// Corpus name.
    pub corpus: String,
    /// The corpus's identity ([`Works::identity`]).
    pub identity: String,
    /// Tokenizer spec (`bytes`, `char`, `bpe:<vocab>`).
    pub tokenizer: String,
    /// SHA-256 of the `tokenizer.json` beside the streams.
    pub tokenizer_sha256: String,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Bytes per stored token (2 or 4).
    pub token_bytes: usize,
    /// Works with text.
    pub works: usize,
    /// Unique documents.
    pub documents: usize,
    /// Bytes of text in all documents.
    pub bytes: usize,
    /// Training documents.
    pub train_documents: usize,
    /// Bytes of training text.
    pub train_bytes: usize,
    /// Tokens of training text.
    pub train_tokens: usize,
    /// Validation documents.
    pub validation_documents: usize,
    /// Bytes of validation text.
    pub validation_bytes: usize,
    /// Tokens of validation text.
    pub validation_tokens: usize,
}

/// A corpus's cached streams, opened.
#[derive(Clone, Debug)]
pub struct Streams {
    /// The cache folder they live in.
    pub dir: PathBuf,
    /// What they hold.
    pub meta: StreamMeta,
    /// The tokenizer (trained on the training split only), loaded from the folder.
    pub tokenizer: Tokenizer,
    /// Training tokens, documents in the fixed order: budgets are prefixes of it.
    pub train: Tokens,
    /// Validation tokens.
    pub validation: Tokens,
    key: String,
}

/// The held-out domain's tokens under a corpus's tokenizer.
#[derive(Clone, Debug)]
pub struct Heldout {
    /// Its tokens, documents in its fixed order.
    pub tokens: Tokens,
    /// Bytes of its text.
    pub bytes: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct HeldoutMeta {
    corpus: String,
    identity: String,
    bytes: usize,
    tokens: usize,
}

/// The data protocol's settings and the corpus and tokenizer: what the streams depend on.
fn folder_key(works: &Works, spec: TokenizerSpec) -> String {
    format!(
        "dclab streams format {FORMAT_VERSION}; order seed {DOCUMENT_ORDER_SEED}; documents of {MIN_DOCUMENT_BYTES} bytes; \
         validation {VALIDATION_FRACTION}; corpus {} {}; tokenizer {spec}",
        works.name, works.identity
    )
}

/// The cache folder of a corpus's streams under a tokenizer.
pub fn streams_dir(cache: &Path, works: &Works, spec: TokenizerSpec) -> PathBuf {
    let key = sha256_hex(folder_key(works, spec).as_bytes());
    let name = format!("{}-{}-{}", works.name, spec.to_string().replace(':', "-"), &key[..16]);
    cache.join("streams").join(name)
}

/// The streams of `corpus` (a name or a folder) under `spec`, from the cache, encoding them
/// first if they are missing or fail a check.
///
/// ```
/// let cache = tempfile::tempdir().unwrap();
/// let s = dclab::data::streams::open("sample", dclab::data::TokenizerSpec::Char, cache.path()).unwrap();
/// assert_eq!(s.meta.train_tokens, s.train.len());
/// assert_eq!(s.train.width(), 2); // 60-odd characters fit in u16
/// ```
pub fn open(corpus: &str, spec: TokenizerSpec, cache: &Path) -> Result<Streams> {
    let works = Works::locate(corpus, cache)?;
    let dir = streams_dir(cache, &works, spec);
    if let Ok(s) = read(&dir, &works, spec) {
        return Ok(s);
    }
    // One builder at a time per folder (e.g. Slurm shards starting together on a shared cache):
    // the others wait, then find the folder built.
    let _lock = lock(&dir)?;
    if dir.exists() {
        match read(&dir, &works, spec) {
            Ok(s) => return Ok(s),
            Err(e) => {
                eprintln!("token cache {} is not usable ({e:#}): encoding again", dir.display())
            }
        }
    }
    build(works, spec, cache, &dir)
}

/// An exclusive lock on `<dir>.lock`, held until dropped; waits for another holder.
fn lock(dir: &Path) -> Result<std::fs::File> {
    let root = dir.parent().expect("a streams folder has a parent");
    writable(root)?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let path = dir.with_file_name(format!("{name}.lock"));
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    if f.try_lock().is_err() {
        eprintln!("waiting for another process preparing {} ...", dir.display());
        f.lock().with_context(|| format!("locking {}", path.display()))?;
    }
    Ok(f)
}

fn read(dir: &Path, works: &Works, spec: TokenizerSpec) -> Result<Streams> {
    let meta: StreamMeta =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json"))?).context("meta.json")?;
    if meta.identity != works.identity || meta.tokenizer != spec.to_string() {
        bail!("meta.json describes another corpus or tokenizer");
    }
    let json = std::fs::read(dir.join("tokenizer.json"))?;
    if sha256_hex(&json) != meta.tokenizer_sha256 {
        bail!("tokenizer.json does not match meta.json");
    }
    let mut tokenizer = Tokenizer::load(&dir.join("tokenizer.json"))?;
    tokenizer.spec = spec;
    let key = format!("{}; tokenizer.json {}", folder_key(works, spec), meta.tokenizer_sha256);
    let train = tokens::open(&dir.join("train.tok"), &format!("{key}; train"))?;
    let validation = tokens::open(&dir.join("validation.tok"), &format!("{key}; validation"))?;
    let counts = (
        train.documents,
        train.tokens.len(),
        validation.documents,
        validation.tokens.len(),
        train.vocab,
    );
    if counts
        != (
            meta.train_documents,
            meta.train_tokens,
            meta.validation_documents,
            meta.validation_tokens,
            tokenizer.vocab_size(),
        )
    {
        bail!("the token files do not match meta.json");
    }
    Ok(Streams {
        dir: dir.to_owned(),
        meta,
        tokenizer,
        train: train.tokens,
        validation: validation.tokens,
        key,
    })
}

/// Tokens in memory while a corpus is encoded, at the width they will be stored with.
enum Buffer {
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Buffer {
    fn len(&self) -> usize {
        match self {
            Buffer::U16(v) => v.len(),
            Buffer::U32(v) => v.len(),
        }
    }

    fn extend(&mut self, ids: &[u32]) {
        match self {
            Buffer::U16(v) => v.extend(ids.iter().map(|&t| t as u16)),
            Buffer::U32(v) => v.extend_from_slice(ids),
        }
    }

    fn get(&self, (start, len): (usize, usize)) -> Cow<'_, [u32]> {
        match self {
            Buffer::U16(v) => Cow::Owned(v[start..start + len].iter().map(|&t| t as u32).collect()),
            Buffer::U32(v) => Cow::Borrowed(&v[start..start + len]),
        }
    }
}

/// Documents encoded per call to the tokenizer: bounds the tokenizer's per-token records.
const CHUNK_BYTES: usize = 256 << 10;

/// Encodes every document of `corpus`, one work at a time and a bounded chunk of documents per
/// call; returns the tokens (in work order) and each document's `(start, len)` in them.
fn encode(
    corpus: &Corpus, tokenizer: &Tokenizer, what: &str,
) -> Result<(Buffer, Vec<(usize, usize)>)> {
    let vocab = tokenizer.vocab_size();
    let mut spans = vec![(0, 0); corpus.documents.len()];
    let total = corpus.bytes(0..corpus.documents.len());
    // Every tokenizer here gives at most one token per byte, so this capacity is never
    // exceeded (no reallocation holding two copies); pages never written are never resident.
    // Where the reservation is refused (strict overcommit), the buffer grows as it fills.
    let mut buf = if width_for(vocab) == 2 {
        let mut v = Vec::new();
        let _ = v.try_reserve_exact(total);
        Buffer::U16(v)
    } else {
        let mut v = Vec::new();
        let _ = v.try_reserve_exact(total);
        Buffer::U32(v)
    };
    let (started, mut last_line, mut done) = (Instant::now(), Instant::now(), 0usize);
    for (w, docs) in corpus.by_work(0..corpus.documents.len()) {
        let text = corpus.works.list[w].read()?;
        let mut rest = &docs[..];
        while !rest.is_empty() {
            let mut n = 0;
            let mut bytes = 0;
            while n < rest.len() && (n == 0 || bytes + corpus.documents[rest[n]].len <= CHUNK_BYTES)
            {
                bytes += corpus.documents[rest[n]].len;
                n += 1;
            }
            let texts = rest[..n]
                .iter()
                .map(|&i| corpus.document_text(&text, i))
                .collect::<Result<Vec<&str>>>()?;
            for (&i, ids) in rest[..n].iter().zip(tokenizer.encode_texts(&texts)?) {
                spans[i] = (buf.len(), ids.len());
                buf.extend(&ids);
            }
            done += bytes;
            rest = &rest[n..];
            if last_line.elapsed().as_secs_f64() > 5.0 {
                last_line = Instant::now();
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "encoding {what}: {:.0} of {:.0} MB ({:.1} MB/s)",
                    done as f64 / 1e6,
                    total as f64 / 1e6,
                    done as f64 / 1e6 / secs
                );
            }
        }
    }
    Ok((buf, spans))
}

fn build(works: Works, spec: TokenizerSpec, cache: &Path, dir: &Path) -> Result<Streams> {
    let streams_root = dir.parent().expect("a streams folder has a parent");
    let started = Instant::now();
    let key_base = folder_key(&works, spec);
    eprintln!(
        "preparing {} with {spec}: reading {} works (once; cached in {})",
        works.name,
        works.list.len(),
        dir.display()
    );
    let corpus = works.index()?;
    let split = corpus.split(VALIDATION_FRACTION)?;
    let tokenizer = Tokenizer::load_or_train(spec, &corpus, split.train.clone(), cache)?;
    release_freed_memory();
    let json = tokenizer.to_json()?;
    let tokenizer_sha256 = sha256_hex(json.as_bytes());
    let (buf, spans) = encode(&corpus, &tokenizer, &format!("{} with {spec}", corpus.name))?;
    let vocab = tokenizer.vocab_size();
    let lengths = |r: std::ops::Range<usize>| -> Vec<usize> { r.map(|i| spans[i].1).collect() };
    let (train_lengths, val_lengths) =
        (lengths(split.train.clone()), lengths(split.validation.clone()));
    let width = width_for(vocab);
    let meta = StreamMeta {
        corpus: corpus.name.clone(),
        identity: corpus.works.identity.clone(),
        tokenizer: spec.to_string(),
        tokenizer_sha256,
        vocab_size: vocab,
        token_bytes: width,
        works: corpus.works_with_text,
        documents: corpus.documents.len(),
        bytes: corpus.bytes(0..corpus.documents.len()),
        train_documents: split.train.len(),
        train_bytes: corpus.bytes(split.train.clone()),
        train_tokens: train_lengths.iter().sum(),
        validation_documents: split.validation.len(),
        validation_bytes: corpus.bytes(split.validation.clone()),
        validation_tokens: val_lengths.iter().sum(),
    };
    let needed = file_bytes(train_lengths.len(), meta.train_tokens, width)
        + file_bytes(val_lengths.len(), meta.validation_tokens, width)
        + json.len() as u64
        + 4096;
    ensure_space(streams_root, needed)?;
    let key = format!("{key_base}; tokenizer.json {}", meta.tokenizer_sha256);
    let written = replace_dir_atomic(dir, |tmp| {
        std::fs::write(tmp.join("tokenizer.json"), &json)?;
        let docs = |r: std::ops::Range<usize>| r.map(|i| buf.get(spans[i]));
        tokens::write(
            &tmp.join("train.tok"),
            &format!("{key}; train"),
            vocab,
            &train_lengths,
            docs(split.train.clone()),
        )?;
        tokens::write(
            &tmp.join("validation.tok"),
            &format!("{key}; validation"),
            vocab,
            &val_lengths,
            docs(split.validation.clone()),
        )?;
        std::fs::write(tmp.join("meta.json"), serde_json::to_vec_pretty(&meta)?)?;
        Ok(())
    });
    drop(buf);
    if let Err(e) = written {
        return Err(e.context(format!(
            "writing the token cache (needs {}, {} free in {})",
            mb(needed),
            free_text(streams_root),
            streams_root.display()
        )));
    }
    eprintln!(
        "prepared {} with {spec}: {} training + {} validation tokens, {} on disk, in {:.1} s",
        corpus.name,
        meta.train_tokens,
        meta.validation_tokens,
        mb(needed),
        started.elapsed().as_secs_f64()
    );
    let s = read(dir, &corpus.works, spec)
        .with_context(|| format!("reading back {}", dir.display()))?;
    debug_assert_eq!(s.key, key);
    Ok(s)
}

impl Streams {
    /// The held-out domain's tokens under this tokenizer (Alice for the sample, Brown otherwise),
    /// cached beside the streams.
    pub fn heldout(&self, cache: &Path) -> Result<Heldout> {
        let works = heldout_works(&self.meta.corpus, cache)?;
        let key = format!("{}; heldout {} {}", self.key, works.name, works.identity);
        let (path, meta_path) = (self.dir.join("heldout.tok"), self.dir.join("heldout.json"));
        let identity = works.identity.clone();
        let cached = || -> Result<Heldout> {
            let meta: HeldoutMeta = serde_json::from_slice(&std::fs::read(&meta_path)?)?;
            let file = tokens::open(&path, &key)?;
            if meta.identity != identity || meta.tokens != file.tokens.len() {
                bail!("heldout.json does not match heldout.tok");
            }
            Ok(Heldout { tokens: file.tokens, bytes: meta.bytes })
        };
        if path.exists() {
            match cached() {
                Ok(h) => return Ok(h),
                Err(e) => eprintln!(
                    "held-out tokens {} are not usable ({e:#}): encoding again",
                    path.display()
                ),
            }
        }
        let _lock = lock(&self.dir)?;
        if let Ok(h) = cached() {
            return Ok(h);
        }
        let name = works.name.clone();
        let corpus = works.index()?;
        let (buf, spans) = encode(&corpus, &self.tokenizer, &name)?;
        let lengths: Vec<usize> = spans.iter().map(|s| s.1).collect();
        let meta = HeldoutMeta {
            corpus: name,
            identity: corpus.works.identity.clone(),
            bytes: corpus.bytes(0..spans.len()),
            tokens: buf.len(),
        };
        ensure_space(
            &self.dir,
            file_bytes(lengths.len(), meta.tokens, width_for(self.tokenizer.vocab_size())),
        )?;
        let tmp = temp_sibling(&path);
        let result = tokens::write(
            &tmp,
            &key,
            self.tokenizer.vocab_size(),
            &lengths,
            spans.iter().map(|&s| buf.get(s)),
        )
        .and_then(|()| {
            std::fs::rename(&tmp, &path)
                .with_context(|| format!("renaming into {}", path.display()))
        })
        .and_then(|()| write_json_atomic(&meta_path, &meta));
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result?;
        cached().with_context(|| format!("reading back {}", path.display()))
    }
}

/// Hands memory freed inside the heap back to the kernel: BPE training leaves its word counts'
/// pages resident after they are freed, which would sit under the encoded tokens' peak.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of glibc's heaps to the kernel; it takes the
    // allocator's own locks and may run while other threads allocate.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Fails with the folder's name when the cache cannot be written there.
fn writable(dir: &Path) -> Result<()> {
    let probe = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let p = temp_sibling(&dir.join("probe"));
        std::fs::write(&p, b"")?;
        std::fs::remove_file(&p)
    };
    probe().with_context(|| {
        format!(
            "the token cache folder {} is not writable; set DCLAB_CACHE to a folder that is",
            dir.display()
        )
    })
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn free_text(dir: &Path) -> String {
    free_bytes(dir).map_or_else(|| "unknown".to_owned(), mb)
}

/// Fails, naming the folder and the space needed, when the disk cannot hold `needed` bytes.
fn ensure_space(dir: &Path, needed: u64) -> Result<()> {
    match free_bytes(dir) {
        Some(free) if free < needed => bail!(
            "not enough disk space for the token cache in {}: it needs {}, {} is free (free some space or set DCLAB_CACHE to a larger disk)",
            dir.display(),
            mb(needed),
            mb(free)
        ),
        _ => Ok(()),
    }
}

/// Bytes free for an unprivileged writer on the file system holding `dir`, where known.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string that outlives the call, and `st` points to
    // writable memory of the struct's size; statvfs fills it completely when it returns 0.
    if unsafe { libc::statvfs(path.as_ptr(), st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: the call returned 0, so it initialised `st`.
    let st = unsafe { st.assume_init() };
    // Both are u64 on 64-bit gnu but u32 (c_ulong) on 32-bit gnu, where the product needs the casts.
    #[allow(clippy::unnecessary_cast)]
    Some(st.f_bavail as u64 * st.f_frsize as u64)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}
