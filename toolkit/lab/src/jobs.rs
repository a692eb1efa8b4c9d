//! One builder per engine job. Options left unset take the CLI's own defaults (the builder
//! passes only what you set), so a notebook and `dclab <command>` never disagree.

use crate::engine::Job;
use dclab_types::{
    BoundPoint, CorpusStats, CritReport, DeltaMap, FitReport, LawParams, MaskDraw, RunReport,
    Sample, StudyReport, SweepReport, ValueCurve,
};

/// Command-line flags in the order they were set; setting one again replaces it.
#[derive(Clone, Debug, Default)]
struct Flags(Vec<(String, Vec<String>)>);

impl Flags {
    fn set(&mut self, flag: &str, value: impl ToString) {
        self.list(flag, [value]);
    }
    fn list<V: ToString>(&mut self, flag: &str, values: impl IntoIterator<Item = V>) {
        let values: Vec<String> = values.into_iter().map(|v| v.to_string()).collect();
        match self.0.iter_mut().find(|(f, _)| f == flag) {
            Some(e) => e.1 = values,
            None => self.0.push((flag.to_string(), values)),
        }
    }
    fn has(&self, flag: &str) -> bool {
        self.0.iter().any(|(f, _)| f == flag)
    }
    fn args(&self) -> Vec<String> {
        let mut out = vec![];
        for (f, v) in &self.0 {
            if v.is_empty() {
                out.push(f.clone());
            } else {
                out.extend([f.clone(), v.join(",")]);
            }
        }
        out
    }
}

/// The engine defaults these bindings were written against, part of every default folder's
/// hash: when a default or the checkpoint layout changes (dropout 0.1 and the precise final
/// evaluation, issue 16; q/k/v and gate/up stored joined, which old checkpoints cannot resume,
/// issue 20), a notebook's cell gets a new folder instead of meeting runs made before.
const DEFAULTS: &str = "defaults-2026-12-02";

/// A stable folder name for a job's outputs: rerunning the same cell finds (and resumes) it.
fn default_out(kind: &str, args: &[String]) -> String {
    // FNV-1a: stable across runs and machines, no dependency.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in [args, &[DEFAULTS.to_string()]].concat().join("\u{1f}").bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    format!("runs/{kind}-{:08x}", h as u32)
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $flag:literal;)*) => {
        $($(#[$doc])* pub fn $name(mut self, v: $ty) -> Self { self.flags.set($flag, v); self })*
    };
}

/// `dclab train`: one model. Rerunning the cell resumes (or returns) the run in its folder.
#[derive(Clone, Debug)]
pub struct Train {
    flags: Flags,
}

impl Train {
    /// An autoregressive model.
    pub fn ar() -> Train {
        Train::objective("ar")
    }
    /// A masked diffusion model.
    pub fn diffusion() -> Train {
        Train::objective("diffusion")
    }
    /// Any objective spec: `ar`, `diffusion`, `ar-orderings:N`, `ar-orderings:N:noisy:K`.
    pub fn objective(spec: &str) -> Train {
        let mut flags = Flags::default();
        flags.set("--objective", spec);
        Train { flags }
    }
    setters! {
        /// A preset (0.1m, 0.3m, 1m, 3m, 10m, 30m) or `d,heads,layers`.
        model: &str => "--model";
        /// A corpus name (sample, shakespeare, pdlit, brown) or a folder of .txt files.
        corpus: &str => "--corpus";
        /// bytes, char or bpe:<vocab>.
        tokenizer: &str => "--tokenizer";
        /// The unique-token budget U (0: the whole training split).
        unique_tokens: usize => "--unique-tokens";
        /// Epochs over the budget (fractional allowed).
        epochs: f64 => "--epochs";
        /// Context length.
        seq_len: usize => "--seq-len";
        /// Sequences per step.
        batch_size: usize => "--batch-size";
        /// Peak learning rate.
        lr: f64 => "--lr";
        /// Dropout probability.
        dropout: f64 => "--dropout";
        /// AdamW weight decay.
        weight_decay: f64 => "--weight-decay";
        /// Precision of the matrix products: f32 (TF32 on cuda) or bf16 (mixed, for GPUs).
        precision: &str => "--precision";
        /// Evaluate every this many steps (and at the end).
        eval_every: usize => "--eval-every";
        /// Validation sequences per evaluation (0: all).
        eval_sequences: usize => "--eval-sequences";
        /// Diffusion draws of t per validation sequence.
        eval_draws: usize => "--eval-draws";
        /// Validation sequences of the precise final evaluation (0: the whole split).
        precise_eval_sequences: usize => "--precise-eval-sequences";
        /// Diffusion draws per sequence in that evaluation.
        precise_eval_draws: usize => "--precise-eval-draws";
        /// Stop after this many evaluations without improvement.
        early_stopping: usize => "--early-stopping";
        /// Seed.
        seed: u64 => "--seed";
        /// The run folder (default: runs/train-<hash of the settings> beside the notebook).
        out: &str => "--out";
    }
}

impl Job for Train {
    type Value = RunReport;
    fn args(&self) -> Vec<String> {
        let mut f = self.flags.clone();
        if !f.has("--out") {
            f.set("--out", default_out("train", &self.flags.args()));
        }
        [vec!["train".to_string()], f.args()].concat()
    }
}

/// `dclab sample`: text from one or more trained runs, as one table.
#[derive(Clone, Debug)]
pub struct Samples {
    flags: Flags,
    runs: Vec<String>,
}

impl Samples {
    /// Samples from the run in `dir` (a `RunReport`'s `dir`).
    pub fn from(dir: &str) -> Samples {
        Samples { flags: Flags::default(), runs: vec![dir.to_string()] }
    }
    /// Adds another run.
    pub fn and(mut self, dir: &str) -> Samples {
        self.runs.push(dir.to_string());
        self
    }
    /// Softmax temperatures to try (0: greedy).
    pub fn temperatures(mut self, t: &[f64]) -> Samples {
        self.flags.list("--temperature", t);
        self
    }
    /// Diffusion unmasking orders to try: `confidence`, `random`.
    pub fn orders(mut self, orders: &[&str]) -> Samples {
        self.flags.list("--order", orders);
        self
    }
    setters! {
        /// Text to continue.
        prompt: &str => "--prompt";
        /// Tokens to generate.
        tokens: usize => "--tokens";
        /// Keep only the k most likely tokens.
        top_k: usize => "--top-k";
        /// Diffusion denoising steps.
        steps: usize => "--steps";
        /// Seed of the sampler.
        seed: u64 => "--seed";
    }
}

impl Job for Samples {
    type Value = Vec<Sample>;
    fn args(&self) -> Vec<String> {
        let mut a = vec!["sample".to_string()];
        for r in &self.runs {
            a.extend(["--run".to_string(), r.clone()]);
        }
        [a, self.flags.args()].concat()
    }
}

/// `dclab data stats`: bytes, documents, the split and tokens per tokenizer.
#[derive(Clone, Debug)]
pub struct DataStats {
    corpus: String,
    flags: Flags,
}

impl DataStats {
    /// Statistics of a corpus (`sample`, a fetched one, or a folder of .txt files).
    pub fn corpus(name: &str) -> DataStats {
        DataStats { corpus: name.to_string(), flags: Flags::default() }
    }
    /// Tokenizers to count with: `bytes`, `char`, `bpe:<vocab>`.
    pub fn tokenizers(mut self, t: &[&str]) -> DataStats {
        self.flags.list("--tokenizer", t);
        self
    }
}

impl Job for DataStats {
    type Value = CorpusStats;
    fn args(&self) -> Vec<String> {
        [vec!["data".into(), "stats".into(), self.corpus.clone()], self.flags.args()].concat()
    }
}

/// `dclab sweep`: a sweep spec (TOML) run resumably into one folder.
#[derive(Clone, Debug)]
pub struct Sweep {
    toml: String,
    flags: Flags,
}

impl Sweep {
    /// A spec written in the cell, as `dclab sweep` reads from a file.
    pub fn toml(spec: &str) -> Sweep {
        Sweep { toml: spec.to_string(), flags: Flags::default() }
    }
    setters! {
        /// The sweep folder (default: runs/sweep-<hash of the spec> beside the notebook).
        out: &str => "--out";
        /// Only shard i of n, e.g. `0/4`.
        shard: &str => "--shard";
    }
}

impl Job for Sweep {
    type Value = SweepReport;
    fn args(&self) -> Vec<String> {
        let mut f = self.flags.clone();
        f.set("--toml", &self.toml);
        if !f.has("--out") {
            f.set("--out", default_out("sweep", std::slice::from_ref(&self.toml)));
        }
        [vec!["sweep".to_string()], f.args()].concat()
    }
}

/// `dclab study`: a sweep, one law per family, C_crit, report.html and summary.md.
#[derive(Clone, Debug)]
pub struct Study {
    flags: Flags,
}

impl Study {
    /// A preset: `quick`, `crossover` or `paper-small`.
    pub fn preset(name: &str) -> Study {
        let mut flags = Flags::default();
        flags.set("--preset", name);
        Study { flags }
    }
    /// Your own sweep spec (TOML).
    pub fn toml(spec: &str) -> Study {
        let mut flags = Flags::default();
        flags.set("--toml", spec);
        Study { flags }
    }
    setters! {
        /// The study folder (default: runs/study-<hash>).
        out: &str => "--out";
    }
}

impl Job for Study {
    type Value = StudyReport;
    fn args(&self) -> Vec<String> {
        let mut f = self.flags.clone();
        if !f.has("--out") {
            f.set("--out", default_out("study", &self.flags.args()));
        }
        [vec!["study".to_string()], f.args()].concat()
    }
}

/// `dclab fit`: the data-constrained law fitted to a runs table or a sweep folder.
#[derive(Clone, Debug)]
pub struct Fit {
    runs: String,
    flags: Flags,
}

impl Fit {
    /// Fits the runs of a table (CSV or Parquet: params, tokens, unique_tokens, val_loss) or
    /// of a sweep or study folder (then name the `family`).
    pub fn runs(path: &str) -> Fit {
        Fit { runs: path.to_string(), flags: Flags::default() }
    }
    /// Ties beta to alpha (SDC).
    pub fn alpha_eq_beta(mut self) -> Fit {
        self.flags.list::<String>("--alpha-eq-beta", []);
        self
    }
    setters! {
        /// In a sweep folder: the family to fit (ar, diffusion, ar-orderings:N).
        family: &str => "--family";
        /// In a sweep folder: fit each run's `final` (default) or `best` validation loss.
        loss: &str => "--loss";
        /// Stage-1 constants: `fit`, `sdc-c4`, or `a=..,b=..,e=..,alpha=..,beta=..`.
        stage1: &str => "--stage1";
        /// Start grid: `wide` or `sdc`.
        grid: &str => "--grid";
        /// Bootstrap replicates for intervals.
        bootstrap: usize => "--bootstrap";
        /// Seed of the bootstrap.
        seed: u64 => "--seed";
        /// Where fit.json goes (default: fit-<hash>.json under runs/).
        out: &str => "--out";
    }
}

impl Job for Fit {
    type Value = FitReport;
    fn args(&self) -> Vec<String> {
        let mut f = self.flags.clone();
        if !f.has("--out") {
            f.set(
                "--out",
                default_out("fit", &[vec![self.runs.clone()], self.flags.args()].concat())
                    + ".json",
            );
        }
        [vec!["fit".to_string(), self.runs.clone()], f.args()].concat()
    }
}

/// Law constants as the engine's command line takes them (`a=..,b=..,...`), exactly.
pub fn law_arg(p: &LawParams) -> String {
    format!(
        "a={:e},b={:e},e={:e},alpha={:e},beta={:e},R_D_star={:e},R_N_star={:e}",
        p.a, p.b, p.e, p.alpha, p.beta, p.r_d_star, p.r_n_star
    )
}

/// `dclab crit`: C_crit(U) from an AR law and a diffusion law, with DBA's line.
#[derive(Clone, Debug)]
pub struct Crit {
    flags: Flags,
}

impl Crit {
    /// Between two fitted laws (e.g. `ar_fit.params`, `diffusion_fit.params`).
    pub fn between(ar: &LawParams, diffusion: &LawParams) -> Crit {
        let mut flags = Flags::default();
        flags.set("--ar", law_arg(ar));
        flags.set("--diffusion", law_arg(diffusion));
        Crit { flags }
    }
    /// Unique-token budgets U (raw tokens).
    pub fn unique_tokens(mut self, u: &[f64]) -> Crit {
        self.flags.list("--unique-tokens", u.iter().map(|x| format!("{x:e}")));
        self
    }
    setters! {
        /// Smallest compute searched (FLOPs).
        c_min: f64 => "--c-min";
        /// Largest compute searched (FLOPs).
        c_max: f64 => "--c-max";
    }
}

impl Job for Crit {
    type Value = CritReport;
    fn args(&self) -> Vec<String> {
        [vec!["crit".to_string()], self.flags.args()].concat()
    }
}

/// `dclab law map`: Delta L = L_diffusion - L_AR over compute and unique data.
#[derive(Clone, Debug)]
pub struct Map {
    flags: Flags,
}

impl Map {
    /// Between two fitted laws.
    pub fn between(ar: &LawParams, diffusion: &LawParams) -> Map {
        let mut flags = Flags::default();
        flags.set("--ar", law_arg(ar));
        flags.set("--diffusion", law_arg(diffusion));
        Map { flags }
    }
    /// log10 range of compute C (FLOPs).
    pub fn log10_c(mut self, lo: f64, hi: f64) -> Map {
        self.flags.list("--log10-c", [lo, hi]);
        self
    }
    /// log10 range of unique tokens U.
    pub fn log10_u(mut self, lo: f64, hi: f64) -> Map {
        self.flags.list("--log10-u", [lo, hi]);
        self
    }
}

impl Job for Map {
    type Value = DeltaMap;
    fn args(&self) -> Vec<String> {
        [vec!["law".to_string(), "map".to_string()], self.flags.args()].concat()
    }
}

/// `dclab law value-left`: D'/D, the share of repeated tokens' value left after E epochs.
#[derive(Clone, Debug, Default)]
pub struct ValueLeft {
    curves: Vec<String>,
}

impl ValueLeft {
    /// No curves yet.
    pub fn new() -> ValueLeft {
        ValueLeft::default()
    }
    /// A curve for decay constant R_D*, named in the legend.
    pub fn curve(mut self, name: &str, r_d_star: f64) -> ValueLeft {
        self.curves.push(format!("{name}={r_d_star:e}"));
        self
    }
}

impl Job for ValueLeft {
    type Value = Vec<ValueCurve>;
    fn args(&self) -> Vec<String> {
        let mut a = vec!["law".to_string(), "value-left".to_string()];
        for c in &self.curves {
            a.extend(["--curve".to_string(), c.clone()]);
        }
        a
    }
}

/// `dclab diffusion masks`: a validation sequence masked at given times t.
#[derive(Clone, Debug, Default)]
pub struct Masks {
    flags: Flags,
}

impl Masks {
    /// The default corpus and sequence.
    pub fn new() -> Masks {
        Masks::default()
    }
    /// Times t to mask at.
    pub fn t(mut self, t: &[f64]) -> Masks {
        self.flags.list("--t", t);
        self
    }
    setters! {
        /// Corpus.
        corpus: &str => "--corpus";
        /// Tokenizer.
        tokenizer: &str => "--tokenizer";
        /// Sequence length.
        seq_len: usize => "--seq-len";
        /// Which validation sequence.
        sequence: usize => "--sequence";
        /// Seed of the masks.
        seed: u64 => "--seed";
    }
}

impl Job for Masks {
    type Value = Vec<MaskDraw>;
    fn args(&self) -> Vec<String> {
        [vec!["diffusion".to_string(), "masks".to_string()], self.flags.args()].concat()
    }
}

/// `dclab diffusion bound`: a diffusion run's validation bound and its standard error
/// against the number of draws K per sequence.
#[derive(Clone, Debug)]
pub struct Bound {
    flags: Flags,
}

impl Bound {
    /// Scores the best checkpoint of the diffusion run in `dir`.
    pub fn of(dir: &str) -> Bound {
        let mut flags = Flags::default();
        flags.set("--run", dir);
        Bound { flags }
    }
    /// Draws K to try (K >= 2: one draw gives no variance estimate).
    pub fn draws(mut self, k: &[usize]) -> Bound {
        self.flags.list("--draws", k);
        self
    }
    setters! {
        /// Validation sequences scored (0: all).
        sequences: usize => "--sequences";
        /// Seed of the draws.
        seed: u64 => "--seed";
    }
}

impl Job for Bound {
    type Value = Vec<BoundPoint>;
    fn args(&self) -> Vec<String> {
        [vec!["diffusion".to_string(), "bound".to_string()], self.flags.args()].concat()
    }
}
