//! AR with N token orderings (DBA 3.5 / App. 12): N orders built once (the first is the
//! identity); each sequence keeps token 0, permutes tokens 1..L by one of them, keeps the
//! ORIGINAL position ids for RoPE, and trains plain next-token prediction. Evaluation is raster.

use super::{LogitModel, Objective, ar_nll};
use crate::data::shuffle::{SplitMix64, mix, shuffle};
use burn::prelude::*;

/// How the non-identity orders are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OrderingKind {
    /// Uniform random permutations.
    Random,
    /// argsort(i + N(0, k^2)): local shuffles of scale k.
    NoisyArgsort(f64),
}

/// AR trained on N fixed orderings.
#[derive(Clone, Debug)]
pub struct ArOrderings {
    /// Each order permutes positions 0..L of tokens 1..L (order 0 is the identity).
    pub orders: Vec<Vec<usize>>,
    kind: OrderingKind,
}

impl ArOrderings {
    /// Builds N orders over L positions from `seed`.
    pub fn new(n: usize, seq_len: usize, kind: OrderingKind, seed: u64) -> Self {
        let identity: Vec<usize> = (0..seq_len).collect();
        let orders = (0..n)
            .map(|i| {
                if i == 0 {
                    return identity.clone();
                }
                match kind {
                    OrderingKind::Random => {
                        let mut o = identity.clone();
                        shuffle(&mut o, mix(seed, i as u64));
                        o
                    }
                    OrderingKind::NoisyArgsort(k) => {
                        let mut rng = SplitMix64::new(mix(seed, i as u64));
                        let keys: Vec<f64> =
                            (0..seq_len).map(|j| j as f64 + k * rng.normal()).collect();
                        let mut o = identity.clone();
                        o.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
                        o
                    }
                }
            })
            .collect();
        Self { orders, kind }
    }

    /// A sample of L + 1 tokens in `order`: (tokens, original position ids), token 0 fixed.
    ///
    /// ```
    /// use dclab::objective::ArOrderings;
    /// let sample: Vec<u32> = (0..7).collect();
    /// let (tokens, positions) = ArOrderings::permute(&sample, &[2, 0, 1, 4, 5, 3]);
    /// assert_eq!(tokens, [0, 3, 1, 2, 5, 6, 4]); // inputs tokens[..6], labels tokens[1..]
    /// assert_eq!(positions[..6], [0, 3, 1, 2, 5, 6]);
    /// ```
    pub fn permute(sample: &[u32], order: &[usize]) -> (Vec<u32>, Vec<u32>) {
        let mut tokens = vec![sample[0]];
        let mut positions = vec![0u32];
        for &o in order {
            tokens.push(sample[1 + o]);
            positions.push(1 + o as u32);
        }
        (tokens, positions)
    }
}

impl Objective for ArOrderings {
    fn name(&self) -> String {
        match self.kind {
            OrderingKind::Random => format!("ar-orderings:{}", self.orders.len()),
            OrderingKind::NoisyArgsort(k) => {
                format!("ar-orderings:{}:noisy:{k}", self.orders.len())
            }
        }
    }
    fn causal(&self) -> bool {
        true
    }

    fn seq_len(&self) -> Option<usize> {
        self.orders.first().map(|o| o.len())
    }
    fn loss(
        &self, model: &dyn LogitModel, samples: &[&[u32]], rng: &mut SplitMix64, device: &Device,
    ) -> Tensor<1> {
        let (tokens, positions): (Vec<Vec<u32>>, Vec<Vec<u32>>) = samples
            .iter()
            .map(|s| {
                let (t, mut p) = Self::permute(s, &self.orders[rng.below(self.orders.len())]);
                p.pop(); // the last token is only a label
                (t, p)
            })
            .unzip();
        let refs: Vec<&[u32]> = tokens.iter().map(Vec::as_slice).collect();
        ar_nll(model, &refs, Some(positions), device).mean()
    }
}
