//! A tiny seeded generator (SplitMix64) and Fisher-Yates shuffle whose output never changes
//! with a dependency's version, so document orders and epoch shuffles stay fixed forever.

/// SplitMix64: 64 bits of state, good enough statistics for shuffling, trivially reproducible.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed; distinct seeds give independent-looking streams.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform float in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// A uniform integer in `0..n` (Lemire's multiply-shift; bias below 2^-32 for our sizes).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

/// Shuffles `items` in place with a generator seeded by `seed`.
///
/// ```
/// let mut v: Vec<u32> = (0..10).collect();
/// dclab::data::shuffle::shuffle(&mut v, 7);
/// let mut w: Vec<u32> = (0..10).collect();
/// dclab::data::shuffle::shuffle(&mut w, 7);
/// assert_eq!(v, w);
/// ```
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = SplitMix64::new(seed);
    for i in (1..items.len()).rev() {
        let j = rng.below(i + 1);
        items.swap(i, j);
    }
}

/// Mixes two seeds into one (e.g. a run seed and an epoch number).
pub fn mix(a: u64, b: u64) -> u64 {
    SplitMix64::new(a ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15)).next_u64()
}
