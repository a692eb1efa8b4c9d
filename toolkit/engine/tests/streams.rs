//! The cached token streams: the same tokens, budgets and losses as the in-memory protocol they
//! replaced, encoded once, verified when read, rebuilt when damaged, and clear errors when the
//! cache cannot be written.

use dclab::data::corpus::{DOCUMENT_ORDER_SEED, MIN_DOCUMENT_BYTES};
use dclab::data::shuffle::shuffle;
use dclab::data::text::split_documents;
use dclab::data::tokenizer::bytes_per_token;
use dclab::data::{Packed, Prepared, Tokenizer, TokenizerSpec, Tokens, prepare, streams, tokens};
use dclab::model::{ModelConfig, select_device};
use dclab::train::{TrainConfig, train};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The data protocol as it was written before the streams existed, from the committed files:
/// whole texts in memory, documents deduplicated by their text, the fixed shuffle, the last 5%
/// of the bytes held out, the tokenizer trained on the training texts in order, and every
/// document encoded and concatenated.
struct Oracle {
    tokenizer: Tokenizer,
    train: Vec<u32>,
    validation: Vec<u32>,
    validation_bytes: usize,
    heldout: Vec<u32>,
    heldout_bytes: usize,
}

fn documents(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut seen = HashSet::new();
    let mut docs = Vec::new();
    for f in files {
        for piece in split_documents(&std::fs::read_to_string(&f).unwrap(), MIN_DOCUMENT_BYTES) {
            if seen.insert(piece.clone()) {
                docs.push(piece);
            }
        }
    }
    shuffle(&mut docs, DOCUMENT_ORDER_SEED);
    docs
}

fn oracle(spec: TokenizerSpec) -> Oracle {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/sample");
    let docs = documents(&root.join("shakespeare"));
    let total: usize = docs.iter().map(|d| d.len()).sum();
    let target = (total as f64 * 0.05).ceil() as usize;
    let (mut cut, mut held) = (docs.len(), 0);
    while cut > 1 && held < target {
        cut -= 1;
        held += docs[cut].len();
    }
    let tokenizer = Tokenizer::train(spec, docs[..cut].iter().cloned()).unwrap();
    let encode =
        |d: &[String]| d.iter().flat_map(|t| tokenizer.encode(t).unwrap()).collect::<Vec<u32>>();
    let alice = documents(&root.join("heldout"));
    Oracle {
        train: encode(&docs[..cut]),
        validation: encode(&docs[cut..]),
        validation_bytes: held,
        heldout: encode(&alice),
        heldout_bytes: alice.iter().map(|d| d.len()).sum(),
        tokenizer,
    }
}

#[test]
fn streams_hold_exactly_the_tokens_of_the_in_memory_protocol() {
    let cache = tempfile::tempdir().unwrap();
    for spec in [TokenizerSpec::Char, TokenizerSpec::Bytes, TokenizerSpec::Bpe(600)] {
        let o = oracle(spec);
        let s = streams::open("sample", spec, cache.path()).unwrap();
        assert_eq!(
            s.train.width(),
            2,
            "{spec}: a vocabulary of {} fits in u16",
            s.tokenizer.vocab_size()
        );
        assert_eq!(
            s.tokenizer.inner.to_string(false).unwrap(),
            o.tokenizer.inner.to_string(false).unwrap(),
            "{spec}: tokenizer"
        );
        assert_eq!(s.train.to_vec(), o.train, "{spec}: training stream");
        assert_eq!(s.validation.to_vec(), o.validation, "{spec}: validation stream");
        assert_eq!(s.meta.validation_bytes, o.validation_bytes);
        let h = s.heldout(cache.path()).unwrap();
        assert_eq!(h.tokens.to_vec(), o.heldout, "{spec}: held-out stream");
        assert_eq!(h.bytes, o.heldout_bytes);
    }
}

/// flex's seed is process-global: the runs below take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn losses(data: &Prepared, objective: &str) -> Vec<(f64, f64)> {
    let model = ModelConfig::new(data.tokenizer.vocab_size(), 32, 2, 1, data.train.seq_len);
    let cfg = TrainConfig::for_objective(model, objective)
        .unwrap()
        .with_batch_size(8)
        .with_epochs(2.0)
        .with_eval_every(2)
        .with_eval_sequences(8)
        .with_eval_draws(4)
        .with_precise_eval_sequences(8)
        .with_precise_eval_draws(4);
    let obj = cfg.build_objective().unwrap();
    let r =
        train(&cfg, obj.as_ref(), data, &select_device("cpu").unwrap(), None, &mut |_| {}).unwrap();
    let mut out: Vec<(f64, f64)> = r.metrics.iter().map(|m| (m.train_loss, m.val_loss)).collect();
    out.push((r.summary.best_val_loss, r.summary.heldout_loss));
    out
}

#[test]
fn a_run_on_the_streams_gives_the_losses_of_a_run_on_the_in_memory_protocol() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cache = tempfile::tempdir().unwrap();
    let (spec, seq_len, budget) = (TokenizerSpec::Char, 32, 40 * 33 + 7);
    let o = oracle(spec);
    let before = Prepared {
        corpus: "sample".into(),
        train: Packed::budget(&Tokens::from(o.train.clone()), budget, seq_len).unwrap(),
        train_tokens_available: o.train.len(),
        validation: Packed::all(&Tokens::from(o.validation.clone()), seq_len).unwrap(),
        heldout: Packed::all(
            &Tokens::from(o.heldout[..o.heldout.len().min(o.validation.len())].to_vec()),
            seq_len,
        )
        .unwrap(),
        validation_bytes_per_token: bytes_per_token(o.validation_bytes, o.validation.len()),
        heldout_bytes_per_token: bytes_per_token(o.heldout_bytes, o.heldout.len()),
        tokenizer: o.tokenizer,
    };
    let after = prepare("sample", spec, Some(budget), seq_len, cache.path()).unwrap();
    assert_eq!(after.train.tokens.width(), 2, "the run reads the u16 file, not a copy");
    assert_eq!(
        (after.train.n_samples(), after.validation.n_samples(), after.heldout.n_samples()),
        (before.train.n_samples(), before.validation.n_samples(), before.heldout.n_samples())
    );
    assert_eq!(after.validation_bytes_per_token, before.validation_bytes_per_token);
    assert_eq!(after.heldout_bytes_per_token, before.heldout_bytes_per_token);
    for objective in ["ar", "diffusion"] {
        let (a, b) = (losses(&before, objective), losses(&after, objective));
        assert!(a.len() > 3);
        assert_eq!(a, b, "{objective}: losses differ between the in-memory data and the streams");
    }
}

fn stream_files(dir: &Path) -> Vec<PathBuf> {
    ["train.tok", "validation.tok", "meta.json", "tokenizer.json"]
        .iter()
        .map(|f| dir.join(f))
        .collect()
}

fn inode(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).unwrap().ino()
}

#[test]
fn streams_are_encoded_once_and_damaged_files_are_rebuilt_not_trusted() {
    let cache = tempfile::tempdir().unwrap();
    let spec = TokenizerSpec::Char;
    let first = streams::open("sample", spec, cache.path()).unwrap();
    let dir = first.dir.clone();
    assert!(stream_files(&dir).iter().all(|f| f.is_file()));
    let train_file = dir.join("train.tok");
    let ino = inode(&train_file);
    let again = streams::open("sample", spec, cache.path()).unwrap();
    assert_eq!(inode(&train_file), ino, "a second open must read the cache, not encode again");
    assert_eq!(again.train.to_vec(), first.train.to_vec());
    let expected = first.train.to_vec();

    // Truncated: refused, rebuilt, same tokens.
    let bytes = std::fs::read(&train_file).unwrap();
    std::fs::write(&train_file, &bytes[..bytes.len() - 3]).unwrap();
    let err = tokens::open(&train_file, "anything").unwrap_err().to_string();
    assert!(err.contains("another corpus") || err.contains("truncated"), "{err}");
    let rebuilt = streams::open("sample", spec, cache.path()).unwrap();
    assert_eq!(rebuilt.train.to_vec(), expected);
    assert_eq!(std::fs::read(&train_file).unwrap(), bytes);

    // Two top bits of 8-byte words flipped (which cancel in a multiply-xor checksum): refused.
    let mut two = bytes.clone();
    let words = (two.len() - 128) / 8; // the payload starts at byte 128
    let (a, b) = (128 + 8 * (words - 2) + 7, 128 + 8 * (words - 1) + 7);
    two[a] ^= 0x80;
    two[b] ^= 0x80;
    std::fs::write(&train_file, &two).unwrap();
    assert!(streams::open("sample", spec, cache.path()).is_ok());
    assert_eq!(
        std::fs::read(&train_file).unwrap(),
        bytes,
        "a file with two flipped top bits must be refused and rebuilt"
    );

    // One token changed: the SHA-256 refuses it.
    let mut flipped = bytes.clone();
    let last = flipped.len() - 2;
    flipped[last] ^= 1;
    std::fs::write(&train_file, &flipped).unwrap();
    assert!(tokens::open(&train_file, "k").is_err());
    assert_eq!(streams::open("sample", spec, cache.path()).unwrap().train.to_vec(), expected);
    assert_eq!(std::fs::read(&train_file).unwrap(), bytes, "the corrupted file must be replaced");

    // Foreign: another tokenizer's file of the same corpus in its place.
    let bytes_streams = streams::open("sample", TokenizerSpec::Bytes, cache.path()).unwrap();
    std::fs::copy(bytes_streams.dir.join("train.tok"), &train_file).unwrap();
    let s = streams::open("sample", spec, cache.path()).unwrap();
    assert_eq!(s.train.to_vec(), expected);
    assert_eq!(s.tokenizer.vocab_size(), first.tokenizer.vocab_size());

    // Not a token file at all, and a missing one.
    std::fs::write(&train_file, b"hello").unwrap();
    assert!(tokens::open(&train_file, "k").unwrap_err().to_string().contains("truncated"));
    std::fs::remove_file(&train_file).unwrap();
    assert_eq!(streams::open("sample", spec, cache.path()).unwrap().train.to_vec(), expected);
    let leftovers: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary folders left behind: {leftovers:?}");
}

#[test]
fn token_files_use_u16_while_the_vocabulary_fits_and_u32_beyond() {
    let dir = tempfile::tempdir().unwrap();
    for (vocab, width) in [(256, 2), (65_536, 2), (65_537, 4), (200_000, 4)] {
        let docs: Vec<Vec<u32>> = vec![vec![0, 1, (vocab - 1) as u32], vec![], vec![7; 5]];
        let lengths: Vec<usize> = docs.iter().map(|d| d.len()).collect();
        let path = dir.path().join(format!("v{vocab}.tok"));
        tokens::write(&path, "key", vocab, &lengths, docs.iter().map(|d| d.as_slice().into()))
            .unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), tokens::file_bytes(3, 8, width));
        let f = tokens::open(&path, "key").unwrap();
        assert_eq!((f.tokens.width(), f.documents, f.vocab), (width, 3, vocab));
        assert_eq!(f.tokens.to_vec(), docs.concat());
        assert!(
            tokens::open(&path, "other key").unwrap_err().to_string().contains("another corpus")
        );
    }
    let err = tokens::write(
        &dir.path().join("bad.tok"),
        "key",
        10,
        &[1],
        std::iter::once(vec![10u32].into()),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("outside the vocabulary"), "{err:#}");
}

#[test]
fn an_unwritable_cache_is_a_clear_error_naming_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let cache = file.join("cache");
    let err = format!("{:#}", streams::open("sample", TokenizerSpec::Char, &cache).unwrap_err());
    assert!(
        err.contains("not writable") && err.contains(&cache.join("streams").display().to_string()),
        "{err}"
    );
}

/// Unmounts its tmpfs when dropped, even when an assertion fails first.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Mounts a small tmpfs as a full disk (needs root; CI runs as root). Returns None, saying
/// why, where mounting is not allowed.
fn small_disk(dir: &Path, size: &str) -> Option<Mounted> {
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must be able to mount a tmpfs to test a full disk"
        );
        eprintln!("cannot mount a tmpfs here (not root?): the full-disk check is skipped");
        return None;
    }
    Some(Mounted(dir.to_owned()))
}

#[test]
fn a_disk_too_small_for_the_streams_names_the_space_needed_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("disk");
    std::fs::create_dir(&mnt).unwrap();
    let Some(_mounted) = small_disk(&mnt, "600k") else { return };
    let result = streams::open("sample", TokenizerSpec::Bytes, &mnt);
    let listing: Vec<String> = walk(&mnt);
    let err = format!("{:#}", result.unwrap_err());
    assert!(
        err.contains("not enough disk space")
            && err.contains("MB")
            && err.contains(&mnt.join("streams").display().to_string()),
        "{err}"
    );
    let names: Vec<String> =
        listing.iter().map(|p| p.rsplit('/').next().unwrap().to_owned()).collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".tok") && !n.contains(".tmp-")),
        "half-written files left: {listing:?}"
    );
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.display().to_string());
        if p.is_dir() {
            out.extend(walk(&p));
        }
    }
    out
}
