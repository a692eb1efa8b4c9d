//! Token streams as compact files (u16 where the vocabulary fits, else u32) that are verified
//! when opened and then read memory-mapped, so a run touches only the tokens it uses.
//!
//! A file is a 128-byte header, the documents' end offsets (`u64` each) and the tokens,
//! little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `DCLABTOK` |
//! | 8..12 | format version (`u32`) |
//! | 12..16 | bytes per token, 2 or 4 (`u32`) |
//! | 16..24 | vocabulary size (`u64`): every token is below it |
//! | 24..32 | documents (`u64`) |
//! | 32..40 | tokens (`u64`) |
//! | 40..48 | zero (reserved) |
//! | 48..80 | SHA-256 of the key the file was written for (corpus, tokenizer, protocol) |
//! | 80..112 | SHA-256 of everything after the header, then of bytes 0..80 of the header |

use anyhow::{Context, Result, bail};
use memmap2::Mmap;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

const MAGIC: &[u8; 8] = b"DCLABTOK";
/// Version of the file layout; a file of another version is rebuilt.
pub const FORMAT_VERSION: u32 = 2;
const HEADER: usize = 128;

/// A read-only run of tokens: owned, or a window of a verified memory-mapped file.
#[derive(Clone)]
pub struct Tokens {
    store: Arc<Store>,
    range: Range<usize>,
}

enum Store {
    Owned(Vec<u32>),
    Mapped { map: Mmap, offset: usize, width: usize },
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &*self.store {
            Store::Owned(_) => "owned".to_owned(),
            Store::Mapped { width, .. } => format!("mapped u{}", width * 8),
        };
        write!(f, "Tokens({} tokens, {kind})", self.len())
    }
}

impl From<Vec<u32>> for Tokens {
    fn from(v: Vec<u32>) -> Tokens {
        let range = 0..v.len();
        Tokens { store: Arc::new(Store::Owned(v)), range }
    }
}

impl Tokens {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// Tokens `range` of this run, borrowed where they are stored as `u32` in memory.
    ///
    /// ```
    /// let t = dclab::data::Tokens::from(vec![5, 6, 7, 8]);
    /// assert_eq!(&*t.get(1..3), &[6, 7]);
    /// ```
    pub fn get(&self, range: Range<usize>) -> Cow<'_, [u32]> {
        assert!(range.end <= self.len(), "tokens {range:?} of a run of {}", self.len());
        let (a, b) = (self.range.start + range.start, self.range.start + range.end);
        match &*self.store {
            Store::Owned(v) => Cow::Borrowed(&v[a..b]),
            Store::Mapped { map, offset, width } => {
                let bytes = &map[offset + a * width..offset + b * width];
                Cow::Owned(match width {
                    2 => bytes
                        .chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]) as u32)
                        .collect(),
                    _ => bytes
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                })
            }
        }
    }

    /// The first `n` tokens (a view: nothing is copied).
    pub fn prefix(&self, n: usize) -> Tokens {
        assert!(n <= self.len(), "prefix of {n} tokens of a run of {}", self.len());
        Tokens { store: self.store.clone(), range: self.range.start..self.range.start + n }
    }

    /// All tokens, copied out as `u32`.
    pub fn to_vec(&self) -> Vec<u32> {
        self.get(0..self.len()).into_owned()
    }

    /// Bytes each token takes where it is stored (4 in memory, 2 or 4 in a file).
    pub fn width(&self) -> usize {
        match &*self.store {
            Store::Owned(_) => 4,
            Store::Mapped { width, .. } => *width,
        }
    }
}

/// Bytes per stored token for a vocabulary: 2 while every id fits in a `u16`, else 4.
pub fn width_for(vocab: usize) -> usize {
    if vocab <= 1 << 16 { 2 } else { 4 }
}

/// The size in bytes of a file of `docs` documents and `tokens` tokens of `width` bytes.
pub fn file_bytes(docs: usize, tokens: usize, width: usize) -> u64 {
    checked_file_bytes(docs as u64, tokens as u64, width as u64)
        .expect("a token file's size fits in 64 bits")
}

/// The size a header claims, None when its counts overflow (a corrupt header).
fn checked_file_bytes(docs: u64, tokens: u64, width: u64) -> Option<u64> {
    docs.checked_mul(8)?.checked_add(width.checked_mul(tokens)?)?.checked_add(HEADER as u64)
}

fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Writes a token file to `path` (the caller writes under a temporary name and renames it):
/// documents of `lengths` tokens, whose tokens `docs` yields in the same order.
pub fn write<'a>(
    path: &Path, key: &str, vocab: usize, lengths: &[usize],
    docs: impl Iterator<Item = Cow<'a, [u32]>>,
) -> Result<()> {
    let width = width_for(vocab);
    let n_tokens: usize = lengths.iter().sum();
    let result = (|| -> Result<()> {
        let file = File::create(path)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        w.write_all(&[0u8; HEADER])?;
        let mut sum = Sha256::new();
        let mut end = 0u64;
        for &n in lengths {
            end += n as u64;
            let b = end.to_le_bytes();
            sum.update(b);
            w.write_all(&b)?;
        }
        let (mut written, mut bytes) = (0usize, Vec::new());
        for (doc, &n) in docs.zip(lengths) {
            if doc.len() != n {
                bail!("a document of {} tokens where {n} were announced", doc.len());
            }
            bytes.clear();
            for &t in doc.iter() {
                if t as usize >= vocab {
                    bail!("token {t} is outside the vocabulary of {vocab}");
                }
                match width {
                    2 => bytes.extend_from_slice(&(t as u16).to_le_bytes()),
                    _ => bytes.extend_from_slice(&t.to_le_bytes()),
                }
            }
            sum.update(&bytes);
            w.write_all(&bytes)?;
            written += n;
        }
        if written != n_tokens {
            bail!("{written} tokens written of {n_tokens}");
        }
        let mut header = [0u8; HEADER];
        header[0..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        header[12..16].copy_from_slice(&(width as u32).to_le_bytes());
        header[16..24].copy_from_slice(&(vocab as u64).to_le_bytes());
        header[24..32].copy_from_slice(&(lengths.len() as u64).to_le_bytes());
        header[32..40].copy_from_slice(&(n_tokens as u64).to_le_bytes());
        header[48..80].copy_from_slice(&key_hash(key));
        sum.update(&header[..80]);
        header[80..112].copy_from_slice(&sum.finalize());
        w.seek(SeekFrom::Start(0))?;
        w.write_all(&header)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(())
    })();
    result.with_context(|| format!("writing {}", path.display()))
}

/// What a verified token file holds.
#[derive(Clone, Debug)]
pub struct TokenFile {
    /// The tokens, memory-mapped.
    pub tokens: Tokens,
    /// Number of documents.
    pub documents: usize,
    /// Vocabulary size it was written for.
    pub vocab: usize,
}

/// Opens a token file written for `key`, refusing one that is truncated, foreign (another
/// key, another format), or whose SHA-256 does not match.
pub fn open(path: &Path, key: &str) -> Result<TokenFile> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file.metadata()?.len();
    let mut header = [0u8; HEADER];
    if len < HEADER as u64 {
        bail!("{} is truncated ({len} bytes, less than its header)", path.display());
    }
    (&file).read_exact(&mut header)?;
    let u32_at = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().unwrap());
    let u64_at = |i: usize| u64::from_le_bytes(header[i..i + 8].try_into().unwrap());
    if &header[0..8] != MAGIC {
        bail!("{} is not a dclab token file", path.display());
    }
    if u32_at(8) != FORMAT_VERSION {
        bail!(
            "{} has token-file format {} (this dclab reads {FORMAT_VERSION})",
            path.display(),
            u32_at(8)
        );
    }
    if header[48..80] != key_hash(key) {
        bail!("{} was written for another corpus, tokenizer or data protocol", path.display());
    }
    let (width, vocab, docs, tokens) =
        (u32_at(12) as usize, u64_at(16) as usize, u64_at(24), u64_at(32));
    if width != width_for(vocab) {
        bail!("{} stores {width}-byte tokens for a vocabulary of {vocab}", path.display());
    }
    let expected = checked_file_bytes(docs, tokens, width as u64);
    if expected != Some(len) {
        bail!(
            "{} is truncated or padded: {len} bytes, its header says {expected:?}",
            path.display()
        );
    }
    let (docs, tokens) = (docs as usize, tokens as usize);
    let mut sum = Sha256::new();
    let mut r = std::io::BufReader::with_capacity(1 << 20, &file);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sum.update(&buf[..n]);
    }
    sum.update(&header[..80]);
    if sum.finalize().as_slice() != &header[80..112] {
        bail!("{} does not match its SHA-256 (corrupted)", path.display());
    }
    // SAFETY: token files are written once under a temporary name and renamed into place; dclab
    // never writes to a file after the rename. A rebuild (only of a folder that failed its
    // checks, under the folder's lock) replaces the folder and unlinks the old files, which a
    // local file system keeps alive for this mapping; on NFS another node's mapping of an
    // unlinked file can fault, which is why a verified folder is never rebuilt. Only an outside
    // program editing the file in place while it is mapped could change the bytes underneath.
    let map = unsafe { Mmap::map(&file) }.with_context(|| format!("mapping {}", path.display()))?;
    let offset = HEADER + 8 * docs;
    let store = Store::Mapped { map, offset, width };
    Ok(TokenFile {
        tokens: Tokens { store: Arc::new(store), range: 0..tokens },
        documents: docs,
        vocab,
    })
}
