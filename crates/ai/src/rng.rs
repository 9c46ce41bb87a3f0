//! A tiny seeded generator (SplitMix64). Our own, so a seed gives the same text and cards in
//! every version of every dependency: tests and "regenerate" stay reproducible.

#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator for one purpose (`"instagram"`, `"card"`…) derived from a seed, so
    /// purposes do not move in lock-step.
    pub fn derive(seed: u64, purpose: &str) -> Self {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in purpose.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut rng = Self(seed ^ h);
        rng.next_u64();
        rng
    }

    /// A seed from the operating system (for jitter, where reproducibility does not matter).
    pub fn from_entropy() -> Self {
        let mut bytes = [0u8; 8];
        // Without entropy the jitter is merely less random; never fail a request over it.
        let _ = getrandom::fill(&mut bytes);
        Self(u64::from_le_bytes(bytes))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() { None } else { items.get(self.below(items.len())) }
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_purposes_differ() {
        let a: Vec<u64> = (0..4).map(|_| SeededRng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(SeededRng::derive(7, "instagram").next_u64(), SeededRng::derive(7, "linkedin").next_u64());
        let mut r = SeededRng::new(1);
        assert!((0..1000).all(|_| r.below(3) < 3));
    }
}
